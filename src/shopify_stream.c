/*
 * shopify_stream: the order topics read in one pass with yajl's callback
 * parser (never yajl_tree, which builds the whole tree again). What an order
 * event needs is ~40 values out of the ~600 of a real order body; the
 * rest is lexed, validated and dropped without an allocation.
 *
 * The parser keeps a stack of frames, one per open object or array. A
 * frame's node says which container it is (the order, its customer, a line
 * item, ... or N_SKIP: nothing below is read); a node has a table of the
 * keys read in it, and a key says where its value goes: a slot for a
 * string or id, a flag, or the node its object (or array) value becomes.
 * Anything under a key no table names is N_SKIP, whatever its own keys.
 *
 * It accepts exactly the bodies json_loadb accepts and reads them as the
 * jansson readers did (the tests hold the expectations), which takes:
 *  - Duplicate keys: jansson keeps the last. Seeing a key forgets what its
 *    earlier value left, a whole customer or line_items array included,
 *    before the new value is read.
 *  - What yajl lets through and jansson does not: overlong or surrogate
 *    UTF-8 and code points past U+10FFFF, \v and \f as white space, \u0000,
 *    lone or mismatched surrogate escapes (yajl makes them '?' or another
 *    character). jstrict_check refuses them over the raw body first;
 *    yajl's own string validation stays on as well.
 *  - Numbers: an integer must fit 64 bits and a real must not overflow,
 *    anywhere in the body, as jansson requires. Ids are kept as the digits
 *    of the body, never through a double ("-0" becomes "0", as %lld
 *    prints it).
 * The differences: nesting past SHOPIFY_STREAM_MAX_DEPTH (jansson: 2048)
 * is refused, so a body of 100,000 '[' costs 64 frames, not 100,000; an
 * order id past 64 bits is refused saying so ("order id out of range");
 * and a raw NUL byte is refused everywhere, where jansson's reader skips
 * one that follows a number or a literal.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "jstrict.h"
#include "pnorm.h"
#include "shopify_normalize.h"
#include "shopify_stream.h"
#include "shopify_stream_int.h"
#include "util.h"


/* What an open container is. */
enum stream_node {
	N_SKIP = 0,		/* not read, nor anything below */
	N_ROOT,
	N_CUSTOMER,
	N_EMAIL_CONSENT,	/* customer.email_marketing_consent */
	N_SMS_CONSENT,		/* customer.sms_marketing_consent */
	N_BILLING,
	N_SHIPPING,
	N_ITEMS,		/* line_items, the one array read */
	N_ITEM,			/* an object of line_items */
	N_IMAGE,		/* a line item's image, when an object */
	N__COUNT
};

/* How a key's value is read; any other type of value counts as absent. */
enum stream_type {
	T_STR,		/* a non-empty string, as pnorm_str */
	T_ID,		/* an integer's digits or a non-empty string
			   (nevent_json_id) */
	T_QUANTITY,	/* an integer */
	T_ACCEPTS,	/* a boolean (buyer_accepts_marketing) */
	T_CONTAINER,	/* only its object or array is read: see child */
};

struct stream_key {
	const char	*name;
	unsigned char	 len;
	unsigned char	 type;		/* enum stream_type */
	unsigned char	 slot;		/* T_STR, T_ID: where it goes */
	unsigned char	 child;		/* the node its object (array) value is */
};

#define KEY(n, t, s, c)	{ n, sizeof n - 1, t, s, c }
#define KSTR(n, s)	KEY(n, T_STR, s, N_SKIP)
#define KID(n, s)	KEY(n, T_ID, s, N_SKIP)
#define KOBJ(n, c)	KEY(n, T_CONTAINER, S_NONE, c)
#define KEND		{ NULL, 0, 0, 0, 0 }

