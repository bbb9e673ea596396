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
 * its event kind and the function that reads its payload) and parses the
 * body only for topics we use. Unknown topics are acknowledged, not errors:
 * a shop may be subscribed to more than we handle.
 *
 * Ids are 64-bit integers in Shopify payloads, larger than a double holds
 * exactly (820982911946154508), so they are read with json_integer_value
 * and printed with %lld, never through a double.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#include <openssl/sha.h>

#include "platform.h"
#include "sig.h"
#include "util.h"

struct shopify_topic {
	const char	*topic;		/* X-Shopify-Topic */
	enum event_kind	 kind;
	/* Fills ev from the parsed body; sets res only on failure. */
	int		(*normalize)(json_t *body, struct nevent *ev,
			    struct platform_result *res);
};

static int	shopify_order_placed(json_t *, struct nevent *, struct platform_result *);

static const struct shopify_topic shopify_topics[] = {
	{ "orders/create", EVENT_ORDER_PLACED, shopify_order_placed },
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

/* A string member, or NULL when absent, null, another type or "". */
static const char *
shopify_str(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v) || json_string_length(v) == 0)
		return NULL;
	return json_string_value(v);
}

/* The first non-empty string member `key` of the objects given. */
static const char *
shopify_str_first(const char *key, const json_t *a, const json_t *b,
    const json_t *c)
{
	const char *s;

	if ((s = shopify_str(a, key)) != NULL || (s = shopify_str(b, key)) != NULL)
		return s;
	return shopify_str(c, key);
}

static char *
shopify_dup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* Adds key: s to obj unless s is NULL. */
static void
shopify_set_str(json_t *obj, const char *key, const char *s)
{
	if (s != NULL)
		json_object_set_new(obj, key, json_string(s));
}

/* Adds key: "<id>" (always a string) unless the member is no id. */
static void
shopify_set_id(json_t *obj, const char *key, const json_t *v)
{
	char *s = nevent_json_id(v);

	if (s != NULL) {
		json_object_set_new(obj, key, json_string(s));
		free(s);
	}
}

/*
 * Marketing consent from a {"state": ...} object: 1 subscribed, 0 for the
 * states that mean "do not market", -1 when unknown or absent.
 */
