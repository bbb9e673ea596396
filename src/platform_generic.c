/*
 * platform_generic: any sender that speaks Standard Webhooks and posts
 * nudge's own event schema (docs/events.md), for shops on platforms we do
 * not support natively, or for a shop's own backend.
 *
 * verify() finds the shop by X-Nudge-Shop and checks webhook-signature
 * (space-separated "v1,<base64>" entries; any may match, which is how a
 * sender rotates keys; other versions are skipped) over
 * "<webhook-id>.<webhook-timestamp>.<raw body>" with the shop's
 * "generic_secret" ("whsec_" + base64 key, else the string's own bytes).
 * A shop whose platform is "generic" may use its "secret" (and
 * "previous_secret") instead. The timestamp must be within 5 minutes of
 * our clock, which bounds how long a captured request can be replayed;
 * within that window the webhook-id dedupe key catches the replay.
 *
 * normalize() maps the body onto the same event fields and context shapes
 * as the Shopify and WooCommerce normalizers, so flows and templates never
 * know which platform an event came from.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "platform.h"
#include "pnorm.h"
#include "sig.h"
#include "util.h"

#define SW_TOLERANCE_MS	(300 * 1000)
#define SW_ID_MAX	256	/* webhook-id: a dedupe key, not a document */
#define SW_KEY_MAX	256	/* decoded key bytes; the spec uses 24-64 */

/*
 * The HMAC key of a secret: the base64 after "whsec_", else the string's
 * bytes. -1 when a whsec_ secret does not decode.
 */
static int
sw_key(const char *secret, unsigned char key[SW_KEY_MAX], size_t *len)
{
	if (strncmp(secret, "whsec_", 6) == 0)
		return sig_b64_decode(secret + 6, key, SW_KEY_MAX, len);
	*len = strlen(secret);
	if (*len > SW_KEY_MAX)
		return -1;
	memcpy(key, secret, *len);
	return 0;
}

/* 1 when one "v1,<base64>" entry of the header is mac. */
static int
sw_match(const char *header, const unsigned char mac[SIG_LEN])
{
	unsigned char got[SIG_LEN];
	char entry[128];
	const char *s = header;
	size_t n, gotlen;
	int ok = 0;

	while (*s != '\0') {
		while (*s == ' ')
			s++;
		n = strcspn(s, " ");
		if (n > 3 && n < sizeof entry && strncmp(s, "v1,", 3) == 0) {
			memcpy(entry, s + 3, n - 3);
			entry[n - 3] = '\0';
			if (sig_b64_decode(entry, got, sizeof got, &gotlen) == 0 &&
			    gotlen == SIG_LEN && sig_equal(got, mac, SIG_LEN))
				ok = 1;
		}
		s += n;
	}
	return ok;
}