static const struct stream_key stream_root_keys[] = {
	KID("id", S_ID),
	KSTR("name", S_NAME),
	KID("order_number", S_NUMBER),
	KSTR("checkout_token", S_CHECKOUT_TOKEN),
	KID("checkout_id", S_CHECKOUT_ID),
	KSTR("cart_token", S_CART_TOKEN),
	KSTR("email", S_EMAIL),
	KSTR("contact_email", S_CONTACT_EMAIL),
	KSTR("phone", S_PHONE),
	KSTR("customer_locale", S_LOCALE),
	KSTR("currency", S_CURRENCY),
	KSTR("total_price", S_TOTAL),
	KSTR("subtotal_price", S_SUBTOTAL),
	KSTR("order_status_url", S_STATUS_URL),
	KSTR("created_at", S_CREATED_AT),
	KSTR("updated_at", S_UPDATED_AT),
	KSTR("cancel_reason", S_CANCEL_REASON),
	KSTR("shop_domain", S_SHOP_DOMAIN),
	KEY("buyer_accepts_marketing", T_ACCEPTS, S_NONE, N_SKIP),
	KOBJ("customer", N_CUSTOMER),
	KOBJ("billing_address", N_BILLING),
	KOBJ("shipping_address", N_SHIPPING),
	KOBJ("line_items", N_ITEMS),
	KEND
};

static const struct stream_key stream_customer_keys[] = {
	KSTR("email", S_CUST_EMAIL),
	KSTR("phone", S_CUST_PHONE),
	KSTR("first_name", S_CUST_FIRST),
	KSTR("last_name", S_CUST_LAST),
	KOBJ("email_marketing_consent", N_EMAIL_CONSENT),
	KOBJ("sms_marketing_consent", N_SMS_CONSENT),
	KEND
};

static const struct stream_key stream_email_consent_keys[] = {
	KSTR("state", S_CUST_EMAIL_STATE),
	KEND
};

static const struct stream_key stream_sms_consent_keys[] = {
	KSTR("state", S_CUST_SMS_STATE),
	KEND
};

static const struct stream_key stream_billing_keys[] = {
	KSTR("phone", S_BILL_PHONE),
	KSTR("first_name", S_BILL_FIRST),
	KSTR("last_name", S_BILL_LAST),
	KEND
};

static const struct stream_key stream_shipping_keys[] = {
	KSTR("phone", S_SHIP_PHONE),
	KSTR("first_name", S_SHIP_FIRST),
	KSTR("last_name", S_SHIP_LAST),
	KSTR("city", S_SHIP_CITY),
	KSTR("country", S_SHIP_COUNTRY),
	KSTR("zip", S_SHIP_ZIP),
	KSTR("address1", S_SHIP_ADDRESS1),
	KEND
};

static const struct stream_key stream_item_keys[] = {
	KSTR("title", S_LI_TITLE),
	KSTR("variant_title", S_LI_VARIANT),
	KEY("quantity", T_QUANTITY, S_NONE, N_SKIP),
	KSTR("price", S_LI_PRICE),
	KSTR("sku", S_LI_SKU),
	KID("product_id", S_LI_PRODUCT_ID),
	KID("variant_id", S_LI_VARIANT_ID),
	/* A string, or an object whose src is read. */
	KEY("image", T_STR, S_LI_IMAGE, N_IMAGE),
	KSTR("image_url", S_LI_IMAGE_URL),
	KEND
};

static const struct stream_key stream_image_keys[] = {
	KSTR("src", S_LI_IMAGE_SRC),
	KEND
};

static const struct stream_key *const stream_node_keys[N__COUNT] = {
	[N_ROOT] = stream_root_keys,
	[N_CUSTOMER] = stream_customer_keys,
	[N_EMAIL_CONSENT] = stream_email_consent_keys,
	[N_SMS_CONSENT] = stream_sms_consent_keys,
	[N_BILLING] = stream_billing_keys,
	[N_SHIPPING] = stream_shipping_keys,
	[N_ITEM] = stream_item_keys,
	[N_IMAGE] = stream_image_keys,
};

