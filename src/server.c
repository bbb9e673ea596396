/*
 * server: routing and the webhook ingest path.
 *
 * One webhook = one struct ingest, owned by this file from the request
 * callback until both (a) the answer is sent and (b) the Redis reply, if a
 * command was issued, has come back. A timer answers 503 when Redis is
 * slower than NUDGE_REQUEST_TIMEOUT_MS; the late reply then only frees.
 * If the client hangs up first, evhttp keeps the request detached and
 * frees it at our evhttp_send_reply, so answering late is always safe.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api.h"
#include "clock.h"
#include "config.h"
#include "nevent.h"
#include "flows.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "platform.h"
#include "sched.h"
#include "server.h"
#include "shops.h"
#include "store.h"
#include "util.h"

struct server {
	struct event_base	*base;
	struct evhttp		*http;
	struct evhttp_bound_socket *bound;
	const struct config	*cfg;
	const struct shops	*shops;
	const struct flows	*flows;
	struct store		*store;
	struct sched		*sched;
	struct api		*api;
	struct metrics		*metrics;
	unsigned		 pending;
};

struct ingest {
	struct server		*srv;
	struct evhttp_request	*req;
	char			 rid[HTTP_RID_LEN + 1];
	const struct platform	*pf;
	struct nevent		 ev;
	struct plan		 plan;
	struct event		*timer;
	int			 answered;
	int			 waiting;	/* Redis reply outstanding */
	int64_t			 start_ms;
};

/* One access-log line per webhook. */
static void
server_log_webhook(struct ingest *in, int code, const char *result, const char *reason)
{
	struct buf f, l;
	char mask[64];

	buf_init(&l);
	metrics_label(&l, "platform", in->pf ? in->pf->name : "none");
	metrics_observe(in->srv->metrics, "nudge_webhook_duration_seconds", l.data,
	    (double)(clock_mono_ms() - in->start_ms) / 1000.0);
	metrics_label(&l, "topic", in->ev.topic ? in->ev.topic : "none");
	metrics_label(&l, "result", result);
	metrics_add(in->srv->metrics, "nudge_webhooks_total", l.data, 1);
	buf_free(&l);
	if (LOG_INFO < log_min_level && code < 500)
		return;
	buf_init(&f);
	buf_printf(&f, "\"status\":%d,\"platform\":", code);
	buf_add_json_str(&f, in->pf ? in->pf->name : "-");
	buf_adds(&f, ",\"topic\":");
	buf_add_json_str(&f, in->ev.topic ? in->ev.topic : "-");
	buf_adds(&f, ",\"shop\":");
	buf_add_json_str(&f, in->ev.shop ? in->ev.shop->domain : "-");
	buf_adds(&f, ",\"result\":");
	buf_add_json_str(&f, result);
	if (reason != NULL) {
		buf_adds(&f, ",\"reason\":");
		buf_add_json_str(&f, reason);
	}
	if (in->ev.kind != EVENT_NONE) {
		buf_adds(&f, ",\"event\":");
		buf_add_json_str(&f, nevent_kind_name(in->ev.kind));
	}
	if (in->ev.email != NULL) {
		log_mask_addr(in->ev.email, mask, sizeof mask);
		buf_adds(&f, ",\"to\":");
		buf_add_json_str(&f, mask);
	}
	buf_printf(&f, ",\"ms\":%lld", (long long)(clock_mono_ms() - in->start_ms));
	log_at(code >= 500 ? LOG_WARN : LOG_INFO, in->rid, f.data, "webhook");
	buf_free(&f);
}

static void
ingest_free(struct ingest *in)
{
	if (in->timer != NULL)
		event_free(in->timer);
	nevent_free(&in->ev);
	plan_free(&in->plan);
	free(in);
}

/* Sends the answer once; frees when nothing else refers to in. */
static void
ingest_answer(struct ingest *in, int code, const char *error, const char *result,
    const char *reason, const char *fields)
{
	if (in->answered)
		return;
	in->answered = 1;
	if (error != NULL)
		http_reply_error(in->req, code, in->rid, error, reason);
	else
		http_reply_json(in->req, code, in->rid, fields);
	server_log_webhook(in, code, error ? error : result, reason);
	in->req = NULL;
}

static void
ingest_done(struct ingest *in)
{
	if (in->answered && !in->waiting) {
		in->srv->pending--;
		ingest_free(in);
	}
}

static void
ingest_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ingest *in = arg;

	(void)fd;
	(void)what;
	ingest_answer(in, 503, "unavailable", NULL,
	    "redis did not answer in time; retry later", NULL);
	ingest_done(in);
}

