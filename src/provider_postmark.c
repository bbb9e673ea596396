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
postmark_addr(struct provider_json *pj, const char *key, const char *name, const char *addr)
{
	char *a = provider_addr(name, addr);

	provider_json_str(pj, key, a);
	free(a);
}

static void
postmark_header(struct provider_json *pj, const char *name, const char *value)
{
	provider_json_open(pj, NULL, '{');
	provider_json_str(pj, "Name", name);
	provider_json_str(pj, "Value", value);
	provider_json_close(pj);
}

static void
postmark_body(const struct message *m, struct provider_json *pj)
{
	char *s;

	provider_json_open(pj, NULL, '{');
	postmark_addr(pj, "From", m->from_name, m->from);
	postmark_addr(pj, "To", m->to_name, m->to);
	s = provider_clean(m->subject);
	provider_json_str(pj, "Subject", s);
	free(s);
	if (m->text != NULL && *m->text != '\0')
		provider_json_str(pj, "TextBody", m->text);
	if (m->html != NULL && *m->html != '\0')
		provider_json_str(pj, "HtmlBody", m->html);
	provider_json_str(pj, "MessageStream", m->promotional ? "broadcast" : "outbound");
	if (m->step != NULL && *m->step != '\0')
		provider_json_str(pj, "Tag", m->step);

	provider_json_open(pj, "Metadata", '{');
	if (m->id != NULL)
		provider_json_str(pj, "nudge_id", m->id);
	if (m->shop != NULL)
		provider_json_str(pj, "shop", m->shop);
	if (m->flow != NULL)
		provider_json_str(pj, "flow", m->flow);
	if (m->step != NULL)
		provider_json_str(pj, "step", m->step);
	provider_json_close(pj);

	if (m->unsubscribe_url != NULL && *m->unsubscribe_url != '\0') {
		s = xasprintf("<%s>", m->unsubscribe_url);
		provider_json_open(pj, "Headers", '[');
		postmark_header(pj, "List-Unsubscribe", s);
		postmark_header(pj, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
		provider_json_close(pj);
		free(s);
	}
	provider_json_close(pj);
}

static int
postmark_build(const struct config *cfg, const struct message *m,
    struct provider_req *req, char **cause)
{
	struct provider_json pj;

	if (provider_need("POSTMARK_SERVER_TOKEN", cfg->postmark_token, cause) != 0 ||
	    provider_check_email("postmark", m, cause) != 0)
		return -1;
	buf_reserve(&req->body, (m->html != NULL ? strlen(m->html) : 0) +
	    (m->text != NULL ? strlen(m->text) : 0) + 1024);
	provider_json_init(&pj, &req->body);
	postmark_body(m, &pj);
	if (pj.bad != NULL) {
		*cause = xasprintf("postmark: %s is not valid UTF-8", pj.bad);
		buf_reset(&req->body);
		return -1;
	}
	req->method = "POST";
	req->url = provider_url(cfg->postmark_url, POSTMARK_DEFAULT_URL, "/email");
	provider_req_header(req, "X-Postmark-Server-Token: %s", cfg->postmark_token);
	provider_req_header(req, "Accept: application/json");
	provider_req_header(req, "Content-Type: application/json");
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