/* The slots under a container, [first, end): what its key forgets. */
static const struct {
	unsigned char	 first, end;
} stream_node_slots[N__COUNT] = {
	[N_CUSTOMER] = { S_CUST_EMAIL, S_CUST_SMS_STATE + 1 },
	[N_EMAIL_CONSENT] = { S_CUST_EMAIL_STATE, S_CUST_EMAIL_STATE + 1 },
	[N_SMS_CONSENT] = { S_CUST_SMS_STATE, S_CUST_SMS_STATE + 1 },
	[N_BILLING] = { S_BILL_PHONE, S_BILL_LAST + 1 },
	[N_SHIPPING] = { S_SHIP_PHONE, S_SHIP_ADDRESS1 + 1 },
	[N_ITEM] = { S_LI_TITLE, S__COUNT },
	[N_IMAGE] = { S_LI_IMAGE_SRC, S_LI_IMAGE_SRC + 1 },
};

#define KEY_NONE	0xff

static char **
stream_slotp(struct shopify_stream *st, unsigned slot)
{
	if (slot < S__ORDER)
		return &st->slot[slot];
	return &st->items[st->nitems].slot[slot - S__ORDER];
}

static void
stream_clear(struct shopify_stream *st, unsigned first, unsigned end)
{
	char **p;

	for (; first < end; first++) {
		p = stream_slotp(st, first);
		free(*p);
		*p = NULL;
	}
}

static void
stream_items_clear(struct shopify_stream *st)
{
	size_t i, j;

	for (i = 0; i < st->cap; i++) {
		for (j = 0; j < STREAM_ITEM_SLOTS; j++) {
			free(st->items[i].slot[j]);
			st->items[i].slot[j] = NULL;
		}
	}
	st->nitems = 0;
}

/* Stops the parse (yajl_status_client_canceled) with reason. */
static int
stream_stop(struct shopify_stream *st, const char *reason)
{
	snprintf(st->reason, sizeof st->reason, "%s", reason);
	return 0;
}

/* A value outside any object: the body is a scalar. */
static int
stream_at_root(struct shopify_stream *st)
{
	return st->depth == 0;
}

/* The key of the value now being read, or NULL when it is not read. */
static const struct stream_key *
stream_value_key(const struct shopify_stream *st)
{
	const struct stream_frame *f = &st->stack[st->depth - 1];

	if (f->key == KEY_NONE)
		return NULL;
	return &stream_node_keys[f->node][f->key];
}

/* A new key: what an earlier value of it left is forgotten (last one wins). */
static void
stream_forget(struct shopify_stream *st, const struct stream_key *k)
{
	if (k->slot != S_NONE)
		stream_clear(st, k->slot, k->slot + 1u);
	if (k->type == T_ACCEPTS)
		st->accepts = -1;
	else if (k->type == T_QUANTITY)
		st->items[st->nitems].has_quantity = 0;
	if (k->child == N_ITEMS)
		stream_items_clear(st);
	else if (k->child != N_SKIP)
		stream_clear(st, stream_node_slots[k->child].first,
		    stream_node_slots[k->child].end);
}

static int
stream_push(struct shopify_stream *st, enum stream_node node)
{
	size_t n;

	if (st->depth == SHOPIFY_STREAM_MAX_DEPTH)
		return stream_stop(st,
		    "body is not a JSON object: nested too deep");
	st->stack[st->depth].node = (unsigned char)node;
	st->stack[st->depth].key = KEY_NONE;
	st->depth++;
	if (node == N_ITEM) {
		if (st->nitems == st->cap) {
			n = st->cap * 2 + 4;
			st->items = xrealloc(st->items, n * sizeof *st->items);
			memset(st->items + st->cap, 0,
			    (n - st->cap) * sizeof *st->items);
			st->cap = n;
		}
		stream_clear(st, S_LI_TITLE, S__COUNT);
		st->items[st->nitems].has_quantity = 0;
	}
	return 1;
}

/*
 * Whether an integer's text (JSON: no '+', no leading zeros) fits
 * json_int_t (long long), as json_loadb requires.
 */
static int
stream_int_fits(const char *s, size_t len)
{
	int neg = s[0] == '-';
	size_t n = len - (size_t)neg;

	if (n < 19)
		return 1;
	if (n > 19)
		return 0;
	return memcmp(s + neg, neg ? "9223372036854775808" :
	    "9223372036854775807", 19) <= 0;
}

