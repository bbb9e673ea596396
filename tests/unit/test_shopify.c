/*
 * test_shopify: the Shopify platform, verify and normalize, as tables:
 * published signature vectors, the official orders/create fixture, ids
 * beyond 2^53, dedupe keys and every refusal. test_shops and test_nevent
 * cover what it stands on.
 */
#include "test_shopify.h"

#include <openssl/sha.h>

static void
test_verify(void **state)
{
	static const struct {
		const char	*name;
		struct hdrs	 h;
		const char	*body;
		int		 status;
		const char	*reason;
	} cases[] = {
		{ "good (V1)", { { "X-Shopify-Shop-Domain", "shop.example",
		  "X-Shopify-Hmac-Sha256", "+R9TwYM4mbLTk3hEAOBkpA7zW2lc9vNFmVKs2u2jtyY=" } },
		  "{\"foo\":\"bar\"}", PLATFORM_OK, "" },
		{ "previous secret (V2b)", { { "X-Shopify-Shop-Domain", "shop.example",
		  "X-Shopify-Hmac-Sha256", "XqRcjrSv57VACn6apEO9znyu/wkN1VC7QxdSPwK3Hzs=" } },
		  "foo=anything", PLATFORM_OK, "" },
		{ "lower-case shopify-* headers", { { "shopify-shop-domain", "shop.example",
		  "shopify-hmac-sha256", "+R9TwYM4mbLTk3hEAOBkpA7zW2lc9vNFmVKs2u2jtyY=" } },
		  "{\"foo\":\"bar\"}", PLATFORM_OK, "" },
		{ "domain in another case", { { "x-shopify-shop-domain", "SHOP.example",
		  "X-SHOPIFY-HMAC-SHA256", "+R9TwYM4mbLTk3hEAOBkpA7zW2lc9vNFmVKs2u2jtyY=" } },
		  "{\"foo\":\"bar\"}", PLATFORM_OK, "" },
		{ "bad signature (V2 secret)", { { "X-Shopify-Shop-Domain", "shop.example",
		  "X-Shopify-Hmac-Sha256", "yCGX/RrK4fcuNtr3ztk5tQGsOBjcAzHpGLdMUrbV8yI=" } },
		  "foo=anything", PLATFORM_UNAUTHORIZED, "bad signature" },
		{ "body changed", { { "X-Shopify-Shop-Domain", "shop.example",
		  "X-Shopify-Hmac-Sha256", "+R9TwYM4mbLTk3hEAOBkpA7zW2lc9vNFmVKs2u2jtyY=" } },
		  "{\"foo\":\"baz\"}", PLATFORM_UNAUTHORIZED, "bad signature" },
		{ "missing signature", { { "X-Shopify-Shop-Domain", "shop.example" } },
		  "{\"foo\":\"bar\"}", PLATFORM_UNAUTHORIZED, "missing signature" },
		{ "empty signature", { { "X-Shopify-Shop-Domain", "shop.example",
		  "X-Shopify-Hmac-Sha256", "" } },
		  "{\"foo\":\"bar\"}", PLATFORM_UNAUTHORIZED, "missing signature" },
		{ "unknown shop", { { "X-Shopify-Shop-Domain", "other.example",
		  "X-Shopify-Hmac-Sha256", "+R9TwYM4mbLTk3hEAOBkpA7zW2lc9vNFmVKs2u2jtyY=" } },
		  "{\"foo\":\"bar\"}", PLATFORM_UNAUTHORIZED, "unknown shop" },
		{ "missing domain", { { "X-Shopify-Hmac-Sha256",
		  "+R9TwYM4mbLTk3hEAOBkpA7zW2lc9vNFmVKs2u2jtyY=" } },
		  "{\"foo\":\"bar\"}", PLATFORM_UNAUTHORIZED, "missing X-Shopify-Shop-Domain" },
		/* Signed with the WooCommerce shop's own secret, and still refused. */
		{ "woocommerce shop", { { "X-Shopify-Shop-Domain", "woo.example",
		  "X-Shopify-Hmac-Sha256", "HMAC:wsecret" } },
		  "{\"foo\":\"bar\"}", PLATFORM_UNAUTHORIZED, "shop is not a shopify shop" },
	};
	struct shops *ss = load_shops();
	struct platform_result res;
	struct platform_req req;
	const struct shop *shop;
	struct hdrs h;
	char *sig;
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		h = cases[i].h;
		sig = NULL;
		for (j = 0; j + 1 < 16 && h.kv[j] != NULL; j += 2) {
			if (strncmp(h.kv[j + 1], "HMAC:", 5) == 0) {
				sig = sig_b64_hmac(h.kv[j + 1] + 5, cases[i].body,
				    strlen(cases[i].body));
				h.kv[j + 1] = sig;
			}
		}
		req = mkreq(&h, cases[i].body, strlen(cases[i].body));
		shop = (const struct shop *)&res;	/* must be reset */
		memset(&res, 0xff, sizeof res);
		platform_shopify.verify(&req, ss, &shop, &res);
		if ((int)res.status != cases[i].status ||
		    strcmp(res.reason, cases[i].reason) != 0)
			fail_msg("%s: got %d \"%s\", want %d \"%s\"", cases[i].name,
			    res.status, res.reason, cases[i].status, cases[i].reason);
		if (cases[i].status == PLATFORM_OK) {
			assert_non_null(shop);
			assert_string_equal(shop->domain, "shop.example");
		} else
			assert_null(shop);
		free(sig);
	}
	shops_free(ss);
}

