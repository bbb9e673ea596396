/*
 * platform_woocommerce: WooCommerce core webhooks (order.created,
 * order.updated).
 *
 * verify() first lets the ping through: when a webhook is saved,
 * WooCommerce POSTs the unsigned form body "webhook_id=<n>" with no
 * X-WC-Webhook-* headers and refuses to save unless the answer is exactly
 * 200. Everything else must name its shop in X-WC-Webhook-Source (the
 * site's home URL) and carry X-WC-Webhook-Signature, base64(HMAC-SHA256
 * (secret, raw body)), checked against the shop's secret and then its
 * previous one.
 *
 * normalize() reads the order as the REST API v3 shows it. WooCommerce
 * builds the payload when it sends, not when the event happened, and has
 * no shipment model, so the order *status* decides the event:
 *
 *   order.created  processing, on-hold, completed -> order_placed; any
 *                  other status (pending, checkout-draft, failed ...) is
 *                  not an order yet and is acknowledged without effect.
 *   order.updated  through the shop's "status_map" (status -> event
 *                  name), falling back per status to the defaults in
 *                  woo_default_map[].
 *
 * A paid update of a pending order is an order_placed like any other; that
 * an order is announced twice (created, then updated) is harmless because
 * message ids are deterministic. WooCommerce sends no stable delivery id
 * and never retries, so the dedupe key is built from the resource: topic,
 * order id and date_modified_gmt (and the status, for updates).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "platform.h"
#include "pnorm.h"
#include "sig.h"
#include "util.h"

/* What an order.updated status means when the shop's status_map is silent. */
static const struct {
	const char	*status;
	enum event_kind	 kind;
} woo_default_map[] = {
	{ "processing", EVENT_ORDER_PLACED },
	{ "on-hold", EVENT_ORDER_PLACED },
	{ "completed", EVENT_ORDER_SHIPPED },
	{ "cancelled", EVENT_ORDER_CANCELLED },
	{ "refunded", EVENT_ORDER_CANCELLED },
	{ "failed", EVENT_ORDER_CANCELLED },
};

/* Unix times beyond this (year 5138) are not times. */
#define WOO_MAX_UNIX	100000000000LL

/* Statuses at which order.created means the order was really placed. */
static const char *const woo_placed[] = { "processing", "on-hold", "completed" };

static enum event_kind woo_created_kind(const struct shop *, const char *,
		    struct platform_result *);
static enum event_kind woo_updated_kind(const struct shop *, const char *,
		    struct platform_result *);

static const struct woo_topic {
	const char	*topic;		/* X-WC-Webhook-Topic */
	int		 with_status;	/* the status is part of the dedupe key */
	/* The event for an order at status; EVENT_NONE with res set to IGNORE. */
	enum event_kind	(*kind)(const struct shop *, const char *status,
			    struct platform_result *);
} woo_topics[] = {
	{ "order.created", 0, woo_created_kind },
	{ "order.updated", 1, woo_updated_kind },
};

static void
woo_verify(const struct platform_req *req, const struct shops *shops,
    const struct shop **shopp, struct platform_result *res)
{
	const struct shop *shop;
	const char *source, *sig;

	*shopp = NULL;
	/* The ping: no topic, unsigned, and it must get exactly 200. */
	if ((req->body_len >= 11 && req->body != NULL &&
	    memcmp(req->body, "webhook_id=", 11) == 0) ||
	    platform_header(req, "X-WC-Webhook-Topic") == NULL) {
		platform_result_set(res, PLATFORM_IGNORE, "ping");
		return;
	}
	if ((source = platform_header(req, "X-WC-Webhook-Source")) == NULL) {
		platform_result_set(res, PLATFORM_UNAUTHORIZED,
		    "missing X-WC-Webhook-Source");
		return;
	}
	/* shops_find normalizes: "https://Shop.example/" is "shop.example". */
	if ((shop = shops_find(shops, source)) == NULL) {
		platform_result_set(res, PLATFORM_UNAUTHORIZED, "unknown shop");
		return;
	}
	if (shop->platform != PLATFORM_WOOCOMMERCE) {
		platform_result_set(res, PLATFORM_UNAUTHORIZED,
		    "shop is not a woocommerce shop");
		return;
	}
	if ((sig = platform_header(req, "X-WC-Webhook-Signature")) == NULL) {
		platform_result_set(res, PLATFORM_UNAUTHORIZED, "missing signature");
		return;
	}
	if (!sig_verify_b64(shop->secret, req->body, req->body_len, sig) &&
	    (shop->previous_secret == NULL ||
	    !sig_verify_b64(shop->previous_secret, req->body, req->body_len, sig))) {
		platform_result_set(res, PLATFORM_UNAUTHORIZED, "bad signature");
		return;
	}
	*shopp = shop;
	platform_result_set(res, PLATFORM_OK, "%s", "");
}

