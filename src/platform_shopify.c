/*
 * platform_shopify: Shopify webhooks.
 *
 * verify() finds the shop by X-Shopify-Shop-Domain and checks
 * X-Shopify-Hmac-Sha256, base64(HMAC-SHA256(secret, raw body)), against the
 * shop's secret and then its previous one (Shopify takes up to an hour to
 * start signing with a rotated secret). Headers are looked up with both
 * prefixes: "X-Shopify-*" for classic deliveries, "shopify-*" for the newer
 * Events deliveries; the lookup itself is case-insensitive.
 *
 * normalize() maps the topic through shopify_topics[] (one line per topic:
 * its event kind and the function that reads its payload, those live in
 * shopify_normalize.c) and parses the body only for topics we use. Orders,
 * the busiest topics with the largest bodies, are parsed by shopify_stream
 * in one pass that keeps only what their readers need; the others get a
 * jansson tree. Unknown
 * topics are acknowledged, not errors: a shop may be subscribed to more
 * than we handle (products/create, app/uninstalled for now).
 *
 * The shop is always the one X-Shopify-Shop-Domain named and verify()
 * checked. A body that names a shop too (the compliance topics carry
 * shop_domain) must name the same one: a request signed for one shop never
 * redacts another's data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "platform.h"
#include "pnorm.h"
#include "shopify_normalize.h"
#include "shopify_stream.h"
#include "sig.h"
#include "util.h"

/* One of normalize and stream is set. */
struct shopify_topic {
	const char	*topic;		/* X-Shopify-Topic */
	enum event_kind	 kind;		/* the default; the reader may refine it */
	/* Fills ev from the parsed body; sets res only on failure. */
	int		(*normalize)(json_t *body, struct nevent *ev,
			    struct platform_result *res);
	/* The same, from what shopify_stream_parse kept of the body. */
	int		(*stream)(const struct shopify_stream *, struct nevent *ev,
			    struct platform_result *res);
};

static const struct shopify_topic shopify_topics[] = {
	{ "orders/create",		EVENT_ORDER_PLACED,	NULL,
	  shopify_stream_order_placed },
	{ "orders/cancelled",		EVENT_ORDER_CANCELLED,	NULL,
	  shopify_stream_order_cancelled },
	{ "fulfillments/create",	EVENT_ORDER_SHIPPED,	shopify_fulfillment, NULL },
	{ "fulfillments/update",	EVENT_ORDER_SHIPPED,	shopify_fulfillment, NULL },
	{ "fulfillment_events/create",	EVENT_ORDER_SHIPPED,	shopify_fulfillment_event, NULL },
	{ "checkouts/create",		EVENT_CART_ABANDONED,	shopify_checkout, NULL },
	{ "checkouts/update",		EVENT_CART_ABANDONED,	shopify_checkout, NULL },
	{ "checkouts/delete",		EVENT_CART_CLOSED,	shopify_checkout_delete, NULL },
	{ "customers/redact",		EVENT_CUSTOMER_REDACT,	shopify_customers_redact, NULL },
	{ "customers/data_request",	EVENT_DATA_REQUEST,	shopify_data_request, NULL },
	{ "shop/redact",		EVENT_SHOP_REDACT,	shopify_shop_redact, NULL },
};

/*
 * The value of Shopify header `suffix` ("Topic", "Hmac-Sha256", ...):
 * X-Shopify-<suffix>, else shopify-<suffix>. NULL when absent or empty.
 */
static const char *
shopify_header(const struct platform_req *req, const char *suffix)
{
	static const char *const prefixes[] = { "X-Shopify-", "shopify-" };
	const char *v;
	char name[64];
	size_t i;

	if (req->header == NULL)
		return NULL;
	for (i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		snprintf(name, sizeof name, "%s%s", prefixes[i], suffix);
		v = req->header(req->hctx, name);
		if (v != NULL && *v != '\0')
			return v;
	}
	return NULL;
}

