/*
 * backoff_delay_ms: exact values for a table of attempts and random
 * inputs, the cap, the [d/2, d] bounds, and attempts large enough to
 * overflow a naive shift.
 */
#include <stdint.h>

#include "unit.h"
#include "backoff.h"

#define BASE	1000
#define MAX	300000

/* d for BASE/MAX by attempt: 1s, 2s, 4s ... capped at 300s from attempt 10. */
static const int64_t caps[] = {
	0, 1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000,
};

static void
test_table(void **state)
{
	static const uint32_t rnds[] = { 0, 12345, 1u << 31, UINT32_MAX };
	size_t i;
	int a;

	(void)state;
	for (a = 1; a <= 10; a++) {
		int64_t d = caps[a], half = d / 2;

		for (i = 0; i < sizeof rnds / sizeof rnds[0]; i++) {
			int64_t want = half + (int64_t)(rnds[i] % (uint64_t)(half + 1));
			int64_t got = backoff_delay_ms(a, BASE, MAX, rnds[i]);

			assert_int_equal(got, want);
			assert_true(got >= half && got <= d);
		}
		/* rnd 0 is the floor of the range */
		assert_int_equal(backoff_delay_ms(a, BASE, MAX, 0), half);
	}
}

static void
test_exact(void **state)
{
	static const struct {
		int		 attempt;
		int64_t		 base, max;
		uint32_t	 rnd;
		int64_t		 want;
	} t[] = {
		{ 1, 1000, 300000, 0, 500 },
		{ 1, 1000, 300000, 500, 1000 },		/* 500 + 500 % 501 */
		{ 1, 1000, 300000, 501, 500 },		/* wraps to the floor */
		{ 2, 1000, 300000, 7, 1007 },
		{ 3, 1000, 300000, UINT32_MAX, 2000 + (int64_t)(UINT32_MAX % 2001u) },
		{ 10, 1000, 300000, 150000, 300000 },	/* capped d = 300000 */
		{ 20, 1000, 300000, 0, 150000 },
		{ 1, 1, 1, 0, 0 },			/* d = 1: d/2 = 0, rnd % 1 */
		{ 1, 1, 1, 1, 0 },
		{ 0, 1000, 300000, 0, 500 },		/* attempt < 1 is the first */
		{ -5, 1000, 300000, 0, 500 },
		{ 3, 0, 300000, 99, 0 },		/* no base: no delay */
		{ 3, 1000, 0, 99, 0 },
		{ 3, 5000, 2000, 0, 1000 },		/* base above max */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		int64_t got = backoff_delay_ms(t[i].attempt, t[i].base, t[i].max, t[i].rnd);

		if (got != t[i].want)
			fail_msg("case %zu: attempt %d: got %lld, want %lld", i,
			    t[i].attempt, (long long)got, (long long)t[i].want);
	}
}

/* Shifts past 63 bits must cap, not wrap to small or negative values. */
static void
test_huge(void **state)
{
	static const uint32_t rnds[] = { 0, 1, 777777, UINT32_MAX };
	int64_t got, max;
	size_t i;
	int a;

	(void)state;
	for (a = 11; a <= 100; a++) {
		for (i = 0; i < sizeof rnds / sizeof rnds[0]; i++) {
			got = backoff_delay_ms(a, BASE, MAX, rnds[i]);
			assert_true(got >= MAX / 2 && got <= MAX);
		}
	}
	max = INT64_MAX;
	for (a = 1; a <= 100; a++) {
		got = backoff_delay_ms(a, 3, max, UINT32_MAX);
		assert_true(got >= 0);
		if (a >= 63)
			assert_true(got >= max / 2);
	}
	assert_int_equal(backoff_delay_ms(64, INT64_MAX / 2, INT64_MAX, 0), INT64_MAX / 2);
	assert_int_equal(backoff_delay_ms(100, 1000, MAX, 0), MAX / 2);
	assert_int_equal(backoff_delay_ms(INT32_MAX, 1000, MAX, 0), MAX / 2);
}

/* The delay never shrinks as attempts grow (with the same random input). */
static void
test_monotonic(void **state)
{
	int64_t prev = 0, got;
	int a;

	(void)state;
	for (a = 1; a <= 100; a++) {
		got = backoff_delay_ms(a, 250, 3600000, 0);
		assert_true(got >= prev);
		prev = got;
	}
	assert_int_equal(prev, 1800000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_monotonic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
