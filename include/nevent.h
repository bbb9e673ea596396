/*
 * nevent: the normalized event every platform turns its webhook into, and
 * the only thing flows and sched see of a platform. Strings are owned by the
 * event (nevent_free releases them); ids are exact decimal strings, never
 * doubles, so Shopify's 64-bit ids survive.
 *
 * Named "nevent", not "event", because libevent owns both `struct event`
 * and <event.h>, and the server needs libevent's and ours in one file.
 */
#ifndef NUDGE_NEVENT_H
#define NUDGE_NEVENT_H

#include <stdint.h>
#include <jansson.h>

struct shop;

enum event_kind {
	EVENT_NONE = 0,
	EVENT_ORDER_PLACED,
	EVENT_ORDER_SHIPPED,		/* fulfilment created, or in transit */
	EVENT_ORDER_OUT_FOR_DELIVERY,
	EVENT_ORDER_DELIVERED,
	EVENT_ORDER_CANCELLED,
	EVENT_SHIPMENT_FAILED,		/* failure / returned: recorded */
	EVENT_CART_ABANDONED,
	EVENT_CART_CLOSED,		/* completed or deleted checkout */
	EVENT_CUSTOMER_REDACT,
	EVENT_SHOP_REDACT,
	EVENT_DATA_REQUEST,
	EVENT__COUNT
};

struct nevent {
	enum event_kind	 kind;
	const struct shop *shop;
	char		*topic;		/* the platform's topic, as received */
	char		*delivery;	/* dedupe key of this delivery, or NULL */
	char		*order_id;	/* exact decimal string */
	char		*order_name;	/* "#1001" */
	char		*checkout_token;/* cart matching keys, any may be NULL */
	char		*checkout_id;
	char		*cart_token;
	char		*fulfillment_id;
	char		*status;	/* shipment / order status as received */
	char		*email;		/* lower-cased */
	char		*phone;
	char		*first_name;
	char		*locale;	/* "el", "pl-PL", ... as received */
	int		 consent_email;	/* 1 yes, 0 no, -1 unknown */
	int		 consent_sms;
	int64_t		 occurred_ms;	/* updated_at / happened_at; 0 unknown */
	json_t		*ctx;		/* owned: what templates need (see docs/events.md) */
};

void		 nevent_init(struct nevent *);
void		 nevent_free(struct nevent *);
const char	*nevent_kind_name(enum event_kind);
enum event_kind	 nevent_kind_parse(const char *);
/*
 * The customer key: 16 bytes of SHA-256 over the lower-cased e-mail (or the
 * phone when there is no e-mail), hex. Keys in Redis never hold a raw
 * address. Returns 0, or -1 when the event has neither.
 */
int		 nevent_customer_key(const struct nevent *, char out[33]);
/* Same, from an address (an e-mail when it holds '@', else a phone). */
void		 nevent_customer_key_of(const char *addr, char out[33]);

/*
 * Helpers shared by the platform normalizers.
 *
 * nevent_parse_time: ISO-8601 "YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM|-HHMM]"
 * into ms since the epoch, UTC. No zone means UTC (WooCommerce's *_gmt
 * fields). 0, or -1 when s is not such a time.
 */
int		 nevent_parse_time(const char *s, int64_t *ms);
/*
 * An id as an exact decimal string (caller frees): a JSON integer printed
 * with %lld, or a non-empty JSON string as is. NULL for anything else,
 * reals included, since a double may already have lost digits.
 */
char		*nevent_json_id(const json_t *);

#endif
