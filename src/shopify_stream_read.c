/*
 * shopify_stream_read: from what the streaming parser kept of an order
 * (shopify_stream.c) to the event and the context templates see, with the
 * same fallbacks and consent rules as the other Shopify readers.
 */
#include <stdlib.h>
#include <string.h>

#include "pnorm.h"
#include "shopify_normalize.h"
#include "shopify_stream.h"
#include "shopify_stream_int.h"
#include "util.h"

const char *
shopify_stream_shop_domain(const struct shopify_stream *st)
{
	return st->slot[S_SHOP_DOMAIN];
}

/* The first of a, b, c, d that is not NULL. */
static const char *
stream_first(const char *a, const char *b, const char *c, const char *d)
{
	return a != NULL ? a : b != NULL ? b : c != NULL ? c : d;
}

/* A line item, as order templates show it (as checkout items are). */
static json_t *
stream_item_ctx(const struct stream_item *li)
{
	const char *const *s = (const char *const *)li->slot;
	json_t *item = json_object();
	const char *image;

#define LI(x)	s[(x) - S__ORDER]
	pnorm_set_str(item, "title", LI(S_LI_TITLE));
	pnorm_set_str(item, "variant", LI(S_LI_VARIANT));
	if (li->has_quantity)
		json_object_set_new(item, "quantity",
		    json_integer(li->quantity));
	pnorm_set_str(item, "price", LI(S_LI_PRICE));
	pnorm_set_str(item, "sku", LI(S_LI_SKU));
	pnorm_set_str(item, "product_id", LI(S_LI_PRODUCT_ID));
	pnorm_set_str(item, "variant_id", LI(S_LI_VARIANT_ID));
	/* image.src when image is an object, else image itself, else image_url */
	if ((image = LI(S_LI_IMAGE_SRC)) == NULL &&
	    (image = LI(S_LI_IMAGE)) == NULL)
		image = LI(S_LI_IMAGE_URL);
	pnorm_set_str(item, "image", image);
#undef LI
	return item;
}

/*
 * Orders: orders/create and orders/cancelled. The context carries what
 * order templates show; it is stored per subject and read by every later
 * step, so it holds only that (see docs/templates.md), with every id as a
 * string. A cancellation carries the same context, so one that arrives
 * before its order still has the customer's contact. Contact fields fall
 * back from the order to its customer, billing and shipping addresses.
 */
static int
stream_order_read(const struct shopify_stream *st, struct nevent *ev,
    struct platform_result *res)
{
	const char *const *s = (const char *const *)st->slot;
	json_t *ctx, *items, *addr;
	const char *v;
	int64_t ms;
	size_t i;

	if (s[S_ID] == NULL) {
		platform_result_set(res, PLATFORM_INVALID, "order has no id");
		return -1;
	}
	ev->order_id = xstrdup(s[S_ID]);
	ev->order_name = pnorm_dup(s[S_NAME]);
	ev->checkout_token = pnorm_dup(s[S_CHECKOUT_TOKEN]);
	ev->checkout_id = pnorm_dup(s[S_CHECKOUT_ID]);
	ev->cart_token = pnorm_dup(s[S_CART_TOKEN]);

	if ((v = s[S_EMAIL]) == NULL && (v = s[S_CONTACT_EMAIL]) == NULL)
		v = s[S_CUST_EMAIL];
	ev->email = pnorm_email(v);
	ev->phone = pnorm_dup(stream_first(s[S_PHONE], s[S_CUST_PHONE],
	    s[S_BILL_PHONE], s[S_SHIP_PHONE]));
	ev->first_name = pnorm_dup(stream_first(s[S_CUST_FIRST],
	    s[S_BILL_FIRST], s[S_SHIP_FIRST], NULL));
	ev->locale = pnorm_dup(s[S_LOCALE]);

	/* The customer's consent object, else the checkout-time boolean. */
	ev->consent_email = shopify_consent_state(s[S_CUST_EMAIL_STATE]);
	if (ev->consent_email == -1)
		ev->consent_email = st->accepts;
	ev->consent_sms = shopify_consent_state(s[S_CUST_SMS_STATE]);
	if (nevent_parse_time(s[S_UPDATED_AT], &ms) == 0 ||
	    nevent_parse_time(s[S_CREATED_AT], &ms) == 0)
		ev->occurred_ms = ms;

	ctx = json_object();
	json_object_set_new(ctx, "id", json_string(ev->order_id));
	pnorm_set_str(ctx, "name", ev->order_name);
	pnorm_set_str(ctx, "number", s[S_NUMBER]);
	/* Shop currency and its totals, even when presented in another. */
	pnorm_set_str(ctx, "currency", s[S_CURRENCY]);
	pnorm_set_str(ctx, "total", s[S_TOTAL]);
	pnorm_set_str(ctx, "subtotal", s[S_SUBTOTAL]);
	pnorm_set_str(ctx, "status_url", s[S_STATUS_URL]);
	pnorm_set_str(ctx, "created_at", s[S_CREATED_AT]);
	pnorm_set_str(ctx, "email", ev->email);
	pnorm_set_str(ctx, "phone", ev->phone);
	pnorm_set_str(ctx, "first_name", ev->first_name);
	pnorm_set_str(ctx, "last_name", stream_first(s[S_CUST_LAST],
	    s[S_BILL_LAST], s[S_SHIP_LAST], NULL));
	pnorm_set_str(ctx, "locale", ev->locale);
	pnorm_set_str(ctx, "checkout_token", ev->checkout_token);
	pnorm_set_str(ctx, "cart_token", ev->cart_token);
	/* Always an array, possibly empty: order templates loop over it. */
	items = json_array();
	for (i = 0; i < st->nitems; i++)
		json_array_append_new(items, stream_item_ctx(&st->items[i]));
	json_object_set_new(ctx, "items", items);
	addr = json_object();
	pnorm_set_str(addr, "first_name", s[S_SHIP_FIRST]);
	pnorm_set_str(addr, "city", s[S_SHIP_CITY]);
	pnorm_set_str(addr, "country", s[S_SHIP_COUNTRY]);
	pnorm_set_str(addr, "zip", s[S_SHIP_ZIP]);
	pnorm_set_str(addr, "address1", s[S_SHIP_ADDRESS1]);
	if (json_object_size(addr) > 0)
		json_object_set_new(ctx, "shipping_address", addr);
	else
		json_decref(addr);

	ev->ctx = ctx;
	return 0;
}

int
shopify_stream_order_placed(const struct shopify_stream *st, struct nevent *ev,
    struct platform_result *res)
{
	return stream_order_read(st, ev, res);
}

int
shopify_stream_order_cancelled(const struct shopify_stream *st,
    struct nevent *ev, struct platform_result *res)
{
	if (stream_order_read(st, ev, res) != 0)
		return -1;
	ev->status = pnorm_dup(st->slot[S_CANCEL_REASON]);
	return 0;
}
