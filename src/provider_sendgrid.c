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

/*
 * Builders that remember the first problem instead of checking every call:
 * json_string() refuses invalid UTF-8, and such a message can never be
 * sent, so it fails the build as a permanent error.
 */
struct sendgrid_json {
	const char	*bad;		/* first field that was not UTF-8 */
};

static void
sendgrid_set(struct sendgrid_json *sj, json_t *obj, const char *key,
    const char *value)
{
	json_t *s;

	if ((s = json_string(value)) == NULL) {
		if (sj->bad == NULL)
			sj->bad = key;
		return;
	}
	json_object_set_new(obj, key, s);
}

/* {"email":addr,"name":name}, name omitted when empty. */
static json_t *
sendgrid_addr(struct sendgrid_json *sj, const char *addr, const char *name)
{
	json_t *o = json_object();

	sendgrid_set(sj, o, "email", addr);
	if (name != NULL && *name != '\0')
		sendgrid_set(sj, o, "name", name);
	return o;
}

static void
sendgrid_content(struct sendgrid_json *sj, json_t *arr, const char *type,
    const char *value)
{
	json_t *o;

	/* The spec gives value minLength 1: an empty part is left out. */
	if (value == NULL || *value == '\0')
		return;
	o = json_object();
	sendgrid_set(sj, o, "type", type);
	sendgrid_set(sj, o, "value", value);
	json_array_append_new(arr, o);
}

/* Categories must be unique and at most 255 characters; cut on a UTF-8 boundary. */
static void
sendgrid_category(struct sendgrid_json *sj, json_t *arr, const char *value)
{
	size_t i, n, chars = 0;
	json_t *s;

	if (value == NULL || *value == '\0' || json_array_size(arr) >= 10)
		return;
	for (n = 0; value[n] != '\0'; n++) {
		if (((unsigned char)value[n] & 0xc0) != 0x80 &&
		    ++chars > SENDGRID_CATEGORY_MAX)
			break;
	}
	if ((s = json_stringn(value, n)) == NULL) {
		if (sj->bad == NULL)
			sj->bad = "categories";
		return;
	}
	for (i = 0; i < json_array_size(arr); i++) {
		if (json_equal(json_array_get(arr, i), s)) {
			json_decref(s);
			return;
		}
	}
	json_array_append_new(arr, s);
}

static json_t *
sendgrid_body(const struct message *m, struct sendgrid_json *sj)
{
	json_t *root, *pers, *args, *content, *cats, *hdrs;

	pers = json_object();
	json_object_set_new(pers, "to", json_pack("[o]",
	    sendgrid_addr(sj, m->to, m->to_name)));
	args = json_object();
	if (m->id != NULL)
		sendgrid_set(sj, args, "nudge_id", m->id);
	if (m->shop != NULL)
		sendgrid_set(sj, args, "shop", m->shop);
	if (m->flow != NULL)
		sendgrid_set(sj, args, "flow", m->flow);
	if (m->step != NULL)
		sendgrid_set(sj, args, "step", m->step);
	json_object_set_new(pers, "custom_args", args);

	root = json_object();
	json_object_set_new(root, "personalizations", json_pack("[o]", pers));
	json_object_set_new(root, "from", sendgrid_addr(sj, m->from, m->from_name));
	sendgrid_set(sj, root, "subject", m->subject != NULL ? m->subject : "");

	/* text/plain first: SendGrid requires that order. */
	content = json_array();
	sendgrid_content(sj, content, "text/plain", m->text);
	sendgrid_content(sj, content, "text/html", m->html);
	json_object_set_new(root, "content", content);

	cats = json_array();
	sendgrid_category(sj, cats, m->flow);
	sendgrid_category(sj, cats, m->step);
	if (json_array_size(cats) > 0)
		json_object_set_new(root, "categories", cats);
	else
		json_decref(cats);

	if (m->unsubscribe_url != NULL && *m->unsubscribe_url != '\0') {
		hdrs = json_object();
		json_object_set_new(hdrs, "List-Unsubscribe",
		    json_sprintf("<%s>", m->unsubscribe_url));
		json_object_set_new(hdrs, "List-Unsubscribe-Post",
		    json_string("List-Unsubscribe=One-Click"));
		if (json_object_get(hdrs, "List-Unsubscribe") == NULL && sj->bad == NULL)
			sj->bad = "unsubscribe_url";
		json_object_set_new(root, "headers", hdrs);
	}
	return root;
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
	struct sendgrid_json sj = { NULL };
	size_t blen;
	json_t *root;
	char *s;

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
	root = sendgrid_body(m, &sj);
	if (sj.bad != NULL) {
		*cause = xasprintf("sendgrid: %s is not valid UTF-8", sj.bad);
		json_decref(root);
		return -1;
	}
	if ((s = json_dumps(root, JSON_COMPACT)) == NULL) {
		json_decref(root);
		*cause = xstrdup("sendgrid: cannot encode the request body");
		return -1;
	}
	json_decref(root);

	if (base == NULL || *base == '\0')
		base = SENDGRID_DEFAULT_URL;
	blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	req->method = "POST";
	req->url = xasprintf("%.*s/v3/mail/send", (int)blen, base);
	provider_req_header(req, "Authorization: Bearer %s", cfg->sendgrid_api_key);
	provider_req_header(req, "Content-Type: application/json");
	buf_adds(&req->body, s);
	free(s);
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