static void
ingest_applied_cb(void *arg, const struct sched_result *res)
{
	struct ingest *in = arg;
	struct buf f;

	in->waiting = 0;
	buf_init(&f);
	switch (res->status) {
	case SCHED_APPLIED:
		{
			struct buf l;

			buf_init(&l);
			metrics_label(&l, "event", nevent_kind_name(in->ev.kind));
			metrics_add(in->srv->metrics, "nudge_messages_scheduled_total", l.data,
			    (double)res->scheduled);
			metrics_add(in->srv->metrics, "nudge_messages_cancelled_total", l.data,
			    (double)res->cancelled);
			buf_free(&l);
		}
		if (in->plan.erase == PLAN_ERASE_CUSTOMER) {
			ingest_answer(in, 200, NULL, "erased", NULL, "\"result\":\"erased\"");
			break;
		}
		buf_adds(&f, "\"result\":\"scheduled\",\"event\":");
		buf_add_json_str(&f, nevent_kind_name(in->ev.kind));
		buf_printf(&f, ",\"messages\":%ld,\"cancelled\":%ld", res->scheduled, res->cancelled);
		ingest_answer(in, 200, NULL, "scheduled", NULL, f.data);
		break;
	case SCHED_DUPLICATE:
		ingest_answer(in, 200, NULL, "duplicate", NULL, "\"result\":\"duplicate\"");
		break;
	case SCHED_FAILED:
		metrics_add(in->srv->metrics, "nudge_redis_errors_total", NULL, 1);
		log_warn(in->rid, "apply failed: %s", res->error ? res->error : "unknown");
		ingest_answer(in, 503, "unavailable", NULL, "storage unavailable; retry later", NULL);
		break;
	}
	buf_free(&f);
	ingest_done(in);
}

/* --- privacy: data requests and shop erasure ---------------------------- */

static void
ingest_exported_cb(void *arg, json_t *data, const char *err)
{
	struct ingest *in = arg;
	const struct config *cfg = in->srv->cfg;
	char *path, *text, *cause = NULL;
	struct buf f;

	in->waiting = 0;
	if (data == NULL) {
		log_warn(in->rid, "export failed: %s", err ? err : "unknown");
		ingest_answer(in, 503, "unavailable", NULL, "storage unavailable; retry later", NULL);
		ingest_done(in);
		return;
	}
	json_object_set_new(data, "shop", json_string(in->ev.shop->domain));
	json_object_set_new(data, "email", json_string(in->ev.email ? in->ev.email : ""));
	json_object_set_new(data, "request", json_incref(in->ev.ctx ? in->ev.ctx : json_null()));
	text = json_dumps(data, JSON_INDENT(2) | JSON_SORT_KEYS);
	mkdir(cfg->export_dir, 0750);
	path = xasprintf("%s/%s-%s-%s.json", cfg->export_dir, in->ev.shop->domain,
	    in->plan.customer, in->rid);
	if (util_write_file(path, text, strlen(text), &cause) == -1) {
		log_error(in->rid, "export: %s", cause);
		ingest_answer(in, 503, "unavailable", NULL, "could not write the export", NULL);
		free(cause);
	} else {
		buf_init(&f);
		buf_adds(&f, "\"export\":");
		buf_add_json_str(&f, path);
		log_at(LOG_INFO, in->rid, f.data, "customer data exported for a data request");
		buf_free(&f);
		ingest_answer(in, 200, NULL, "exported", NULL, "\"result\":\"exported\"");
	}
	free(text);
	free(path);
	ingest_done(in);
}

/* A shop erasure runs in steps after the first one has been answered. */
struct erase_job {
	struct server		*srv;
	struct ingest		*in;		/* until answered, then NULL */
	const struct shop	*shop;
	char			 rid[HTTP_RID_LEN + 1];
	long			 deleted;
};

static void
erase_step_cb(void *arg, const char *next, long deleted, const char *err)
{
	struct erase_job *job = arg;
	struct ingest *in = job->in;

	if (err != NULL) {
		log_warn(job->rid, "shop erase of %s stopped: %s (the platform will retry)",
		    job->shop->domain, err);
		if (in != NULL) {
			in->waiting = 0;
			ingest_answer(in, 503, "unavailable", NULL, "storage unavailable; retry later",
			    NULL);
			ingest_done(in);
		}
		free(job);
		return;
	}
	job->deleted += deleted;
	if (in != NULL) {
		in->waiting = 0;
		ingest_answer(in, 200, NULL, "erasing", NULL, "\"result\":\"erasing\"");
		ingest_done(in);
		job->in = NULL;
	}
	if (strcmp(next, "0") == 0 ||
	    sched_erase_shop(job->srv->sched, job->shop, next, erase_step_cb, job) == -1) {
		log_info(job->rid, "shop %s erased: %ld keys deleted%s", job->shop->domain,
		    job->deleted, strcmp(next, "0") ? " (interrupted)" : "");
		free(job);
	}
}

