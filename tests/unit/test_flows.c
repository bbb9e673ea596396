/*
 * test_flows: loading and validating flows, and planning events.
 */
#include "unit.h"

#include "flows.h"
#include "nevent.h"
#include "shops.h"

static const char *shops_json =
    "[{\"domain\":\"demo.myshopify.com\",\"platform\":\"shopify\",\"secret\":\"s\"}]";

static const char *test_flows_json =
    "{\"flows\":["
    "{\"name\":\"order\",\"trigger\":[\"order_placed\"],\"exit\":[\"order_cancelled\"],"
    " \"steps\":[{\"name\":\"confirmation\",\"delay\":\"0\",\"template\":\"order_confirmation\"},"
    "            {\"name\":\"welcome\",\"delay\":\"1d\",\"template\":\"welcome\",\"class\":\"promotional\","
    "             \"conditions\":{\"first_order\":true}},"
    "            {\"name\":\"text\",\"delay\":\"1h\",\"template\":\"t\",\"channels\":[\"sms\"],"
    "             \"conditions\":{\"has_phone\":true}}]},"
    "{\"name\":\"winback\",\"trigger\":\"order_placed\",\"subject\":\"customer\",\"reentry\":\"restart\","
    " \"steps\":[{\"name\":\"miss_you\",\"delay\":\"60d\",\"template\":\"winback\",\"class\":\"promotional\"}]}"
    "]}";

static struct shops *test_shops;

static int
setup(void **state)
{
	char *cause = NULL;

	(void)state;
	if (shops_load_str(shops_json, 16, &test_shops, &cause) == -1)
		fail_msg("%s", cause);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	shops_free(test_shops);
	return 0;
}

static void
order_event(struct nevent *ev, const char *order_id, const char *phone)
{
	nevent_init(ev);
	ev->kind = EVENT_ORDER_PLACED;
	ev->shop = shops_find(test_shops, "demo.myshopify.com");
	ev->order_id = xstrdup(order_id);
	ev->email = xstrdup("anna@example.gr");
	if (phone)
		ev->phone = xstrdup(phone);
	ev->ctx = json_pack("{s:s, s:s}", "id", order_id, "total", "59.90");
}

static void
test_default_flows_load(void **state)
{
	struct flows *fl;
	char *cause = NULL, *path = unit_path("config/flows.json");

	(void)state;
	if (flows_load(path, &fl, &cause) == -1)
		fail_msg("%s", cause);
	assert_non_null(flows_find(fl, "order"));
	assert_non_null(flows_find_step(flows_find(fl, "order"), "confirmation"));
	flows_free(fl);
	free(path);
}

