/*
 * worker: the claim / send / report loop.
 *
 * Ownership: a claimed message becomes a struct send, owned by this file
 * until its outcome is acknowledged by Redis (or the lease runs out, after
 * which another worker owns the message and our late ack is refused).
 * While a provider request runs, dispatch owns the request and we own the
 * send; dispatch calls back exactly once.
 *
 * Scheduling of claims: each partition has a "next due" time learnt from
 * the claim script's reply; the tick timer fires at the earliest of them or
 * after the poll interval (which also finds expired leases), and pub/sub
 * wake-ups from the apply script pull it earlier. A full batch means more
 * is due: that partition is claimed again at once, and while it stays so
 * (a backlog) up to NUDGE_CLAIMS_INFLIGHT claims of it are in flight, so
 * Redis runs the next claim while we send the last batch. Claims are
 * atomic scripts: two on one partition never take the same message.
 *
 * Room: NUDGE_MAX_INFLIGHT bounds the sends not yet answered by their
 * provider, with what claims in flight asked for, plus a head start of one
 * batch: claimed messages that wait in the provider's lane (no lane runs
 * more than NUDGE_MAX_INFLIGHT requests) and replace a finished send at
 * once, instead of after a claim's round trip. A send whose outcome is only
 * being reported to Redis no longer holds a place (the provider could take
 * the next send meanwhile). While sends are out a claim waits for a
 * quarter batch of room instead of asking for one message per finished
 * send (a script call each), and with no room nothing is armed for the
 * partitions: a finished send re-arms the tick.
 */
#include "worker_int.h"
#include "sms.h"

static void	worker_tick_cb(evutil_socket_t, short, void *);

/* One claim in flight: what it asked for, returned to the room when it answers. */
struct worker_claim {
	struct worker	*w;
	long		 want;
};

/* Time kept, after the longest send, for its outcome to reach Redis within the lease. */
static int64_t
worker_ack_allowance(const struct config *cfg)
{
	int64_t spare = (cfg->lease_ms - cfg->send_timeout_ms) / 2;

	return spare < 1000 ? spare : 1000;
}

/* Whether partition p takes another claim: one at a time, more while it has a backlog. */
static int
worker_may_claim(const struct worker *w, int p)
{
	return w->claiming[p] == 0 ||
	    (w->backlog[p] && w->claiming[p] < w->cfg->claims_inflight);
}

/*
 * The claims' head start: how many messages may wait, claimed, for a place
 * at the provider, so that a finished send is replaced at once instead of
 * after a claim's round trip. One batch, and no more than max_inflight.
 */
static long
worker_ahead(const struct config *cfg)
{
	return cfg->claim_batch < cfg->max_inflight ? cfg->claim_batch : cfg->max_inflight;
}

/* How many messages a claim asks for now; 0 to wait for a send to finish. */
static long
worker_claim_size(const struct worker *w)
{
	long ahead = worker_ahead(w->cfg), room, least;
	long busy = (long)(w->inflight - w->reporting) + w->claim_want;
	size_t queued = lane_queued(w->email_lane) + lane_queued(w->sms_lane) +
	    lane_queued(w->hook_lane);

	/* a batch already waits for the provider: more would only age in the queue */
	if ((long)queued >= ahead)
		return 0;
	room = w->cfg->max_inflight + ahead - busy;
	if (room > w->cfg->claim_batch)
		room = w->cfg->claim_batch;
	if (w->cfg->provider_rate > 0) {
		/* no more than the provider takes before the leases run short */
		long most = w->cfg->provider_rate * (w->cfg->lease_ms -
		    w->cfg->send_timeout_ms - worker_ack_allowance(w->cfg)) / 1000;

		if (room > most - busy)
			room = most - busy;
		if (room < 1 && busy == 0)
			room = 1;
	}
	least = busy > 0 ? (ahead + 3) / 4 : 1;
	return room >= least ? room : 0;
}

void
worker_arm(struct worker *w)
{
	int64_t now = clock_now_ms(), at = w->last_poll + w->cfg->poll_ms, d;
	struct timeval tv;
	int p;

	if (w->stopping)
		return;
	if (worker_claim_size(w) > 0) {
		for (p = 0; p < w->nparts; p++)
			if (worker_may_claim(w, p) && w->next_due[p] < at)
				at = w->next_due[p];
	}
	d = at - now;
	if (d < 0)
		d = 0;
	tv.tv_sec = d / 1000;
	tv.tv_usec = (d % 1000) * 1000;
	evtimer_add(w->tick, &tv);
}