/* Starts the privacy operation of a planned event. 0, or -1 if Redis is away. */
static int
ingest_privacy(struct ingest *in)
{
	struct server *srv = in->srv;
	struct erase_job *job;

	if (in->plan.erase == PLAN_EXPORT_CUSTOMER)
		return sched_export(srv->sched, in->ev.shop, in->plan.customer,
		    ingest_exported_cb, in);
	job = xcalloc(1, sizeof *job);
	job->srv = srv;
	job->in = in;
	job->shop = in->ev.shop;
	memcpy(job->rid, in->rid, sizeof job->rid);
	if (sched_erase_shop(srv->sched, in->ev.shop, "0", erase_step_cb, job) == -1) {
		free(job);
		return -1;
	}
	return 0;
}

static void
server_webhook(struct server *srv, struct evhttp_request *req, const char *rest)
{
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	struct platform_req preq;
	struct platform_result res;
	struct ingest *in;
	struct timeval tv;
	const struct shop *shop = NULL;
	const char *slash;
	char name[32], *cause = NULL;
	size_t nlen;

	in = xcalloc(1, sizeof *in);
	in->srv = srv;
	in->req = req;
	in->start_ms = clock_mono_ms();
	nevent_init(&in->ev);
	http_request_id(in->rid);
	srv->pending++;

	slash = strchr(rest, '/');
	nlen = slash ? (size_t)(slash - rest) : strlen(rest);
	if (nlen == 0 || nlen >= sizeof name) {
		ingest_answer(in, 404, "not_found", NULL, "unknown webhook source", NULL);
		goto out;
	}
	memcpy(name, rest, nlen);
	name[nlen] = '\0';
	if ((in->pf = platform_find(name)) == NULL) {
		ingest_answer(in, 404, "not_found", NULL, "unknown webhook source", NULL);
		goto out;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
		ingest_answer(in, 405, "method_not_allowed", NULL, "webhooks are POSTed", NULL);
		goto out;
	}
	if ((long)evbuffer_get_length(body) > srv->cfg->body_limit) {
		ingest_answer(in, 413, "payload_too_large", NULL, "body over NUDGE_BODY_LIMIT", NULL);
		goto out;
	}
	memset(&preq, 0, sizeof preq);
	preq.request_id = in->rid;
	preq.path_tail = slash ? slash + 1 : "";
	preq.body_len = evbuffer_get_length(body);
	preq.body = preq.body_len ? (const char *)evbuffer_pullup(body, -1) : "";
	preq.header = http_header;
	preq.hctx = req;
	preq.now_ms = clock_now_ms();

	memset(&res, 0, sizeof res);
	in->pf->verify(&preq, srv->shops, &shop, &res);
	if (res.status == PLATFORM_OK) {
		in->ev.shop = shop;
		in->pf->normalize(&preq, shop, &in->ev, &res);
	}
	switch (res.status) {
	case PLATFORM_OK:
		break;
	case PLATFORM_IGNORE: {
		struct buf f;

		buf_init(&f);
		buf_adds(&f, "\"result\":\"ignored\",\"reason\":");
		buf_add_json_str(&f, res.reason);
		ingest_answer(in, 200, NULL, "ignored", res.reason, f.data);
		buf_free(&f);
		goto out;
	}
	case PLATFORM_UNAUTHORIZED:
		ingest_answer(in, 401, "unauthorized", NULL, res.reason, NULL);
		goto out;
	case PLATFORM_INVALID:
		ingest_answer(in, 400, "bad_request", NULL, res.reason, NULL);
		goto out;
	}
	if (json_is_true(json_object_get(shop->raw, "assume_marketing_consent"))) {
		/* the shop collects consent elsewhere and vouches for it */
		if (in->ev.consent_email < 0)
			in->ev.consent_email = 1;
		if (in->ev.consent_sms < 0)
			in->ev.consent_sms = 1;
	}
	if (flows_plan(srv->flows, &in->ev, preq.now_ms, srv->cfg->time_scale,
	    &in->plan, &cause) == -1) {
		ingest_answer(in, 400, "bad_request", NULL, cause, NULL);
		free(cause);
		goto out;
	}
	if (in->plan.erase == PLAN_EXPORT_CUSTOMER || in->plan.erase == PLAN_ERASE_SHOP) {
		if (ingest_privacy(in) == -1) {
			ingest_answer(in, 503, "unavailable", NULL, "storage unavailable; retry later",
			    NULL);
			goto out;
		}
	} else if (sched_apply(srv->sched, &in->ev, &in->plan, preq.now_ms, ingest_applied_cb,
	    in) == -1) {
		ingest_answer(in, 503, "unavailable", NULL, "storage unavailable; retry later", NULL);
		goto out;
	}
	in->waiting = 1;
	in->timer = evtimer_new(srv->base, ingest_timeout_cb, in);
	tv.tv_sec = srv->cfg->request_timeout_ms / 1000;
	tv.tv_usec = (srv->cfg->request_timeout_ms % 1000) * 1000;
	evtimer_add(in->timer, &tv);
	return;
out:
	ingest_done(in);
}

