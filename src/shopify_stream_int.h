/*
 * shopify_stream_int.h: the state the streaming order parser fills
 * (shopify_stream.c) and the readers turn into an event (shopify_stream_read.c).
 * Private to those two files.
 */
#ifndef NUDGE_SHOPIFY_STREAM_INT_H
#define NUDGE_SHOPIFY_STREAM_INT_H

#include <stddef.h>

#include <yajl/yajl_parse.h>

#include "shopify_stream.h"

/*
 * Where a kept value goes. The slots of one container are contiguous, so
 * a container's key forgets them as a range (stream_node_slots). Line item
 * slots (S_LI_*) live in the item being read, the others in the stream.
 */
enum stream_slot {
	/* the order */
	S_ID, S_NAME, S_NUMBER, S_CHECKOUT_TOKEN, S_CHECKOUT_ID, S_CART_TOKEN,
	S_EMAIL, S_CONTACT_EMAIL, S_PHONE, S_LOCALE, S_CURRENCY, S_TOTAL,
	S_SUBTOTAL, S_STATUS_URL, S_CREATED_AT, S_UPDATED_AT, S_CANCEL_REASON,
	S_SHOP_DOMAIN,
	/* customer, its consent states last (each its own object) */
	S_CUST_EMAIL, S_CUST_PHONE, S_CUST_FIRST, S_CUST_LAST,
	S_CUST_EMAIL_STATE, S_CUST_SMS_STATE,
	S_BILL_PHONE, S_BILL_FIRST, S_BILL_LAST,
	S_SHIP_PHONE, S_SHIP_FIRST, S_SHIP_LAST, S_SHIP_CITY, S_SHIP_COUNTRY,
	S_SHIP_ZIP, S_SHIP_ADDRESS1,
	S__ORDER,
	/* a line item; image.src last (its own object) */
	S_LI_TITLE = S__ORDER, S_LI_VARIANT, S_LI_PRICE, S_LI_SKU,
	S_LI_PRODUCT_ID, S_LI_VARIANT_ID, S_LI_IMAGE, S_LI_IMAGE_URL,
	S_LI_IMAGE_SRC,
	S__COUNT,
	S_NONE = S__COUNT
};

#define STREAM_ITEM_SLOTS	(S__COUNT - S__ORDER)

struct stream_item {
	char		*slot[STREAM_ITEM_SLOTS];	/* by S_LI_* - S__ORDER */
	int		 has_quantity;
	long long	 quantity;
};

/* Two bytes, so that a whole stream stays a small allocation. */
struct stream_frame {
	unsigned char	 node;		/* enum stream_node */
	unsigned char	 key;		/* of the value to come: its index in
					   the node's keys, or KEY_NONE */
};

struct shopify_stream {
	char		*slot[S__ORDER];	/* by S_*, NULL when absent */
	int		 accepts;	/* buyer_accepts_marketing: 1, 0, -1 absent */
	/*
	 * line_items objects: [0, nitems) are complete; while one is open,
	 * items[nitems] is the one being read. Every slot in [0, cap) is a
	 * string or NULL.
	 */
	struct stream_item *items;
	size_t		 nitems, cap;

	/* Parse state. */
	struct stream_frame stack[SHOPIFY_STREAM_MAX_DEPTH];
	int		 depth;
	yajl_handle	 h;
	size_t		 end;		/* just past the order's closing brace */
	char		 reason[96];	/* why a callback stopped the parse */
};

#endif
