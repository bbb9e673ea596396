/*
 * lane: concurrency, rate and pause for one provider.
 *
 * The token bucket holds up to `rate` tokens (one second's worth) and
 * refills continuously; a job takes one token to start. When the queue is
 * blocked by rate or pause, one timer fires when the next job may go.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "clock.h"
#include "lane.h"
#include "log.h"
#include "util.h"

struct lane_job {
	lane_start_cb	*cb;
	void		*arg;
	struct lane_job	*next;
};

struct lane {
	char		*name;
	long		 concurrency;
	long		 rate;
	double		 tokens;
	int64_t		 refilled_ms;
	int64_t		 paused_until;
	size_t		 running;
	size_t		 queued;
	struct lane_job	*head, *tail;
	struct event	*timer;
	int		 pumping;
};

static void	lane_pump(struct lane *);

static void
lane_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	lane_pump(arg);
}

static void
lane_refill(struct lane *l, int64_t now)
{
	if (l->rate <= 0)
		return;
	l->tokens += (double)(now - l->refilled_ms) * (double)l->rate / 1000.0;
	if (l->tokens > (double)l->rate)
		l->tokens = (double)l->rate;
	l->refilled_ms = now;
}

static void
lane_wait(struct lane *l, int64_t ms)
{
	struct timeval tv;

	if (ms < 1)
		ms = 1;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(l->timer, &tv);
}

/*
 * Starts queued jobs while the lane allows. A job's start callback may
 * submit or finish jobs itself; the pumping flag keeps that from
 * recursing, the loop picks the new state up.
 */
static void
lane_pump(struct lane *l)
{
	int64_t now;
	struct lane_job *j;

	if (l->pumping)
		return;
	l->pumping = 1;
	while (l->head != NULL && (long)l->running < l->concurrency) {
		now = clock_mono_ms();
		if (now < l->paused_until) {
			lane_wait(l, l->paused_until - now);
			break;
		}
		lane_refill(l, now);
		if (l->rate > 0 && l->tokens < 1) {
			lane_wait(l, (int64_t)((1 - l->tokens) * 1000 / (double)l->rate) + 1);
			break;
		}
		if (l->rate > 0)
			l->tokens -= 1;
		j = l->head;
		if ((l->head = j->next) == NULL)
			l->tail = NULL;
		l->queued--;
		l->running++;
		j->cb(j->arg, 0);
		free(j);
	}
	l->pumping = 0;
}

struct lane *
lane_new(struct event_base *base, const char *name, long concurrency, long rate)
{
	struct lane *l = xcalloc(1, sizeof *l);

	l->name = xstrdup(name);
	l->concurrency = concurrency > 0 ? concurrency : 1;
	l->rate = rate;
	l->tokens = (double)rate;
	l->refilled_ms = clock_mono_ms();
	l->timer = evtimer_new(base, lane_timer_cb, l);
	return l;
}

void
lane_submit(struct lane *l, lane_start_cb *cb, void *arg)
{
	struct lane_job *j = xmalloc(sizeof *j);

	j->cb = cb;
	j->arg = arg;
	j->next = NULL;
	if (l->tail)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
	l->queued++;
	lane_pump(l);
}

void
lane_done(struct lane *l)
{
	if (l->running > 0)
		l->running--;
	lane_pump(l);
}

void
lane_pause(struct lane *l, int64_t ms)
{
	int64_t until = clock_mono_ms() + ms;

	if (until > l->paused_until) {
		l->paused_until = until;
		log_info(NULL, "provider %s asked to slow down: pausing it for %lld ms",
		    l->name, (long long)ms);
	}
}

size_t
lane_queued(const struct lane *l)
{
	return l->queued;
}

int
lane_paused(const struct lane *l)
{
	return clock_mono_ms() < l->paused_until;
}

size_t
lane_running(const struct lane *l)
{
	return l->running;
}

const char *
lane_name(const struct lane *l)
{
	return l->name;
}

void
lane_drain(struct lane *l)
{
	struct lane_job *j;

	while ((j = l->head) != NULL) {
		if ((l->head = j->next) == NULL)
			l->tail = NULL;
		l->queued--;
		j->cb(j->arg, 1);
		free(j);
	}
}

void
lane_free(struct lane *l)
{
	if (l == NULL)
		return;
	while (l->head != NULL) {
		struct lane_job *j = l->head;

		l->head = j->next;
		free(j);
	}
	event_free(l->timer);
	free(l->name);
	free(l);
}
