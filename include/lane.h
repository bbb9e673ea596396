/*
 * lane: the way to one provider. It bounds the sends in flight to it, the
 * request rate (a token bucket), and honours a pause after the provider
 * signalled throttling, so a 429 is not answered with a burst of the
 * queued sends. Jobs wait in FIFO order until the lane lets them start.
 */
#ifndef NUDGE_LANE_H
#define NUDGE_LANE_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct lane;

/* Called once per job: to start it, or with cancelled=1 when the lane is drained. */
typedef void lane_start_cb(void *arg, int cancelled);

/* concurrency >= 1; rate: requests per second, 0 = unlimited. */
struct lane	*lane_new(struct event_base *, const char *name, long concurrency, long rate);
/* Queues a job; it may start before this returns. */
void		 lane_submit(struct lane *, lane_start_cb *, void *arg);
/* A started job finished: lets the next one go. */
void		 lane_done(struct lane *);
/* No job starts for ms (the provider asked for it); longer pauses win. */
void		 lane_pause(struct lane *, int64_t ms);
size_t		 lane_queued(const struct lane *);
/* 1 while a pause asked for by the provider lasts. */
int		 lane_paused(const struct lane *);
size_t		 lane_running(const struct lane *);
const char	*lane_name(const struct lane *);
/* Hands every queued job back with cancelled=1. */
void		 lane_drain(struct lane *);
void		 lane_free(struct lane *);

#endif