static void
sw_verify(const struct platform_req *req, const struct shops *shops,
    const struct shop **shopp, struct platform_result *res)
{
	const struct shop *shop;
	const char *domain, *id, *ts, *sigs, *secrets[2] = { NULL, NULL };
	unsigned char key[SW_KEY_MAX], mac[SIG_LEN];
	int64_t t, now_s;
	size_t keylen, i;
	struct buf msg;
	int ok = 0, usable = 0;

	*shopp = NULL;
	if ((domain = platform_header(req, "X-Nudge-Shop")) == NULL) {
		platform_result_set(res, PLATFORM_UNAUTHORIZED, "missing X-Nudge-Shop");
		return;
	}
	if ((shop = shops_find(shops, domain)) == NULL) {
		platform_result_set(res, PLATFORM_UNAUTHORIZED, "unknown shop");
		return;
	}
	if ((secrets[0] = pnorm_str(shop->raw, "generic_secret")) == NULL &&
	    shop->platform == PLATFORM_GENERIC) {
		secrets[0] = shop->secret;
		secrets[1] = shop->previous_secret;
	}
	if (secrets[0] == NULL) {
		platform_result_set(res, PLATFORM_UNAUTHORIZED,
		    "shop has no generic_secret");
		return;
	}
	id = platform_header(req, "webhook-id");
	ts = platform_header(req, "webhook-timestamp");
	sigs = platform_header(req, "webhook-signature");
	if (id == NULL || ts == NULL || sigs == NULL) {
		platform_result_set(res, PLATFORM_UNAUTHORIZED, "missing %s",
		    id == NULL ? "webhook-id" : ts == NULL ? "webhook-timestamp" :
		    "webhook-signature");
		return;
	}
	/* The signed string is split on '.': neither part may hold one. */
	if (strchr(id, '.') != NULL || strchr(ts, '.') != NULL) {
		platform_result_set(res, PLATFORM_UNAUTHORIZED,
		    "webhook-id or webhook-timestamp contains '.'");
		return;
	}
	if (strlen(id) > SW_ID_MAX) {
		platform_result_set(res, PLATFORM_UNAUTHORIZED, "webhook-id too long");
		return;
	}
	if (util_parse_i64(ts, &t) != 0) {
		platform_result_set(res, PLATFORM_UNAUTHORIZED,
		    "invalid webhook-timestamp");
		return;
	}
	/* Coarse check first, so that t * 1000 cannot overflow. */
	now_s = req->now_ms / 1000;
	if (t < now_s - 301 || t > now_s + 301 ||
	    t * 1000 < req->now_ms - SW_TOLERANCE_MS ||
	    t * 1000 > req->now_ms + SW_TOLERANCE_MS) {
		platform_result_set(res, PLATFORM_UNAUTHORIZED,
		    "timestamp outside tolerance");
		return;
	}

	buf_init(&msg);
	buf_printf(&msg, "%s.%s.", id, ts);
	buf_add(&msg, req->body ? req->body : "", req->body_len);
	for (i = 0; i < 2 && secrets[i] != NULL && !ok; i++) {
		if (sw_key(secrets[i], key, &keylen) != 0)
			continue;
		usable = 1;
		sig_hmac_sha256(key, keylen, msg.data, msg.len, mac);
		ok = sw_match(sigs, mac);
	}
	OPENSSL_cleanse(key, sizeof key);
	buf_free(&msg);
	if (!usable) {
		platform_result_set(res, PLATFORM_UNAUTHORIZED,
		    "shop's generic_secret is not whsec_ + base64");
		return;
	}
	if (!ok) {
		platform_result_set(res, PLATFORM_UNAUTHORIZED, "bad signature");
		return;
	}
	*shopp = shop;
	platform_result_set(res, PLATFORM_OK, "%s", "");
}

/* What a member must be; sets res when it is something else. */
static int
sw_object(const json_t *body, const char *key, json_t **out,
    struct platform_result *res)
{
	json_t *v = json_object_get(body, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v)) {
		platform_result_set(res, PLATFORM_INVALID,
		    "\"%s\" must be an object", key);
		return -1;
	}
	*out = v;
	return 0;
}

/* customer.<key>: true 1, false 0, absent -1; -2 for anything else. */
static int
sw_consent(const json_t *customer, const char *key)
{
	json_t *v = json_object_get(customer, key);

	if (v == NULL || json_is_null(v))
		return -1;
	if (!json_is_boolean(v))
		return -2;
	return json_is_true(v) ? 1 : 0;
}

static json_t *
sw_item(const json_t *in)
{
	json_t *item = json_object(), *v;

	pnorm_set_str(item, "title", pnorm_str(in, "title"));
	pnorm_set_str(item, "variant", pnorm_str(in, "variant"));
	if (json_is_integer(v = json_object_get(in, "quantity")))
		json_object_set_new(item, "quantity",
		    json_integer(json_integer_value(v)));
	pnorm_set_amount(item, "price", json_object_get(in, "price"));
	pnorm_set_str(item, "sku", pnorm_str(in, "sku"));
	pnorm_set_id(item, "product_id", json_object_get(in, "product_id"));
	pnorm_set_id(item, "variant_id", json_object_get(in, "variant_id"));
	pnorm_set_str(item, "image", pnorm_str(in, "image"));
	return item;
}

