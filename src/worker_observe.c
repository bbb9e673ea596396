/*
 * worker_observe: what a worker tells operators: Prometheus metrics of its
 * outcomes and latencies, queue gauges read from Redis every few seconds,
 * and its own small HTTP listener (/metrics, /healthz, /readyz).
 */
#include "worker_int.h"

/* Metrics of one outcome: counts by flow, step, channel, provider; timings of sends. */
void
worker_count(struct send *s, const char *outcome)
{
	struct worker *w = s->w;
	struct buf l;

	buf_init(&l);
	metrics_label(&l, "flow", s->m->flow);
	metrics_label(&l, "step", s->m->step);
	metrics_label(&l, "channel", s->m->channel);
	metrics_label(&l, "provider", s->prov ? s->prov->name : "none");
	metrics_label(&l, "outcome", outcome);
	metrics_add(w->metrics, "nudge_messages_total", l.data, 1);
	buf_reset(&l);
	if (s->prov != NULL && (s->outcome == SCHED_SENT || s->outcome == SCHED_RETRY ||
	    s->outcome == SCHED_DEAD)) {
		metrics_label(&l, "provider", s->prov->name);
		metrics_observe(w->metrics, "nudge_send_duration_seconds", l.data,
		    (double)(clock_now_ms() - s->start_ms) / 1000.0);
	}
	if (s->outcome == SCHED_SENT && s->m->attempts == 1)
		metrics_observe(w->metrics, "nudge_schedule_lag_seconds", NULL,
		    (double)(s->start_ms - s->m->due_ms) / 1000.0);
	buf_free(&l);
}

/* --- observability: /metrics, /healthz, /readyz and the queue gauges ---- */

struct worker_gauges {
	struct worker	*w;
	int		 left;		/* replies still to come */
	double		 due, inflight, dead;
	json_t		*stats;		/* counters of the stats hashes, summed */
};

static void
worker_gauge_reply(void *arg, redisReply *r, const char *err)
{
	struct worker_gauges *g = arg;
	const char *k;
	json_t *v;
	size_t i;

	(void)err;
	if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 4) {
		g->due += (double)r->element[0]->integer;
		g->inflight += (double)r->element[1]->integer;
		g->dead += (double)r->element[2]->integer;
		for (i = 0; i + 1 < r->element[3]->elements; i += 2) {
			k = r->element[3]->element[i]->str;
			v = json_object_get(g->stats, k);
			json_object_set_new(g->stats, k, json_real((v ? json_real_value(v) : 0) +
			    strtod(r->element[3]->element[i + 1]->str, NULL)));
		}
	}
	if (--g->left > 0)
		return;
	if (!g->w->freeing) {
		struct buf l;

		metrics_set(g->w->metrics, "nudge_due_messages", NULL, g->due);
		metrics_set(g->w->metrics, "nudge_inflight_messages", NULL, g->inflight);
		metrics_set(g->w->metrics, "nudge_dead_messages", NULL, g->dead);
		buf_init(&l);
		json_object_foreach(g->stats, k, v) {
			buf_reset(&l);
			metrics_label(&l, "event", k);
			metrics_set(g->w->metrics, "nudge_store_events", l.data, json_real_value(v));
		}
		buf_free(&l);
	}
	json_decref(g->stats);
	free(g);
}

/*
 * Queue sizes for every partition, in one Lua-free round trip each: a
 * MULTI would need a connection of its own, and EVAL of a reading script
 * is simplest of all but wants the keys declared; four commands in a
 * pipeline per partition are fine every few seconds.
 */
static void
worker_gauge_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct worker_gauges *g;
	int p;

	(void)fd;
	(void)what;
	metrics_set(w->metrics, "nudge_worker_sends_in_flight", NULL, (double)w->inflight);
	if (!store_ready(w->store))
		return;
	g = xcalloc(1, sizeof *g);
	g->w = w;
	g->stats = json_object();
	g->left = w->nparts;
	for (p = 0; p < w->nparts; p++) {
		char *pre = sched_prefix(w->cfg->key_prefix, p);
		char *lua = xasprintf("return {redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', "
		    "KEYS[2]), redis.call('ZCARD', KEYS[3]), redis.call('HGETALL', KEYS[4])}");
		char *k1 = xasprintf("%sdue", pre), *k2 = xasprintf("%sinflight", pre);
		char *k3 = xasprintf("%sdead", pre), *k4 = xasprintf("%sstats", pre);
		const char *argv[7] = { "EVAL", lua, "4", k1, k2, k3, k4 };

		if (store_command(w->store, 7, argv, NULL, worker_gauge_reply, g) == -1)
			worker_gauge_reply(g, NULL, "not connected");
		free(lua);
		free(k1);
		free(k2);
		free(k3);
		free(k4);
		free(pre);
	}
}