/* The kinds an order status may stand for. */
static int
woo_order_kind(enum event_kind k)
{
	switch (k) {
	case EVENT_ORDER_PLACED:
	case EVENT_ORDER_SHIPPED:
	case EVENT_ORDER_OUT_FOR_DELIVERY:
	case EVENT_ORDER_DELIVERED:
	case EVENT_ORDER_CANCELLED:
	case EVENT_SHIPMENT_FAILED:
		return 1;
	default:
		return 0;
	}
}

/*
 * One status_map entry: its event kind, EVENT_NONE when it switches the
 * status off (null, "" or "none"). -1, with why, when it names no order
 * event.
 */
static int
woo_map_entry(const char *status, const json_t *v, enum event_kind *kind,
    char *why, size_t whylen)
{
	const char *name;

	*kind = EVENT_NONE;
	if (json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		snprintf(why, whylen, "status_map entry \"%s\" is not a string",
		    status);
		return -1;
	}
	name = json_string_value(v);
	if (*name == '\0' || strcmp(name, "none") == 0)
		return 0;
	*kind = nevent_kind_parse(name);
	if (!woo_order_kind(*kind)) {
		snprintf(why, whylen, "status_map maps \"%s\" to unknown "
		    "order event \"%s\"", status, name);
		*kind = EVENT_NONE;
		return -1;
	}
	return 0;
}

int
woocommerce_check_shop(const struct shop *shop, char **cause)
{
	static const char *const metas[] = { "locale_meta", "consent_meta" };
	enum event_kind kind;
	const char *status;
	char why[160];
	json_t *map, *v;
	size_t i;

	map = json_object_get(shop->raw, "status_map");
	if (map != NULL && !json_is_null(map)) {
		if (!json_is_object(map)) {
			*cause = xasprintf("shop %s: \"status_map\" must be an "
			    "object of status -> event name", shop->domain);
			return -1;
		}
		json_object_foreach(map, status, v) {
			if (woo_map_entry(status, v, &kind, why, sizeof why) != 0) {
				*cause = xasprintf("shop %s: %s", shop->domain, why);
				return -1;
			}
		}
	}
	for (i = 0; i < sizeof metas / sizeof metas[0]; i++) {
		v = json_object_get(shop->raw, metas[i]);
		if (v != NULL && !json_is_null(v) &&
		    (!json_is_string(v) || json_string_length(v) == 0)) {
			*cause = xasprintf("shop %s: \"%s\" must be a meta key "
			    "(a non-empty string)", shop->domain, metas[i]);
			return -1;
		}
	}
	return 0;
}

static enum event_kind
woo_created_kind(const struct shop *shop, const char *status,
    struct platform_result *res)
{
	size_t i;

	(void)shop;
	for (i = 0; i < sizeof woo_placed / sizeof woo_placed[0]; i++) {
		if (strcmp(woo_placed[i], status) == 0)
			return EVENT_ORDER_PLACED;
	}
	platform_result_set(res, PLATFORM_IGNORE,
	    "order not placed yet (status %s)", status);
	return EVENT_NONE;
}

/*
 * The shop's status_map decides first; a status it does not name falls
 * back to woo_default_map[]. A bad entry is acknowledged, not refused:
 * WooCommerce does not retry, and woocommerce_check_shop() reports it at
 * startup.
 */
static enum event_kind
woo_updated_kind(const struct shop *shop, const char *status,
    struct platform_result *res)
{
	enum event_kind kind;
	json_t *map, *v;
	char why[160];
	size_t i;

	map = json_object_get(shop->raw, "status_map");
	if (map != NULL && !json_is_null(map) && !json_is_object(map)) {
		platform_result_set(res, PLATFORM_IGNORE,
		    "status_map is not an object");
		return EVENT_NONE;
	}
	if ((v = json_object_get(map, status)) != NULL) {
		if (woo_map_entry(status, v, &kind, why, sizeof why) != 0) {
			platform_result_set(res, PLATFORM_IGNORE, "%s", why);
			return EVENT_NONE;
		}
		if (kind == EVENT_NONE)
			platform_result_set(res, PLATFORM_IGNORE,
			    "status %s not mapped", status);
		return kind;
	}
	for (i = 0; i < sizeof woo_default_map / sizeof woo_default_map[0]; i++) {
		if (strcmp(woo_default_map[i].status, status) == 0)
			return woo_default_map[i].kind;
	}
	platform_result_set(res, PLATFORM_IGNORE, "status %s not mapped", status);
	return EVENT_NONE;
}