static json_t *
sw_items(const json_t *list)
{
	json_t *items = json_array(), *v;
	size_t i;

	json_array_foreach(list, i, v) {
		if (json_is_object(v))
			json_array_append_new(items, sw_item(v));
	}
	return items;
}

/* Adds the customer's contact fields, as every context part carries them. */
static void
sw_set_contact(json_t *ctx, const struct nevent *ev, const json_t *customer,
    int last_name)
{
	pnorm_set_str(ctx, "email", ev->email);
	pnorm_set_str(ctx, "phone", ev->phone);
	pnorm_set_str(ctx, "first_name", ev->first_name);
	if (last_name)
		pnorm_set_str(ctx, "last_name", pnorm_str(customer, "last_name"));
	pnorm_set_str(ctx, "locale", ev->locale);
}

static json_t *
sw_order_ctx(const json_t *order, const json_t *customer, const struct nevent *ev,
    const char *occurred)
{
	static const char *const addr_keys[] = {
		"first_name", "city", "country", "zip", "address1",
	};
	json_t *ctx = json_object(), *addr, *a;
	const char *created;
	size_t i;

	json_object_set_new(ctx, "id", json_string(ev->order_id));
	pnorm_set_str(ctx, "name", ev->order_name);
	pnorm_set_id(ctx, "number", json_object_get(order, "number"));
	pnorm_set_str(ctx, "currency", pnorm_str(order, "currency"));
	pnorm_set_amount(ctx, "total", json_object_get(order, "total"));
	pnorm_set_amount(ctx, "subtotal", json_object_get(order, "subtotal"));
	pnorm_set_str(ctx, "status_url", pnorm_str(order, "status_url"));
	/* An order_placed happened when the order was created. */
	if ((created = pnorm_str(order, "created_at")) == NULL &&
	    ev->kind == EVENT_ORDER_PLACED)
		created = occurred;
	pnorm_set_str(ctx, "created_at", created);
	sw_set_contact(ctx, ev, customer, 1);
	pnorm_set_str(ctx, "checkout_token", ev->checkout_token);
	pnorm_set_str(ctx, "cart_token", ev->cart_token);
	json_object_set_new(ctx, "items", sw_items(json_object_get(order, "items")));

	addr = json_object_get(order, "shipping_address");
	if (json_is_object(addr)) {
		a = json_object();
		for (i = 0; i < sizeof addr_keys / sizeof addr_keys[0]; i++)
			pnorm_set_str(a, addr_keys[i], pnorm_str(addr, addr_keys[i]));
		if (json_object_size(a) > 0)
			json_object_set_new(ctx, "shipping_address", a);
		else
			json_decref(a);
	}
	return ctx;
}

static json_t *
sw_ship_ctx(const json_t *shipment, const json_t *order, const json_t *customer,
    const struct nevent *ev, const char *occurred)
{
	static const char *const keys[] = {
		"tracking_company", "tracking_number", "tracking_url",
		"estimated_delivery_at",
	};
	json_t *ctx = json_object(), *list, *items, *item, *in, *v;
	size_t i;

	json_object_set_new(ctx, "order_id", json_string(ev->order_id));
	pnorm_set_str(ctx, "order_name", ev->order_name);
	pnorm_set_str(ctx, "fulfillment_id", ev->fulfillment_id);
	pnorm_set_str(ctx, "status", ev->status);
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
		pnorm_set_str(ctx, keys[i], pnorm_str(shipment, keys[i]));
	pnorm_set_str(ctx, "happened_at", occurred);
	sw_set_contact(ctx, ev, customer, 0);

	/* What the parcel holds: the shipment's lines, else the order's. */
	if ((list = json_object_get(shipment, "items")) == NULL)
		list = json_object_get(order, "items");
	items = json_array();
	json_array_foreach(list, i, in) {
		if (!json_is_object(in))
			continue;
		item = json_object();
		pnorm_set_str(item, "title", pnorm_str(in, "title"));
		pnorm_set_str(item, "variant", pnorm_str(in, "variant"));
		if (json_is_integer(v = json_object_get(in, "quantity")))
			json_object_set_new(item, "quantity",
			    json_integer(json_integer_value(v)));
		json_array_append_new(items, item);
	}
	if (json_array_size(items) > 0)
		json_object_set_new(ctx, "items", items);
	else
		json_decref(items);
	return ctx;
}

