/*
 * shopify_normalize: what each Shopify payload means as a nevent. One
 * reader per resource; platform_shopify's topic table says which topic uses
 * which reader (see include/shopify_normalize.h for the contract). Orders
 * are read by shopify_stream.c instead, straight from the raw body.
 *
 * Each reader also builds the event's context (ev->ctx), the part of the
 * subject's stored context that templates read: "order" for orders, "ship"
 * for fulfillments and their tracking events, "cart" for checkouts (plan.c
 * names the parts). Contexts are compact: every id an exact decimal string,
 * null and empty members left out, so a template tests a key for presence
 * only.
 *
 * Ids are 64-bit integers in Shopify payloads, larger than a double holds
 * exactly (820982911946154508), so they are read with json_integer_value
 * and printed with %lld (nevent_json_id), never through a double.
 *
 * Readers are lenient about what they do not need: Shopify trims payloads
 * to a subscription's include_fields, and a checkouts/delete body may hold
 * only id and token. They refuse (PLATFORM_INVALID) only a payload without
 * the id that names its subject.
 */
#include <stdlib.h>
#include <string.h>

#include "pnorm.h"
#include "shopify_normalize.h"
#include "util.h"

/* The first non-empty string member `key` of the objects given. */
static const char *
shopify_str_first(const char *key, const json_t *a, const json_t *b,
    const json_t *c)
{
	const char *s;

	if ((s = pnorm_str(a, key)) != NULL || (s = pnorm_str(b, key)) != NULL)
		return s;
	return pnorm_str(c, key);
}

/*
 * The string member `key`, else the first non-empty string of the array
 * member `list`: tracking_number / tracking_numbers and their kin.
 */
static const char *
shopify_str_or_list(const json_t *obj, const char *key, const char *list)
{
	const char *s;
	json_t *a, *v;
	size_t i;

	if ((s = pnorm_str(obj, key)) != NULL)
		return s;
	a = json_object_get(obj, list);
	json_array_foreach(a, i, v) {
		if (json_is_string(v) && json_string_length(v) > 0)
			return json_string_value(v);
	}
	return NULL;
}

/* Adds key: arr unless it is empty; takes arr either way. */
static void
shopify_set_array(json_t *obj, const char *key, json_t *arr)
{
	if (json_array_size(arr) > 0)
		json_object_set_new(obj, key, arr);
	else
		json_decref(arr);
}

/*
 * An array of ids as exact strings: orders_to_redact and
 * orders_requested. Members that are no id (a double, null) are dropped.
 */
static json_t *
shopify_ids(const json_t *list)
{
	json_t *out = json_array(), *v;
	size_t i;
	char *s;

	json_array_foreach(list, i, v) {
		if ((s = nevent_json_id(v)) != NULL) {
			json_array_append_new(out, json_string(s));
			free(s);
		}
	}
	return out;
}

