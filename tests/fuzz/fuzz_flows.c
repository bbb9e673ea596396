/*
 * fuzz_flows: the flows file parser (flows_load_str) on arbitrary text,
 * and, for every file that loads, the planner (flows_plan) on a fixed set
 * of events of every kind, the lookups, and the check against the real
 * templates. A file that loads must plan every event without a crash,
 * leak or UB; planning may refuse an event (an answer, not a bug).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flows.h"
#include "nevent.h"
#include "render.h"
#include "shops.h"
#include "util.h"

#define NOW_MS	1714759200000LL

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct shops *shops;
static struct templates *templates;
static struct nevent events[16];
static size_t nevents;

static struct nevent *
event(enum event_kind kind, const char *order_id, const char *email,
    const char *phone, const char *ctx_json)
{
	struct nevent *ev = &events[nevents++];

	nevent_init(ev);
	ev->kind = kind;
	ev->shop = shops_at(shops, 0);
	ev->topic = xstrdup(nevent_kind_name(kind));
	ev->delivery = xasprintf("d%zu", nevents);
	ev->order_id = order_id ? xstrdup(order_id) : NULL;
	ev->order_name = order_id ? xasprintf("#%s", order_id) : NULL;
	ev->email = email ? xstrdup(email) : NULL;
	ev->phone = phone ? xstrdup(phone) : NULL;
	ev->occurred_ms = NOW_MS - 3600 * 1000;
	ev->ctx = ctx_json ? json_loads(ctx_json, 0, NULL) : NULL;
	if (ctx_json != NULL && ev->ctx == NULL)
		abort();
	return ev;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *top = getenv("NUDGE_SOURCE_DIR");
	char *cause = NULL, *dir;
	struct nevent *ev;

	(void)argc;
	(void)argv;
	if (shops_load_str("[{\"domain\":\"demo.myshopify.com\",\"platform\":\"shopify\","
	    "\"secret\":\"s\"}]", 16, &shops, &cause) != 0)
		abort();
	dir = xasprintf("%s/templates", top ? top : ".");
	if (templates_load(dir, &templates, &cause) != 0) {
		fprintf(stderr, "fuzz_flows: %s\n", cause);
		abort();
	}
	free(dir);

	event(EVENT_ORDER_PLACED, "820982911946154508", "anna@example.gr", "+306912345678",
	    "{\"id\":\"820982911946154508\",\"total\":\"59.90\",\"items\":[{\"title\":\"Mug\"}],"
	    "\"customer_orders_count\":1}");
	event(EVENT_ORDER_PLACED, "1002", "anna@example.gr", NULL,
	    "{\"id\":\"1002\",\"total\":\"1e400\",\"orders_count\":7}");
	ev = event(EVENT_ORDER_SHIPPED, "1002", "anna@example.gr", NULL,
	    "{\"tracking_number\":\"1Z999\",\"tracking\":{\"number\":\"x\"}}");
	ev->fulfillment_id = xstrdup("555");
	ev = event(EVENT_ORDER_OUT_FOR_DELIVERY, "1002", NULL, "+48600100200",
	    "{\"tracking\":{\"number\":\"2\"}}");
	ev->fulfillment_id = xstrdup("556");
	event(EVENT_ORDER_DELIVERED, "1002", "anna@example.gr", NULL, "{}");
	event(EVENT_ORDER_CANCELLED, "1002", "anna@example.gr", NULL, NULL);
	event(EVENT_SHIPMENT_FAILED, "1002", NULL, NULL, "{\"status\":\"failure\"}");
	ev = event(EVENT_CART_ABANDONED, NULL, "anna@example.gr", NULL,
	    "{\"token\":\"tok\",\"total\":\"12\"}");
	ev->checkout_token = xstrdup("tok");
	ev->checkout_id = xstrdup("42");
	ev->cart_token = xstrdup("cart");
	ev = event(EVENT_CART_CLOSED, NULL, "anna@example.gr", NULL, NULL);
	ev->cart_token = xstrdup("cart");
	event(EVENT_CART_ABANDONED, NULL, NULL, NULL, "{}");	/* no key at all */
	event(EVENT_ORDER_PLACED, NULL, NULL, NULL, NULL);	/* no order id */
	event(EVENT_CUSTOMER_REDACT, NULL, "anna@example.gr", NULL,
	    "{\"orders\":[\"299938\",\"820982911946154508\",7]}");
	event(EVENT_DATA_REQUEST, NULL, NULL, "+306912345678", "{}");
	event(EVENT_SHOP_REDACT, NULL, NULL, NULL, "{}");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const double scales[] = { 1.0, 86400.0, 1e-3 };
	struct flows *fl = NULL;
	struct plan p;
	char *json, *cause = NULL;
	size_t i, j, k;

	/* The file as read from disk: a C string, so a NUL ends it. */
	json = xstrndup((const char *)data, size);
	if (flows_load_str(json, "fuzz.json", &fl, &cause) != 0) {
		if (cause == NULL || fl != NULL)
			abort();	/* the contract: a cause, nothing loaded */
		free(cause);
		free(json);
		return 0;
	}
	for (i = 0; i < fl->n; i++) {
		if (flows_find(fl, fl->v[i].name) == NULL)
			abort();
		for (j = 0; j < fl->v[i].nsteps; j++)
			if (flows_find_step(&fl->v[i], fl->v[i].steps[j].name) == NULL)
				abort();
	}
	cause = NULL;
	if (flows_check_templates(fl, templates, &cause) != 0)
		free(cause);
	for (i = 0; i < nevents; i++)
		for (k = 0; k < sizeof scales / sizeof scales[0]; k++) {
			cause = NULL;
			if (flows_plan(fl, &events[i], NOW_MS, scales[k], &p, &cause) != 0)
				free(cause);
			plan_free(&p);
		}
	flows_free(fl);
	free(json);
	return 0;
}