/* The value of the order meta entry `key`, or NULL. */
static json_t *
woo_meta(const json_t *o, const char *key)
{
	json_t *meta = json_object_get(o, "meta_data"), *m;
	const char *k;
	size_t i;

	if (key == NULL)
		return NULL;
	json_array_foreach(meta, i, m) {
		if ((k = pnorm_str(m, "key")) != NULL && strcmp(k, key) == 0)
			return json_object_get(m, "value");
	}
	return NULL;
}

/* A meta key named by a shop setting ("locale_meta"), or NULL. */
static const char *
woo_setting(const struct shop *shop, const char *name)
{
	return pnorm_str(shop->raw, name);
}

/* 1 for "yes", "1", "true", true and 1; 0 for any other value. */
static int
woo_truthy(const json_t *v)
{
	const char *s;

	if (json_is_boolean(v))
		return json_is_true(v);
	if (json_is_integer(v))
		return json_integer_value(v) == 1;
	if (!json_is_string(v))
		return 0;
	s = json_string_value(v);
	return strcasecmp(s, "yes") == 0 || strcmp(s, "1") == 0 ||
	    strcasecmp(s, "true") == 0;
}

/* A time field as ms, for fields in UTC without an offset ("*_gmt"). */
static int
woo_time(const json_t *o, const char *key, int64_t *ms)
{
	return nevent_parse_time(pnorm_str(o, key), ms);
}

static void
woo_set_time(json_t *obj, const char *key, const json_t *o, const char *field)
{
	char iso[PNORM_TIME_MAX];
	int64_t ms;

	if (woo_time(o, field, &ms) == 0) {
		pnorm_iso_time(ms, iso);
		pnorm_set_str(obj, key, iso);
	}
}

/* Like pnorm_set_id, but 0 (WooCommerce's "none") is left out. */
static void
woo_set_id(json_t *obj, const char *key, const json_t *v)
{
	if (json_is_integer(v) && json_integer_value(v) == 0)
		return;
	pnorm_set_id(obj, key, v);
}

static json_t *
woo_item(const json_t *li)
{
	json_t *item = json_object(), *v;

	pnorm_set_str(item, "title", pnorm_str(li, "name"));
	if (json_is_integer(v = json_object_get(li, "quantity")))
		json_object_set_new(item, "quantity",
		    json_integer(json_integer_value(v)));
	pnorm_set_amount(item, "price", json_object_get(li, "price"));
	pnorm_set_str(item, "sku", pnorm_str(li, "sku"));
	woo_set_id(item, "product_id", json_object_get(li, "product_id"));
	woo_set_id(item, "variant_id", json_object_get(li, "variation_id"));
	/* Recent WooCommerce adds image {id, src}; the REST docs predate it. */
	pnorm_set_str(item, "image", pnorm_str(json_object_get(li, "image"), "src"));
	return item;
}

/* shipping {...}, else billing when the order has no shipping address. */
static json_t *
woo_address(const json_t *o)
{
	static const struct {
		const char	*ours, *theirs;
	} keys[] = {
		{ "first_name", "first_name" }, { "city", "city" },
		{ "country", "country" }, { "zip", "postcode" },
		{ "address1", "address_1" },
	};
	const char *parts[] = { "shipping", "billing" };
	json_t *out, *addr;
	size_t i, p;

	for (p = 0; p < sizeof parts / sizeof parts[0]; p++) {
		addr = json_object_get(o, parts[p]);
		if (pnorm_str(addr, "address_1") == NULL &&
		    pnorm_str(addr, "city") == NULL)
			continue;
		out = json_object();
		for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
			pnorm_set_str(out, keys[i].ours, pnorm_str(addr, keys[i].theirs));
		return out;
	}
	return NULL;
}

