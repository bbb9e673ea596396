/*
 * nevent: the normalized event, its kind names, the customer key, and the
 * small parsing helpers every platform normalizer needs (times and ids).
 *
 * Kind names are part of the flow configuration (flows.json names its
 * triggers with them) and of the Redis data, so they never change once
 * released.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "nevent.h"
#include "util.h"

static const char *nevent_kind_names[EVENT__COUNT] = {
	[EVENT_NONE] = "none",
	[EVENT_ORDER_PLACED] = "order_placed",
	[EVENT_ORDER_SHIPPED] = "order_shipped",
	[EVENT_ORDER_OUT_FOR_DELIVERY] = "order_out_for_delivery",
	[EVENT_ORDER_DELIVERED] = "order_delivered",
	[EVENT_ORDER_CANCELLED] = "order_cancelled",
	[EVENT_SHIPMENT_FAILED] = "shipment_failed",
	[EVENT_CART_ABANDONED] = "cart_abandoned",
	[EVENT_CART_CLOSED] = "cart_closed",
	[EVENT_CUSTOMER_REDACT] = "customer_redact",
	[EVENT_SHOP_REDACT] = "shop_redact",
	[EVENT_DATA_REQUEST] = "data_request",
};

void
nevent_init(struct nevent *ev)
{
	memset(ev, 0, sizeof *ev);
	ev->kind = EVENT_NONE;
	ev->consent_email = -1;
	ev->consent_sms = -1;
}

/* Releases everything the event owns and leaves it as nevent_init does. */
void
nevent_free(struct nevent *ev)
{
	free(ev->topic);
	free(ev->delivery);
	free(ev->order_id);
	free(ev->order_name);
	free(ev->checkout_token);
	free(ev->checkout_id);
	free(ev->cart_token);
	free(ev->fulfillment_id);
	free(ev->status);
	free(ev->email);
	free(ev->phone);
	free(ev->first_name);
	free(ev->locale);
	if (ev->ctx != NULL)
		json_decref(ev->ctx);
	nevent_init(ev);
}

const char *
nevent_kind_name(enum event_kind kind)
{
	if ((int)kind < 0 || kind >= EVENT__COUNT)
		return "none";
	return nevent_kind_names[kind];
}

/* EVENT_NONE for NULL, "none" and anything unknown. */
enum event_kind
nevent_kind_parse(const char *name)
{
	int i;

	if (name == NULL)
		return EVENT_NONE;
	for (i = 0; i < EVENT__COUNT; i++) {
		if (strcmp(nevent_kind_names[i], name) == 0)
			return (enum event_kind)i;
	}
	return EVENT_NONE;
}

/*
 * The canonical form of an address, so that "Bob@Example.com " and
 * "bob@example.com" are one customer, and so are "+1 (502) 459-2181" and
 * "+15024592181": e-mails are trimmed and lower-cased, phones keep a
 * leading '+' and their digits only.
 */
static char *
nevent_canon_addr(const char *addr)
{
	const char *s = addr, *e;
	struct buf b;

	while (*s != '\0' && isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;

	buf_init(&b);
	/* Terminated even when nothing is kept (a phone without digits). */
	buf_reserve(&b, (size_t)(e - s));
	buf_add(&b, "", 0);
	if (memchr(s, '@', (size_t)(e - s)) != NULL) {
		for (; s < e; s++)
			buf_addc(&b, (char)tolower((unsigned char)*s));
	} else {
		if (s < e && *s == '+')
			buf_addc(&b, '+');
		for (; s < e; s++) {
			if (isdigit((unsigned char)*s))
				buf_addc(&b, *s);
		}
	}
	return buf_detach(&b);
}

void
nevent_customer_key_of(const char *addr, char out[33])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char *canon = nevent_canon_addr(addr != NULL ? addr : "");

	SHA256((const unsigned char *)canon, strlen(canon), md);
	free(canon);
	util_hex(md, 16, out);
}

int
nevent_customer_key(const struct nevent *ev, char out[33])
{
	const char *addr = NULL;

	if (ev->email != NULL && ev->email[0] != '\0')
		addr = ev->email;
	else if (ev->phone != NULL && ev->phone[0] != '\0')
		addr = ev->phone;
	if (addr == NULL) {
		out[0] = '\0';
		return -1;
	}
	nevent_customer_key_of(addr, out);
	return 0;
}

/* Reads exactly n digits at *sp into *v and advances. -1 when not digits. */
static int
nevent_digits(const char **sp, int n, int *v)
{
	const char *s = *sp;
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	*sp = s + n;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
nevent_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
nevent_month_days(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/*
 * A small parser rather than strptime: strptime's %z does not take
 * "-05:00" everywhere, and timegm is not C11. Only what the platforms send
 * is accepted; anything else is -1 so the caller can say "unknown".
 */
int
nevent_parse_time(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec, frac = 0, oh = 0, om = 0, sign = 0, i;
	int64_t t;

	*ms = 0;
	if (s == NULL)
		return -1;
	if (nevent_digits(&s, 4, &y) != 0 || *s++ != '-' ||
	    nevent_digits(&s, 2, &mo) != 0 || *s++ != '-' ||
	    nevent_digits(&s, 2, &d) != 0 || (*s != 'T' && *s != 't' && *s != ' '))
		return -1;
	s++;
	if (nevent_digits(&s, 2, &h) != 0 || *s++ != ':' ||
	    nevent_digits(&s, 2, &mi) != 0 || *s++ != ':' ||
	    nevent_digits(&s, 2, &sec) != 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > nevent_month_days(y, mo) ||
	    h > 23 || mi > 59 || sec > 60)
		return -1;
	if (*s == '.' || *s == ',') {
		s++;
		if (!isdigit((unsigned char)*s))
			return -1;
		/* Milliseconds: the first three digits, the rest dropped. */
		for (i = 0; isdigit((unsigned char)*s); i++, s++) {
			if (i < 3)
				frac = frac * 10 + (*s - '0');
		}
		for (; i < 3; i++)
			frac *= 10;
	}
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		sign = (*s == '-') ? -1 : 1;
		s++;
		if (nevent_digits(&s, 2, &oh) != 0)
			return -1;
		if (*s == ':')
			s++;
		if (nevent_digits(&s, 2, &om) != 0 || oh > 23 || om > 59)
			return -1;
	}
	if (*s != '\0')
		return -1;

	t = nevent_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	/* "-05:00" means local time is 5 h behind UTC: add them back. */
	t -= (int64_t)sign * (oh * 3600 + om * 60);
	*ms = t * 1000 + frac;
	return 0;
}

char *
nevent_json_id(const json_t *v)
{
	if (json_is_integer(v))
		return xasprintf("%lld", (long long)json_integer_value(v));
	if (json_is_string(v) && json_string_length(v) > 0)
		return xstrdup(json_string_value(v));
	return NULL;
}