/* Whether a real overflows a double: json_loadb refuses those. */
static int
stream_real_overflows(const char *s, size_t len)
{
	char buf[64], *p;
	double d;
	int over;

	/* Without an exponent, 300 digits stay far below DBL_MAX. */
	if (len < 300 && memchr(s, 'e', len) == NULL &&
	    memchr(s, 'E', len) == NULL)
		return 0;
	p = len < sizeof buf ? buf : xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	errno = 0;
	d = strtod(p, NULL);
	over = errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL);
	if (p != buf)
		free(p);
	return over;
}

static int
stream_null(void *ctx)
{
	struct shopify_stream *st = ctx;

	if (stream_at_root(st))
		return stream_stop(st, "body is not a JSON object");
	return 1;
}

static int
stream_boolean(void *ctx, int b)
{
	struct shopify_stream *st = ctx;
	const struct stream_key *k;

	if (stream_at_root(st))
		return stream_stop(st, "body is not a JSON object");
	if ((k = stream_value_key(st)) != NULL && k->type == T_ACCEPTS)
		st->accepts = b ? 1 : 0;
	return 1;
}

/* yajl hands numbers over as their text: ids never go through a double. */
static int
stream_number(void *ctx, const char *s, size_t len)
{
	struct shopify_stream *st = ctx;
	const struct stream_key *k;
	struct stream_item *item;
	char buf[24];
	char **p;

	if (stream_at_root(st))
		return stream_stop(st, "body is not a JSON object");
	k = stream_value_key(st);
	if (memchr(s, '.', len) != NULL || memchr(s, 'e', len) != NULL ||
	    memchr(s, 'E', len) != NULL) {
		/* A real: never an id nor a quantity. */
		if (stream_real_overflows(s, len))
			return stream_stop(st, "body is not a JSON object: "
			    "real number overflow");
		return 1;
	}
	if (!stream_int_fits(s, len)) {
		if (k != NULL && k->slot == S_ID)
			return stream_stop(st, "order id out of range");
		return stream_stop(st, "body is not a JSON object: "
		    "integer out of range");
	}
	if (k == NULL)
		return 1;
	if (k->type == T_ID) {
		p = stream_slotp(st, k->slot);
		free(*p);
		*p = len == 2 && s[0] == '-' && s[1] == '0' ? xstrdup("0") :
		    xstrndup(s, len);
	} else if (k->type == T_QUANTITY) {
		/* Fits in buf: at most '-' and 19 digits. */
		memcpy(buf, s, len);
		buf[len] = '\0';
		item = &st->items[st->nitems];
		item->quantity = strtoll(buf, NULL, 10);
		item->has_quantity = 1;
	}
	return 1;
}

static int
stream_string(void *ctx, const unsigned char *s, size_t len)
{
	struct shopify_stream *st = ctx;
	const struct stream_key *k;
	char **p;

	if (stream_at_root(st))
		return stream_stop(st, "body is not a JSON object");
	k = stream_value_key(st);
	if (k != NULL && k->slot != S_NONE && len > 0) {
		p = stream_slotp(st, k->slot);
		free(*p);
		*p = xstrndup((const char *)s, len);
	}
	return 1;
}

static int
stream_start_map(void *ctx)
{
	struct shopify_stream *st = ctx;
	enum stream_node child = N_SKIP;
	const struct stream_key *k;

	if (stream_at_root(st))
		child = N_ROOT;
	else if (st->stack[st->depth - 1].node == N_ITEMS)
		child = N_ITEM;
	else if ((k = stream_value_key(st)) != NULL && k->child != N_ITEMS)
		child = (enum stream_node)k->child;
	return stream_push(st, child);
}

static int
stream_map_key(void *ctx, const unsigned char *s, size_t len)
{
	struct shopify_stream *st = ctx;
	struct stream_frame *f = &st->stack[st->depth - 1];
	const struct stream_key *keys, *k;

	f->key = KEY_NONE;
	if ((keys = stream_node_keys[f->node]) == NULL)
		return 1;
	for (k = keys; k->name != NULL; k++) {
		if (k->len == len && k->name[0] == s[0] &&
		    memcmp(k->name, s, len) == 0) {
			f->key = (unsigned char)(k - keys);
			stream_forget(st, k);
			break;
		}
	}
	return 1;
}

