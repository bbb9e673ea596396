/*
 * test_woocommerce: the WooCommerce platform as tables: the ping, every
 * refusal of verify, the REST docs' order (../shared), our own order
 * payloads (tests/fixtures/woocommerce) through order.created and
 * order.updated with the default and a per-shop status map, shipment
 * tracking meta, dedupe keys, and woocommerce_check_shop.
 */
#include "unit.h"

#include <strings.h>

#include "nevent.h"
#include "platform.h"
#include "pnorm.h"
#include "shops.h"
#include "sig.h"

static const char *shops_json =
    "[{\"domain\":\"https://Woo.Example/\",\"platform\":\"woocommerce\","
    "\"secret\":\"wsecret\",\"previous_secret\":\"wold\","
    "\"locale_meta\":\"wpml_language\",\"consent_meta\":\"_marketing_optin\"},"
    " {\"domain\":\"custom.example\",\"platform\":\"woocommerce\",\"secret\":\"csecret\","
    "\"locale_meta\":\"wpml_language\",\"consent_meta\":\"_marketing_optin\","
    "\"status_map\":{\"completed\":\"order_shipped\",\"cancelled\":\"order_cancelled\","
    "\"refunded\":null,\"failed\":\"order_cancelled\",\"delivered\":\"order_delivered\","
    "\"shipped\":\"order_shipped\",\"processing\":\"none\"}},"
    " {\"domain\":\"broken.example\",\"platform\":\"woocommerce\",\"secret\":\"bsecret\","
    "\"status_map\":{\"delivered\":\"order_delivred\",\"lost\":\"cart_abandoned\"}},"
    " {\"domain\":\"shop.example\",\"platform\":\"shopify\",\"secret\":\"ssecret\"}]";

struct hdrs {
	const char	*kv[16];
};

static const char *
hdr_lookup(void *hctx, const char *name)
{
	const struct hdrs *h = hctx;
	size_t i;

	for (i = 0; i + 1 < 16 && h->kv[i] != NULL; i += 2) {
		if (strcasecmp(h->kv[i], name) == 0)
			return h->kv[i + 1];
	}
	return NULL;
}

static struct platform_req
mkreq(struct hdrs *h, const char *body, size_t len)
{
	struct platform_req req = {
		.request_id = "test", .path_tail = "", .body = body,
		.body_len = len, .header = hdr_lookup, .hctx = h, .now_ms = 0,
	};

	return req;
}

static struct shops *
load_shops(void)
{
	struct shops *ss = NULL;
	char *cause = NULL;

	if (shops_load_str(shops_json, 16, &ss, &cause) != 0)
		fail_msg("shops: %s", cause);
	return ss;
}