static void
test_normalize_fixture(void **state)
{
	static const char *keys[] = {
		"id", "name", "number", "currency", "total", "subtotal",
		"status_url", "created_at", "email", "phone", "first_name",
		"last_name", "checkout_token", "cart_token", "items",
		"shipping_address",
	};
	char *path = unit_shared("fixtures/shopify/orders-create.json");
	struct hdrs extra = { { "X-Shopify-Event-Id", "evt-1" } };
	struct platform_result res;
	struct shops *ss;
	struct nevent ev;
	json_t *item, *addr;
	size_t len, i;
	char *body;

	(void)state;
	if (path == NULL) {
		fprintf(stderr, "note: skipping the orders-create fixture case\n");
		return;
	}
	body = unit_slurp(path, &len);
	ss = load_shops();
	run_normalize(ss, &extra, "orders/create", body, len, &ev, &res);
	if (res.status != PLATFORM_OK)
		fail_msg("normalize: %d %s", res.status, res.reason);

	assert_int_equal(ev.kind, EVENT_ORDER_PLACED);
	assert_string_equal(ev.topic, "orders/create");
	assert_string_equal(ev.delivery, "evt-1");
	assert_string_equal(ev.order_id, "450789469");
	assert_string_equal(ev.order_name, "#1001");
	assert_string_equal(ev.checkout_token, "bd5a8aa1ecd019dd3520ff791ee3a24c");
	assert_string_equal(ev.checkout_id, "901414060");
	assert_string_equal(ev.cart_token, "68778783ad298f1c80c3bafcddeea02f");
	assert_string_equal(ev.email, "bob.norman@mail.example.com");
	assert_string_equal(ev.phone, "+557734881234");
	assert_string_equal(ev.first_name, "Bob");
	assert_null(ev.locale);			/* customer_locale is null */
	assert_int_equal(ev.consent_email, 0);	/* not_subscribed */
	assert_int_equal(ev.consent_sms, 0);
	assert_int_equal(ev.occurred_ms, 1199980800000LL);

	/* Exactly the documented keys, "locale" omitted since it is null. */
	assert_int_equal(json_object_size(ev.ctx), sizeof keys / sizeof keys[0]);
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (json_object_get(ev.ctx, keys[i]) == NULL)
			fail_msg("ctx lacks \"%s\"", keys[i]);
	}
	assert_string_equal(ctx_str(ev.ctx, "id"), "450789469");
	assert_string_equal(ctx_str(ev.ctx, "name"), "#1001");
	assert_string_equal(ctx_str(ev.ctx, "number"), "1001");
	assert_string_equal(ctx_str(ev.ctx, "currency"), "USD");
	assert_string_equal(ctx_str(ev.ctx, "total"), "598.94");
	assert_string_equal(ctx_str(ev.ctx, "subtotal"), "597.00");
	assert_string_equal(ctx_str(ev.ctx, "status_url"), "https://jsmith.myshopify.com/"
	    "548380009/orders/b1946ac92492d2347c6235b4d2611184/authenticate?key=imasecretipod");
	assert_string_equal(ctx_str(ev.ctx, "created_at"), "2008-01-10T11:00:00-05:00");
	assert_string_equal(ctx_str(ev.ctx, "email"), "bob.norman@mail.example.com");
	assert_string_equal(ctx_str(ev.ctx, "last_name"), "Norman");
	assert_string_equal(ctx_str(ev.ctx, "checkout_token"), "bd5a8aa1ecd019dd3520ff791ee3a24c");

	assert_int_equal(json_array_size(json_object_get(ev.ctx, "items")), 3);
	item = json_array_get(json_object_get(ev.ctx, "items"), 0);
	assert_int_equal(json_object_size(item), 7);	/* no image in this payload */
	assert_string_equal(ctx_str(item, "title"), "IPod Nano - 8gb");
	assert_string_equal(ctx_str(item, "variant"), "green");
	assert_int_equal(json_integer_value(json_object_get(item, "quantity")), 1);
	assert_true(json_is_integer(json_object_get(item, "quantity")));
	assert_string_equal(ctx_str(item, "price"), "199.00");
	assert_string_equal(ctx_str(item, "sku"), "IPOD2008GREEN");
	assert_string_equal(ctx_str(item, "product_id"), "632910392");
	assert_string_equal(ctx_str(item, "variant_id"), "39072856");

	addr = json_object_get(ev.ctx, "shipping_address");
	assert_int_equal(json_object_size(addr), 5);
	assert_string_equal(ctx_str(addr, "first_name"), "Bob");
	assert_string_equal(ctx_str(addr, "city"), "Louisville");
	assert_string_equal(ctx_str(addr, "country"), "United States");
	assert_string_equal(ctx_str(addr, "zip"), "40202");
	assert_string_equal(ctx_str(addr, "address1"), "Chestnut Street 92");

	nevent_free(&ev);
	shops_free(ss);
	free(body);
	free(path);
}

