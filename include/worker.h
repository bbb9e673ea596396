/*
 * worker: nudge-worker's loop. Claims due messages in batches with a lease,
 * renders them, hands them to the channel's provider through dispatch and
 * reports each outcome. Idle workers sleep until a pub/sub wake-up or the
 * poll interval; many workers on one Redis each claim distinct messages.
 */
#ifndef NUDGE_WORKER_H
#define NUDGE_WORKER_H

struct event_base;
struct config;
struct shops;
struct templates;
struct worker;

struct flows;

struct worker	*worker_new(struct event_base *, const struct config *,
		     const struct shops *, const struct flows *, const struct templates *,
		     char **cause);
/* Graceful stop: no new claims; in-flight sends get NUDGE_GRACE_MS, then are released. */
void		 worker_stop(struct worker *);
/* 1 once a stop has finished (nothing in flight, all outcomes reported). */
int		 worker_done(const struct worker *);
void		 worker_free(struct worker *);

#endif
