/*
 * plan: what one event means for the flows (part of the flows module).
 *
 * For each flow the event triggers: one message per step and channel, with
 * a deterministic id (shop, flow, step, channel, subject, occurrence), so a
 * duplicate delivery or a replay plans the very same ids and the apply
 * script refuses the second copy. For each flow the event exits: a cancel
 * of that flow's pending messages of the subject.
 */
#include <stdlib.h>
#include <sys/types.h>
#include <string.h>

#include "clock.h"
#include "flows.h"
#include "shops.h"
#include "util.h"

/* The context part an event contributes, or NULL. */
static const char *
plan_part(enum event_kind k)
{
	switch (k) {
	case EVENT_ORDER_PLACED:
		return "order";
	/*
	 * Each shipping event keeps its own part: a later event (a carrier
	 * scan with no tracking number) must not erase what an earlier one
	 * said. compose merges them, in this order, into "ship".
	 */
	case EVENT_ORDER_SHIPPED:
		return "ship";
	case EVENT_ORDER_OUT_FOR_DELIVERY:
		return "ship_ofd";
	case EVENT_ORDER_DELIVERED:
		return "ship_delivered";
	case EVENT_SHIPMENT_FAILED:
		return "ship_failed";
	case EVENT_CART_ABANDONED:
		return "cart";
	default:
		return NULL;
	}
}

/* The subject of flow f for ev, or NULL when ev lacks the key. Caller frees. */
static char *
plan_subject(enum flow_subject s, const struct nevent *ev, const char *customer)
{
	switch (s) {
	case SUBJECT_ORDER:
		return ev->order_id ? xasprintf("o:%s", ev->order_id) : NULL;
	case SUBJECT_CHECKOUT:
		if (ev->checkout_token)
			return xasprintf("k:%s", ev->checkout_token);
		if (ev->cart_token)
			return xasprintf("k:%s", ev->cart_token);
		return *customer ? xasprintf("k:%s", customer) : NULL;
	case SUBJECT_CUSTOMER:
		return *customer ? xasprintf("u:%s", customer) : NULL;
	}
	return NULL;
}

static int
plan_has_tracking(const struct nevent *ev)
{
	json_t *t;

	if (ev->ctx == NULL)
		return 0;
	t = json_object_get(ev->ctx, "tracking_number");
	if (t == NULL && (t = json_object_get(ev->ctx, "tracking")) != NULL)
		t = json_object_get(t, "number");
	return json_is_string(t) && *json_string_value(t) != '\0';
}

/* Step conditions decidable from the event alone. */
static int
plan_conditions_hold(const struct flow_step *st, const struct nevent *ev)
{
	json_t *tot;

	if ((st->conds & STEP_COND_HAS_PHONE) && (ev->phone == NULL || *ev->phone == '\0'))
		return 0;
	if ((st->conds & STEP_COND_HAS_TRACKING) && !plan_has_tracking(ev))
		return 0;
	if (st->conds & STEP_COND_MIN_TOTAL) {
		tot = ev->ctx ? json_object_get(ev->ctx, "total") : NULL;
		if (!json_is_string(tot) ||
		    strtod(json_string_value(tot), NULL) < strtod(st->min_total, NULL))
			return 0;
	}
	return 1;
}

static void
plan_add_ctx(struct plan *p, const char *subject, const char *part, const struct nevent *ev)
{
	size_t i;

	for (i = 0; i < p->nctxs; i++)
		if (strcmp(p->ctxs[i].subject, subject) == 0 && strcmp(p->ctxs[i].part, part) == 0)
			return;
	p->ctxs = xrealloc(p->ctxs, (p->nctxs + 1) * sizeof *p->ctxs);
	p->ctxs[p->nctxs].subject = xstrdup(subject);
	p->ctxs[p->nctxs].part = part;
	/* every part of a plan is the same event's context: serialized once */
	p->ctxs[p->nctxs].json = p->nctxs > 0 ? xstrdup(p->ctxs[0].json) :
	    json_dumps(ev->ctx, JSON_COMPACT);
	p->nctxs++;
}