/* The order part of the context (docs/events.md). */
static json_t *
woo_order_ctx(const json_t *o, const struct nevent *ev)
{
	json_t *ctx = json_object(), *items, *lines, *v;
	size_t i;

	json_object_set_new(ctx, "id", json_string(ev->order_id));
	pnorm_set_str(ctx, "name", ev->order_name);
	pnorm_set_id(ctx, "number", json_object_get(o, "number"));
	pnorm_set_str(ctx, "currency", pnorm_str(o, "currency"));
	pnorm_set_amount(ctx, "total", json_object_get(o, "total"));
	woo_set_time(ctx, "created_at", o, "date_created_gmt");
	pnorm_set_str(ctx, "email", ev->email);
	pnorm_set_str(ctx, "phone", ev->phone);
	pnorm_set_str(ctx, "first_name", ev->first_name);
	pnorm_set_str(ctx, "last_name",
	    pnorm_str(json_object_get(o, "billing"), "last_name"));
	pnorm_set_str(ctx, "locale", ev->locale);

	items = json_array();
	lines = json_object_get(o, "line_items");
	json_array_foreach(lines, i, v) {
		if (json_is_object(v))
			json_array_append_new(items, woo_item(v));
	}
	json_object_set_new(ctx, "items", items);
	if ((v = woo_address(o)) != NULL)
		json_object_set_new(ctx, "shipping_address", v);
	return ctx;
}

/*
 * The first entry of WooCommerce Shipment Tracking's (and AST's)
 * "_wc_shipment_tracking_items" meta, or NULL. PHP arrays arrive as JSON
 * arrays, or as objects when their keys are not 0..n-1.
 */
static json_t *
woo_tracking(const json_t *o)
{
	json_t *items = woo_meta(o, "_wc_shipment_tracking_items"), *first;
	void *it;

	if (json_is_array(items))
		first = json_array_get(items, 0);
	else if (json_is_object(items) && (it = json_object_iter(items)) != NULL)
		first = json_object_iter_value(it);
	else
		return NULL;
	return json_is_object(first) ? first : NULL;
}

/*
 * A completed order ships whole, so "your parcel holds" is every line:
 * ctx.items of {title, quantity}, left out when the order has none.
 */
static void
woo_ship_items(json_t *ctx, const json_t *o)
{
	json_t *items = json_array(), *item, *li, *v;
	size_t i;

	json_array_foreach(json_object_get(o, "line_items"), i, li) {
		if (!json_is_object(li))
			continue;
		item = json_object();
		pnorm_set_str(item, "title", pnorm_str(li, "name"));
		if (json_is_integer(v = json_object_get(li, "quantity")))
			json_object_set_new(item, "quantity",
			    json_integer(json_integer_value(v)));
		json_array_append_new(items, item);
	}
	if (json_array_size(items) > 0)
		json_object_set_new(ctx, "items", items);
	else
		json_decref(items);
}

/*
 * The ship part of the context. Contact fields are added so that a
 * shipping message can be addressed even when the order was placed before
 * the shop was connected (no order part stored).
 */
static json_t *
woo_ship_ctx(const json_t *o, const struct nevent *ev)
{
	json_t *ctx = json_object(), *t = woo_tracking(o), *shipped;
	const char *company;
	char iso[PNORM_TIME_MAX];
	int64_t ms;

	json_object_set_new(ctx, "order_id", json_string(ev->order_id));
	pnorm_set_str(ctx, "order_name", ev->order_name);
	pnorm_set_str(ctx, "status", ev->status);
	if (t != NULL) {
		if ((company = pnorm_str(t, "tracking_provider")) == NULL)
			company = pnorm_str(t, "custom_tracking_provider");
		pnorm_set_str(ctx, "tracking_company", company);
		pnorm_set_str(ctx, "tracking_number", pnorm_str(t, "tracking_number"));
		pnorm_set_str(ctx, "tracking_url", pnorm_str(t, "custom_tracking_link"));
	}
	/* date_shipped is a unix time (as text or a number); else the update. */
	shipped = json_object_get(t, "date_shipped");
	if (json_is_integer(shipped))
		ms = (int64_t)json_integer_value(shipped);
	else if (!json_is_string(shipped) ||
	    util_parse_i64(json_string_value(shipped), &ms) != 0)
		ms = 0;
	if (ms > 0 && ms < WOO_MAX_UNIX)
		ms *= 1000;
	else
		ms = ev->occurred_ms;
	if (ms > 0) {
		pnorm_iso_time(ms, iso);
		pnorm_set_str(ctx, "happened_at", iso);
	}
	pnorm_set_str(ctx, "email", ev->email);
	pnorm_set_str(ctx, "phone", ev->phone);
	pnorm_set_str(ctx, "first_name", ev->first_name);
	pnorm_set_str(ctx, "locale", ev->locale);
	woo_ship_items(ctx, o);
	return ctx;
}