static json_t *
sw_cart_ctx(const json_t *checkout, const json_t *customer,
    const struct nevent *ev, const char *occurred)
{
	json_t *ctx = json_object();

	pnorm_set_str(ctx, "token", ev->checkout_token);
	pnorm_set_str(ctx, "checkout_id", ev->checkout_id);
	pnorm_set_str(ctx, "cart_token", ev->cart_token);
	sw_set_contact(ctx, ev, customer, 1);
	pnorm_set_str(ctx, "currency", pnorm_str(checkout, "currency"));
	pnorm_set_amount(ctx, "total", json_object_get(checkout, "total"));
	pnorm_set_amount(ctx, "subtotal", json_object_get(checkout, "subtotal"));
	pnorm_set_str(ctx, "url", pnorm_str(checkout, "url"));
	pnorm_set_str(ctx, "updated_at", occurred);
	json_object_set_new(ctx, "items", sw_items(json_object_get(checkout, "items")));
	return ctx;
}

/*
 * The privacy events' context, as Shopify's: {"orders": ["<id>", ...]},
 * the key left out when there are none.
 */
static json_t *
sw_privacy_ctx(const json_t *body)
{
	json_t *ctx = json_object(), *ids = json_array(), *v;
	size_t i;
	char *id;

	json_array_foreach(json_object_get(body, "orders"), i, v) {
		if ((id = nevent_json_id(v)) != NULL) {
			json_array_append_new(ids, json_string(id));
			free(id);
		}
	}
	if (json_array_size(ids) > 0)
		json_object_set_new(ctx, "orders", ids);
	else
		json_decref(ids);
	return ctx;
}

/* Reads the order, customer and checkout keys every kind may carry. */
static int
sw_fill(const json_t *order, const json_t *customer,
    const json_t *checkout, struct nevent *ev, struct platform_result *res)
{
	json_t *id;
	char *num;

	ev->email = pnorm_email(pnorm_str(customer, "email"));
	ev->phone = pnorm_dup(pnorm_str(customer, "phone"));
	ev->first_name = pnorm_dup(pnorm_str(customer, "first_name"));
	ev->locale = pnorm_dup(pnorm_str(customer, "locale"));
	if ((ev->consent_email = sw_consent(customer, "email_consent")) == -2 ||
	    (ev->consent_sms = sw_consent(customer, "sms_consent")) == -2) {
		platform_result_set(res, PLATFORM_INVALID,
		    "customer consent must be true or false");
		return -1;
	}

	id = json_object_get(order, "id");
	if (id != NULL && !json_is_null(id) &&
	    (ev->order_id = nevent_json_id(id)) == NULL) {
		platform_result_set(res, PLATFORM_INVALID,
		    "order.id must be a string or an integer");
		return -1;
	}
	if (ev->order_id != NULL) {
		if ((ev->order_name = pnorm_dup(pnorm_str(order, "name"))) == NULL &&
		    (num = nevent_json_id(json_object_get(order, "number"))) != NULL) {
			ev->order_name = xasprintf("#%s", num);
			free(num);
		}
	}
	ev->checkout_token = nevent_json_id(json_object_get(checkout, "token"));
	ev->checkout_id = nevent_json_id(json_object_get(checkout, "id"));
	ev->cart_token = nevent_json_id(json_object_get(checkout, "cart_token"));
	return 0;
}

/*
 * Called only after verify() succeeded. On any status the caller still
 * owns ev and releases it with nevent_free().
 */
static void
sw_normalize(const struct platform_req *req, const struct shop *shop,
    struct nevent *ev, struct platform_result *res)
{
	json_t *body, *order, *customer, *checkout, *shipment;
	const char *id, *type, *occurred, *ts;
	char iso[PNORM_TIME_MAX];
	int64_t t;

