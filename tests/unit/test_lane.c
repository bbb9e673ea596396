/*
 * test_lane: a provider lane bounds concurrency, paces by rate, honours
 * pauses and drains, on a real event loop.
 */
#include "unit.h"

#include <event2/event.h>

#include "clock.h"
#include "lane.h"

struct job {
	struct lane	*lane;
	int		 started, cancelled;
	int64_t		 at;
};

static int running, peak;

static void
finish_cb(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg;

	(void)fd;
	(void)what;
	running--;
	lane_done(j->lane);
}

static struct event_base *test_base;

static void
start_cb(void *arg, int cancelled)
{
	struct job *j = arg;
	struct timeval tv = { 0, 10 * 1000 };

	if (cancelled) {
		j->cancelled = 1;
		return;
	}
	j->started = 1;
	j->at = clock_mono_ms();
	if (++running > peak)
		peak = running;
	event_base_once(test_base, -1, EV_TIMEOUT, finish_cb, j, &tv);
}

static void
test_concurrency(void **state)
{
	struct job jobs[20];
	struct lane *l;
	int i;

	(void)state;
	test_base = event_base_new();
	l = lane_new(test_base, "t", 3, 0);
	running = peak = 0;
	memset(jobs, 0, sizeof jobs);
	for (i = 0; i < 20; i++) {
		jobs[i].lane = l;
		lane_submit(l, start_cb, &jobs[i]);
	}
	assert_int_equal(lane_running(l), 3);
	assert_int_equal(lane_queued(l), 17);
	event_base_dispatch(test_base);
	for (i = 0; i < 20; i++)
		assert_true(jobs[i].started);
	assert_int_equal(peak, 3);
	assert_int_equal(lane_queued(l), 0);
	lane_free(l);
	event_base_free(test_base);
}

static void
test_rate_and_pause(void **state)
{
	struct job jobs[30];
	struct lane *l;
	int64_t t0;
	int i;

	(void)state;
	test_base = event_base_new();
	/* 10 per second, a full bucket of 10 to start with */
	l = lane_new(test_base, "t", 100, 10);
	running = peak = 0;
	memset(jobs, 0, sizeof jobs);
	t0 = clock_mono_ms();
	for (i = 0; i < 15; i++) {
		jobs[i].lane = l;
		lane_submit(l, start_cb, &jobs[i]);
	}
	assert_int_equal(lane_running(l), 10);
	event_base_dispatch(test_base);
	/* the 15th waited for 5 more tokens: about half a second */
	assert_true(jobs[14].at - t0 >= 400);
	/* a pause holds everything back */
	lane_pause(l, 300);
	t0 = clock_mono_ms();
	jobs[20].lane = l;
	lane_submit(l, start_cb, &jobs[20]);
	assert_false(jobs[20].started);
	event_base_dispatch(test_base);
	assert_true(jobs[20].started);
	assert_true(jobs[20].at - t0 >= 290);
	/* draining hands queued jobs back, cancelled */
	lane_pause(l, 10000);
	jobs[21].lane = l;
	lane_submit(l, start_cb, &jobs[21]);
	lane_drain(l);
	assert_true(jobs[21].cancelled);
	assert_false(jobs[21].started);
	assert_int_equal(lane_queued(l), 0);
	lane_free(l);
	event_base_free(test_base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrency),
		cmocka_unit_test(test_rate_and_pause),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
