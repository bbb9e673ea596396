/*
 * shopify_normalize: the payload readers behind platform_shopify's topic
 * table, one per Shopify resource (fulfillment, fulfillment event,
 * checkout, compliance request; orders are shopify_stream's). platform_shopify
 * owns the table, the headers and the parse; these only read a parsed body
 * into a nevent.
 *
 * Contract of every reader: ev->kind holds the topic's default kind on
 * entry and the reader may refine it (a fulfillment that failed, a checkout
 * that completed). Returns 0 when ev is complete; -1 after setting res
 * (PLATFORM_INVALID for a payload we cannot use, PLATFORM_IGNORE for one
 * that needs nothing from us). Either way the caller owns ev.
 */
#ifndef NUDGE_SHOPIFY_NORMALIZE_H
#define NUDGE_SHOPIFY_NORMALIZE_H

#include <jansson.h>

#include "nevent.h"
#include "platform.h"

/* fulfillments/create and fulfillments/update */
int	shopify_fulfillment(json_t *, struct nevent *, struct platform_result *);
int	shopify_fulfillment_event(json_t *, struct nevent *, struct platform_result *);
/* checkouts/create and checkouts/update */
int	shopify_checkout(json_t *, struct nevent *, struct platform_result *);
int	shopify_checkout_delete(json_t *, struct nevent *, struct platform_result *);
int	shopify_customers_redact(json_t *, struct nevent *, struct platform_result *);
int	shopify_data_request(json_t *, struct nevent *, struct platform_result *);
int	shopify_shop_redact(json_t *, struct nevent *, struct platform_result *);

/*
 * The kind a tracking status means ("in_transit", "delivered", ...: a
 * fulfillment's shipment_status or a fulfillment event's status). A status
 * we do not know still proves a shipment exists: EVENT_ORDER_SHIPPED.
 */
enum event_kind	 shopify_shipment_kind(const char *status);

/*
 * A customer's marketing consent state ("subscribed", "not_subscribed",
 * ...): 1 subscribed, 0 for the states that mean "do not market", -1 for
 * NULL and states we do not know.
 */
int		 shopify_consent_state(const char *state);

#endif
