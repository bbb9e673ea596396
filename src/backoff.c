/*
 * backoff: exponential delay with "equal jitter". Pure arithmetic, no
 * state: the caller supplies the random value so that tests are exact.
 */
#include <stdint.h>

#include "backoff.h"

/*
 * d = min(max_ms, base_ms << (attempt - 1)), computed without ever
 * shifting past the top of an int64_t: attempt counts come from Redis and
 * may be large (or garbage), and a wrapped shift would turn into a tiny or
 * negative delay, i.e. a retry storm.
 */
static int64_t
backoff_cap(int attempt, int64_t base_ms, int64_t max_ms)
{
	int shift;

	if (max_ms <= 0 || base_ms <= 0)
		return 0;
	if (attempt < 1)
		attempt = 1;
	shift = attempt - 1;
	if (base_ms >= max_ms || shift >= 62 || base_ms > (max_ms >> shift))
		return max_ms;
	return base_ms << shift;
}

int64_t
backoff_delay_ms(int attempt, int64_t base_ms, int64_t max_ms, uint32_t rnd)
{
	int64_t d = backoff_cap(attempt, base_ms, max_ms);
	uint64_t half = (uint64_t)(d / 2);

	/* Half fixed, half random: never sooner than d/2, never later than d. */
	return (int64_t)(half + (uint64_t)rnd % (half + 1));
}
