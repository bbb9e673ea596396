/*
 * test_shopify.h: what the Shopify unit tests share: a shops file with one
 * Shopify shop, a fake header lookup, run_normalize(), which signs a body
 * with the shop's secret, verifies it and normalizes it, as the server
 * does, and the helpers that compare what came out.
 */
#ifndef NUDGE_TEST_SHOPIFY_H
#define NUDGE_TEST_SHOPIFY_H

#include "unit.h"

#include <strings.h>

#include "nevent.h"
#include "platform.h"
#include "shops.h"
#include "sig.h"

/* V1 and V2b of reference/webhooks.md serve as the shop's two secrets. */
#define SECRET		"7008c5f4da4718b9b45d26d3fcbbb157"
#define OLD_SECRET	"old_secret"

/* One Shopify shop and one WooCommerce shop. */
#define SHOPS_JSON \
    "[{\"domain\":\"shop.example\",\"platform\":\"shopify\"," \
    "\"secret\":\"" SECRET "\",\"previous_secret\":\"" OLD_SECRET "\"," \
    "\"timezone\":\"Europe/Athens\",\"token\":\"t0ken\"}," \
    " {\"domain\":\"https://Woo.Example/\",\"platform\":\"woocommerce\"," \
    "\"secret\":\"wsecret\",\"name\":\"Woo Shop\"}]"

/* Request headers for the fake lookup: NULL-terminated name/value pairs. */
struct hdrs {
	const char	*kv[16];
};

static inline const char *
hdr_lookup(void *hctx, const char *name)
{
	const struct hdrs *h = hctx;
	size_t i;

	for (i = 0; i + 1 < 16 && h->kv[i] != NULL; i += 2) {
		if (strcasecmp(h->kv[i], name) == 0)
			return h->kv[i + 1];
	}
	return NULL;
}

static inline struct platform_req
mkreq(struct hdrs *h, const char *body, size_t len)
{
	struct platform_req req = {
		.request_id = "test", .path_tail = "", .body = body,
		.body_len = len, .header = hdr_lookup, .hctx = h, .now_ms = 0,
	};

	return req;
}

static inline struct shops *
load_shops(void)
{
	struct shops *ss = NULL;
	char *cause = NULL;

	if (shops_load_str(SHOPS_JSON, 16, &ss, &cause) != 0)
		fail_msg("shops: %s", cause);
	return ss;
}

/* Verifies (signing with SECRET) and normalizes body under topic. */
static inline void
run_normalize(struct shops *ss, struct hdrs *extra, const char *topic,
    const char *body, size_t len, struct nevent *ev, struct platform_result *res)
{
	struct hdrs h = { { NULL } };
	struct platform_req req;
	const struct shop *shop = NULL;
	char *sig = sig_b64_hmac(SECRET, body, len);
	size_t n = 0, i;

	h.kv[n++] = "X-Shopify-Shop-Domain";
	h.kv[n++] = "shop.example";
	h.kv[n++] = "X-Shopify-Hmac-Sha256";
	h.kv[n++] = sig;
	if (topic != NULL) {
		h.kv[n++] = "X-Shopify-Topic";
		h.kv[n++] = topic;
	}
	for (i = 0; extra != NULL && i < 16 && extra->kv[i] != NULL && n + 1 < 16; i++)
		h.kv[n++] = extra->kv[i];
	req = mkreq(&h, body, len);
	platform_shopify.verify(&req, ss, &shop, res);
	assert_int_equal(res->status, PLATFORM_OK);
	nevent_init(ev);
	platform_shopify.normalize(&req, shop, ev, res);
	assert_ptr_equal(ev->shop, shop);
	free(sig);
}

/* A string member of a context, NULL when absent; fails on another type. */
static inline const char *
ctx_str(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return NULL;
	if (!json_is_string(v))
		fail_msg("ctx \"%s\" is not a string", key);
	return json_string_value(v);
}

/* s with every ' turned into ". Caller frees. */
static inline char *
dq(const char *s)
{
	char *out = xstrdup(s), *p;

	for (p = out; *p != '\0'; p++) {
		if (*p == '\'')
			*p = '"';
	}
	return out;
}

/* Fails the test when got and want differ (either may be NULL). */
static inline void
check_str(const char *name, const char *field, const char *got, const char *want)
{
	if (got == NULL && want == NULL)
		return;
	if (got == NULL || want == NULL || strcmp(got, want) != 0)
		fail_msg("%s: %s is %s%s%s, want %s%s%s", name, field,
		    got ? "\"" : "", got ? got : "NULL", got ? "\"" : "",
		    want ? "\"" : "", want ? want : "NULL", want ? "\"" : "");
}

#endif