static void
test_validation_errors(void **state)
{
	static const struct {
		const char *json;
		const char *want;
	} cases[] = {
		{ "[", "line 1" },
		{ "{\"x\":1}", "expected {\"flows\": [...]}" },
		{ "[{\"name\":\"a\",\"trigger\":\"nope\",\"steps\":[]}]", "flow \"a\": \"trigger\": unknown event \"nope\"" },
		{ "[{\"name\":\"a\",\"trigger\":\"order_placed\",\"steps\":[]}]", "flow \"a\": \"steps\" must be a non-empty list" },
		{ "[{\"name\":\"a\",\"trigger\":\"order_placed\",\"steps\":[{\"name\":\"s\",\"delay\":\"3w\",\"template\":\"t\"}]}]",
		  "flow \"a\", step \"s\": \"delay\" must look like" },
		{ "[{\"name\":\"a\",\"trigger\":\"order_placed\",\"steps\":[{\"name\":\"s\",\"template\":\"t\",\"class\":\"spam\"}]}]",
		  "flow \"a\", step \"s\": \"class\" must be" },
		{ "[{\"name\":\"a\",\"trigger\":\"order_placed\",\"steps\":[{\"name\":\"s\",\"template\":\"t\",\"channels\":[\"fax\"]}]}]",
		  "\"channels\" items must be" },
		{ "[{\"name\":\"a\",\"trigger\":\"order_placed\",\"steps\":[{\"name\":\"s\",\"template\":\"t\",\"conditions\":{\"vip\":true}}]}]",
		  "unknown or mistyped condition \"vip\"" },
		{ "[{\"name\":\"a\",\"trigger\":\"order_placed\",\"steps\":[{\"name\":\"s\"}]}]",
		  "flow \"a\", step \"s\": \"template\" must be a non-empty string" },
		{ "[{\"name\":\"a\",\"trigger\":\"order_placed\",\"steps\":[{\"name\":\"s\",\"template\":\"t\"},{\"name\":\"s\",\"template\":\"t\"}]}]",
		  "duplicate step name" },
		{ "[{\"name\":\"a\",\"trigger\":\"order_placed\",\"steps\":[{\"name\":\"s\",\"template\":\"t\"}]},"
		  "{\"name\":\"a\",\"trigger\":\"order_placed\",\"steps\":[{\"name\":\"s\",\"template\":\"t\"}]}]",
		  "flow \"a\": duplicate flow name" },
		{ "[{\"trigger\":\"order_placed\"}]", "flow 1: \"name\" must be" },
		{ "[{\"name\":\"a\",\"trigger\":\"order_placed\",\"reentry\":\"sometimes\",\"steps\":[{\"name\":\"s\",\"template\":\"t\"}]}]",
		  "\"reentry\" must be" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct flows *fl = NULL;
		char *cause = NULL;

		assert_int_equal(flows_load_str(cases[i].json, "test.json", &fl, &cause), -1);
		assert_null(fl);
		if (strstr(cause, cases[i].want) == NULL)
			fail_msg("case %zu: cause \"%s\" lacks \"%s\"", i, cause, cases[i].want);
		assert_true(strncmp(cause, "test.json", 9) == 0);
		free(cause);
	}
}

static void
test_plan_order(void **state)
{
	struct flows *fl;
	struct nevent ev;
	struct plan p, q;
	char *cause = NULL;
	const int64_t now = 1700000000000LL;
	char want[PLAN_ID_LEN + 1];

	(void)state;
	assert_int_equal(flows_load_str(test_flows_json, "t", &fl, &cause), 0);
	order_event(&ev, "820982911946154508", NULL);
	assert_int_equal(flows_plan(fl, &ev, now, 1, &p, &cause), 0);
	/* confirmation + welcome (conditional in Redis) + winback; no SMS without a phone */
	assert_int_equal(p.nmsgs, 3);
	assert_string_equal(p.msgs[0].step->name, "confirmation");
	assert_string_equal(p.msgs[0].subject, "o:820982911946154508");
	assert_int_equal(p.msgs[0].due_ms, now);
	assert_string_equal(p.msgs[1].step->name, "welcome");
	assert_int_equal(p.msgs[1].due_ms, now + 86400000LL);
	assert_string_equal(p.msgs[2].flow->name, "winback");
	assert_int_equal(strncmp(p.msgs[2].subject, "u:", 2), 0);
	assert_int_equal(p.msgs[2].due_ms, now + 60LL * 86400000);
	flows_message_id("demo.myshopify.com", "order", "confirmation", CHANNEL_EMAIL,
	    "o:820982911946154508", "", want);
	assert_string_equal(p.msgs[0].id, want);
	/* the context goes to both subjects, once each */
	assert_int_equal(p.nctxs, 2);
	assert_string_equal(p.ctxs[0].part, "order");
	assert_non_null(strstr(p.ctxs[0].json, "\"820982911946154508\""));
	/* winback restarts: a cancel of its pending steps comes first */
	assert_int_equal(p.ncancels, 1);
	assert_string_equal(p.cancels[0].flow, "winback");
	assert_string_equal(p.cancels[0].reason, "restarted");

	/* the same event planned again: the very same ids (idempotency) */
	assert_int_equal(flows_plan(fl, &ev, now + 5000, 1, &q, &cause), 0);
	assert_string_equal(p.msgs[0].id, q.msgs[0].id);
	assert_string_equal(p.msgs[2].id, q.msgs[2].id);
	plan_free(&q);
	nevent_free(&ev);

	/* another order of the same customer: a new winback occurrence */
	order_event(&ev, "820982911946154509", "+306900000000");
	assert_int_equal(flows_plan(fl, &ev, now, 3600, &q, &cause), 0);
	assert_int_equal(q.nmsgs, 4);
	assert_string_not_equal(p.msgs[2].id, q.msgs[3].id);
	assert_string_equal(p.customer, q.customer);
	/* time scale 3600: an hour becomes a second */
	assert_string_equal(q.msgs[2].step->name, "text");
	assert_int_equal(q.msgs[2].channel, CHANNEL_SMS);
	assert_int_equal(q.msgs[2].due_ms, now + 1000);
	plan_free(&q);
	plan_free(&p);
	nevent_free(&ev);
	flows_free(fl);
}

static void
test_plan_exit_and_errors(void **state)
{
	struct flows *fl;
	struct nevent ev;
	struct plan p;
	char *cause = NULL;

	(void)state;
	assert_int_equal(flows_load_str(test_flows_json, "t", &fl, &cause), 0);
	order_event(&ev, "42", NULL);
	ev.kind = EVENT_ORDER_CANCELLED;
	assert_int_equal(flows_plan(fl, &ev, 0, 1, &p, &cause), 0);
	assert_int_equal(p.nmsgs, 0);
	assert_int_equal(p.ncancels, 1);
	assert_string_equal(p.cancels[0].subject, "o:42");
	assert_string_equal(p.cancels[0].flow, "order");
	assert_string_equal(p.cancels[0].reason, "order_cancelled");
	plan_free(&p);

	/* an order event without an order id cannot be planned */
	ev.kind = EVENT_ORDER_PLACED;
	free(ev.order_id);
	ev.order_id = NULL;
	assert_int_equal(flows_plan(fl, &ev, 0, 1, &p, &cause), -1);
	assert_non_null(strstr(cause, "flow \"order\" needs an order id"));
	free(cause);
	nevent_free(&ev);
	flows_free(fl);
}

static const char *lifecycle_json =
    "{\"flows\":["
    "{\"name\":\"shipping\",\"trigger\":[\"order_shipped\"],\"per_fulfillment\":true,"
    " \"exit\":[\"order_delivered\",\"order_cancelled\"],"
    " \"steps\":[{\"name\":\"shipped\",\"template\":\"shipping_update\"}]},"
    "{\"name\":\"delivered\",\"trigger\":[\"order_delivered\"],\"exit\":[\"order_cancelled\"],"
    " \"fallback\":{\"after\":\"order_shipped\",\"delay\":\"7d\"},"
    " \"steps\":[{\"name\":\"confirmation\",\"template\":\"d\",\"skip_on_fallback\":true},"
    "            {\"name\":\"review\",\"delay\":\"7d\",\"template\":\"r\"}]},"
    "{\"name\":\"cart\",\"trigger\":[\"cart_abandoned\"],\"subject\":\"checkout\","
    " \"exit\":[\"order_placed\",\"cart_closed\"],\"reentry\":\"reschedule\","
    " \"steps\":[{\"name\":\"r1\",\"delay\":\"24h\",\"template\":\"c1\"},"
    "            {\"name\":\"r2\",\"delay\":\"48h\",\"template\":\"c2\"}]}"
    "]}";

static void
test_plan_lifecycle(void **state)
{
	struct flows *fl;
	struct nevent ev;
	struct plan p, q;
	char *cause = NULL;
	const int64_t now = 1700000000000LL, day = 86400000LL;

	(void)state;
	if (flows_load_str(lifecycle_json, "t", &fl, &cause) == -1)
		fail_msg("%s", cause);

	/* shipped: the shipping update now, and the delivered flow by fallback */
	order_event(&ev, "7", NULL);
	ev.kind = EVENT_ORDER_SHIPPED;
	ev.fulfillment_id = xstrdup("55");
	assert_int_equal(flows_plan(fl, &ev, now, 1, &p, &cause), 0);
	assert_int_equal(p.nmsgs, 2);
	assert_string_equal(p.msgs[0].flow->name, "shipping");
	assert_int_equal(p.msgs[0].due_ms, now);
	assert_string_equal(p.msgs[1].step->name, "review");	/* confirmation skipped */
	assert_int_equal(p.msgs[1].due_ms, now + 14 * day);
	assert_int_equal(p.msgs[1].move, 0);
	assert_string_equal(p.ctxs[0].part, "ship");

	/* delivered: cancels pending shipping updates, pulls the review earlier */
	ev.kind = EVENT_ORDER_DELIVERED;
	assert_int_equal(flows_plan(fl, &ev, now + day, 1, &q, &cause), 0);
	assert_int_equal(q.ncancels, 1);
	assert_string_equal(q.cancels[0].flow, "shipping");
	assert_int_equal(q.cancels[0].close, 1);
	assert_int_equal(q.nmsgs, 2);
	assert_string_equal(q.msgs[1].id, p.msgs[1].id);	/* the same review */
	assert_int_equal(q.msgs[1].due_ms, now + day + 7 * day);
	assert_int_equal(q.msgs[1].move, 1);
	assert_string_equal(q.ctxs[0].part, "ship_delivered");
	plan_free(&p);
	plan_free(&q);
	nevent_free(&ev);

	/* an abandoned cart: reminders from the last update, aliases kept */
	nevent_init(&ev);
	ev.kind = EVENT_CART_ABANDONED;
	ev.shop = shops_find(test_shops, "demo.myshopify.com");
	ev.email = xstrdup("anna@example.gr");
	ev.checkout_token = xstrdup("tok");
	ev.checkout_id = xstrdup("901414060");
	ev.cart_token = xstrdup("ct1");
	ev.occurred_ms = now - 3600000;
	ev.ctx = json_pack("{s:s}", "token", "tok");
	assert_int_equal(flows_plan(fl, &ev, now, 1, &p, &cause), 0);
	assert_int_equal(p.nmsgs, 2);
	assert_string_equal(p.msgs[0].subject, "k:tok");
	assert_int_equal(p.msgs[0].due_ms, now - 3600000 + day);
	assert_int_equal(p.msgs[0].move, 1);
	assert_int_equal(p.naliases, 1);
	assert_string_equal(p.aliases[0].checkout_id, "901414060");
	plan_free(&p);

	/* a closed checkout: cancel and close the cart flow of its own subject */
	ev.kind = EVENT_CART_CLOSED;
	assert_int_equal(flows_plan(fl, &ev, now, 1, &p, &cause), 0);
	assert_int_equal(p.nmsgs, 0);
	assert_int_equal(p.ncancels, 1);
	assert_string_equal(p.cancels[0].subject, "k:tok");
	plan_free(&p);
	nevent_free(&ev);

	/* an order closes its cart, found by whatever keys it carries */
	order_event(&ev, "8", NULL);
	ev.checkout_id = xstrdup("901414060");
	assert_int_equal(flows_plan(fl, &ev, now, 1, &p, &cause), 0);
	assert_int_equal(p.ncancels, 1);
	assert_null(p.cancels[0].subject);
	assert_null(p.cancels[0].token);
	assert_string_equal(p.cancels[0].checkout_id, "901414060");
	assert_string_equal(p.cancels[0].flow, "cart");
	plan_free(&p);
	nevent_free(&ev);

	/* privacy: a redact plans an erase of the customer and the named orders */
	nevent_init(&ev);
	ev.kind = EVENT_CUSTOMER_REDACT;
	ev.shop = shops_find(test_shops, "demo.myshopify.com");
	ev.email = xstrdup("anna@example.gr");
	ev.ctx = json_pack("{s:[s,s]}", "orders", "299938", "820982911946154508");
	assert_int_equal(flows_plan(fl, &ev, now, 1, &p, &cause), 0);
	assert_int_equal(p.erase, PLAN_ERASE_CUSTOMER);
	assert_int_equal(p.nerase_subjects, 2);
	assert_string_equal(p.erase_subjects[1], "o:820982911946154508");
	assert_int_equal(p.nmsgs, 0);
	plan_free(&p);
	nevent_free(&ev);
	flows_free(fl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_flows_load),
		cmocka_unit_test(test_validation_errors),
		cmocka_unit_test(test_plan_order),
		cmocka_unit_test(test_plan_exit_and_errors),
		cmocka_unit_test(test_plan_lifecycle),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