/* A stop is done once nothing is in flight: no send, no claim that could still bring some. */
void
worker_check_done(struct worker *w)
{
	if (w->stopping && w->inflight == 0 && w->claims == 0)
		w->done = 1;
}

static struct send *
send_new(struct worker *w, struct sched_msg *m)
{
	struct send *s = xcalloc(1, sizeof *s);

	s->w = w;
	s->m = m;
	s->start_ms = clock_now_ms();
	s->lease_end = s->start_ms + w->cfg->lease_ms;
	s->next = w->sends;
	if (w->sends)
		w->sends->prev = s;
	w->sends = s;
	w->inflight++;
	return s;
}

/* Looks again in ms, however the partitions stand. */
static void
worker_arm_in(struct worker *w, int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

	if (!w->stopping)
		evtimer_add(w->tick, &tv);
}

static void
worker_sent_cb(void *arg, const struct provider_resp *resp)
{
	struct send *s = arg;
	struct worker *w = s->w;
	struct provider_result r;

	if (w->freeing)
		return;
	memset(&r, 0, sizeof r);
	s->prov->classify(resp, &r);
	/* a provider that says "slow down" gets a pause, not the queued burst */
	if (r.outcome == SEND_RETRY && r.retry_after_ms > 0)
		lane_pause(s->lane, r.retry_after_ms);
	lane_done(s->lane);
	s->lane = NULL;
	worker_outcome(s, &r);
	worker_arm(w);		/* its place is free while the ack goes out */
}

static const struct provider *
worker_provider(struct worker *w, const char *channel)
{
	if (strcmp(channel, "email") == 0)
		return w->email;
	if (strcmp(channel, "sms") == 0)
		return w->sms;
	if (strcmp(channel, "webhook") == 0)
		return w->hook;
	return NULL;
}

/* The provider's lane lets the send start (or drains it at shutdown). */
static void
worker_lane_cb(void *arg, int cancelled)
{
	struct send *s = arg;
	struct provider_req *req = s->req;
	struct provider_result r;

	memset(&r, 0, sizeof r);
	if (cancelled) {
		s->lane = NULL;
		s->outcome = SCHED_RELEASE;
		s->info = xstrdup("shutting down");
		worker_report(s);
		return;
	}
	if (clock_now_ms() + s->w->cfg->send_timeout_ms + worker_ack_allowance(s->w->cfg) >
	    s->lease_end) {
		/*
		 * It waited in the lane (rate limit, a provider's pause) so long
		 * that the send could outlive the lease, and another claim could
		 * send it again: hand it back instead.
		 */
		lane_done(s->lane);
		s->lane = NULL;
		s->outcome = SCHED_RELEASE;
		s->info = xstrdup("waited too long for the provider; released");
		worker_report(s);
		return;
	}
	s->req = NULL;		/* dispatch owns it now, even on failure */
	s->start_ms = clock_now_ms();
	if (dispatch_send(s->w->dispatch, req, worker_sent_cb, s) == -1) {
		lane_done(s->lane);
		s->lane = NULL;
		r.outcome = SEND_RETRY;
		snprintf(r.error, sizeof r.error, "could not start the request");
		worker_outcome(s, &r);
	}
}

/*
 * An SMS's encoding and parts, logged; a step's "max_segments" refuses a
 * text that would cost more (skipped with the reason: a longer template or
 * a shorter shop name fixes it, a retry never would). 0 to go on.
 */
static int
worker_sms_check(struct worker *w, struct send *s)
{
	const struct flow *f = flows_find(w->flows, s->m->flow);
	const struct flow_step *st = f ? flows_find_step(f, s->m->step) : NULL;
	struct sms_count n;
	char fields[128];

	if (sms_count(s->c.text, &n) == -1)
		return 0;	/* the provider refuses text that is not UTF-8 */
	snprintf(fields, sizeof fields, "\"coding\":\"%s\",\"units\":%zu,\"segments\":%zu",
	    n.coding == SMS_UCS2 ? "ucs2" : "gsm7", n.units, n.segments);
	log_at(LOG_INFO, s->m->id, fields, "sms encoded");
	if (st != NULL && st->max_segments > 0 && n.segments > (size_t)st->max_segments) {
		s->outcome = SCHED_SKIP;
		s->info = xasprintf("SMS needs %zu segments (%s), the step allows %d",
		    n.segments, n.coding == SMS_UCS2 ? "UCS-2" : "GSM-7", st->max_segments);
		worker_report(s);
		return -1;
	}
	return 0;
}