static void
test_verify(void **state)
{
	static const char *json = "{\"id\":1,\"status\":\"processing\"}";
	static const struct {
		const char	*name;
		struct hdrs	 h;
		const char	*body;	/* NULL: json */
		int		 status;
		const char	*reason;
		const char	*domain;
	} cases[] = {
		{ "good", { { "X-WC-Webhook-Source", "https://woo.example/",
		  "X-WC-Webhook-Topic", "order.created",
		  "X-WC-Webhook-Signature", "HMAC:wsecret" } },
		  NULL, PLATFORM_OK, "", "woo.example" },
		{ "source in another case, with a path", { { "x-wc-webhook-source",
		  "HTTPS://WOO.EXAMPLE/shop/", "x-wc-webhook-topic", "order.updated",
		  "x-wc-webhook-signature", "HMAC:wsecret" } },
		  NULL, PLATFORM_OK, "", "woo.example" },
		{ "previous secret", { { "X-WC-Webhook-Source", "https://woo.example/",
		  "X-WC-Webhook-Topic", "order.created",
		  "X-WC-Webhook-Signature", "HMAC:wold" } },
		  NULL, PLATFORM_OK, "", "woo.example" },
		{ "bad signature", { { "X-WC-Webhook-Source", "https://woo.example/",
		  "X-WC-Webhook-Topic", "order.created",
		  "X-WC-Webhook-Signature", "HMAC:csecret" } },
		  NULL, PLATFORM_UNAUTHORIZED, "bad signature", NULL },
		{ "signature not base64", { { "X-WC-Webhook-Source", "https://woo.example/",
		  "X-WC-Webhook-Topic", "order.created",
		  "X-WC-Webhook-Signature", "not base64!" } },
		  NULL, PLATFORM_UNAUTHORIZED, "bad signature", NULL },
		{ "missing signature", { { "X-WC-Webhook-Source", "https://woo.example/",
		  "X-WC-Webhook-Topic", "order.created" } },
		  NULL, PLATFORM_UNAUTHORIZED, "missing signature", NULL },
		{ "ping: body, no headers", { { NULL } },
		  "webhook_id=12", PLATFORM_IGNORE, "ping", NULL },
		{ "ping: body, with a topic and no signature", { {
		  "X-WC-Webhook-Topic", "order.created" } },
		  "webhook_id=12", PLATFORM_IGNORE, "ping", NULL },
		{ "ping: no topic", { { "X-WC-Webhook-Source", "https://woo.example/" } },
		  NULL, PLATFORM_IGNORE, "ping", NULL },
		{ "empty topic is no topic", { { "X-WC-Webhook-Topic", "" } },
		  NULL, PLATFORM_IGNORE, "ping", NULL },
		{ "missing source", { { "X-WC-Webhook-Topic", "order.created",
		  "X-WC-Webhook-Signature", "HMAC:wsecret" } },
		  NULL, PLATFORM_UNAUTHORIZED, "missing X-WC-Webhook-Source", NULL },
		{ "unknown shop", { { "X-WC-Webhook-Source", "https://other.example/",
		  "X-WC-Webhook-Topic", "order.created",
		  "X-WC-Webhook-Signature", "HMAC:wsecret" } },
		  NULL, PLATFORM_UNAUTHORIZED, "unknown shop", NULL },
		/* Signed with that shop's own secret, and still refused. */
		{ "shopify shop", { { "X-WC-Webhook-Source", "https://shop.example/",
		  "X-WC-Webhook-Topic", "order.created",
		  "X-WC-Webhook-Signature", "HMAC:ssecret" } },
		  NULL, PLATFORM_UNAUTHORIZED, "shop is not a woocommerce shop", NULL },
	};
	struct shops *ss = load_shops();
	struct platform_result res;
	struct platform_req req;
	const struct shop *shop;
	const char *body;
	struct hdrs h;
	char *sig;
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		h = cases[i].h;
		body = cases[i].body ? cases[i].body : json;
		sig = NULL;
		for (j = 0; j + 1 < 16 && h.kv[j] != NULL; j += 2) {
			if (strncmp(h.kv[j + 1], "HMAC:", 5) == 0) {
				sig = sig_b64_hmac(h.kv[j + 1] + 5, body, strlen(body));
				h.kv[j + 1] = sig;
			}
		}
		req = mkreq(&h, body, strlen(body));
		shop = (const struct shop *)&res;	/* must be reset */
		memset(&res, 0xff, sizeof res);
		platform_woocommerce.verify(&req, ss, &shop, &res);
		if ((int)res.status != cases[i].status ||
		    strcmp(res.reason, cases[i].reason) != 0)
			fail_msg("%s: got %d \"%s\", want %d \"%s\"", cases[i].name,
			    res.status, res.reason, cases[i].status, cases[i].reason);
		if (cases[i].domain != NULL) {
			assert_non_null(shop);
			assert_string_equal(shop->domain, cases[i].domain);
		} else
			assert_null(shop);
		free(sig);
	}
	shops_free(ss);
}

