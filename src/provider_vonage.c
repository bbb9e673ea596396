/*
 * provider_vonage: Vonage's (Nexmo's) SMS API, POST /sms/json, form-encoded
 * with api_key and api_secret in the body. Vonage does not pick the
 * encoding: text that GSM-7 cannot carry must be sent as type=unicode or it
 * arrives garbled, so sms.h decides. Our message id travels as client-ref
 * (at most 40 characters; ours are shorter) and comes back in receipts.
 *
 * Vonage answers HTTP 200 whatever happened: each part of the message has
 * its own "status" ("0" sent, "1" throttled, "5" internal error, others
 * refusals with an "error-text").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "provider.h"
#include "sms.h"

#define VONAGE_DEFAULT_URL	"https://rest.nexmo.com"
#define VONAGE_REF_MAX		40

static int
vonage_build(const struct config *cfg, const struct message *m,
    struct provider_req *req, char **cause)
{
	char to[16], ref[VONAGE_REF_MAX + 1];

	if (provider_need("VONAGE_API_KEY", cfg->vonage_key, cause) != 0 ||
	    provider_need("VONAGE_API_SECRET", cfg->vonage_secret, cause) != 0 ||
	    provider_need("VONAGE_FROM", cfg->vonage_from, cause) != 0 ||
	    provider_check_sms("vonage", m, to, cause) != 0)
		return -1;
	provider_form_add(&req->body, "api_key", cfg->vonage_key);
	provider_form_add(&req->body, "api_secret", cfg->vonage_secret);
	provider_form_add(&req->body, "from", cfg->vonage_from);
	provider_form_add(&req->body, "to", to);
	provider_form_add(&req->body, "text", m->text);
	if (sms_needs_ucs2(m->text) == 1)
		provider_form_add(&req->body, "type", "unicode");
	if (m->id != NULL && *m->id != '\0') {
		/* ASCII ids (ours are hex): cutting bytes cuts characters. */
		provider_sanitize(ref, sizeof ref, m->id, strlen(m->id));
		provider_form_add(&req->body, "client-ref", ref);
	}
	req->method = "POST";
	req->url = provider_url(cfg->vonage_url, VONAGE_DEFAULT_URL, "/sms/json");
	provider_req_header(req, "Content-Type: application/x-www-form-urlencoded");
	provider_req_header(req, "Accept: application/json");
	return 0;
}

/* A part's status: 0 sent, 1 retry, 2 refused. */
static int
vonage_part(const char *status)
{
	if (status == NULL)
		return 1;
	if (strcmp(status, "0") == 0)
		return 0;
	if (strcmp(status, "1") == 0 || strcmp(status, "5") == 0)
		return 1;
	return 2;
}

/*
 * A long text is sent in parts, each with a status. Any refused part makes
 * the message permanent, else any retryable one makes it retried: the parts
 * that did go out may then arrive twice, which beats losing the rest.
 */
static void
vonage_classify(const struct provider_resp *resp, struct provider_result *res)
{
	const char *status, *text, *id = NULL, *bad_status = NULL, *bad_text = NULL;
	json_t *root, *msgs, *part;
	int worst = 0, w;
	size_t i;
	char cbuf[40];

	provider_classify_http(resp, res);
	if (res->outcome != SEND_OK)
		return;
	root = provider_resp_json(resp);
	msgs = root != NULL ? json_object_get(root, "messages") : NULL;
	if (!json_is_array(msgs) || json_array_size(msgs) == 0) {
		res->outcome = SEND_RETRY;
		provider_error(res, resp, NULL, "answer has no messages[]");
		json_decref(root);
		return;
	}
	json_array_foreach(msgs, i, part) {
		status = json_string_value(json_object_get(part, "status"));
		text = json_string_value(json_object_get(part, "error-text"));
		w = vonage_part(status);
		if (w == 0 && id == NULL)
			id = json_string_value(json_object_get(part, "message-id"));
		if (w > worst) {
			worst = w;
			bad_status = status;
			bad_text = text;
		}
	}
	if (worst == 0) {
		if (id != NULL)
			snprintf(res->provider_id, sizeof res->provider_id, "%s", id);
	} else {
		res->outcome = worst == 1 ? SEND_RETRY : SEND_PERMANENT;
		snprintf(cbuf, sizeof cbuf, "status %.20s", bad_status != NULL ?
		    bad_status : "missing");
		provider_error(res, resp, cbuf, bad_text != NULL && *bad_text != '\0' ?
		    bad_text : "-");
	}
	json_decref(root);
}

const struct provider provider_vonage = {
	.name = "vonage",
	.channel = CHANNEL_SMS,
	.build = vonage_build,
	.classify = vonage_classify,
};
