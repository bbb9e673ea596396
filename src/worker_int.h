/*
 * worker_int.h: the worker's state, shared by its files: worker.c (the
 * claim / send / report loop), worker_observe.c (metrics, gauges, the
 * /metrics listener) and worker_quiet.c (quiet hours for claims). Private
 * to the worker module.
 */
#ifndef NUDGE_WORKER_INT_H
#define NUDGE_WORKER_INT_H

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <hiredis/hiredis.h>

#include "backoff.h"
#include "clock.h"
#include "compose.h"
#include "config.h"
#include "dispatch.h"
#include "flows.h"
#include "http.h"
#include "lane.h"
#include "log.h"
#include "metrics.h"
#include "provider.h"
#include "quiet.h"
#include "render.h"
#include "sched.h"
#include "shops.h"
#include "store.h"
#include "util.h"
#include "worker.h"

struct send;


struct worker {
	struct event_base	*base;
	const struct config	*cfg;
	const struct shops	*shops;
	const struct flows	*flows;		/* step settings (SMS segments) */
	const struct templates	*tpl;
	struct store		*store;
	struct store		*sub;		/* pub/sub wake-ups */
	struct sched		*sched;
	struct dispatch		*dispatch;
	const struct provider	*email;
	const struct provider	*sms;
	const struct provider	*hook;		/* the webhook channel, when configured */
	struct lane		*email_lane;	/* concurrency, rate, pauses */
	struct lane		*hook_lane;
	struct quiet_window	*quiet_win;	/* per shop: [2i] e-mail, [2i+1] SMS */
	struct buf		 quiet;		/* shops in quiet hours, for claims */
	struct metrics		*metrics;
	struct evhttp		*http;		/* /metrics, /healthz, /readyz */
	struct event		*gauge_ev;	/* refreshes the queue gauges */
	int64_t			 quiet_at;	/* when quiet was computed */
	struct lane		*sms_lane;
	struct event		*tick;
	struct event		*grace;
	int			 nparts;
	int64_t			*next_due;	/* per partition; 0 = claim now */
	unsigned short		*claiming;	/* per partition: claims outstanding */
	unsigned char		*backlog;	/* per partition: the last claim came back full */
	unsigned		 claims;	/* claims outstanding, all partitions */
	long			 claim_want;	/* messages those claims asked for */
	int64_t			 last_poll;
	unsigned long		 claim_seq;
	char			 wid[HTTP_RID_LEN + 1];
	unsigned		 inflight;	/* claimed, outcome not yet reported */
	unsigned		 reporting;	/* of those: outcome known, its ack in flight */
	int			 stopping;
	int			 done;
	int			 freeing;	/* callbacks during worker_free do nothing */
	struct send		*sends;		/* every send in flight */
};

struct send {
	struct worker		*w;
	struct sched_msg	*m;
	struct composed		 c;
	const struct provider	*prov;
	struct lane		*lane;		/* while queued or running in it */
	struct provider_req	*req;		/* built, waiting for its lane */
	int64_t			 lease_end;	/* when our claim runs out */
	int64_t			 start_ms;
	int			 ack_tries;
	int			 reporting;	/* outcome known: only its ack is left */
	enum sched_outcome	 outcome;
	int64_t			 retry_at;
	char			*info;
	struct event		*retry_ev;	/* re-sends a failed ack */
	struct send		*prev, *next;
};

/* worker_observe.c */
int		 worker_observe_setup(struct worker *, char **cause);
void		 worker_count(struct send *, const char *outcome);
/* worker_outcome.c */
void		 worker_outcome(struct send *, const struct provider_result *);
void		 worker_report(struct send *);
void		 worker_send_free(struct send *);
/* worker.c */
void		 worker_arm(struct worker *);
void		 worker_check_done(struct worker *);
/* worker_quiet.c */
int		 worker_quiet_setup(struct worker *, char **cause);
const char	*worker_quiet(struct worker *, int64_t now);

#endif