static void
shopify_verify(const struct platform_req *req, const struct shops *shops,
    const struct shop **shopp, struct platform_result *res)
{
	const struct shop *shop;
	const char *domain, *hmac;

	*shopp = NULL;
	if ((domain = shopify_header(req, "Shop-Domain")) == NULL) {
		platform_result_set(res, PLATFORM_UNAUTHORIZED,
		    "missing X-Shopify-Shop-Domain");
		return;
	}
	if ((shop = shops_find(shops, domain)) == NULL) {
		platform_result_set(res, PLATFORM_UNAUTHORIZED, "unknown shop");
		return;
	}
	/* Its secret is for another kind of sender: never try it here. */
	if (shop->platform != PLATFORM_SHOPIFY) {
		platform_result_set(res, PLATFORM_UNAUTHORIZED,
		    "shop is not a shopify shop");
		return;
	}
	if ((hmac = shopify_header(req, "Hmac-Sha256")) == NULL) {
		platform_result_set(res, PLATFORM_UNAUTHORIZED, "missing signature");
		return;
	}
	if (!sig_verify_b64(shop->secret, req->body, req->body_len, hmac) &&
	    (shop->previous_secret == NULL ||
	    !sig_verify_b64(shop->previous_secret, req->body, req->body_len, hmac))) {
		platform_result_set(res, PLATFORM_UNAUTHORIZED, "bad signature");
		return;
	}
	*shopp = shop;
	platform_result_set(res, PLATFORM_OK, "%s", "");
}

/*
 * The dedupe key: Shopify's event id (the same for every copy of an
 * event), else the webhook id, else a hash of the body, so that a replay
 * of identical bytes is still recognised.
 */
static char *
shopify_delivery(const struct platform_req *req)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hex[2 * SHA256_DIGEST_LENGTH + 1];
	const char *id;

	if ((id = shopify_header(req, "Event-Id")) != NULL ||
	    (id = shopify_header(req, "Webhook-Id")) != NULL)
		return xstrdup(id);
	SHA256((const unsigned char *)(req->body ? req->body : ""), req->body_len, md);
	util_hex(md, sizeof md, hex);
	return xasprintf("b:%s", hex);
}

/*
 * Whether the body's shop_domain (NULL when it has none) is the verified
 * shop. Both sides normalized as shops.c does, so case and a scheme do not
 * count.
 */
static int
shopify_same_shop(const char *body_domain, const struct shop *shop)
{
	char domain[SHOPS_DOMAIN_MAX];

	if (body_domain == NULL)
		return 1;
	if (shop == NULL)
		return 0;
	shops_normalize_domain(body_domain, domain, sizeof domain);
	return strcmp(domain, shop->domain) == 0;
}

/*
 * Called only after verify() succeeded. On any status the caller still
 * owns ev and releases it with nevent_free().
 */
static void
shopify_normalize(const struct platform_req *req, const struct shop *shop,
    struct nevent *ev, struct platform_result *res)
{
	const struct shopify_topic *t = NULL;
	struct shopify_stream *so = NULL;
	const char *topic, *domain;
	json_t *body = NULL;
	size_t i;
	int rc;

	ev->shop = shop;
	if ((topic = shopify_header(req, "Topic")) == NULL) {
		platform_result_set(res, PLATFORM_INVALID, "missing X-Shopify-Topic");
		return;
	}
	ev->topic = xstrdup(topic);
	ev->delivery = shopify_delivery(req);

	for (i = 0; i < sizeof shopify_topics / sizeof shopify_topics[0]; i++) {
		if (strcmp(shopify_topics[i].topic, topic) == 0) {
			t = &shopify_topics[i];
			break;
		}
	}
	if (t == NULL) {
		platform_result_set(res, PLATFORM_IGNORE, "unknown topic %s", topic);
		return;
	}

	if (t->stream != NULL) {
		if ((so = shopify_stream_parse(req->body, req->body_len, res)) == NULL)
			return;
		domain = shopify_stream_shop_domain(so);
	} else {
		if ((body = pnorm_body_object(req, res)) == NULL)
			return;
		domain = pnorm_str(body, "shop_domain");
	}
	if (!shopify_same_shop(domain, shop)) {
		platform_result_set(res, PLATFORM_UNAUTHORIZED,
		    "shop_domain does not match");
		goto out;
	}
	ev->kind = t->kind;
	rc = so != NULL ? t->stream(so, ev, res) : t->normalize(body, ev, res);
	if (rc == 0)
		platform_result_set(res, PLATFORM_OK, "%s", "");
	else
		ev->kind = EVENT_NONE;	/* nothing happened: log no kind */
out:
	shopify_stream_free(so);
	json_decref(body);
}

const struct platform platform_shopify = {
	.name = "shopify",
	.verify = shopify_verify,
	.normalize = shopify_normalize,
};
