/*
 * provider_sendgrid: SendGrid v3 Mail Send (POST /v3/mail/send, Bearer
 * key, JSON). Our message id travels in personalizations[0].custom_args
 * (the top-level custom_args is typed string in SendGrid's own spec) so
 * that Event Webhook events can be matched back to the message. Success is
 * 202 with an empty body; the provider id is the X-Message-Id header.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "provider.h"

#define SENDGRID_DEFAULT_URL	"https://api.sendgrid.com"
#define SENDGRID_CATEGORY_MAX	255	/* characters, per the spec */

/* {"email":addr,"name":name}, name omitted when empty. */
static void
sendgrid_addr(struct provider_json *pj, const char *key, const char *addr, const char *name)
{
	provider_json_open(pj, key, '{');
	provider_json_str(pj, "email", addr);
	if (name != NULL && *name != '\0')
		provider_json_str(pj, "name", name);
	provider_json_close(pj);
}

static void
sendgrid_content(struct provider_json *pj, const char *type, const char *value)
{
	/* The spec gives value minLength 1: an empty part is left out. */
	if (value == NULL || *value == '\0')
		return;
	provider_json_open(pj, NULL, '{');
	provider_json_str(pj, "type", type);
	provider_json_str(pj, "value", value);
	provider_json_close(pj);
}

/* Bytes of value that make at most SENDGRID_CATEGORY_MAX characters (UTF-8). */
static size_t
sendgrid_category_len(const char *value)
{
	size_t n, chars = 0;

	for (n = 0; value[n] != '\0'; n++) {
		if (((unsigned char)value[n] & 0xc0) != 0x80 &&
		    ++chars > SENDGRID_CATEGORY_MAX)
			break;
	}
	return n;
}

/*
 * "categories": flow and step, each at most 255 characters (cut on a UTF-8
 * boundary), unique, left out when both are empty.
 */
static void
sendgrid_categories(struct provider_json *pj, const char *flow, const char *step)
{
	size_t fn = flow != NULL ? sendgrid_category_len(flow) : 0;
	size_t sn = step != NULL ? sendgrid_category_len(step) : 0;

	if (fn == 0 && sn == 0)
		return;
	provider_json_open(pj, "categories", '[');
	if (fn > 0)
		provider_json_strn(pj, NULL, flow, fn);
	if (sn > 0 && (sn != fn || memcmp(flow, step, sn) != 0))
		provider_json_strn(pj, NULL, step, sn);
	provider_json_close(pj);
	if (pj->bad != NULL && strcmp(pj->bad, "value") == 0)
		pj->bad = "categories";
}

/*
 * The body, in the order SendGrid documents it. A field that is not UTF-8
 * ends up in pj->bad (the message is refused).
 */