/* Renders and sends one claimed message. */
static void
worker_process(struct worker *w, struct sched_msg *m)
{
	struct send *s = send_new(w, m);
	struct provider_result r;
	struct provider_req *req;
	struct message msg;
	const struct shop *shop;
	char *cause = NULL;
	int rc;

	memset(&r, 0, sizeof r);

	if ((shop = shops_find(w->shops, m->shop)) == NULL) {
		r.outcome = SEND_PERMANENT;
		snprintf(r.error, sizeof r.error, "shop %s is no longer configured", m->shop);
		worker_outcome(s, &r);
		return;
	}
	if ((s->prov = worker_provider(w, m->channel)) == NULL) {
		s->outcome = SCHED_SKIP;
		s->info = xasprintf("no provider configured for channel %s", m->channel);
		worker_report(s);
		return;
	}
	rc = compose_message(w->tpl, w->cfg, shop, m, &s->c, &cause);
	/*
	 * The context is done with (the composed parts are copies): freed now,
	 * while it is still in the cache, not cold after the provider answers.
	 */
	json_decref(m->ctx);
	m->ctx = NULL;
	if (rc == COMPOSE_SKIP) {
		s->outcome = SCHED_SKIP;
		s->info = cause;
		worker_report(s);
		return;
	}
	if (rc != COMPOSE_OK) {
		r.outcome = rc == COMPOSE_LATER ? SEND_RETRY : SEND_PERMANENT;
		snprintf(r.error, sizeof r.error, "%s", cause);
		free(cause);
		worker_outcome(s, &r);
		return;
	}
	if (s->c.missing > 0)
		log_warn(m->id, "template %s rendered with %d missing variables",
		    m->template, s->c.missing);
	if (strcmp(m->channel, "sms") == 0 && worker_sms_check(w, s) == -1)
		return;
	memset(&msg, 0, sizeof msg);
	msg.id = m->id;
	msg.shop = m->shop;
	msg.flow = m->flow;
	msg.step = m->step;
	msg.template = m->template;
	msg.channel = (enum channel)flows_channel_parse(m->channel);
	msg.promotional = strcmp(m->cls, "promotional") == 0;
	msg.locale = s->c.locale;
	msg.to = s->c.to;
	msg.to_name = s->c.to_name;
	msg.from = shop->from_email;
	msg.from_name = shop->from_name;
	msg.subject = s->c.subject;
	msg.html = s->c.html;
	msg.text = s->c.text;
	msg.unsubscribe_url = s->c.unsubscribe_url;

	if (s->prov->deliver != NULL) {
		s->prov->deliver(w->cfg, &msg, &r);
		worker_outcome(s, &r);
		return;
	}
	req = xcalloc(1, sizeof *req);
	provider_req_init(req);
	if (s->prov->build(w->cfg, &msg, req, &cause) == -1) {
		provider_req_free(req);
		free(req);
		r.outcome = SEND_PERMANENT;
		snprintf(r.error, sizeof r.error, "%s", cause);
		free(cause);
		worker_outcome(s, &r);
		return;
	}
	/* the request holds what goes out; the log needs only the recipient */
	compose_free_parts(&s->c);
	s->req = req;
	s->lane = strcmp(m->channel, "sms") == 0 ? w->sms_lane :
	    strcmp(m->channel, "webhook") == 0 ? w->hook_lane : w->email_lane;
	lane_submit(s->lane, worker_lane_cb, s);
}

static void
worker_claimed_cb(void *arg, int p, struct sched_msg **msgs, size_t n, int64_t next_due,
    const char *err)
{
	struct worker_claim *c = arg;
	struct worker *w = c->w;
	int64_t now = clock_now_ms();
	long want = c->want;
	size_t i;

	free(c);
	w->claiming[p]--;
	w->claims--;
	w->claim_want -= want;
	if (w->freeing) {
		for (i = 0; i < n; i++)
			sched_msg_free(msgs[i]);
		return;
	}
	if (err != NULL) {
		metrics_add(w->metrics, "nudge_redis_errors_total", NULL, 1);
		log_warn(NULL, "claim on partition %d failed: %s", p, err);
		w->next_due[p] = now + w->cfg->poll_ms;
		w->backlog[p] = 0;
		for (i = 0; i < n; i++)
			sched_msg_free(msgs[i]);
		worker_check_done(w);
		worker_arm(w);
		return;
	}
	for (i = 0; i < n; i++) {
		if (w->stopping) {
			/* claimed as we were stopping: hand it straight back */
			struct send *s = send_new(w, msgs[i]);

			s->outcome = SCHED_RELEASE;
			s->info = xstrdup("shutting down");
			worker_report(s);
			continue;
		}
		worker_process(w, msgs[i]);
	}
	if (n > 0 && (long)n >= want) {
		w->next_due[p] = now;		/* a full batch: more is due */
		w->backlog[p] = 1;
	} else {
		w->next_due[p] = next_due >= 0 ? next_due : now + w->cfg->poll_ms;
		w->backlog[p] = 0;
	}
	worker_check_done(w);
	worker_arm(w);
}

