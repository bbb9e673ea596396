/*
 * provider_webhook: POSTs each message as JSON to NUDGE_WEBHOOK_URL, signed
 * the Standard Webhooks way, for shops that send through their own system
 * (the "webhook" channel) or want e-mail or SMS handed to it. Headers:
 *   webhook-id         our message id (the same on every retry, so the
 *                      receiver can deduplicate)
 *   webhook-timestamp  seconds since the epoch
 *   webhook-signature  "v1," base64(HMAC-SHA256(key, id "." ts "." body))
 * where key is the base64 after "whsec_" in NUDGE_WEBHOOK_SECRET, or the
 * secret's bytes as they are when it has no such prefix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "provider.h"
#include "sig.h"

#define WEBHOOK_KEY_MAX		256

static const char *
webhook_channel(enum channel c)
{
	switch (c) {
	case CHANNEL_EMAIL:
		return "email";
	case CHANNEL_SMS:
		return "sms";
	default:
		return "webhook";
	}
}

static void
webhook_body(const struct message *m, struct provider_json *pj)
{
	provider_json_open(pj, NULL, '{');
	provider_json_str(pj, "id", m->id);
	provider_json_str(pj, "shop", m->shop);
	provider_json_str(pj, "flow", m->flow);
	provider_json_str(pj, "step", m->step);
	provider_json_str(pj, "channel", webhook_channel(m->channel));
	provider_json_str(pj, "locale", m->locale);
	provider_json_str(pj, "to", m->to);
	provider_json_str(pj, "to_name", m->to_name);
	provider_json_str(pj, "from", m->from);
	provider_json_str(pj, "from_name", m->from_name);
	provider_json_str(pj, "subject", m->subject);
	provider_json_str(pj, "html", m->html);
	provider_json_str(pj, "text", m->text);
	provider_json_bool(pj, "promotional", m->promotional);
	provider_json_str(pj, "unsubscribe_url",
	    m->unsubscribe_url != NULL && *m->unsubscribe_url != '\0' ?
	    m->unsubscribe_url : NULL);
	provider_json_close(pj);
}

/* The HMAC key of secret (see the top). 0, or -1 with *cause. */
static int
webhook_key(const char *secret, unsigned char *key, size_t *keylen, char **cause)
{
	size_t n;

	if (strncmp(secret, "whsec_", 6) == 0) {
		if (sig_b64_decode(secret + 6, key, WEBHOOK_KEY_MAX, keylen) != 0 ||
		    *keylen == 0) {
			*cause = xstrdup("NUDGE_WEBHOOK_SECRET: the part after whsec_ "
			    "is not base64");
			return -1;
		}
		return 0;
	}
	if ((n = strlen(secret)) > WEBHOOK_KEY_MAX) {
		*cause = xasprintf("NUDGE_WEBHOOK_SECRET is longer than %d bytes",
		    WEBHOOK_KEY_MAX);
		return -1;
	}
	memcpy(key, secret, n);
	*keylen = n;
	return 0;
}

static int
webhook_build(const struct config *cfg, const struct message *m,
    struct provider_req *req, char **cause)
{
	unsigned char key[WEBHOOK_KEY_MAX], mac[SIG_LEN];
	struct provider_json pj;
	long long ts;
	size_t keylen;
	struct buf signed_;
	char *b64;

	if (provider_need("NUDGE_WEBHOOK_URL", cfg->webhook_url, cause) != 0 ||
	    provider_need("NUDGE_WEBHOOK_SECRET", cfg->webhook_secret, cause) != 0 ||
	    webhook_key(cfg->webhook_secret, key, &keylen, cause) != 0)
		return -1;
	/* The id goes in a header; ours are hex, anything else is a bug. */
	if (m->id == NULL || *m->id == '\0' || !provider_header_safe(m->id) ||
	    strlen(m->id) > 100 || !provider_utf8_valid(m->id)) {
		*cause = xstrdup("webhook: message id is empty or not header-safe");
		return -1;
	}
	provider_json_init(&pj, &req->body);
	webhook_body(m, &pj);
	if (pj.bad != NULL) {
		*cause = xasprintf("webhook: %s is not valid UTF-8", pj.bad);
		buf_reset(&req->body);
		return -1;
	}

	ts = (long long)(clock_now_ms() / 1000);
	buf_init(&signed_);
	buf_printf(&signed_, "%s.%lld.", m->id, ts);
	buf_add(&signed_, req->body.data, req->body.len);
	sig_hmac_sha256(key, keylen, signed_.data, signed_.len, mac);
	buf_free(&signed_);
	b64 = sig_b64_encode(mac, sizeof mac);

	req->method = "POST";
	req->url = xstrdup(cfg->webhook_url);
	req->ref = xstrdup(m->id);
	provider_req_header(req, "Content-Type: application/json");
	provider_req_header(req, "webhook-id: %s", m->id);
	provider_req_header(req, "webhook-timestamp: %lld", ts);
	provider_req_header(req, "webhook-signature: v1,%s", b64);
	free(b64);
	return 0;
}

/*
 * Standard Webhooks semantics: 2xx accepted; 410 Gone means "stop sending
 * here"; 408, 429 and 5xx are retried, after Retry-After when the receiver
 * gives one (502/503/504 usually do); any other 4xx is refused.
 */
static void
webhook_classify(const struct provider_resp *resp, struct provider_result *res)
{
	const char *v;

	provider_classify_http(resp, res);
	if (res->outcome == SEND_OK) {
		v = provider_resp_header(resp, "webhook-id");
		if (v == NULL || *v == '\0')
			v = resp->ref;
		if (v != NULL)
			snprintf(res->provider_id, sizeof res->provider_id, "%s", v);
		return;
	}
	if (res->outcome == SEND_RETRY && resp->status != 0 && res->retry_after_ms == 0)
		res->retry_after_ms = provider_retry_after_ms(
		    provider_resp_header(resp, "Retry-After"), resp->now_ms);
}

const struct provider provider_webhook = {
	.name = "webhook",
	.channel = CHANNEL_WEBHOOK,
	.build = webhook_build,
	.classify = webhook_classify,
};