/* Signs body for domain with secret, verifies and normalizes it. */
static void
run(struct shops *ss, const char *domain, const char *secret, const char *topic,
    const char *body, size_t len, struct nevent *ev, struct platform_result *res)
{
	struct hdrs h = { { NULL } };
	struct platform_req req;
	const struct shop *shop = NULL;
	char *sig = sig_b64_hmac(secret, body, len);
	char *source = xasprintf("https://%s/", domain);

	h.kv[0] = "X-WC-Webhook-Source";
	h.kv[1] = source;
	h.kv[2] = "X-WC-Webhook-Signature";
	h.kv[3] = sig;
	h.kv[4] = "X-WC-Webhook-Topic";
	h.kv[5] = topic;
	h.kv[6] = "X-WC-Webhook-Delivery-ID";
	h.kv[7] = "d41d8cd98f00b204e9800998ecf8427e";
	req = mkreq(&h, body, len);
	platform_woocommerce.verify(&req, ss, &shop, res);
	if (res->status != PLATFORM_OK)
		fail_msg("verify: %d %s", res->status, res->reason);
	nevent_init(ev);
	platform_woocommerce.normalize(&req, shop, ev, res);
	assert_ptr_equal(ev->shop, shop);
	free(sig);
	free(source);
}

static void
assert_ctx(const json_t *ctx, const char *want_json)
{
	json_t *want = json_loads(want_json, 0, NULL);
	char *got;

	if (want == NULL)
		fail_msg("bad expected JSON: %s", want_json);
	got = ctx ? json_dumps(ctx, JSON_COMPACT | JSON_SORT_KEYS) : xstrdup("NULL");
	if (ctx == NULL || !json_equal(want, (json_t *)ctx))
		fail_msg("ctx is %s", got);
	free(got);
	json_decref(want);
}

static char *
fixture(const char *name, size_t *len)
{
	char *rel = xasprintf("tests/fixtures/woocommerce/%s", name);
	char *path = unit_path(rel);
	char *body = unit_slurp(path, len);

	free(path);
	free(rel);
	return body;
}

static void
test_shared_fixture(void **state)
{
	static const char *want_ctx =
	    "{\"id\":\"727\",\"name\":\"#727\",\"number\":\"727\",\"currency\":\"USD\","
	    "\"total\":\"29.35\",\"created_at\":\"2017-03-22T19:28:02Z\","
	    "\"email\":\"john.doe@example.com\",\"phone\":\"(555) 555-5555\","
	    "\"first_name\":\"John\",\"last_name\":\"Doe\","
	    "\"items\":[{\"title\":\"Woo Single #1\",\"quantity\":2,\"price\":\"3\","
	    "\"product_id\":\"93\"},"
	    "{\"title\":\"Ship Your Idea &ndash; Color: Black, Size: M Test\","
	    "\"quantity\":1,\"price\":\"12\",\"sku\":\"Bar3\",\"product_id\":\"22\","
	    "\"variant_id\":\"23\"}],"
	    "\"shipping_address\":{\"first_name\":\"John\",\"city\":\"San Francisco\","
	    "\"country\":\"US\",\"zip\":\"94103\",\"address1\":\"969 Market\"}}";
	char *path = unit_shared("fixtures/woocommerce/order-created.json");
	struct platform_result res;
	struct shops *ss;
	struct nevent ev;
	size_t len;
	char *body;

	(void)state;
	if (path == NULL) {
		fprintf(stderr, "note: skipping the WooCommerce order-created fixture case\n");
		return;
	}
	body = unit_slurp(path, &len);
	ss = load_shops();

	run(ss, "woo.example", "wsecret", "order.created", body, len, &ev, &res);
	if (res.status != PLATFORM_OK)
		fail_msg("normalize: %d %s", res.status, res.reason);
	assert_int_equal(ev.kind, EVENT_ORDER_PLACED);
	assert_string_equal(ev.topic, "order.created");
	assert_string_equal(ev.delivery, "wc:order.created:727:2017-03-22T19:28:08");
	assert_string_equal(ev.order_id, "727");
	assert_string_equal(ev.order_name, "#727");
	assert_string_equal(ev.status, "processing");
	assert_string_equal(ev.email, "john.doe@example.com");
	assert_string_equal(ev.phone, "(555) 555-5555");
	assert_string_equal(ev.first_name, "John");
	assert_null(ev.locale);			/* no wpml_language meta */
	assert_int_equal(ev.consent_email, -1);	/* no _marketing_optin meta */
	assert_int_equal(ev.consent_sms, -1);
	assert_null(ev.checkout_token);
	assert_null(ev.fulfillment_id);
	assert_int_equal(ev.occurred_ms, 1490210888000LL);
	assert_ctx(ev.ctx, want_ctx);
	nevent_free(&ev);

	/* The same order as an update: placed again, its status in the key. */
	run(ss, "woo.example", "wsecret", "order.updated", body, len, &ev, &res);
	assert_int_equal(res.status, PLATFORM_OK);
	assert_int_equal(ev.kind, EVENT_ORDER_PLACED);
	assert_string_equal(ev.delivery,
	    "wc:order.updated:727:2017-03-22T19:28:08:processing");
	assert_ctx(ev.ctx, want_ctx);
	nevent_free(&ev);

	shops_free(ss);
	free(body);
	free(path);
}