static int
shopify_consent(const json_t *consent)
{
	static const char *const no[] = {
		"not_subscribed", "unsubscribed", "pending", "redacted",
	};
	const char *state = shopify_str(consent, "state");
	size_t i;

	if (state == NULL)
		return -1;
	if (strcmp(state, "subscribed") == 0)
		return 1;
	for (i = 0; i < sizeof no / sizeof no[0]; i++) {
		if (strcmp(state, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* updated_at, else created_at, as ms; 0 when neither parses. */
static int64_t
shopify_time(const json_t *obj)
{
	int64_t ms;

	if (nevent_parse_time(shopify_str(obj, "updated_at"), &ms) == 0 ||
	    nevent_parse_time(shopify_str(obj, "created_at"), &ms) == 0)
		return ms;
	return 0;
}

static json_t *
shopify_item(const json_t *li)
{
	json_t *item = json_object(), *v, *img;
	const char *image;

	shopify_set_str(item, "title", shopify_str(li, "title"));
	shopify_set_str(item, "variant", shopify_str(li, "variant_title"));
	if (json_is_integer(v = json_object_get(li, "quantity")))
		json_object_set_new(item, "quantity",
		    json_integer(json_integer_value(v)));
	shopify_set_str(item, "price", shopify_str(li, "price"));
	shopify_set_str(item, "sku", shopify_str(li, "sku"));
	shopify_set_id(item, "product_id", json_object_get(li, "product_id"));
	shopify_set_id(item, "variant_id", json_object_get(li, "variant_id"));

	/* Order line items carry no image today; use one if a payload has it. */
	img = json_object_get(li, "image");
	if (json_is_object(img))
		image = shopify_str(img, "src");
	else
		image = shopify_str(li, "image");
	if (image == NULL)
		image = shopify_str(li, "image_url");
	shopify_set_str(item, "image", image);
	return item;
}

static json_t *
shopify_address(const json_t *addr)
{
	static const char *const keys[] = {
		"first_name", "city", "country", "zip", "address1",
	};
	json_t *out;
	size_t i;

	if (!json_is_object(addr))
		return NULL;
	out = json_object();
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		shopify_set_str(out, keys[i], shopify_str(addr, keys[i]));
	if (json_object_size(out) == 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/*
 * orders/create. The context carries what order templates show; it is
 * stored per subject and read by every later step, so it holds only that
 * (see docs/events.md), with every id as a string.
 */
static int
shopify_order_placed(json_t *o, struct nevent *ev, struct platform_result *res)
{
	json_t *customer, *billing, *shipping, *ctx, *items, *lines, *v;
	const char *email, *s;
	size_t i;

	if ((ev->order_id = nevent_json_id(json_object_get(o, "id"))) == NULL) {
		platform_result_set(res, PLATFORM_INVALID, "order has no id");
		return -1;
	}
	customer = json_object_get(o, "customer");
	billing = json_object_get(o, "billing_address");
	shipping = json_object_get(o, "shipping_address");

	ev->order_name = shopify_dup(shopify_str(o, "name"));
	ev->checkout_token = shopify_dup(shopify_str(o, "checkout_token"));
	ev->checkout_id = nevent_json_id(json_object_get(o, "checkout_id"));
	ev->cart_token = shopify_dup(shopify_str(o, "cart_token"));

	email = shopify_str(o, "email");
	if (email == NULL)
		email = shopify_str(o, "contact_email");
	if (email == NULL)
		email = shopify_str(customer, "email");
	if (email != NULL) {
		const char *e = email + strlen(email);

		while (isspace((unsigned char)*email))
			email++;
		while (e > email && isspace((unsigned char)e[-1]))
			e--;
		if (e > email)
			ev->email = util_lower(xstrndup(email, (size_t)(e - email)));
	}
	if ((s = shopify_str(o, "phone")) == NULL)
		s = shopify_str_first("phone", customer, billing, shipping);
	ev->phone = shopify_dup(s);
	ev->first_name = shopify_dup(shopify_str_first("first_name", customer,
	    billing, shipping));
	ev->locale = shopify_dup(shopify_str(o, "customer_locale"));

	ev->consent_email = shopify_consent(json_object_get(customer,
	    "email_marketing_consent"));
	if (ev->consent_email == -1) {
		v = json_object_get(o, "buyer_accepts_marketing");
		if (json_is_boolean(v))
			ev->consent_email = json_is_true(v) ? 1 : 0;
	}
	ev->consent_sms = shopify_consent(json_object_get(customer,
	    "sms_marketing_consent"));
	ev->occurred_ms = shopify_time(o);

	ctx = json_object();
	json_object_set_new(ctx, "id", json_string(ev->order_id));
	shopify_set_str(ctx, "name", ev->order_name);
	shopify_set_id(ctx, "number", json_object_get(o, "order_number"));
	/* Shop currency and shop-currency totals, even when presented in another. */
	shopify_set_str(ctx, "currency", shopify_str(o, "currency"));
	shopify_set_str(ctx, "total", shopify_str(o, "total_price"));
	shopify_set_str(ctx, "subtotal", shopify_str(o, "subtotal_price"));
	shopify_set_str(ctx, "status_url", shopify_str(o, "order_status_url"));
	shopify_set_str(ctx, "created_at", shopify_str(o, "created_at"));
	shopify_set_str(ctx, "email", ev->email);
	shopify_set_str(ctx, "phone", ev->phone);
	shopify_set_str(ctx, "first_name", ev->first_name);
	shopify_set_str(ctx, "last_name", shopify_str_first("last_name",
	    customer, billing, shipping));
	shopify_set_str(ctx, "locale", ev->locale);
	shopify_set_str(ctx, "checkout_token", ev->checkout_token);
	shopify_set_str(ctx, "cart_token", ev->cart_token);

	items = json_array();
	lines = json_object_get(o, "line_items");
	for (i = 0; i < json_array_size(lines); i++) {
		v = json_array_get(lines, i);
		if (json_is_object(v))
			json_array_append_new(items, shopify_item(v));
	}
	json_object_set_new(ctx, "items", items);
	if ((v = shopify_address(shipping)) != NULL)
		json_object_set_new(ctx, "shipping_address", v);

	ev->ctx = ctx;
	return 0;
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
 * Called only after verify() succeeded. On any status the caller still
 * owns ev and releases it with nevent_free().
 */
static void
shopify_normalize(const struct platform_req *req, const struct shop *shop,
    struct nevent *ev, struct platform_result *res)
{
	const struct shopify_topic *t = NULL;
	const char *topic;
	json_error_t err;
	json_t *body;
	size_t i;

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

	/* No JSON_DECODE_INT_AS_REAL: integers stay exact json_int_t. */
	body = json_loadb(req->body ? req->body : "", req->body_len, 0, &err);
	if (body == NULL) {
		platform_result_set(res, PLATFORM_INVALID,
		    "body is not a JSON object: %s", err.text);
		return;
	}
	if (!json_is_object(body)) {
		platform_result_set(res, PLATFORM_INVALID,
		    "body is not a JSON object: got an array");
		json_decref(body);
		return;
	}
	ev->kind = t->kind;
	if (t->normalize(body, ev, res) == 0)
		platform_result_set(res, PLATFORM_OK, "%s", "");
	json_decref(body);
}

const struct platform platform_shopify = {
	.name = "shopify",
	.verify = shopify_verify,
	.normalize = shopify_normalize,
};
