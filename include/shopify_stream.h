/*
 * shopify_stream: orders/create and orders/cancelled read in one pass over
 * the raw body with yajl's event parser, keeping only what the order event
 * and its context need. Orders are the busiest topics and the largest
 * bodies; a full jansson tree of one costs ten times the pass (see
 * docs/parsing.md). Every other topic keeps jansson.
 *
 * The split mirrors the jansson path of platform_shopify: parse, then the
 * caller checks shop_domain, then a reader fills the event. Readers follow
 * the contract of include/shopify_normalize.h.
 */
#ifndef NUDGE_SHOPIFY_STREAM_H
#define NUDGE_SHOPIFY_STREAM_H

#include <stddef.h>

#include "nevent.h"
#include "platform.h"

/* Nesting deeper than this is refused (an order needs about 6). */
#define SHOPIFY_STREAM_MAX_DEPTH 64

/* What the parser kept of one order body; private to shopify_stream.c. */
struct shopify_stream;

/*
 * Parses body as one JSON object. It accepts exactly what json_loadb
 * accepts, with duplicate keys resolved the same way (the last one wins),
 * except that nesting is limited to SHOPIFY_STREAM_MAX_DEPTH and that a
 * raw NUL byte is never taken (jansson skips one after a number). NULL,
 * with res set to PLATFORM_INVALID and a reason, when it does not: not
 * JSON, not an object, too deep, or an integer outside 64 bits ("order id
 * out of range" when that is the order's id). Caller frees with
 * shopify_stream_free.
 */
struct shopify_stream *shopify_stream_parse(const char *body, size_t len,
		    struct platform_result *res);
void		 shopify_stream_free(struct shopify_stream *);
/* The body's top-level shop_domain when it is a non-empty string, else NULL. */
const char	*shopify_stream_shop_domain(const struct shopify_stream *);

int	shopify_stream_order_placed(const struct shopify_stream *,
	    struct nevent *, struct platform_result *);
/* The same, and ev->status is the cancel_reason: "customer", "fraud", ... */
int	shopify_stream_order_cancelled(const struct shopify_stream *,
	    struct nevent *, struct platform_result *);

#endif