/* Asks Redis for up to want due messages of partition p. 0, or -1 when not connected. */
static int
worker_claim(struct worker *w, int p, int64_t now, long want)
{
	struct worker_claim *c = xmalloc(sizeof *c);
	char token[64];

	c->w = w;
	c->want = want;
	snprintf(token, sizeof token, "%s:%lu", w->wid, ++w->claim_seq);
	if (sched_claim(w->sched, p, now, want, token, worker_quiet(w, now),
	    worker_claimed_cb, c) == -1) {
		free(c);
		return -1;
	}
	w->claiming[p]++;
	w->claims++;
	w->claim_want += want;
	return 0;
}

static void
worker_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	int64_t now = clock_now_ms();
	long want;
	int p;

	(void)fd;
	(void)what;
	if (w->stopping || !store_ready(w->store)) {
		w->last_poll = now;
		worker_arm(w);
		return;
	}
	/*
	 * A provider that asked us to wait: claiming more would only let
	 * leases run out in its queue. (A queue of a batch or more stops
	 * claims too, in worker_claim_size; a finished send re-arms the tick.)
	 */
	if (lane_paused(w->email_lane) || lane_paused(w->sms_lane) ||
	    lane_paused(w->hook_lane)) {
		worker_arm_in(w, 100);
		return;
	}
	if (now - w->last_poll >= w->cfg->poll_ms) {
		/* the poll: look at every partition (expired leases, missed wake-ups) */
		w->last_poll = now;
		for (p = 0; p < w->nparts; p++)
			w->next_due[p] = 0;
	}
	for (p = 0; p < w->nparts; p++) {
		while (w->next_due[p] <= now && worker_may_claim(w, p) &&
		    (want = worker_claim_size(w)) > 0) {
			if (worker_claim(w, p, now, want) == -1) {
				w->next_due[p] = now + w->cfg->poll_ms;
				break;
			}
		}
	}
	worker_arm(w);
}

/* A wake-up: "<partition> <due ms>" published by the apply script. */
static void
worker_wake_cb(void *arg, const char *channel, const char *payload)
{
	struct worker *w = arg;
	const char *tag = strstr(payload, "{p");
	long p;
	int64_t due;
	char *end;

	(void)channel;
	if (tag == NULL)
		return;
	p = strtol(tag + 2, &end, 10);
	if (p < 0 || p >= w->nparts || *end != '}')
		return;
	due = strtoll(strchr(end, ' ') ? strchr(end, ' ') + 1 : "0", NULL, 10);
	if (due < w->next_due[p]) {
		w->next_due[p] = due;
		if (!w->stopping) {
			evtimer_del(w->tick);
			worker_arm(w);
		}
	}
}

static void
worker_state_cb(void *arg, int ready)
{
	struct worker *w = arg;
	int p;

	if (!ready)
		return;
	/* connected again: look everywhere now */
	for (p = 0; p < w->nparts; p++)
		w->next_due[p] = 0;
	if (!w->stopping) {
		evtimer_del(w->tick);
		worker_arm(w);
	}
}