/* Our payloads: one row per (shop, topic, file). */
static void
test_normalize(void **state)
{
	static const struct {
		const char	*name;
		const char	*domain, *secret, *topic, *file;
		int		 status;
		const char	*reason;
		enum event_kind	 kind;
		const char	*delivery;
		const char	*email, *phone, *first_name, *locale;
		int		 consent;
		long long	 occurred_ms;
		const char	*ctx;
	} cases[] = {
		{ "completed, with tracking: shipped",
		  "woo.example", "wsecret", "order.updated", "order-updated-completed.json",
		  PLATFORM_OK, "", EVENT_ORDER_SHIPPED,
		  "wc:order.updated:9007199254740993:2024-05-01T07:15:00:completed",
		  "maria.p@example.gr", "+30 691 234 5678", "Μαρία", "el", 1,
		  1714547700000LL,
		  "{\"order_id\":\"9007199254740993\",\"order_name\":\"#10234\","
		  "\"status\":\"completed\",\"tracking_company\":\"ACS Courier\","
		  "\"tracking_number\":\"7301234567\","
		  "\"tracking_url\":\"https://track.example/acs?n=7301234567\","
		  "\"happened_at\":\"2024-05-01T00:00:00Z\","
		  "\"email\":\"maria.p@example.gr\",\"phone\":\"+30 691 234 5678\","
		  "\"first_name\":\"Μαρία\",\"locale\":\"el\","
		  "\"items\":[{\"title\":\"Κούπα - Μπλε\",\"quantity\":2},"
		  "{\"title\":\"Gift card\",\"quantity\":1}]}" },
		{ "the same order when created: placed, items in full",
		  "woo.example", "wsecret", "order.created", "order-updated-completed.json",
		  PLATFORM_OK, "", EVENT_ORDER_PLACED,
		  "wc:order.created:9007199254740993:2024-05-01T07:15:00",
		  "maria.p@example.gr", "+30 691 234 5678", "Μαρία", "el", 1,
		  1714547700000LL,
		  "{\"id\":\"9007199254740993\",\"name\":\"#10234\",\"number\":\"10234\","
		  "\"currency\":\"EUR\",\"total\":\"42.40\","
		  "\"created_at\":\"2024-04-30T09:05:11Z\",\"email\":\"maria.p@example.gr\","
		  "\"phone\":\"+30 691 234 5678\",\"first_name\":\"Μαρία\","
		  "\"last_name\":\"Παπαδοπούλου\",\"locale\":\"el\","
		  "\"items\":[{\"title\":\"Κούπα - Μπλε\",\"quantity\":2,\"price\":\"12.50\","
		  "\"sku\":\"MUG-BLUE\",\"product_id\":\"4101\",\"variant_id\":\"4103\","
		  "\"image\":\"https://shop.example/wp-content/uploads/mug-blue.jpg\"},"
		  "{\"title\":\"Gift card\",\"quantity\":1,\"price\":\"12.90\","
		  "\"product_id\":\"4200\"}],"
		  "\"shipping_address\":{\"first_name\":\"Μαρία\",\"city\":\"Αθήνα\","
		  "\"country\":\"GR\",\"zip\":\"10563\",\"address1\":\"Ερμού 12\"}}" },
		{ "cancelled",
		  "woo.example", "wsecret", "order.updated", "order-updated-cancelled.json",
		  PLATFORM_OK, "", EVENT_ORDER_CANCELLED,
		  "wc:order.updated:731:2024-05-02T09:30:00:cancelled",
		  "john.doe@example.com", NULL, "John", NULL, -1, 1714642200000LL,
		  "{\"id\":\"731\",\"name\":\"#731\",\"number\":\"731\",\"currency\":\"USD\","
		  "\"total\":\"19.00\",\"created_at\":\"2024-05-02T08:00:00Z\","
		  "\"email\":\"john.doe@example.com\",\"first_name\":\"John\","
		  "\"last_name\":\"Doe\",\"items\":[{\"title\":\"Woo Single #1\","
		  "\"quantity\":3,\"price\":\"3\",\"sku\":\"WS1\",\"product_id\":\"93\"}]}" },
		{ "refunded: cancelled too",
		  "woo.example", "wsecret", "order.updated", "order-updated-refunded.json",
		  PLATFORM_OK, "", EVENT_ORDER_CANCELLED,
		  "wc:order.updated:731:2024-05-03T11:00:00:refunded",
		  "john.doe@example.com", NULL, "John", NULL, -1, 1714734000000LL, NULL },
		{ "a custom status without a map",
		  "woo.example", "wsecret", "order.updated", "order-updated-delivered.json",
		  PLATFORM_IGNORE, "status delivered not mapped", EVENT_NONE,
		  "wc:order.updated:4294967297:2024-06-04T15:45:30:delivered",
		  NULL, NULL, NULL, NULL, -1, 0, NULL },
		{ "status_map: delivered",
		  "custom.example", "csecret", "order.updated", "order-updated-delivered.json",
		  PLATFORM_OK, "", EVENT_ORDER_DELIVERED,
		  "wc:order.updated:4294967297:2024-06-04T15:45:30:delivered",
		  "anna@example.pl", "+48 600 100 200", "Anna", "pl-PL", 0,
		  1717515930000LL,
		  "{\"order_id\":\"4294967297\",\"order_name\":\"#A-2001\","
		  "\"status\":\"delivered\",\"tracking_company\":\"inpost\","
		  "\"tracking_number\":\"620123456789012345678901\","
		  "\"happened_at\":\"2024-06-03T10:00:00Z\",\"email\":\"anna@example.pl\","
		  "\"phone\":\"+48 600 100 200\",\"first_name\":\"Anna\","
		  "\"locale\":\"pl-PL\"}" },
		{ "status_map: null switches a default off",
		  "custom.example", "csecret", "order.updated", "order-updated-refunded.json",
		  PLATFORM_IGNORE, "status refunded not mapped", EVENT_NONE,
		  "wc:order.updated:731:2024-05-03T11:00:00:refunded",
		  NULL, NULL, NULL, NULL, -1, 0, NULL },
		{ "status_map: a status it does not name keeps its default",
		  "custom.example", "csecret", "order.updated", "order-updated-cancelled.json",
		  PLATFORM_OK, "", EVENT_ORDER_CANCELLED,
		  "wc:order.updated:731:2024-05-02T09:30:00:cancelled",
		  "john.doe@example.com", NULL, "John", NULL, -1, 1714642200000LL, NULL },
		{ "status_map naming no event",
		  "broken.example", "bsecret", "order.updated", "order-updated-delivered.json",
		  PLATFORM_IGNORE, "status_map maps \"delivered\" to unknown order event "
		  "\"order_delivred\"", EVENT_NONE,
		  "wc:order.updated:4294967297:2024-06-04T15:45:30:delivered",
		  NULL, NULL, NULL, NULL, -1, 0, NULL },
		{ "pending order.created: not placed yet",
		  "woo.example", "wsecret", "order.created", "order-created-pending.json",
		  PLATFORM_IGNORE, "order not placed yet (status pending)", EVENT_NONE,
		  "wc:order.created:732:2024-05-02T10:00:00",
		  NULL, NULL, NULL, NULL, -1, 0, NULL },
		{ "pending order.updated: not mapped",
		  "woo.example", "wsecret", "order.updated", "order-created-pending.json",
		  PLATFORM_IGNORE, "status pending not mapped", EVENT_NONE,
		  "wc:order.updated:732:2024-05-02T10:00:00:pending",
		  NULL, NULL, NULL, NULL, -1, 0, NULL },
		{ "unknown topic: body not read",
		  "woo.example", "wsecret", "product.updated", "order-created-pending.json",
		  PLATFORM_IGNORE, "unknown topic product.updated", EVENT_NONE,
		  NULL, NULL, NULL, NULL, NULL, -1, 0, NULL },
	};
	struct platform_result res;
	struct shops *ss = load_shops();
	struct nevent ev;
	size_t i, len;
	char *body;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		body = fixture(cases[i].file, &len);
		run(ss, cases[i].domain, cases[i].secret, cases[i].topic, body, len,
		    &ev, &res);
		if ((int)res.status != cases[i].status ||
		    strcmp(res.reason, cases[i].reason) != 0)
			fail_msg("%s: got %d \"%s\", want %d \"%s\"", cases[i].name,
			    res.status, res.reason, cases[i].status, cases[i].reason);
		assert_string_equal(ev.topic, cases[i].topic);
		if (cases[i].delivery != NULL)
			assert_string_equal(ev.delivery, cases[i].delivery);
		else
			assert_null(ev.delivery);
		if (res.status == PLATFORM_OK) {
			assert_int_equal(ev.kind, cases[i].kind);
			assert_string_equal(ev.email, cases[i].email);
			if (cases[i].phone != NULL)
				assert_string_equal(ev.phone, cases[i].phone);
			else
				assert_null(ev.phone);
			assert_string_equal(ev.first_name, cases[i].first_name);
			if (cases[i].locale != NULL)
				assert_string_equal(ev.locale, cases[i].locale);
			else
				assert_null(ev.locale);
			assert_int_equal(ev.consent_email, cases[i].consent);
			assert_int_equal(ev.consent_sms, -1);
			assert_int_equal(ev.occurred_ms, cases[i].occurred_ms);
			if (cases[i].ctx != NULL)
				assert_ctx(ev.ctx, cases[i].ctx);
			else
				assert_non_null(ev.ctx);
		} else
			assert_null(ev.ctx);
		nevent_free(&ev);
		free(body);
	}
	shops_free(ss);
}