static void
sendgrid_body(const struct message *m, struct provider_json *pj)
{
	char *u;

	provider_json_open(pj, NULL, '{');
	provider_json_open(pj, "personalizations", '[');
	provider_json_open(pj, NULL, '{');
	provider_json_open(pj, "to", '[');
	sendgrid_addr(pj, NULL, m->to, m->to_name);
	provider_json_close(pj);
	provider_json_open(pj, "custom_args", '{');
	if (m->id != NULL)
		provider_json_str(pj, "nudge_id", m->id);
	if (m->shop != NULL)
		provider_json_str(pj, "shop", m->shop);
	if (m->flow != NULL)
		provider_json_str(pj, "flow", m->flow);
	if (m->step != NULL)
		provider_json_str(pj, "step", m->step);
	provider_json_close(pj);
	provider_json_close(pj);
	provider_json_close(pj);

	sendgrid_addr(pj, "from", m->from, m->from_name);
	provider_json_str(pj, "subject", m->subject != NULL ? m->subject : "");
	/* text/plain first: SendGrid requires that order. */
	provider_json_open(pj, "content", '[');
	sendgrid_content(pj, "text/plain", m->text);
	sendgrid_content(pj, "text/html", m->html);
	provider_json_close(pj);
	sendgrid_categories(pj, m->flow, m->step);

	if (m->unsubscribe_url != NULL && *m->unsubscribe_url != '\0') {
		u = xasprintf("<%s>", m->unsubscribe_url);
		provider_json_open(pj, "headers", '{');
		provider_json_str(pj, "List-Unsubscribe", u);
		provider_json_str(pj, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
		provider_json_close(pj);
		if (pj->bad != NULL && strcmp(pj->bad, "List-Unsubscribe") == 0)
			pj->bad = "unsubscribe_url";
		free(u);
	}
	provider_json_close(pj);
}

/*
 * Fails (permanently) only for what SendGrid would refuse with a 400 anyway
 * or what we cannot express: no key, no recipient or sender, no content,
 * text that is not UTF-8.
 */
static int
sendgrid_build(const struct config *cfg, const struct message *m,
    struct provider_req *req, char **cause)
{
	const char *base = cfg->sendgrid_url;
	struct provider_json pj;
	size_t blen;

	if (cfg->sendgrid_api_key == NULL || *cfg->sendgrid_api_key == '\0') {
		*cause = xstrdup("SENDGRID_API_KEY is empty");
		return -1;
	}
	if (m->to == NULL || *m->to == '\0' || m->from == NULL || *m->from == '\0') {
		*cause = xstrdup("sendgrid: recipient or sender address is empty");
		return -1;
	}
	if ((m->text == NULL || *m->text == '\0') && (m->html == NULL || *m->html == '\0')) {
		*cause = xstrdup("sendgrid: message has neither text nor html");
		return -1;
	}
	/* room for the parts and the rest, so the body grows once at most */
	buf_reserve(&req->body, (m->html != NULL ? strlen(m->html) : 0) +
	    (m->text != NULL ? strlen(m->text) : 0) + 1024);
	provider_json_init(&pj, &req->body);
	sendgrid_body(m, &pj);
	if (pj.bad != NULL) {
		*cause = xasprintf("sendgrid: %s is not valid UTF-8", pj.bad);
		buf_reset(&req->body);
		return -1;
	}

	if (base == NULL || *base == '\0')
		base = SENDGRID_DEFAULT_URL;
	blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	req->method = "POST";
	req->url = xasprintf("%.*s/v3/mail/send", (int)blen, base);
	provider_req_header(req, "Authorization: Bearer %s", cfg->sendgrid_api_key);
	provider_req_header(req, "Content-Type: application/json");
	return 0;
}

/* {"errors":[{"message":..,"field":..}]} -> "message (field)" into out. */
static int
sendgrid_error_message(const struct provider_resp *resp, char *out, size_t outlen)
{
	const char *msg = NULL, *field = NULL;
	char text[200], ftext[100];
	json_error_t jerr;
	json_t *root;

	if (resp->body == NULL || resp->body_len == 0)
		return -1;
	root = json_loadb(resp->body, resp->body_len, 0, &jerr);
	if (root == NULL)
		return -1;
	/* "field" and "help" may be null; only message must be a string. */
	if (json_unpack(root, "{s:[{s:s}]}", "errors", "message", &msg) != 0 ||
	    *msg == '\0') {
		json_decref(root);
		return -1;
	}
	field = json_string_value(json_object_get(json_array_get(
	    json_object_get(root, "errors"), 0), "field"));
	provider_sanitize(text, sizeof text, msg, strlen(msg));
	if (field != NULL && *field != '\0') {
		provider_sanitize(ftext, sizeof ftext, field, strlen(field));
		snprintf(out, outlen, "HTTP %ld: %.160s (%.60s)", resp->status, text, ftext);
	} else
		snprintf(out, outlen, "HTTP %ld: %s", resp->status, text);
	json_decref(root);
	return 0;
}

/*
 * Starts from the shared HTTP rules and adds what SendGrid documents: the
 * id in X-Message-Id; on 429 the X-RateLimit-Reset epoch when there is no
 * Retry-After (SendGrid documents only the former); the first entry of
 * "errors" as the reason for a refusal.
 */
static void
sendgrid_classify(const struct provider_resp *resp, struct provider_result *res)
{
	const char *v;
	int64_t reset;

	provider_classify_http(resp, res);
	if (res->outcome == SEND_OK) {
		if ((v = provider_resp_header(resp, "X-Message-Id")) != NULL)
			snprintf(res->provider_id, sizeof res->provider_id, "%s", v);
		return;
	}
	if (resp->transport_error != 0 || resp->status == 0)
		return;
	if (resp->status == 429 && res->retry_after_ms == 0 &&
	    (v = provider_resp_header(resp, "X-RateLimit-Reset")) != NULL &&
	    util_parse_i64(v, &reset) == 0 && reset > 0 &&
	    reset < INT64_MAX / 1000) {
		res->retry_after_ms = reset * 1000 - resp->now_ms;
		if (res->retry_after_ms < 1000)
			res->retry_after_ms = 1000;
		if (res->retry_after_ms > 24LL * 3600 * 1000)
			res->retry_after_ms = 24LL * 3600 * 1000;
	}
	sendgrid_error_message(resp, res->error, sizeof res->error);
}

const struct provider provider_sendgrid = {
	.name = "sendgrid",
	.channel = CHANNEL_EMAIL,
	.build = sendgrid_build,
	.classify = sendgrid_classify,
};