static void
server_request_cb(struct evhttp_request *req, void *arg)
{
	struct server *srv = arg;
	const char *uri = evhttp_request_get_uri(req);
	const char *path = uri;
	char rid[HTTP_RID_LEN + 1];
	int get = evhttp_request_get_command(req) == EVHTTP_REQ_GET ||
	    evhttp_request_get_command(req) == EVHTTP_REQ_HEAD;

	if (strncmp(path, "/webhooks/", 10) == 0) {
		server_webhook(srv, req, path + 10);
		return;
	}
	http_request_id(rid);
	if (strcmp(path, "/healthz") == 0 && get) {
		http_reply_json(req, 200, rid, "\"status\":\"ok\"");
		return;
	}
	if (strcmp(path, "/readyz") == 0 && get) {
		if (store_ready(srv->store))
			http_reply_json(req, 200, rid, "\"status\":\"ready\"");
		else
			http_reply_error(req, 503, rid, "unavailable",
			    "redis not connected or scripts not loaded");
		return;
	}
	if (strcmp(path, "/metrics") == 0 && get) {
		struct evbuffer *out = evbuffer_new();
		struct buf b;

		buf_init(&b);
		metrics_render(srv->metrics, &b);
		evbuffer_add(out, b.data ? b.data : "", b.len);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
		    "text/plain; version=0.0.4; charset=utf-8");
		evhttp_send_reply(req, 200, NULL, out);
		evbuffer_free(out);
		buf_free(&b);
		return;
	}
	if (strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		http_reply_error(req, 405, rid, "method_not_allowed", "use GET");
		return;
	}
	if (api_handle(srv->api, req, path))
		return;
	http_reply_error(req, 404, rid, "not_found", "no such path");
}

void
server_metrics(struct metrics *m)
{
	metrics_family(m, "nudge_webhooks_total", METRIC_COUNTER,
	    "Webhooks received, by platform, topic and result.", NULL);
	metrics_family(m, "nudge_webhook_duration_seconds", METRIC_HISTOGRAM,
	    "Time from a webhook's arrival to its answer.", NULL);
	metrics_family(m, "nudge_messages_scheduled_total", METRIC_COUNTER,
	    "Messages scheduled, by the event that scheduled them.", NULL);
	metrics_family(m, "nudge_messages_cancelled_total", METRIC_COUNTER,
	    "Pending messages cancelled by exit rules, by the event.", NULL);
	metrics_family(m, "nudge_redis_errors_total", METRIC_COUNTER,
	    "Redis commands that failed (connection lost, timeout, script error).", NULL);
}

struct server *
server_new(struct event_base *base, int fd, const struct config *cfg,
    const struct shops *shops, const struct flows *flows, struct metrics *metrics, char **cause)
{
	struct server *srv = xcalloc(1, sizeof *srv);

	srv->metrics = metrics;
	srv->base = base;
	srv->cfg = cfg;
	srv->shops = shops;
	srv->flows = flows;
	if ((srv->store = store_new(base, cfg->redis_url, cfg->request_timeout_ms, cause)) == NULL) {
		free(srv);
		return NULL;
	}
	srv->sched = sched_new(srv->store, cfg);
	srv->api = api_new(cfg, shops, srv->sched);
	srv->http = evhttp_new(base);
	/*
	 * evhttp answers bodies over its own limit with an HTML 413 before we
	 * see them. Give it headroom so that we answer the usual oversized
	 * webhook with our JSON 413; only a body past twice the limit (at
	 * least 1 MiB past it) gets evhttp's answer.
	 */
	evhttp_set_max_body_size(srv->http, cfg->body_limit +
	    (cfg->body_limit > 1048576 ? cfg->body_limit : 1048576));
	evhttp_set_max_headers_size(srv->http, 64 * 1024);
	evhttp_set_timeout(srv->http, 30);
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
	    EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(srv->http, server_request_cb, srv);
	if ((srv->bound = evhttp_accept_socket_with_handle(srv->http, fd)) == NULL) {
		*cause = xasprintf("cannot accept on the listening socket");
		server_free(srv);
		return NULL;
	}
	return srv;
}

void
server_stop_accepting(struct server *srv)
{
	if (srv->bound != NULL) {
		evhttp_del_accept_socket(srv->http, srv->bound);
		srv->bound = NULL;
	}
}

unsigned
server_pending(const struct server *srv)
{
	return srv->pending;
}

void
server_free(struct server *srv)
{
	if (srv == NULL)
		return;
	if (srv->http != NULL)
		evhttp_free(srv->http);
	api_free(srv->api);
	sched_free(srv->sched);
	store_free(srv->store);
	free(srv);
}