static struct plan_cancel *
plan_add_cancel(struct plan *p, const char *subject, const char *flow, const char *reason,
    int close)
{
	struct plan_cancel *c;

	p->cancels = xrealloc(p->cancels, (p->ncancels + 1) * sizeof *p->cancels);
	c = &p->cancels[p->ncancels++];
	memset(c, 0, sizeof *c);
	c->subject = subject ? xstrdup(subject) : NULL;
	c->flow = flow;
	c->reason = reason;
	c->close = close;
	return c;
}

static void
plan_add_alias(struct plan *p, const char *subject, const struct nevent *ev)
{
	struct plan_alias *a;

	/* even without ids: the customer's membership lets an order find the cart */
	p->aliases = xrealloc(p->aliases, (p->naliases + 1) * sizeof *p->aliases);
	a = &p->aliases[p->naliases++];
	a->subject = xstrdup(subject);
	a->checkout_id = ev->checkout_id;
	a->cart_token = ev->cart_token;
}

/*
 * Schedules the steps of f for ev. base_ms is when the flow starts;
 * fallback: started by the fallback event, so steps marked
 * skip_on_fallback are left out and nothing is moved.
 */
static void
plan_steps(struct plan *p, const struct flow *f, const struct nevent *ev,
    const char *subject, int64_t base_ms, double scale, int fallback)
{
	const char *part = plan_part(ev->kind);
	const char *occurrence = "";
	char *occ = NULL;
	ssize_t restart = -1;
	size_t i, first = p->nmsgs;
	int ch;

	if (f->reentry == REENTRY_RESTART && !fallback) {
		/* each trigger starts the flow afresh: replace what is pending */
		restart = (ssize_t)p->ncancels;
		plan_add_cancel(p, subject, f->name, "restarted", 0);
		occurrence = ev->order_id ? ev->order_id : (ev->delivery ? ev->delivery : "");
	} else if (f->per_fulfillment && ev->fulfillment_id != NULL) {
		occurrence = ev->fulfillment_id;
	} else if (__builtin_popcount(f->triggers) > 1) {
		/* several events start this flow: each its own message */
		occ = xasprintf("%s:%s", nevent_kind_name(ev->kind),
		    ev->fulfillment_id ? ev->fulfillment_id : "");
		occurrence = occ;
	}
	if (part != NULL && ev->ctx != NULL)
		plan_add_ctx(p, subject, part, ev);
	if (f->subject == SUBJECT_CHECKOUT)
		plan_add_alias(p, subject, ev);
	for (i = 0; i < f->nsteps; i++) {
		const struct flow_step *st = &f->steps[i];
		int64_t delay = st->delay_ms;

		if (fallback && st->skip_on_fallback)
			continue;
		if (fallback)
			delay += f->fallback_delay_ms;
		if (!plan_conditions_hold(st, ev))
			continue;
		for (ch = 0; ch < 3; ch++) {
			struct plan_msg *m;

			if (!(st->channels & (1u << ch)))
				continue;
			p->msgs = xrealloc(p->msgs, (p->nmsgs + 1) * sizeof *p->msgs);
			m = &p->msgs[p->nmsgs++];
			memset(m, 0, sizeof *m);
			m->flow = f;
			m->step = st;
			m->channel = (enum channel)ch;
			m->subject = xstrdup(subject);
			m->due_ms = base_ms + clock_scale_delay(delay, scale);
			/*
			 * A rescheduling flow follows the latest event; a flow with
			 * a fallback is pulled to the real trigger when it comes.
			 */
			m->move = !fallback && (f->reentry == REENTRY_RESCHEDULE ||
			    f->fallback_after != EVENT_NONE);
			flows_message_id(ev->shop->domain, f->name, st->name, m->channel,
			    subject, occurrence, m->id);
		}
	}
	if (restart >= 0) {
		/* the same occurrence again (a duplicate order event) keeps its steps */
		struct buf k;

		buf_init(&k);
		for (i = first; i < p->nmsgs; i++)
			buf_printf(&k, "%s%s", k.len ? "," : "", p->msgs[i].id);
		p->cancels[restart].keep = buf_detach(&k);
	}
	free(occ);
}

/* When the flow's clock starts for ev. */
static int64_t
plan_base(const struct flow *f, const struct nevent *ev, int64_t now_ms)
{
	/* "the reminder clock starts from the last update" */
	if (f->reentry == REENTRY_RESCHEDULE && ev->occurred_ms > 0 && ev->occurred_ms < now_ms)
		return ev->occurred_ms;
	return now_ms;
}

