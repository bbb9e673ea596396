/*
 * flows: the follow-up sequences (config/flows.json), validated at start,
 * and the planner that turns one normalized event into the operations the
 * sched module applies atomically: messages to schedule, pending messages
 * to cancel (exit rules), and the context templates will need.
 *
 * The plan is pure (no I/O, no clock), so it is table-tested and printed
 * by `nudgectl flows plan`.
 */
#ifndef NUDGE_FLOWS_H
#define NUDGE_FLOWS_H

#include <stddef.h>
#include <stdint.h>

#include "nevent.h"
#include "provider.h"

enum step_class {
	STEP_TRANSACTIONAL,
	STEP_PROMOTIONAL,
};

/* What a flow's messages hang off: cancelled together, context shared. */
enum flow_subject {
	SUBJECT_ORDER,		/* "o:<order id>" */
	SUBJECT_CHECKOUT,	/* "k:<checkout token>" */
	SUBJECT_CUSTOMER,	/* "u:<customer key>" */
};

#define STEP_COND_FIRST_ORDER	0x1	/* only for a customer's first order */
#define STEP_COND_RETURNING	0x2	/* only for returning customers */
#define STEP_COND_HAS_TRACKING	0x4
#define STEP_COND_HAS_PHONE	0x8
#define STEP_COND_MIN_TOTAL	0x10

struct flow_step {
	char		*name;
	int64_t		 delay_ms;	/* after the trigger, before time scaling */
	unsigned	 channels;	/* bit (1 << enum channel) */
	char		*template;
	enum step_class	 cls;
	unsigned	 conds;		/* STEP_COND_* */
	char		*min_total;	/* decimal string, with STEP_COND_MIN_TOTAL */
	int		 max_segments;	/* SMS: 0 = no limit */
	int		 skip_on_fallback; /* not sent when the flow starts by fallback */
	int		 discount;	/* carries a discount code (pool or static) */
};

/* What a new trigger does to a flow already running for the subject. */
enum flow_reentry {
	REENTRY_NEVER,		/* nothing: each step is sent once per subject */
	REENTRY_RESTART,	/* pending steps are replaced by a new occurrence */
	REENTRY_RESCHEDULE,	/* pending steps move relative to the new event time */
};

struct flow {
	char		*name;
	uint32_t	 triggers;	/* bit (1 << enum event_kind) */
	uint32_t	 exits;		/* events that cancel its pending steps */
	enum flow_subject subject;
	enum flow_reentry reentry;
	int		 per_fulfillment; /* one occurrence per shipment of an order */
	enum event_kind	 fallback_after; /* EVENT_NONE, or start after this event... */
	int64_t		 fallback_delay_ms; /* ...and this delay, unless triggered first */
	char		*cap;		/* frequency cap: "defer" or "skip" */
	struct flow_step *steps;
	size_t		 nsteps;
};

struct flows {
	struct flow	*v;
	size_t		 n;
};

#define PLAN_ID_LEN 24	/* hex characters of a message id */

struct plan_msg {
	char		 id[PLAN_ID_LEN + 1];
	const struct flow *flow;
	const struct flow_step *step;
	enum channel	 channel;
	char		*subject;
	int64_t		 due_ms;
	int		 move;		/* reschedule the pending message to due_ms */
};

struct plan_cancel {
	char		*subject;	/* NULL: resolve a cart by the keys below */
	const char	*flow;		/* NULL: every flow of the subject */
	const char	*reason;	/* e.g. "order_cancelled" */
	int		 close;		/* also refuse this flow for the subject from now on */
	char		*keep;		/* comma-separated ids not to cancel (a restart by the
					   same occurrence schedules them again), or NULL */
	/* cart matching when subject is NULL: token, checkout id, cart token, customer */
	const char	*token, *checkout_id, *cart_token;
};

/* Alternative keys under which a cart subject can be found by an order. */
struct plan_alias {
	char		*subject;
	const char	*checkout_id;
	const char	*cart_token;
};

/* Privacy operations. */
enum plan_erase {
	PLAN_ERASE_NONE,
	PLAN_ERASE_CUSTOMER,	/* the customer's messages, contexts, timeline */
	PLAN_ERASE_SHOP,	/* everything of the shop */
	PLAN_EXPORT_CUSTOMER,	/* write what is stored about the customer */
};

struct plan_ctx {
	char		*subject;
	const char	*part;		/* "order", "ship", "cart", ... */
	char		*json;		/* compact JSON object */
};

struct plan {
	char		 customer[33];	/* customer key, "" when unknown */
	struct plan_msg	*msgs;
	size_t		 nmsgs;
	struct plan_cancel *cancels;
	size_t		 ncancels;
	struct plan_ctx	*ctxs;
	size_t		 nctxs;
	struct plan_alias *aliases;
	size_t		 naliases;
	enum plan_erase	 erase;
	char		**erase_subjects; /* with PLAN_ERASE_CUSTOMER: orders to redact */
	size_t		 nerase_subjects;
};

/* Loads and validates; -1 with *cause naming the flow, step and field. */
int	 flows_load(const char *path, struct flows **, char **cause);
int	 flows_load_str(const char *json, const char *name, struct flows **, char **cause);
void	 flows_free(struct flows *);
/* Every template name the flows use, for checking against the templates. */
const struct flow *flows_find(const struct flows *, const char *name);
const struct flow_step *flows_find_step(const struct flow *, const char *name);

/*
 * Plans ev at now_ms with delays divided by time_scale. 0, or -1 with
 * *cause when the event lacks what a flow needs (no order id, ...).
 */
int	 flows_plan(const struct flows *, const struct nevent *ev, int64_t now_ms,
	     double time_scale, struct plan *out, char **cause);
void	 plan_free(struct plan *);
/*
 * The deterministic id of a message (hex, PLAN_ID_LEN characters): its
 * subject's locator (flows_subject_loc), then 8 characters of a hash of
 * shop, flow, step, channel, subject and occurrence.
 */
void	 flows_message_id(const char *shop, const char *flow, const char *step,
	     enum channel, const char *subject, const char *occurrence,
	     char out[PLAN_ID_LEN + 1]);
/* 16 hex of SHA-1("<shop>\n<subject>"): names the subject's Redis hash (src/lua/_lib.lua). */
#define FLOWS_LOC_LEN 16
void	 flows_subject_loc(const char *shop, const char *subject, char out[FLOWS_LOC_LEN + 1]);
const char *flows_channel_name(enum channel);
struct templates;
/* Every step's template exists with the parts its channels need. -1 with *cause. */
int	 flows_check_templates(const struct flows *, const struct templates *, char **cause);
int	 flows_channel_parse(const char *);
const char *flows_class_name(enum step_class);

#endif