struct worker *
worker_new(struct event_base *base, const struct config *cfg, const struct shops *shops,
    const struct flows *flows, const struct templates *tpl, char **cause)
{
	struct worker *w;
	long conc;

	w = xcalloc(1, sizeof *w);
	w->base = base;
	w->cfg = cfg;
	w->shops = shops;
	w->flows = flows;
	w->tpl = tpl;
	buf_init(&w->quiet);
	if (worker_quiet_setup(w, cause) == -1) {
		free(w->quiet_win);
		free(w);
		return NULL;
	}
	if ((w->email = provider_find(cfg->email_provider)) == NULL) {
		*cause = xasprintf("NUDGE_EMAIL_PROVIDER=%s: unknown provider", cfg->email_provider);
		free(w->quiet_win);
		free(w);
		return NULL;
	}
	if (strcmp(cfg->sms_provider, "none") != 0 &&
	    (w->sms = provider_find(cfg->sms_provider)) == NULL) {
		*cause = xasprintf("NUDGE_SMS_PROVIDER=%s: unknown provider", cfg->sms_provider);
		free(w->quiet_win);
		free(w);
		return NULL;
	}
	if ((w->store = store_new(base, cfg->redis_url, cfg->lease_ms / 2, cause)) == NULL ||
	    (w->sub = store_new(base, cfg->redis_url, cfg->lease_ms / 2, cause)) == NULL) {
		store_free(w->store);
		free(w->quiet_win);
		free(w);
		return NULL;
	}
	w->sched = sched_new(w->store, cfg);
	w->dispatch = dispatch_new(base, cfg->send_timeout_ms);
	/*
	 * No lane runs more than max_inflight requests: the claims' head start
	 * (worker_ahead) waits in the lane, it never adds to the provider's load.
	 */
	conc = cfg->provider_concurrency < cfg->max_inflight ? cfg->provider_concurrency :
	    cfg->max_inflight;
	w->email_lane = lane_new(base, w->email->name, conc, cfg->provider_rate);
	w->sms_lane = lane_new(base, w->sms ? w->sms->name : "sms", conc, cfg->provider_rate);
	w->hook_lane = lane_new(base, "webhook", conc, cfg->provider_rate);
	if (*cfg->webhook_url != '\0')
		w->hook = provider_find("webhook");
	w->nparts = (int)cfg->partitions;
	w->next_due = xcalloc((size_t)w->nparts, sizeof *w->next_due);
	w->claiming = xcalloc((size_t)w->nparts, sizeof *w->claiming);
	w->backlog = xcalloc((size_t)w->nparts, 1);
	http_request_id(w->wid);
	w->tick = evtimer_new(base, worker_tick_cb, w);
	if (worker_observe_setup(w, cause) == -1) {
		worker_free(w);
		return NULL;
	}
	store_on_state(w->store, worker_state_cb, w);
	store_subscribe(w->sub, sched_wake_channel(w->sched), worker_wake_cb, w);
	w->last_poll = clock_now_ms();
	worker_arm(w);
	log_info(w->wid, "worker started: e-mail via %s, SMS via %s", w->email->name,
	    w->sms ? w->sms->name : "none");
	return w;
}

static void
worker_grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	if (w->inflight > 0) {
		log_warn(w->wid, "grace period over: releasing %u sends in flight", w->inflight);
		lane_drain(w->email_lane);
		lane_drain(w->sms_lane);
		lane_drain(w->hook_lane);
		dispatch_abort_all(w->dispatch);
	}
}

void
worker_stop(struct worker *w)
{
	struct timeval tv;

	if (w->stopping)
		return;
	w->stopping = 1;
	evtimer_del(w->tick);
	/* queued sends have not started: hand them back at once */
	lane_drain(w->email_lane);
	lane_drain(w->sms_lane);
	lane_drain(w->hook_lane);
	log_info(w->wid, "stopping: %u sends in flight", w->inflight);
	worker_check_done(w);
	if (w->done)
		return;
	tv.tv_sec = w->cfg->grace_ms / 1000;
	tv.tv_usec = (w->cfg->grace_ms % 1000) * 1000;
	w->grace = evtimer_new(w->base, worker_grace_cb, w);
	evtimer_add(w->grace, &tv);
}

int
worker_done(const struct worker *w)
{
	return w->done;
}

void
worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	/* sends still in flight (a forced exit) are dropped; their leases expire */
	w->freeing = 1;
	dispatch_free(w->dispatch);
	store_free(w->sub);
	store_free(w->store);
	while (w->sends != NULL)
		worker_send_free(w->sends);
	lane_free(w->email_lane);
	lane_free(w->sms_lane);
	lane_free(w->hook_lane);
	free(w->quiet_win);
	buf_free(&w->quiet);
	if (w->http != NULL)
		evhttp_free(w->http);
	if (w->gauge_ev != NULL)
		event_free(w->gauge_ev);
	metrics_free(w->metrics);
	if (w->grace)
		event_free(w->grace);
	event_free(w->tick);
	sched_free(w->sched);
	free(w->next_due);
	free(w->claiming);
	free(w->backlog);
	free(w);
}