static void
test_normalize_errors(void **state)
{
	static const struct {
		const char	*name;
		const char	*body;
		int		 status;
		const char	*reason;	/* prefix */
		const char	*delivery;	/* NULL: none; "" any */
	} cases[] = {
		{ "invalid JSON", "{\"id\":1", PLATFORM_INVALID,
		  "body is not a JSON object: ", NULL },
		{ "an array", "[{\"id\":1}]", PLATFORM_INVALID,
		  "body is not a JSON object", NULL },
		{ "no id", "{\"status\":\"processing\"}", PLATFORM_INVALID,
		  "order has no id", NULL },
		{ "id as a double", "{\"id\":7.5,\"status\":\"processing\"}",
		  PLATFORM_INVALID, "order has no id", NULL },
		{ "no status", "{\"id\":7}", PLATFORM_INVALID,
		  "order has no status", NULL },
		{ "no modification time: the body hash stands in",
		  "{\"id\":7,\"status\":\"processing\"}", PLATFORM_OK, "", "" },
	};
	struct platform_result res;
	struct shops *ss = load_shops();
	char hash[17], *want;
	struct platform_req req = { 0 };
	struct nevent ev;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		run(ss, "woo.example", "wsecret", "order.created", cases[i].body,
		    strlen(cases[i].body), &ev, &res);
		if ((int)res.status != cases[i].status ||
		    strncmp(res.reason, cases[i].reason, strlen(cases[i].reason)) != 0)
			fail_msg("%s: got %d \"%s\", want %d \"%s\"", cases[i].name,
			    res.status, res.reason, cases[i].status, cases[i].reason);
		if (cases[i].delivery == NULL)
			assert_null(ev.delivery);
		else {
			req.body = cases[i].body;
			req.body_len = strlen(cases[i].body);
			pnorm_body_hash(&req, hash, 16);
			want = xasprintf("wc:order.created:7:%s", hash);
			assert_string_equal(ev.delivery, want);
			free(want);
			/* A minimal order still has the whole shape. */
			assert_ctx(ev.ctx, "{\"id\":\"7\",\"name\":\"#7\",\"items\":[]}");
		}
		nevent_free(&ev);
	}
	shops_free(ss);
}