/* Fills ev's contact, names and time from the order. */
static void
woo_fill(const json_t *o, const struct shop *shop, struct nevent *ev)
{
	json_t *billing = json_object_get(o, "billing");
	json_t *shipping = json_object_get(o, "shipping");
	json_t *v;
	const char *s;
	int64_t ms;
	char *num;

	num = nevent_json_id(json_object_get(o, "number"));
	ev->order_name = xasprintf("#%s", num != NULL ? num : ev->order_id);
	free(num);
	ev->email = pnorm_email(pnorm_str(billing, "email"));
	ev->phone = pnorm_dup(pnorm_str(billing, "phone"));
	if ((s = pnorm_str(billing, "first_name")) == NULL)
		s = pnorm_str(shipping, "first_name");
	ev->first_name = pnorm_dup(s);

	/* Core orders carry neither; a shop names the plugin's meta key. */
	v = woo_meta(o, woo_setting(shop, "locale_meta"));
	if (json_is_string(v) && json_string_length(v) > 0)
		ev->locale = xstrdup(json_string_value(v));
	if ((v = woo_meta(o, woo_setting(shop, "consent_meta"))) != NULL)
		ev->consent_email = woo_truthy(v);

	if (woo_time(o, "date_modified_gmt", &ms) == 0 ||
	    woo_time(o, "date_created_gmt", &ms) == 0)
		ev->occurred_ms = ms;
}

/*
 * "wc:<topic>:<id>:<date_modified_gmt>[:<status>]". Without a
 * modification time, a hash of the body stands in, so only a replay of the
 * same bytes is taken for a duplicate.
 */
static char *
woo_delivery(const struct platform_req *req, const json_t *o,
    const struct woo_topic *t, const struct nevent *ev)
{
	const char *mod = pnorm_str(o, "date_modified_gmt");
	char hash[17];

	if (mod == NULL) {
		pnorm_body_hash(req, hash, 16);
		mod = hash;
	}
	if (t->with_status)
		return xasprintf("wc:%s:%s:%s:%s", t->topic, ev->order_id, mod,
		    ev->status);
	return xasprintf("wc:%s:%s:%s", t->topic, ev->order_id, mod);
}

/*
 * Called only after verify() succeeded. On any status the caller still
 * owns ev and releases it with nevent_free().
 */
static void
woo_normalize(const struct platform_req *req, const struct shop *shop,
    struct nevent *ev, struct platform_result *res)
{
	const struct woo_topic *t = NULL;
	enum event_kind kind;
	const char *topic, *status;
	json_t *o;
	size_t i;

	ev->shop = shop;
	if ((topic = platform_header(req, "X-WC-Webhook-Topic")) == NULL) {
		platform_result_set(res, PLATFORM_INVALID,
		    "missing X-WC-Webhook-Topic");
		return;
	}
	ev->topic = xstrdup(topic);
	for (i = 0; i < sizeof woo_topics / sizeof woo_topics[0]; i++) {
		if (strcmp(woo_topics[i].topic, topic) == 0) {
			t = &woo_topics[i];
			break;
		}
	}
	if (t == NULL) {
		platform_result_set(res, PLATFORM_IGNORE, "unknown topic %s", topic);
		return;
	}
	if ((o = pnorm_body_object(req, res)) == NULL)
		return;
	if ((ev->order_id = nevent_json_id(json_object_get(o, "id"))) == NULL) {
		platform_result_set(res, PLATFORM_INVALID, "order has no id");
		goto out;
	}
	if ((status = pnorm_str(o, "status")) == NULL) {
		platform_result_set(res, PLATFORM_INVALID, "order has no status");
		goto out;
	}
	ev->status = xstrdup(status);
	ev->delivery = woo_delivery(req, o, t, ev);
	if ((kind = t->kind(shop, status, res)) == EVENT_NONE)
		goto out;

	ev->kind = kind;
	woo_fill(o, shop, ev);
	if (kind == EVENT_ORDER_PLACED || kind == EVENT_ORDER_CANCELLED)
		ev->ctx = woo_order_ctx(o, ev);
	else
		ev->ctx = woo_ship_ctx(o, ev);
	platform_result_set(res, PLATFORM_OK, "%s", "");
out:
	json_decref(o);
}

const struct platform platform_woocommerce = {
	.name = "woocommerce",
	.verify = woo_verify,
	.normalize = woo_normalize,
};
