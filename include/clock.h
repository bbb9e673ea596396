/*
 * clock: real time in milliseconds, and the time scale that divides every
 * flow delay (NUDGE_TIME_SCALE) for demos and tests. Nothing else about
 * time is faked: due times are real wall-clock milliseconds.
 */
#ifndef NUDGE_CLOCK_H
#define NUDGE_CLOCK_H

#include <stdint.h>

int64_t	clock_now_ms(void);		/* wall clock, ms since the epoch */
int64_t	clock_mono_ms(void);		/* monotonic, for intervals */
/* Scales a flow delay (ms) by 1/scale, rounding, never below 0. */
int64_t	clock_scale_delay(int64_t delay_ms, double scale);

#endif