/* Ids above 2^53 that a double would round: they must survive as text. */
static void
test_normalize_big_ids(void **state)
{
	static const char *body =
	    "{\"id\":820982911946154508,\"name\":\"#9999\",\"order_number\":9999,"
	    "\"email\":\" Ana@Example.GR \",\"currency\":\"EUR\","
	    "\"presentment_currency\":\"USD\",\"total_price\":\"10.00\","
	    "\"subtotal_price\":\"8.00\",\"created_at\":\"2024-03-31T03:30:00+03:00\","
	    "\"updated_at\":\"2024-03-31T04:00:00.250+03:00\","
	    "\"checkout_id\":820982911946154509,\"checkout_token\":null,"
	    "\"customer_locale\":\"el\",\"buyer_accepts_marketing\":true,"
	    "\"customer\":{\"first_name\":\"Ana\",\"phone\":null,"
	    "\"sms_marketing_consent\":{\"state\":\"subscribed\"}},"
	    "\"billing_address\":{\"phone\":\"+30 210 000 0000\"},"
	    "\"line_items\":[{\"title\":\"Mug\",\"variant_title\":null,\"quantity\":2,"
	    "\"price\":\"4.00\",\"sku\":\"MUG\",\"product_id\":9007199254740993,"
	    "\"variant_id\":\"9007199254740995\","
	    "\"image\":{\"src\":\"https://cdn.example/mug.png\"}}]}";
	static const char *want_ctx =
	    "{\"id\":\"820982911946154508\",\"name\":\"#9999\",\"number\":\"9999\","
	    "\"currency\":\"EUR\",\"total\":\"10.00\",\"subtotal\":\"8.00\","
	    "\"created_at\":\"2024-03-31T03:30:00+03:00\",\"email\":\"ana@example.gr\","
	    "\"phone\":\"+30 210 000 0000\",\"first_name\":\"Ana\",\"locale\":\"el\","
	    "\"items\":[{\"title\":\"Mug\",\"quantity\":2,\"price\":\"4.00\","
	    "\"sku\":\"MUG\",\"product_id\":\"9007199254740993\","
	    "\"variant_id\":\"9007199254740995\","
	    "\"image\":\"https://cdn.example/mug.png\"}]}";
	struct platform_result res;
	struct shops *ss = load_shops();
	struct nevent ev;
	json_t *want;
	char *got;

	(void)state;
	run_normalize(ss, NULL, "orders/create", body, strlen(body), &ev, &res);
	if (res.status != PLATFORM_OK)
		fail_msg("normalize: %d %s", res.status, res.reason);
	assert_string_equal(ev.order_id, "820982911946154508");
	assert_string_equal(ev.checkout_id, "820982911946154509");
	assert_null(ev.checkout_token);
	assert_null(ev.cart_token);
	assert_string_equal(ev.email, "ana@example.gr");
	assert_string_equal(ev.phone, "+30 210 000 0000");
	assert_string_equal(ev.first_name, "Ana");
	assert_string_equal(ev.locale, "el");
	assert_int_equal(ev.consent_email, 1);	/* from buyer_accepts_marketing */
	assert_int_equal(ev.consent_sms, 1);
	assert_int_equal(ev.occurred_ms, 1711846800250LL);

	want = json_loads(want_ctx, 0, NULL);
	assert_non_null(want);
	got = json_dumps(ev.ctx, JSON_COMPACT | JSON_SORT_KEYS);
	if (!json_equal(want, ev.ctx))
		fail_msg("ctx is %s", got);
	/* The serialized context holds the exact digits. */
	assert_non_null(strstr(got, "\"id\":\"820982911946154508\""));
	assert_non_null(strstr(got, "\"product_id\":\"9007199254740993\""));
	free(got);
	json_decref(want);
	nevent_free(&ev);
	shops_free(ss);
}

