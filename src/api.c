/*
 * api: unsubscribe pages and the admin timeline.
 *
 * Each request waits for one Redis reply; the pending struct lives until
 * that reply (the store fails every command of a lost connection, so the
 * reply always comes). evhttp keeps a request whose client left and frees
 * it at our reply.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "nevent.h"
#include "sched.h"
#include "shops.h"
#include "sig.h"
#include "unsub.h"
#include "util.h"

struct api {
	const struct config	*cfg;
	const struct shops	*shops;
	struct sched		*sched;
};

struct api_req {
	struct evhttp_request	*req;
	const struct shop	*shop;
	char			 rid[HTTP_RID_LEN + 1];
	char			 customer[33];
	int			 post;
};

static void
api_html(struct evhttp_request *req, int code, const char *rid, const char *title,
    const char *text)
{
	struct evbuffer *out = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", "text/html; charset=utf-8");
	evhttp_add_header(h, "X-Request-Id", rid);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evbuffer_add_printf(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	    "<title>%s</title></head><body style=\"font-family:Arial,Helvetica,sans-serif;"
	    "max-width:520px;margin:48px auto;padding:0 16px;color:#111827;line-height:1.5\">"
	    "<h1 style=\"font-size:22px\">%s</h1><p>%s</p></body></html>\n", title, title, text);
	evhttp_send_reply(req, code, NULL, out);
	evbuffer_free(out);
}

/* Escapes s for HTML into a buffer the caller frees. */
static char *
api_escape(const char *s)
{
	struct buf b;

	buf_init(&b);
	for (; *s; s++) {
		switch (*s) {
		case '<': buf_adds(&b, "&lt;"); break;
		case '>': buf_adds(&b, "&gt;"); break;
		case '&': buf_adds(&b, "&amp;"); break;
		case '"': buf_adds(&b, "&quot;"); break;
		default: buf_addc(&b, *s);
		}
	}
	return buf_detach(&b);
}

static void
api_unsubscribed_cb(void *arg, long cancelled, const char *err)
{
	struct api_req *ar = arg;
	struct buf f;
	char *name, *text;

	if (cancelled < 0) {
		log_warn(ar->rid, "unsubscribe failed: %s", err);
		if (ar->post)
			http_reply_error(ar->req, 503, ar->rid, "unavailable", "retry later");
		else
			api_html(ar->req, 503, ar->rid, "Please try again",
			    "We could not record your request just now. Please try the link again in a minute.");
		free(ar);
		return;
	}
	buf_init(&f);
	buf_adds(&f, "\"shop\":");
	buf_add_json_str(&f, ar->shop->domain);
	buf_printf(&f, ",\"customer\":\"%s\",\"cancelled\":%ld,\"via\":\"%s\"", ar->customer,
	    cancelled, ar->post ? "one-click" : "link");
	log_at(LOG_INFO, ar->rid, f.data, "unsubscribed");
	buf_free(&f);
	if (ar->post)
		http_reply_json(ar->req, 200, ar->rid, "\"result\":\"unsubscribed\"");
	else {
		name = api_escape(ar->shop->name ? ar->shop->name : ar->shop->domain);
		text = xasprintf("You will no longer receive promotional messages from %s. "
		    "Messages about your orders, such as confirmations and shipping updates, "
		    "will still reach you.", name);
		api_html(ar->req, 200, ar->rid, "You are unsubscribed", text);
		free(text);
		free(name);
	}
	free(ar);
}

static void
api_unsubscribe(struct api *api, struct evhttp_request *req, const char *token)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct api_req *ar = xcalloc(1, sizeof *ar);
	char tok[512];
	size_t n = strcspn(token, "?#");

	http_request_id(ar->rid);
	ar->req = req;
	ar->post = cmd == EVHTTP_REQ_POST;
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_POST && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, POST");
		http_reply_error(req, 405, ar->rid, "method_not_allowed", "use GET or POST");
		free(ar);
		return;
	}
	if (n >= sizeof tok || (memcpy(tok, token, n), tok[n] = '\0',
	    unsub_verify(api->cfg, api->shops, tok, &ar->shop, ar->customer) == -1)) {
		log_info(ar->rid, "unsubscribe with an invalid token");
		if (ar->post)
			http_reply_error(req, 404, ar->rid, "not_found", "invalid unsubscribe token");
		else
			api_html(req, 404, ar->rid, "This link is not valid",
			    "The unsubscribe link is incomplete or was changed. Please use the "
			    "link from the latest email you received.");
		free(ar);
		return;
	}
	if (cmd == EVHTTP_REQ_HEAD) {
		/* link checkers and prefetchers probe with HEAD: answer, change nothing */
		api_html(req, 200, ar->rid, "Unsubscribe", "");
		free(ar);
		return;
	}
	if (sched_unsubscribe(api->sched, ar->shop, ar->customer, ar->post ? "one-click" : "link",
	    api_unsubscribed_cb, ar) == -1)
		api_unsubscribed_cb(ar, -1, "redis not connected");
}