	ev->shop = shop;
	if ((id = platform_header(req, "webhook-id")) == NULL) {
		platform_result_set(res, PLATFORM_INVALID, "missing webhook-id");
		return;
	}
	ev->delivery = xasprintf("sw:%s", id);
	if ((body = pnorm_body_object(req, res)) == NULL)
		return;
	if ((type = pnorm_str(body, "type")) == NULL) {
		platform_result_set(res, PLATFORM_INVALID, "missing type");
		goto out;
	}
	ev->topic = xstrdup(type);
	if ((ev->kind = nevent_kind_parse(type)) == EVENT_NONE) {
		platform_result_set(res, PLATFORM_INVALID,
		    "unknown event type %s", type);
		goto out;
	}
	if (sw_object(body, "order", &order, res) != 0 ||
	    sw_object(body, "customer", &customer, res) != 0 ||
	    sw_object(body, "checkout", &checkout, res) != 0 ||
	    sw_object(body, "shipment", &shipment, res) != 0)
		goto out;

	/* The event's own time, else when the sender signed it. */
	if ((occurred = pnorm_str(body, "occurred_at")) != NULL) {
		if (nevent_parse_time(occurred, &ev->occurred_ms) != 0) {
			platform_result_set(res, PLATFORM_INVALID,
			    "occurred_at is not an ISO-8601 time");
			goto out;
		}
	} else if ((ts = platform_header(req, "webhook-timestamp")) != NULL &&
	    util_parse_i64(ts, &t) == 0 && t > 0 && t < INT64_MAX / 1000) {
		ev->occurred_ms = t * 1000;
		pnorm_iso_time(ev->occurred_ms, iso);
		occurred = iso;
	}
	if (sw_fill(order, customer, checkout, ev, res) != 0)
		goto out;

	switch (ev->kind) {
	case EVENT_ORDER_PLACED:
	case EVENT_ORDER_CANCELLED:
	case EVENT_ORDER_SHIPPED:
	case EVENT_ORDER_OUT_FOR_DELIVERY:
	case EVENT_ORDER_DELIVERED:
	case EVENT_SHIPMENT_FAILED:
		if (ev->order_id == NULL) {
			platform_result_set(res, PLATFORM_INVALID,
			    "%s needs order.id", type);
			goto out;
		}
		if (ev->kind == EVENT_ORDER_PLACED || ev->kind == EVENT_ORDER_CANCELLED) {
			ev->ctx = sw_order_ctx(order, customer, ev, occurred);
			break;
		}
		ev->fulfillment_id = nevent_json_id(json_object_get(shipment,
		    "fulfillment_id"));
		ev->status = pnorm_dup(pnorm_str(shipment, "status"));
		ev->ctx = sw_ship_ctx(shipment, order, customer, ev, occurred);
		break;
	case EVENT_CART_ABANDONED:
	case EVENT_CART_CLOSED:
		if (ev->checkout_token == NULL && ev->email == NULL) {
			platform_result_set(res, PLATFORM_INVALID,
			    "%s needs checkout.token or customer.email", type);
			goto out;
		}
		ev->ctx = sw_cart_ctx(checkout, customer, ev, occurred);
		break;
	case EVENT_CUSTOMER_REDACT:
	case EVENT_DATA_REQUEST:
		if (ev->email == NULL && ev->phone == NULL) {
			platform_result_set(res, PLATFORM_INVALID,
			    "%s needs customer.email or customer.phone", type);
			goto out;
		}
		ev->ctx = sw_privacy_ctx(body);
		break;
	case EVENT_SHOP_REDACT:
		ev->ctx = json_object();
		break;
	default:
		break;
	}
	platform_result_set(res, PLATFORM_OK, "%s", "");
out:
	json_decref(body);
}

const struct platform platform_generic = {
	.name = "generic",
	.verify = sw_verify,
	.normalize = sw_normalize,
};