int
shopify_consent_state(const char *state)
{
	static const char *const no[] = {
		"not_subscribed", "unsubscribed", "pending", "redacted",
	};
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

/* Marketing consent from a {"state": ...} object; -1 when it is none. */
static int
shopify_consent(const json_t *consent)
{
	return shopify_consent_state(pnorm_str(consent, "state"));
}

/*
 * The customer's consent object when it says anything, else the
 * checkout-time boolean (buyer_accepts_marketing and kin), else -1.
 */
static int
shopify_consent_or(const json_t *consent, const json_t *accepts)
{
	int c = shopify_consent(consent);

	if (c == -1 && json_is_boolean(accepts))
		c = json_is_true(accepts) ? 1 : 0;
	return c;
}

/* updated_at, else created_at, as ms; 0 when neither parses. */
static int64_t
shopify_time(const json_t *obj)
{
	int64_t ms;

	if (nevent_parse_time(pnorm_str(obj, "updated_at"), &ms) == 0 ||
	    nevent_parse_time(pnorm_str(obj, "created_at"), &ms) == 0)
		return ms;
	return 0;
}

/* quantity as an integer, when the line has one. */
static void
shopify_set_quantity(json_t *item, const json_t *li)
{
	json_t *v = json_object_get(li, "quantity");

	if (json_is_integer(v))
		json_object_set_new(item, "quantity",
		    json_integer(json_integer_value(v)));
}

/*
 * A checkout line item as cart templates show it; an order's are the same
 * (shopify_stream.c builds those).
 */
static json_t *
shopify_item(const json_t *li)
{
	json_t *item = json_object(), *img;
	const char *image;

	pnorm_set_str(item, "title", pnorm_str(li, "title"));
	pnorm_set_str(item, "variant", pnorm_str(li, "variant_title"));
	shopify_set_quantity(item, li);
	pnorm_set_str(item, "price", pnorm_str(li, "price"));
	pnorm_set_str(item, "sku", pnorm_str(li, "sku"));
	pnorm_set_id(item, "product_id", json_object_get(li, "product_id"));
	pnorm_set_id(item, "variant_id", json_object_get(li, "variant_id"));

	/* Line items carry no image today; use one if a payload has it. */
	img = json_object_get(li, "image");
	if (json_is_object(img))
		image = pnorm_str(img, "src");
	else
		image = pnorm_str(li, "image");
	if (image == NULL)
		image = pnorm_str(li, "image_url");
	pnorm_set_str(item, "image", image);
	return item;
}

/* A fulfilled line: only what "your parcel holds" needs. */
static json_t *
shopify_ship_item(const json_t *li)
{
	json_t *item = json_object();

	pnorm_set_str(item, "title", pnorm_str(li, "title"));
	pnorm_set_str(item, "variant", pnorm_str(li, "variant_title"));
	shopify_set_quantity(item, li);
	return item;
}

/* A checkout line: an order line plus line_price (price x quantity). */
static json_t *
shopify_cart_item(const json_t *li)
{
	json_t *item = shopify_item(li);

	pnorm_set_str(item, "line_price", pnorm_str(li, "line_price"));
	return item;
}

/* line_items through fn, objects only; an empty array when there are none. */
static json_t *
shopify_items(const json_t *o, json_t *(*fn)(const json_t *))
{
	json_t *items = json_array(), *v;
	size_t i;

	json_array_foreach(json_object_get(o, "line_items"), i, v) {
		if (json_is_object(v))
			json_array_append_new(items, fn(v));
	}
	return items;
}

/*
 * Tracking statuses (REST spelling of FulfillmentEventStatus, plus the
 * Customer API's and `unstable`'s additions). "delayed" counts as a
 * failure: it is recorded with its status kept, nothing promises a date.
 */
static const struct {
	const char	*status;
	enum event_kind	 kind;
} shopify_shipment_kinds[] = {
	{ "confirmed",			EVENT_ORDER_SHIPPED },
	{ "label_printed",		EVENT_ORDER_SHIPPED },
	{ "label_purchased",		EVENT_ORDER_SHIPPED },
	{ "carrier_picked_up",		EVENT_ORDER_SHIPPED },
	{ "in_transit",			EVENT_ORDER_SHIPPED },
	{ "ready_for_pickup",		EVENT_ORDER_SHIPPED },
	{ "ready_for_recipient_pickup",	EVENT_ORDER_SHIPPED },
	{ "out_for_delivery",		EVENT_ORDER_OUT_FOR_DELIVERY },
	{ "delivered",			EVENT_ORDER_DELIVERED },
	{ "picked_up",			EVENT_ORDER_DELIVERED },
	{ "attempted_delivery",		EVENT_SHIPMENT_FAILED },
	{ "failure",			EVENT_SHIPMENT_FAILED },
	{ "returning_to_sender",	EVENT_SHIPMENT_FAILED },
	{ "delayed",			EVENT_SHIPMENT_FAILED },
	{ "buyer_action_required",	EVENT_SHIPMENT_FAILED },
};

enum event_kind
shopify_shipment_kind(const char *status)
{
	size_t i;

	if (status == NULL)
		return EVENT_ORDER_SHIPPED;
	for (i = 0; i < sizeof shopify_shipment_kinds /
	    sizeof shopify_shipment_kinds[0]; i++) {
		if (strcmp(shopify_shipment_kinds[i].status, status) == 0)
			return shopify_shipment_kinds[i].kind;
	}
	return EVENT_ORDER_SHIPPED;
}

/* A fulfillment status that means this shipment will not arrive. */
static int
shopify_fulfillment_failed(const char *status)
{
	return status != NULL && (strcmp(status, "cancelled") == 0 ||
	    strcmp(status, "failure") == 0 || strcmp(status, "error") == 0);
}

/* The order's name from a fulfillment's: "#1001.1" -> "#1001". */
static char *
shopify_order_name_of(const char *fname)
{
	const char *dot;

	if (fname == NULL)
		return NULL;
	if ((dot = strrchr(fname, '.')) == NULL || dot == fname)
		return xstrdup(fname);
	return xstrndup(fname, (size_t)(dot - fname));
}

/* The ids and times every "ship" context starts with. */
static json_t *
shopify_ship_ctx(const struct nevent *ev, const json_t *o)
{
	json_t *ctx = json_object();

	json_object_set_new(ctx, "order_id", json_string(ev->order_id));
	pnorm_set_str(ctx, "order_name", ev->order_name);
	pnorm_set_str(ctx, "fulfillment_id", ev->fulfillment_id);
	pnorm_set_str(ctx, "status", ev->status);
	pnorm_set_str(ctx, "estimated_delivery_at",
	    pnorm_str(o, "estimated_delivery_at"));
	pnorm_set_str(ctx, "happened_at", pnorm_str(o, "happened_at"));
	return ctx;
}

/*
 * fulfillments/create and fulfillments/update. The fulfillment's own
 * status says whether it stands (cancelled, failure and error: it will not
 * arrive); shipment_status, the latest carrier event, says how far it got,
 * and is null until the carrier reports. ev->status is the fulfillment
 * status when that failed, else shipment_status, else the fulfillment
 * status ("success").
 */
int
shopify_fulfillment(json_t *o, struct nevent *ev, struct platform_result *res)
{
	const char *fstatus, *sstatus;
	json_t *dest, *ctx;

	if ((ev->order_id = nevent_json_id(json_object_get(o, "order_id"))) == NULL) {
		platform_result_set(res, PLATFORM_INVALID, "fulfillment has no order_id");
		return -1;
	}
	ev->fulfillment_id = nevent_json_id(json_object_get(o, "id"));
	ev->order_name = shopify_order_name_of(pnorm_str(o, "name"));
	fstatus = pnorm_str(o, "status");
	sstatus = pnorm_str(o, "shipment_status");
	if (shopify_fulfillment_failed(fstatus)) {
		ev->kind = EVENT_SHIPMENT_FAILED;
		ev->status = xstrdup(fstatus);
	} else if (sstatus == NULL && fstatus != NULL &&
	    (strcmp(fstatus, "pending") == 0 || strcmp(fstatus, "open") == 0)) {
		/* a fulfillment service accepted it; nothing has shipped yet */
		platform_result_set(res, PLATFORM_IGNORE, "fulfillment not shipped yet (status %s)",
		    fstatus);
		return -1;
	} else {
		ev->kind = shopify_shipment_kind(sstatus);
		ev->status = pnorm_dup(sstatus != NULL ? sstatus : fstatus);
	}

	/* Webhook deliveries carry the buyer's address; REST reads may not. */
	dest = json_object_get(o, "destination");
	ev->email = pnorm_email(pnorm_str(o, "email"));
	ev->phone = pnorm_dup(pnorm_str(dest, "phone"));
	ev->first_name = pnorm_dup(pnorm_str(dest, "first_name"));
	ev->occurred_ms = shopify_time(o);

	ctx = shopify_ship_ctx(ev, o);
	pnorm_set_str(ctx, "tracking_company", pnorm_str(o, "tracking_company"));
	pnorm_set_str(ctx, "tracking_number",
	    shopify_str_or_list(o, "tracking_number", "tracking_numbers"));
	pnorm_set_str(ctx, "tracking_url",
	    shopify_str_or_list(o, "tracking_url", "tracking_urls"));
	shopify_set_array(ctx, "items", shopify_items(o, shopify_ship_item));
	ev->ctx = ctx;
	return 0;
}

/*
 * fulfillment_events/create: one carrier event of a fulfillment, the best
 * "delivered" signal there is. It holds no tracking number or items, so
 * its context is the event's own: status, when, and where.
 */
int
shopify_fulfillment_event(json_t *o, struct nevent *ev, struct platform_result *res)
{
	json_t *ctx;
	int64_t ms;

	if ((ev->order_id = nevent_json_id(json_object_get(o, "order_id"))) == NULL) {
		platform_result_set(res, PLATFORM_INVALID,
		    "fulfillment event has no order_id");
		return -1;
	}
	if ((ev->status = pnorm_dup(pnorm_str(o, "status"))) == NULL) {
		platform_result_set(res, PLATFORM_INVALID,
		    "fulfillment event has no status");
		return -1;
	}
	ev->fulfillment_id = nevent_json_id(json_object_get(o, "fulfillment_id"));
	ev->kind = shopify_shipment_kind(ev->status);
	if (nevent_parse_time(pnorm_str(o, "happened_at"), &ms) == 0)
		ev->occurred_ms = ms;
	else
		ev->occurred_ms = shopify_time(o);

	ctx = shopify_ship_ctx(ev, o);
	pnorm_set_str(ctx, "message", pnorm_str(o, "message"));
	pnorm_set_str(ctx, "city", pnorm_str(o, "city"));
	pnorm_set_str(ctx, "country", pnorm_str(o, "country"));
	ev->ctx = ctx;
	return 0;
}

/*
 * What every checkout topic reads. A checkout is matched to its order by
 * token (order.checkout_token), else id, else cart_token, so it needs one
 * of token and id. The context is the "cart" part: what a reminder shows
 * and the link back to the checkout.
 */
static int
shopify_checkout_read(json_t *o, struct nevent *ev, struct platform_result *res)
{
	json_t *customer, *billing, *shipping, *ctx;
	const char *s;

	customer = json_object_get(o, "customer");
	billing = json_object_get(o, "billing_address");
	shipping = json_object_get(o, "shipping_address");

	ev->checkout_token = pnorm_dup(pnorm_str(o, "token"));
	ev->checkout_id = nevent_json_id(json_object_get(o, "id"));
	if (ev->checkout_token == NULL && ev->checkout_id == NULL) {
		platform_result_set(res, PLATFORM_INVALID, "checkout has no token or id");
		return -1;
	}
	ev->cart_token = pnorm_dup(pnorm_str(o, "cart_token"));

	if ((s = pnorm_str(o, "email")) == NULL)
		s = pnorm_str(customer, "email");
	ev->email = pnorm_email(s);
	if ((s = pnorm_str(o, "phone")) == NULL &&
	    (s = pnorm_str(o, "sms_marketing_phone")) == NULL)
		s = shopify_str_first("phone", customer, billing, shipping);
	ev->phone = pnorm_dup(s);
	ev->first_name = pnorm_dup(shopify_str_first("first_name", customer,
	    billing, shipping));
	ev->locale = pnorm_dup(pnorm_str(o, "customer_locale"));
	ev->consent_email = shopify_consent_or(json_object_get(customer,
	    "email_marketing_consent"), json_object_get(o, "buyer_accepts_marketing"));
	ev->consent_sms = shopify_consent_or(json_object_get(customer,
	    "sms_marketing_consent"), json_object_get(o, "buyer_accepts_sms_marketing"));
	/* The reminder clock starts at the customer's last change. */
	ev->occurred_ms = shopify_time(o);

	ctx = json_object();
	pnorm_set_str(ctx, "token", ev->checkout_token);
	pnorm_set_str(ctx, "checkout_id", ev->checkout_id);
	pnorm_set_str(ctx, "cart_token", ev->cart_token);
	pnorm_set_str(ctx, "email", ev->email);
	pnorm_set_str(ctx, "phone", ev->phone);
	pnorm_set_str(ctx, "first_name", ev->first_name);
	pnorm_set_str(ctx, "last_name", shopify_str_first("last_name",
	    customer, billing, shipping));
	pnorm_set_str(ctx, "locale", ev->locale);
	pnorm_set_str(ctx, "currency", pnorm_str(o, "currency"));
	pnorm_set_str(ctx, "total", pnorm_str(o, "total_price"));
	pnorm_set_str(ctx, "subtotal", pnorm_str(o, "subtotal_price"));
	pnorm_set_str(ctx, "url", pnorm_str(o, "abandoned_checkout_url"));
	pnorm_set_str(ctx, "updated_at", pnorm_str(o, "updated_at"));
	shopify_set_array(ctx, "items", shopify_items(o, shopify_cart_item));
	ev->ctx = ctx;
	return 0;
}

/*
 * checkouts/create and checkouts/update. A completed checkout (it became
 * an order) or a closed one (the merchant archived it) ends the cart's
 * reminders; an open one starts them, if there is anyone to remind.
 */
int
shopify_checkout(json_t *o, struct nevent *ev, struct platform_result *res)
{
	if (shopify_checkout_read(o, ev, res) != 0)
		return -1;
	if (pnorm_str(o, "completed_at") != NULL ||
	    pnorm_str(o, "closed_at") != NULL)
		ev->kind = EVENT_CART_CLOSED;
	else if (ev->email == NULL && ev->phone == NULL) {
		platform_result_set(res, PLATFORM_IGNORE, "checkout has no contact");
		return -1;
	} else
		ev->kind = EVENT_CART_ABANDONED;
	return 0;
}

/* checkouts/delete: whatever the body still holds, the cart is over. */
int
shopify_checkout_delete(json_t *o, struct nevent *ev, struct platform_result *res)
{
	if (shopify_checkout_read(o, ev, res) != 0)
		return -1;
	ev->kind = EVENT_CART_CLOSED;
	return 0;
}

/*
 * The compliance topics (webhooks.md 1.6). They name a customer by
 * Shopify id and, when the shop has them, e-mail and phone; the orders
 * list is what the shop holds for that customer, exact id strings. One of
 * id, e-mail and phone is needed to find anything at all.
 */
static int
shopify_customer_request(json_t *o, struct nevent *ev,
    struct platform_result *res, const char *orders_key)
{
	json_t *customer = json_object_get(o, "customer"), *ctx;
	char *id;

	id = nevent_json_id(json_object_get(customer, "id"));
	ev->email = pnorm_email(pnorm_str(customer, "email"));
	ev->phone = pnorm_dup(pnorm_str(customer, "phone"));
	if (id == NULL && ev->email == NULL && ev->phone == NULL) {
		platform_result_set(res, PLATFORM_INVALID,
		    "request names no customer id, e-mail or phone");
		return -1;
	}
	ctx = json_object();
	pnorm_set_str(ctx, "customer_id", id);
	shopify_set_array(ctx, "orders", shopify_ids(json_object_get(o, orders_key)));
	ev->ctx = ctx;
	free(id);
	return 0;
}

int
shopify_customers_redact(json_t *o, struct nevent *ev, struct platform_result *res)
{
	return shopify_customer_request(o, ev, res, "orders_to_redact");
}

int
shopify_data_request(json_t *o, struct nevent *ev, struct platform_result *res)
{
	if (shopify_customer_request(o, ev, res, "orders_requested") != 0)
		return -1;
	pnorm_set_id(ev->ctx, "data_request_id",
	    json_object_get(json_object_get(o, "data_request"), "id"));
	return 0;
}

/* The shop itself is the header's; shop_id is kept for the record. */
int
shopify_shop_redact(json_t *o, struct nevent *ev, struct platform_result *res)
{
	(void)res;
	ev->ctx = json_object();
	pnorm_set_id(ev->ctx, "shop_id", json_object_get(o, "shop_id"));
	return 0;
}