static void
test_delivery(void **state)
{
	static const char *body = "{\"id\":1}";
	static const struct {
		struct hdrs	 h;
		const char	*want;	/* NULL: the body hash */
	} cases[] = {
		{ { { "X-Shopify-Event-Id", "e1", "X-Shopify-Webhook-Id", "w1" } }, "e1" },
		{ { { "X-Shopify-Webhook-Id", "w1" } }, "w1" },
		{ { { "shopify-event-id", "e2", "shopify-webhook-id", "w2" } }, "e2" },
		{ { { "X-Shopify-Event-Id", "", "X-Shopify-Webhook-Id", "w3" } }, "w3" },
		{ { { NULL } }, NULL },
	};
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hex[2 * SHA256_DIGEST_LENGTH + 1], *bhash;
	struct platform_result res;
	struct shops *ss = load_shops();
	struct hdrs h;
	struct nevent ev;
	size_t i;

	(void)state;
	SHA256((const unsigned char *)body, strlen(body), md);
	util_hex(md, sizeof md, hex);
	bhash = xasprintf("b:%s", hex);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		h = cases[i].h;
		run_normalize(ss, &h, "orders/create", body, strlen(body), &ev, &res);
		assert_int_equal(res.status, PLATFORM_OK);
		assert_string_equal(ev.delivery, cases[i].want ? cases[i].want : bhash);
		nevent_free(&ev);
	}
	/* Ignored topics still carry their dedupe key. */
	run_normalize(ss, NULL, "orders/paid", body, strlen(body), &ev, &res);
	assert_int_equal(res.status, PLATFORM_IGNORE);
	assert_string_equal(ev.delivery, bhash);
	nevent_free(&ev);
	free(bhash);
	shops_free(ss);
}

static void
test_normalize_errors(void **state)
{
	static const struct {
		const char	*name;
		const char	*topic;
		const char	*body;
		int		 status;
		const char	*reason;	/* prefix */
	} cases[] = {
		{ "unknown topic, body not even read", "orders/paid", "not json",
		  PLATFORM_IGNORE, "unknown topic orders/paid" },
		{ "missing topic", NULL, "{\"id\":1}",
		  PLATFORM_INVALID, "missing X-Shopify-Topic" },
		{ "invalid JSON", "orders/create", "{\"id\":1",
		  PLATFORM_INVALID, "body is not a JSON object: " },
		{ "empty body", "orders/create", "",
		  PLATFORM_INVALID, "body is not a JSON object: " },
		{ "array body", "orders/create", "[{\"id\":1}]",
		  PLATFORM_INVALID, "body is not a JSON object" },
		{ "missing id", "orders/create", "{\"name\":\"#1\"}",
		  PLATFORM_INVALID, "order has no id" },
		{ "null id", "orders/create", "{\"id\":null}",
		  PLATFORM_INVALID, "order has no id" },
		{ "id as a double", "orders/create", "{\"id\":4.5e8}",
		  PLATFORM_INVALID, "order has no id" },
		{ "string id accepted", "orders/create", "{\"id\":\"77\"}",
		  PLATFORM_OK, "" },
	};
	struct platform_result res;
	struct shops *ss = load_shops();
	struct nevent ev;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		run_normalize(ss, NULL, cases[i].topic, cases[i].body,
		    strlen(cases[i].body), &ev, &res);
		if ((int)res.status != cases[i].status ||
		    strncmp(res.reason, cases[i].reason, strlen(cases[i].reason)) != 0)
			fail_msg("%s: got %d \"%s\", want %d \"%s\"", cases[i].name,
			    res.status, res.reason, cases[i].status, cases[i].reason);
		if (res.status == PLATFORM_OK) {
			assert_string_equal(ev.order_id, "77");
			assert_int_equal(json_array_size(json_object_get(ev.ctx, "items")), 0);
			assert_true(json_is_array(json_object_get(ev.ctx, "items")));
		}
		nevent_free(&ev);
	}
	shops_free(ss);
}

static void
test_platform_find(void **state)
{
	struct platform_result res;

	(void)state;
	assert_ptr_equal(platform_find("shopify"), &platform_shopify);
	assert_null(platform_find("magento"));
	assert_null(platform_find(NULL));
	platform_result_set(&res, PLATFORM_IGNORE, "unknown topic %s", "x/y");
	assert_int_equal(res.status, PLATFORM_IGNORE);
	assert_string_equal(res.reason, "unknown topic x/y");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_normalize_fixture),
		cmocka_unit_test(test_normalize_big_ids),
		cmocka_unit_test(test_delivery),
		cmocka_unit_test(test_normalize_errors),
		cmocka_unit_test(test_platform_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
