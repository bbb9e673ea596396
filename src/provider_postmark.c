/*
 * provider_postmark: Postmark's POST /email (X-Postmark-Server-Token,
 * JSON). Transactional mail goes to the "outbound" message stream,
 * promotional mail to "broadcast" (Postmark keeps the two apart for
 * reputation). Our message id travels in Metadata.nudge_id, which Postmark
 * echoes in its webhooks; the provider id is the MessageID of the answer.
 *
 * Postmark answers a refusal with HTTP 422 and its own ErrorCode: 406 is an
 * inactive (bounced or unsubscribed) recipient, 300 an invalid request;
 * ErrorCode 429 is its rate limit, whatever the HTTP status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "provider.h"

#define POSTMARK_DEFAULT_URL	"https://api.postmarkapp.com"

static void
postmark_addr(struct provider_json *pj, json_t *root, const char *key,
    const char *name, const char *addr)
{
	char *a = provider_addr(name, addr);

	provider_json_set(pj, root, key, a);
	free(a);
}

static json_t *
postmark_header(const char *name, const char *value)
{
	return json_pack("{s:s, s:s}", "Name", name, "Value", value);
}

static json_t *
postmark_body(const struct message *m, struct provider_json *pj)
{
	json_t *root = json_object(), *meta, *hdrs;
	char *s;

	postmark_addr(pj, root, "From", m->from_name, m->from);
	postmark_addr(pj, root, "To", m->to_name, m->to);
	s = provider_clean(m->subject);
	provider_json_set(pj, root, "Subject", s);
	free(s);
	if (m->text != NULL && *m->text != '\0')
		provider_json_set(pj, root, "TextBody", m->text);
	if (m->html != NULL && *m->html != '\0')
		provider_json_set(pj, root, "HtmlBody", m->html);
	provider_json_set(pj, root, "MessageStream",
	    m->promotional ? "broadcast" : "outbound");
	if (m->step != NULL && *m->step != '\0')
		provider_json_set(pj, root, "Tag", m->step);

	meta = json_object();
	if (m->id != NULL)
		provider_json_set(pj, meta, "nudge_id", m->id);
	if (m->shop != NULL)
		provider_json_set(pj, meta, "shop", m->shop);
	if (m->flow != NULL)
		provider_json_set(pj, meta, "flow", m->flow);
	if (m->step != NULL)
		provider_json_set(pj, meta, "step", m->step);
	json_object_set_new(root, "Metadata", meta);

	if (m->unsubscribe_url != NULL && *m->unsubscribe_url != '\0') {
		s = xasprintf("<%s>", m->unsubscribe_url);
		hdrs = json_array();
		json_array_append_new(hdrs, postmark_header("List-Unsubscribe", s));
		json_array_append_new(hdrs, postmark_header("List-Unsubscribe-Post",
		    "List-Unsubscribe=One-Click"));
		json_object_set_new(root, "Headers", hdrs);
		free(s);
	}
	return root;
}

static int
postmark_build(const struct config *cfg, const struct message *m,
    struct provider_req *req, char **cause)
{
	struct provider_json pj = { NULL };
	json_t *root;
	char *s;

	if (provider_need("POSTMARK_SERVER_TOKEN", cfg->postmark_token, cause) != 0 ||
	    provider_check_email("postmark", m, cause) != 0)
		return -1;
	root = postmark_body(m, &pj);
	if (pj.bad != NULL) {
		*cause = xasprintf("postmark: %s is not valid UTF-8", pj.bad);
		json_decref(root);
		return -1;
	}
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (s == NULL) {
		*cause = xstrdup("postmark: cannot encode the request body");
		return -1;
	}
	req->method = "POST";
	req->url = provider_url(cfg->postmark_url, POSTMARK_DEFAULT_URL, "/email");
	provider_req_header(req, "X-Postmark-Server-Token: %s", cfg->postmark_token);
	provider_req_header(req, "Accept: application/json");
	provider_req_header(req, "Content-Type: application/json");
	buf_adds(&req->body, s);
	free(s);
	return 0;
}

/*
 * The shared HTTP rules, refined by the ErrorCode of the body: 429 in the
 * body is a rate limit even inside a 422; a 200 carrying a non-zero code
 * did not send.
 */
static void
postmark_classify(const struct provider_resp *resp, struct provider_result *res)
{
	const char *id, *msg;
	json_int_t code = -1;
	char cbuf[32];
	json_t *root, *v;

	provider_classify_http(resp, res);
	if (resp->transport_error != 0 || resp->status == 0)
		return;
	root = provider_resp_json(resp);
	if (root != NULL && json_is_integer(v = json_object_get(root, "ErrorCode")))
		code = json_integer_value(v);
	msg = root != NULL ? json_string_value(json_object_get(root, "Message")) : NULL;

	if (res->outcome == SEND_OK && code > 0)
		res->outcome = SEND_PERMANENT;
	if (code == 429 && res->outcome != SEND_RETRY) {
		res->outcome = SEND_RETRY;
		res->retry_after_ms = provider_retry_after_ms(
		    provider_resp_header(resp, "Retry-After"), resp->now_ms);
	}
	if (res->outcome == SEND_OK) {
		id = root != NULL ? json_string_value(json_object_get(root, "MessageID")) : NULL;
		if (id != NULL)
			snprintf(res->provider_id, sizeof res->provider_id, "%s", id);
	} else if (code >= 0) {
		snprintf(cbuf, sizeof cbuf, "ErrorCode %lld", (long long)code);
		provider_error(res, resp, cbuf, msg != NULL && *msg != '\0' ? msg : "-");
	}
	json_decref(root);
}

const struct provider provider_postmark = {
	.name = "postmark",
	.channel = CHANNEL_EMAIL,
	.build = postmark_build,
	.classify = postmark_classify,
};