static void
worker_http_cb(struct evhttp_request *req, void *arg)
{
	struct worker *w = arg;
	const char *path = evhttp_request_get_uri(req);
	char rid[HTTP_RID_LEN + 1];

	http_request_id(rid);
	if (strcmp(path, "/metrics") == 0) {
		struct evbuffer *out = evbuffer_new();
		struct buf b;

		buf_init(&b);
		metrics_render(w->metrics, &b);
		evbuffer_add(out, b.data ? b.data : "", b.len);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
		    "text/plain; version=0.0.4; charset=utf-8");
		evhttp_send_reply(req, 200, NULL, out);
		evbuffer_free(out);
		buf_free(&b);
	} else if (strcmp(path, "/healthz") == 0)
		http_reply_json(req, 200, rid, w->stopping ? "\"status\":\"stopping\"" :
		    "\"status\":\"ok\"");
	else if (strcmp(path, "/readyz") == 0 && store_ready(w->store) && !w->stopping)
		http_reply_json(req, 200, rid, "\"status\":\"ready\"");
	else if (strcmp(path, "/readyz") == 0)
		http_reply_error(req, 503, rid, "unavailable", "redis not connected or stopping");
	else
		http_reply_error(req, 404, rid, "not_found", "no such path");
}

int
worker_observe_setup(struct worker *w, char **cause)
{
	struct timeval tv = { 5, 0 };
	int fd;

	w->metrics = metrics_new();
	metrics_family(w->metrics, "nudge_messages_total", METRIC_COUNTER,
	    "Message outcomes of this worker: sent, retry, dead, skipped, released.", NULL);
	metrics_family(w->metrics, "nudge_send_duration_seconds", METRIC_HISTOGRAM,
	    "Provider request latency.", NULL);
	metrics_family(w->metrics, "nudge_schedule_lag_seconds", METRIC_HISTOGRAM,
	    "Delay from a message's due time to the start of its first send.", NULL);
	metrics_family(w->metrics, "nudge_worker_sends_in_flight", METRIC_GAUGE,
	    "Messages this worker has claimed and not yet reported.", NULL);
	metrics_family(w->metrics, "nudge_due_messages", METRIC_GAUGE,
	    "Messages waiting in Redis (all partitions; the same on every worker).", NULL);
	metrics_family(w->metrics, "nudge_inflight_messages", METRIC_GAUGE,
	    "Messages claimed by some worker, not yet reported.", NULL);
	metrics_family(w->metrics, "nudge_dead_messages", METRIC_GAUGE,
	    "Messages in the dead-letter sets.", NULL);
	metrics_family(w->metrics, "nudge_store_events", METRIC_GAUGE,
	    "Counters kept in Redis for the whole deployment (scheduled, sent, deferred, "
	    "skipped, reclaimed, stale_acks, ...).", NULL);
	metrics_family(w->metrics, "nudge_redis_errors_total", METRIC_COUNTER,
	    "Redis commands that failed.", NULL);
	w->gauge_ev = event_new(w->base, -1, EV_PERSIST, worker_gauge_cb, w);
	evtimer_add(w->gauge_ev, &tv);
	if (*w->cfg->worker_metrics_listen == '\0')
		return 0;
	if ((fd = http_listen(w->cfg->worker_metrics_listen, 0, cause)) == -1) {
		char *why = *cause;

		*cause = xasprintf("NUDGE_WORKER_METRICS_LISTEN: %s", why);
		free(why);
		return -1;
	}
	w->http = evhttp_new(w->base);
	evhttp_set_gencb(w->http, worker_http_cb, w);
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	if (evhttp_accept_socket(w->http, fd) == -1) {
		*cause = xasprintf("NUDGE_WORKER_METRICS_LISTEN: cannot accept");
		return -1;
	}
	log_info(w->wid, "metrics on http://%s/metrics", w->cfg->worker_metrics_listen);
	return 0;
}