static int
stream_end_map(void *ctx)
{
	struct shopify_stream *st = ctx;

	if (st->stack[--st->depth].node == N_ITEM)
		st->nitems++;
	if (st->depth == 0)
		st->end = yajl_get_bytes_consumed(st->h);
	return 1;
}

static int
stream_start_array(void *ctx)
{
	struct shopify_stream *st = ctx;
	const struct stream_key *k;

	if (stream_at_root(st))
		return stream_stop(st, "body is not a JSON object");
	k = stream_value_key(st);
	if (k != NULL && k->child == N_ITEMS)
		return stream_push(st, N_ITEMS);
	return stream_push(st, N_SKIP);
}

static int
stream_end_array(void *ctx)
{
	struct shopify_stream *st = ctx;

	st->depth--;
	return 1;
}

static const yajl_callbacks stream_callbacks = {
	.yajl_null = stream_null,
	.yajl_boolean = stream_boolean,
	/* Set, so yajl_integer and yajl_double are never called. */
	.yajl_number = stream_number,
	.yajl_string = stream_string,
	.yajl_start_map = stream_start_map,
	.yajl_map_key = stream_map_key,
	.yajl_end_map = stream_end_map,
	.yajl_start_array = stream_start_array,
	.yajl_end_array = stream_end_array,
};

/* yajl allocates through these: out of memory aborts, as everywhere. */
static void *
stream_ymalloc(void *ctx, size_t n)
{
	(void)ctx;
	return xmalloc(n);
}

static void *
stream_yrealloc(void *ctx, void *p, size_t n)
{
	(void)ctx;
	return xrealloc(p, n);
}

static void
stream_yfree(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

/* Whether the n bytes at p are JSON white space only. */
static int
stream_blank(const unsigned char *p, size_t n)
{
	for (; n > 0; p++, n--) {
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			return 0;
	}
	return 1;
}

struct shopify_stream *
shopify_stream_parse(const char *body, size_t len, struct platform_result *res)
{
	yajl_alloc_funcs af = {
		stream_ymalloc, stream_yrealloc, stream_yfree, NULL,
	};
	const unsigned char *p = (const unsigned char *)(body ? body : "");
	struct shopify_stream *st;
	yajl_status status;
	unsigned char *msg;
	const char *why;
	yajl_handle h;
	size_t n;

	if ((why = jstrict_check(p, len)) != NULL) {
		platform_result_set(res, PLATFORM_INVALID,
		    "body is not a JSON object: %s", why);
		return NULL;
	}
	st = xcalloc(1, sizeof *st);
	st->accepts = -1;
	/* No option set: strings validated, no comments, nothing after. */
	st->h = h = yajl_alloc(&stream_callbacks, &af, st);
	status = yajl_parse(h, p, len);
	if (status == yajl_status_ok)
		status = yajl_complete_parse(h);
	/*
	 * yajl 2.1 takes an unterminated string after the value ('{} "x')
	 * for a token still to come, not for trailing garbage: only white
	 * space may follow the order.
	 */
	if (status == yajl_status_ok &&
	    !stream_blank(p + st->end, len - st->end)) {
		platform_result_set(res, PLATFORM_INVALID,
		    "body is not a JSON object: trailing garbage");
		status = yajl_status_error;
	} else if (status == yajl_status_client_canceled)
		platform_result_set(res, PLATFORM_INVALID, "%s", st->reason);
	else if (status != yajl_status_ok) {
		msg = yajl_get_error(h, 0, NULL, 0);
		n = strlen((char *)msg);
		while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
			n--;
		platform_result_set(res, PLATFORM_INVALID,
		    "body is not a JSON object: %.*s", (int)n, (char *)msg);
		yajl_free_error(h, msg);
	}
	yajl_free(h);
	if (status != yajl_status_ok) {
		shopify_stream_free(st);
		return NULL;
	}
	return st;
}

void
shopify_stream_free(struct shopify_stream *st)
{
	if (st == NULL)
		return;
	stream_clear(st, 0, S__ORDER);
	stream_items_clear(st);
	free(st->items);
	free(st);
}

