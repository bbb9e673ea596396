/*
 * provider_twilio: Twilio's Messages resource (POST
 * /2010-04-01/Accounts/{sid}/Messages.json, HTTP Basic sid:token,
 * form-encoded). TWILIO_FROM is a number or sender id (From), or a
 * Messaging Service sid "MG..." (MessagingServiceSid). Twilio chooses
 * GSM-7 or UCS-2 itself. It has no metadata
 * field (a StatusCallback query would be the place, and we register none),
 * so the message is matched by the sid of the answer, our provider id.
 *
 * Error codes of the body refine the status: 20429 is "too many concurrent
 * requests", never processed and safe to retry, whatever status carries it.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "provider.h"
#include "sms.h"

#define TWILIO_DEFAULT_URL	"https://api.twilio.com"
#define TWILIO_BODY_MAX		1600	/* characters Twilio accepts in Body */

static int
twilio_build(const struct config *cfg, const struct message *m,
    struct provider_req *req, char **cause)
{
	struct sms_count sc;
	char to[16], *plus;
	const char *p;

	if (provider_need("TWILIO_ACCOUNT_SID", cfg->twilio_sid, cause) != 0 ||
	    provider_need("TWILIO_AUTH_TOKEN", cfg->twilio_token, cause) != 0 ||
	    provider_need("TWILIO_FROM", cfg->twilio_from, cause) != 0 ||
	    provider_check_sms("twilio", m, to, cause) != 0)
		return -1;
	for (p = cfg->twilio_sid; isalnum((unsigned char)*p); p++)
		;
	if (*p != '\0') {
		*cause = xstrdup("TWILIO_ACCOUNT_SID is not an account sid");
		return -1;
	}
	/* Twilio refuses longer bodies (error 21617); say so before sending. */
	if (sms_count(m->text, &sc) == 0 && sc.chars > TWILIO_BODY_MAX) {
		*cause = xasprintf("twilio: text is %zu characters, the limit is %d",
		    sc.chars, TWILIO_BODY_MAX);
		return -1;
	}
	plus = xasprintf("+%s", to);
	provider_form_add(&req->body, "To", plus);
	/* A Messaging Service picks the sender itself (and may schedule). */
	if (strncmp(cfg->twilio_from, "MG", 2) == 0 && strlen(cfg->twilio_from) == 34)
		provider_form_add(&req->body, "MessagingServiceSid", cfg->twilio_from);
	else
		provider_form_add(&req->body, "From", cfg->twilio_from);
	provider_form_add(&req->body, "Body", m->text);
	free(plus);
	req->method = "POST";
	req->url = provider_url(cfg->twilio_url, TWILIO_DEFAULT_URL,
	    "/2010-04-01/Accounts/%s/Messages.json", cfg->twilio_sid);
	req->userpwd = xasprintf("%s:%s", cfg->twilio_sid, cfg->twilio_token);
	provider_req_header(req, "Content-Type: application/x-www-form-urlencoded");
	provider_req_header(req, "Accept: application/json");
	return 0;
}

static void
twilio_classify(const struct provider_resp *resp, struct provider_result *res)
{
	const char *sid, *msg = NULL;
	json_int_t code = 0;
	char cbuf[32];
	json_t *root, *v;

	provider_classify_http(resp, res);
	if (resp->transport_error != 0 || resp->status == 0)
		return;
	root = provider_resp_json(resp);
	if (res->outcome == SEND_OK) {
		sid = root != NULL ? json_string_value(json_object_get(root, "sid")) : NULL;
		if (sid != NULL)
			snprintf(res->provider_id, sizeof res->provider_id, "%s", sid);
		json_decref(root);
		return;
	}
	if (root != NULL) {
		if (json_is_integer(v = json_object_get(root, "code")))
			code = json_integer_value(v);
		msg = json_string_value(json_object_get(root, "message"));
	}
	if (code == 20429 && res->outcome != SEND_RETRY) {
		res->outcome = SEND_RETRY;
		res->retry_after_ms = provider_retry_after_ms(
		    provider_resp_header(resp, "Retry-After"), resp->now_ms);
	}
	if (code != 0) {
		snprintf(cbuf, sizeof cbuf, "%lld", (long long)code);
		provider_error(res, resp, cbuf, msg != NULL && *msg != '\0' ? msg : "-");
	} else
		provider_error(res, resp, NULL, msg);
	json_decref(root);
}

const struct provider provider_twilio = {
	.name = "twilio",
	.channel = CHANNEL_SMS,
	.build = twilio_build,
	.classify = twilio_classify,
};