static void
api_timeline_cb(void *arg, json_t *entries, const char *err)
{
	struct api_req *ar = arg;
	struct buf f;
	char *list;

	if (entries == NULL) {
		log_warn(ar->rid, "timeline failed: %s", err);
		http_reply_error(ar->req, 503, ar->rid, "unavailable", "retry later");
		free(ar);
		return;
	}
	list = json_dumps(entries, JSON_COMPACT);
	buf_init(&f);
	buf_adds(&f, "\"shop\":");
	buf_add_json_str(&f, ar->shop->domain);
	buf_printf(&f, ",\"customer\":\"%s\",\"entries\":%s", ar->customer, list);
	http_reply_json(ar->req, 200, ar->rid, f.data);
	buf_free(&f);
	free(list);
	free(ar);
}

static void
api_timeline(struct api *api, struct evhttp_request *req)
{
	const char *auth = http_header(req, "Authorization");
	const char *want = api->cfg->admin_token;
	struct evkeyvalq q;
	struct api_req *ar;
	const char *shop, *email;
	char rid[HTTP_RID_LEN + 1];
	size_t wl = strlen(want);

	http_request_id(rid);
	if (*want == '\0') {
		http_reply_error(req, 404, rid, "not_found", "the admin API is off (NUDGE_ADMIN_TOKEN)");
		return;
	}
	if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0 || strlen(auth + 7) != wl ||
	    !sig_equal(auth + 7, want, wl)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", "Bearer");
		http_reply_error(req, 401, rid, "unauthorized", "missing or wrong bearer token");
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
		http_reply_error(req, 405, rid, "method_not_allowed", "use GET");
		return;
	}
	/* evhttp_parse_query initializes q */
	if (evhttp_parse_query(evhttp_request_get_uri(req), &q) == -1 ||
	    (shop = evhttp_find_header(&q, "shop")) == NULL ||
	    (email = evhttp_find_header(&q, "email")) == NULL || *email == '\0') {
		evhttp_clear_headers(&q);
		http_reply_error(req, 400, rid, "bad_request", "expected ?shop=DOMAIN&email=ADDRESS");
		return;
	}
	ar = xcalloc(1, sizeof *ar);
	ar->req = req;
	memcpy(ar->rid, rid, sizeof rid);
	if ((ar->shop = shops_find(api->shops, shop)) == NULL) {
		evhttp_clear_headers(&q);
		http_reply_error(req, 404, rid, "not_found", "unknown shop");
		free(ar);
		return;
	}
	nevent_customer_key_of(email, ar->customer);
	evhttp_clear_headers(&q);
	if (sched_timeline(api->sched, ar->shop, ar->customer, api_timeline_cb, ar) == -1)
		api_timeline_cb(ar, NULL, "redis not connected");
}

int
api_handle(struct api *api, struct evhttp_request *req, const char *path)
{
	if (strncmp(path, "/u/", 3) == 0) {
		api_unsubscribe(api, req, path + 3);
		return 1;
	}
	if (strncmp(path, "/v1/timeline", 12) == 0 && (path[12] == '\0' || path[12] == '?')) {
		api_timeline(api, req);
		return 1;
	}
	return 0;
}

struct api *
api_new(const struct config *cfg, const struct shops *shops, struct sched *sched)
{
	struct api *api = xcalloc(1, sizeof *api);

	api->cfg = cfg;
	api->shops = shops;
	api->sched = sched;
	return api;
}

void
api_free(struct api *api)
{
	free(api);
}