/* Privacy events touch stored data, not flows. */
static void
plan_privacy(struct plan *p, const struct nevent *ev)
{
	json_t *orders, *o;
	size_t i;

	switch (ev->kind) {
	case EVENT_CUSTOMER_REDACT:
		p->erase = PLAN_ERASE_CUSTOMER;
		break;
	case EVENT_SHOP_REDACT:
		p->erase = PLAN_ERASE_SHOP;
		return;
	case EVENT_DATA_REQUEST:
		p->erase = PLAN_EXPORT_CUSTOMER;
		break;
	default:
		return;
	}
	orders = ev->ctx ? json_object_get(ev->ctx, "orders") : NULL;
	json_array_foreach(orders, i, o) {
		if (!json_is_string(o))
			continue;
		p->erase_subjects = xrealloc(p->erase_subjects,
		    (p->nerase_subjects + 1) * sizeof *p->erase_subjects);
		p->erase_subjects[p->nerase_subjects++] = xasprintf("o:%s", json_string_value(o));
	}
}

int
flows_plan(const struct flows *fl, const struct nevent *ev, int64_t now_ms,
    double scale, struct plan *p, char **cause)
{
	uint32_t bit = 1u << ev->kind;
	size_t i;
	char *subject;

	memset(p, 0, sizeof *p);
	if (nevent_customer_key(ev, p->customer) == -1)
		p->customer[0] = '\0';
	plan_privacy(p, ev);
	if (p->erase != PLAN_ERASE_NONE)
		return 0;
	for (i = 0; i < fl->n; i++) {
		const struct flow *f = &fl->v[i];
		int fallback = f->fallback_after == ev->kind;

		if (!((f->triggers | f->exits) & bit) && !fallback)
			continue;
		if ((f->exits & bit) && f->subject == SUBJECT_CHECKOUT &&
		    (ev->checkout_token == NULL || (ev->kind != EVENT_CART_ABANDONED &&
		    ev->kind != EVENT_CART_CLOSED))) {
			/* an order closes its cart: find it by any key it carries */
			struct plan_cancel *c = plan_add_cancel(p, NULL, f->name,
			    nevent_kind_name(ev->kind), 1);

			c->token = ev->checkout_token;
			c->checkout_id = ev->checkout_id;
			c->cart_token = ev->cart_token;
			if (!(f->triggers & bit))
				continue;
		}
		subject = plan_subject(f->subject, ev, p->customer);
		if (subject == NULL) {
			if (f->triggers & bit) {
				*cause = xasprintf("flow \"%s\" needs %s, which the %s event lacks",
				    f->name, f->subject == SUBJECT_ORDER ? "an order id" :
				    f->subject == SUBJECT_CHECKOUT ? "a checkout token" :
				    "a customer e-mail or phone", nevent_kind_name(ev->kind));
				plan_free(p);
				return -1;
			}
			continue;
		}
		if ((f->exits & bit) && f->subject != SUBJECT_CHECKOUT)
			plan_add_cancel(p, subject, f->name, nevent_kind_name(ev->kind), 1);
		else if ((f->exits & bit) && ev->checkout_token != NULL)
			plan_add_cancel(p, subject, f->name, nevent_kind_name(ev->kind), 1);
		if (f->triggers & bit)
			plan_steps(p, f, ev, subject, plan_base(f, ev, now_ms), scale, 0);
		else if (fallback)
			plan_steps(p, f, ev, subject, now_ms, scale, 1);
		free(subject);
	}
	return 0;
}

void
plan_free(struct plan *p)
{
	size_t i;

	for (i = 0; i < p->nmsgs; i++)
		free(p->msgs[i].subject);
	for (i = 0; i < p->ncancels; i++) {
		free(p->cancels[i].subject);
		free(p->cancels[i].keep);
	}
	for (i = 0; i < p->nctxs; i++) {
		free(p->ctxs[i].subject);
		free(p->ctxs[i].json);
	}
	for (i = 0; i < p->naliases; i++)
		free(p->aliases[i].subject);
	for (i = 0; i < p->nerase_subjects; i++)
		free(p->erase_subjects[i]);
	free(p->msgs);
	free(p->cancels);
	free(p->ctxs);
	free(p->aliases);
	free(p->erase_subjects);
	memset(p, 0, sizeof *p);
}