static void
test_check_shop(void **state)
{
	static const struct {
		const char	*shop;
		const char	*cause;		/* NULL: valid */
	} cases[] = {
		{ "{\"domain\":\"a.example\",\"platform\":\"woocommerce\",\"secret\":\"s\"}", NULL },
		{ "{\"domain\":\"a.example\",\"platform\":\"woocommerce\",\"secret\":\"s\","
		  "\"status_map\":{\"delivered\":\"order_delivered\",\"x\":null,\"y\":\"none\","
		  "\"z\":\"\",\"lost\":\"shipment_failed\",\"ofd\":\"order_out_for_delivery\"},"
		  "\"locale_meta\":\"wpml_language\",\"consent_meta\":null}", NULL },
		{ "{\"domain\":\"a.example\",\"platform\":\"shopify\",\"secret\":\"s\"}", NULL },
		{ "{\"domain\":\"a.example\",\"platform\":\"woocommerce\",\"secret\":\"s\","
		  "\"status_map\":[\"completed\"]}",
		  "shop a.example: \"status_map\" must be an object of status -> event name" },
		{ "{\"domain\":\"a.example\",\"platform\":\"woocommerce\",\"secret\":\"s\","
		  "\"status_map\":{\"delivered\":\"order_delivred\"}}",
		  "shop a.example: status_map maps \"delivered\" to unknown order event "
		  "\"order_delivred\"" },
		{ "{\"domain\":\"a.example\",\"platform\":\"woocommerce\",\"secret\":\"s\","
		  "\"status_map\":{\"lost\":\"cart_abandoned\"}}",
		  "shop a.example: status_map maps \"lost\" to unknown order event "
		  "\"cart_abandoned\"" },
		{ "{\"domain\":\"a.example\",\"platform\":\"woocommerce\",\"secret\":\"s\","
		  "\"status_map\":{\"completed\":1}}",
		  "shop a.example: status_map entry \"completed\" is not a string" },
		{ "{\"domain\":\"a.example\",\"platform\":\"woocommerce\",\"secret\":\"s\","
		  "\"locale_meta\":7}",
		  "shop a.example: \"locale_meta\" must be a meta key (a non-empty string)" },
		{ "{\"domain\":\"a.example\",\"platform\":\"woocommerce\",\"secret\":\"s\","
		  "\"consent_meta\":\"\"}",
		  "shop a.example: \"consent_meta\" must be a meta key (a non-empty string)" },
	};
	struct shops *ss;
	char *cause, *json;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json = xasprintf("[%s]", cases[i].shop);
		cause = NULL;
		if (shops_load_str(json, 1, &ss, &cause) != 0)
			fail_msg("case %zu: shops: %s", i, cause);
		rc = woocommerce_check_shop(shops_at(ss, 0), &cause);
		if (cases[i].cause == NULL) {
			if (rc != 0)
				fail_msg("case %zu: refused: %s", i, cause);
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(cause, cases[i].cause);
			free(cause);
		}
		shops_free(ss);
		free(json);
	}
}

static void
test_platform_find(void **state)
{
	(void)state;
	assert_ptr_equal(platform_find("woocommerce"), &platform_woocommerce);
	assert_ptr_equal(platform_find("cartflows"), &platform_cartflows);
	assert_ptr_equal(platform_find("generic"), &platform_generic);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_shared_fixture),
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_normalize_errors),
		cmocka_unit_test(test_check_shop),
		cmocka_unit_test(test_platform_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
