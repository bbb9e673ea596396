/*
 * backoff: when to try a failed send again. Exponential (base * 2^(n-1)),
 * capped, with "equal jitter" (half fixed, half random) so that a burst of
 * failures does not come back as a burst.
 */
#ifndef NUDGE_BACKOFF_H
#define NUDGE_BACKOFF_H

#include <stdint.h>

/*
 * Delay before attempt `attempt`+1 after `attempt` failures (attempt >= 1).
 * rnd is a uniformly random 32-bit value (passed in, so tests are exact).
 * The result lies in [d/2, d] where d = min(max_ms, base_ms << (attempt-1)).
 */
int64_t	backoff_delay_ms(int attempt, int64_t base_ms, int64_t max_ms, uint32_t rnd);

#endif
