/*
 * test_generic: Standard Webhooks verification (the spec's test vector,
 * decoys, versions, rotation, the timestamp window) and nudge's own event
 * schema (tests/fixtures/generic and inline events of every kind), mapped
 * to the same fields and context shapes as the other platforms.
 */
#include "unit.h"

#include <strings.h>

#include "nevent.h"
#include "platform.h"
#include "shops.h"
#include "sig.h"

/* reference/webhooks.md §3, from the spec's Go tests. */
#define SW_KEY		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SW_ID		"msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SW_TS		"1614265330"
#define SW_BODY		"{\"test\": 2432232314}"
#define SW_SIG		"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
#define SW_DECOY	"v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
#define SW_NOW		1614265330000LL

/* Normalize tests sign at this time. */
#define NOW_S		"1714759200"
#define NOW_MS		1714759200000LL

static const char *shops_json =
    "[{\"domain\":\"woo.example\",\"platform\":\"woocommerce\",\"secret\":\"w\","
    "\"generic_secret\":\"" SW_KEY "\"},"
    " {\"domain\":\"gen.example\",\"platform\":\"generic\",\"secret\":\"" SW_KEY "\","
    "\"previous_secret\":\"plain old secret\"},"
    " {\"domain\":\"raw.example\",\"platform\":\"shopify\",\"secret\":\"s\","
    "\"generic_secret\":\"not a whsec key\"},"
    " {\"domain\":\"bad.example\",\"platform\":\"shopify\",\"secret\":\"s\","
    "\"generic_secret\":\"whsec_!!notbase64\"},"
    " {\"domain\":\"none.example\",\"platform\":\"woocommerce\",\"secret\":\"s\"}]";

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

static struct shops *
load_shops(void)
{
	struct shops *ss = NULL;
	char *cause = NULL;

	if (shops_load_str(shops_json, 16, &ss, &cause) != 0)
		fail_msg("shops: %s", cause);
	return ss;
}

/* "v1,<base64>" for a secret as configured (whsec_ or raw). Caller frees. */
static char *
sign(const char *secret, const char *id, const char *ts, const char *body)
{
	unsigned char key[256], mac[SIG_LEN];
	size_t keylen;
	char *msg, *b64, *out;

	if (strncmp(secret, "whsec_", 6) == 0) {
		if (sig_b64_decode(secret + 6, key, sizeof key, &keylen) != 0)
			fail_msg("bad test key %s", secret);
	} else {
		keylen = strlen(secret);
		memcpy(key, secret, keylen);
	}
	msg = xasprintf("%s.%s.%s", id, ts, body);
	sig_hmac_sha256(key, keylen, msg, strlen(msg), mac);
	b64 = sig_b64_encode(mac, sizeof mac);
	out = xasprintf("v1,%s", b64);
	free(b64);
	free(msg);
	return out;
}

static void
test_verify(void **state)
{
	static const struct {
		const char	*name;
		const char	*shop, *id, *ts, *sig, *body;
		long long	 now_ms;
		int		 status;
		const char	*reason;
	} cases[] = {
		{ "the spec's test vector", "woo.example", SW_ID, SW_TS, SW_SIG, SW_BODY,
		  SW_NOW, PLATFORM_OK, "" },
		{ "decoy first", "woo.example", SW_ID, SW_TS, SW_DECOY " " SW_SIG, SW_BODY,
		  SW_NOW, PLATFORM_OK, "" },
		{ "decoy last, extra spaces", "woo.example", SW_ID, SW_TS,
		  "  " SW_SIG "   " SW_DECOY " ", SW_BODY, SW_NOW, PLATFORM_OK, "" },
		{ "decoy only", "woo.example", SW_ID, SW_TS, SW_DECOY, SW_BODY,
		  SW_NOW, PLATFORM_UNAUTHORIZED, "bad signature" },
		{ "other versions are skipped", "woo.example", SW_ID, SW_TS,
		  "v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= "
		  "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= "
		  "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		  SW_BODY, SW_NOW, PLATFORM_UNAUTHORIZED, "bad signature" },
		{ "v1a beside v1", "woo.example", SW_ID, SW_TS, "v1a,AAAA " SW_SIG, SW_BODY,
		  SW_NOW, PLATFORM_OK, "" },
		{ "body changed", "woo.example", SW_ID, SW_TS, SW_SIG, "{\"test\": 2432232315}",
		  SW_NOW, PLATFORM_UNAUTHORIZED, "bad signature" },
		{ "id changed", "woo.example", "msg_p5jXN8AQM9LWM0D4loKWxJeK", SW_TS, SW_SIG,
		  SW_BODY, SW_NOW, PLATFORM_UNAUTHORIZED, "bad signature" },
		{ "signed 300 s ago: still in", "woo.example", SW_ID, SW_TS, SW_SIG, SW_BODY,
		  SW_NOW + 300000, PLATFORM_OK, "" },
		{ "signed 300 s ahead: still in", "woo.example", SW_ID, SW_TS, SW_SIG, SW_BODY,
		  SW_NOW - 300000, PLATFORM_OK, "" },
		{ "signed 301 s ago", "woo.example", SW_ID, SW_TS, SW_SIG, SW_BODY,
		  SW_NOW + 301000, PLATFORM_UNAUTHORIZED, "timestamp outside tolerance" },
		{ "signed 300.001 s ahead", "woo.example", SW_ID, SW_TS, SW_SIG, SW_BODY,
		  SW_NOW - 300001, PLATFORM_UNAUTHORIZED, "timestamp outside tolerance" },
		{ "a far timestamp", "woo.example", SW_ID, "9223372036854775807", SW_SIG,
		  SW_BODY, SW_NOW, PLATFORM_UNAUTHORIZED, "timestamp outside tolerance" },
		{ "timestamp not a number", "woo.example", SW_ID, "16142653a0", SW_SIG,
		  SW_BODY, SW_NOW, PLATFORM_UNAUTHORIZED, "invalid webhook-timestamp" },
		{ "timestamp in ms with a dot", "woo.example", SW_ID, "1614265330.0", SW_SIG,
		  SW_BODY, SW_NOW, PLATFORM_UNAUTHORIZED,
		  "webhook-id or webhook-timestamp contains '.'" },
		{ "id with a dot", "woo.example", "msg.1", SW_TS, SW_SIG, SW_BODY,
		  SW_NOW, PLATFORM_UNAUTHORIZED,
		  "webhook-id or webhook-timestamp contains '.'" },
		{ "missing id", "woo.example", NULL, SW_TS, SW_SIG, SW_BODY,
		  SW_NOW, PLATFORM_UNAUTHORIZED, "missing webhook-id" },
		{ "missing timestamp", "woo.example", SW_ID, NULL, SW_SIG, SW_BODY,
		  SW_NOW, PLATFORM_UNAUTHORIZED, "missing webhook-timestamp" },
		{ "missing signature", "woo.example", SW_ID, SW_TS, NULL, SW_BODY,
		  SW_NOW, PLATFORM_UNAUTHORIZED, "missing webhook-signature" },
		{ "missing shop", NULL, SW_ID, SW_TS, SW_SIG, SW_BODY,
		  SW_NOW, PLATFORM_UNAUTHORIZED, "missing X-Nudge-Shop" },
		{ "unknown shop", "nope.example", SW_ID, SW_TS, SW_SIG, SW_BODY,
		  SW_NOW, PLATFORM_UNAUTHORIZED, "unknown shop" },
		{ "no generic_secret", "none.example", SW_ID, SW_TS, SW_SIG, SW_BODY,
		  SW_NOW, PLATFORM_UNAUTHORIZED, "shop has no generic_secret" },
		{ "a generic shop signs with its secret", "gen.example", SW_ID, SW_TS,
		  SW_SIG, SW_BODY, SW_NOW, PLATFORM_OK, "" },
		{ "... or its previous secret (raw bytes)", "gen.example", SW_ID, SW_TS,
		  "SIGN:plain old secret", SW_BODY, SW_NOW, PLATFORM_OK, "" },
		{ "a secret without whsec_ is its own bytes", "raw.example", SW_ID, SW_TS,
		  "SIGN:not a whsec key", SW_BODY, SW_NOW, PLATFORM_OK, "" },
		{ "... and not base64 of them", "raw.example", SW_ID, SW_TS, SW_SIG,
		  SW_BODY, SW_NOW, PLATFORM_UNAUTHORIZED, "bad signature" },
		{ "a broken whsec_ secret", "bad.example", SW_ID, SW_TS, SW_SIG, SW_BODY,
		  SW_NOW, PLATFORM_UNAUTHORIZED,
		  "shop's generic_secret is not whsec_ + base64" },
	};
	struct shops *ss = load_shops();
	struct platform_result res;
	const struct shop *shop;
	struct hdrs h;
	char *sig;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct platform_req req = {
			.request_id = "t", .path_tail = "", .body = cases[i].body,
			.body_len = strlen(cases[i].body), .header = hdr_lookup,
			.hctx = &h, .now_ms = cases[i].now_ms,
		};

		memset(&h, 0, sizeof h);
		n = 0;
		sig = NULL;
		if (cases[i].sig != NULL && strncmp(cases[i].sig, "SIGN:", 5) == 0)
			sig = sign(cases[i].sig + 5, cases[i].id, cases[i].ts, cases[i].body);
		if (cases[i].shop) {
			h.kv[n++] = "X-Nudge-Shop";
			h.kv[n++] = cases[i].shop;
		}
		if (cases[i].id) {
			h.kv[n++] = "webhook-id";
			h.kv[n++] = cases[i].id;
		}
		if (cases[i].ts) {
			h.kv[n++] = "Webhook-Timestamp";
			h.kv[n++] = cases[i].ts;
		}
		if (cases[i].sig) {
			h.kv[n++] = "WEBHOOK-SIGNATURE";
			h.kv[n++] = sig ? sig : cases[i].sig;
		}
		shop = (const struct shop *)&res;
		memset(&res, 0xff, sizeof res);
		platform_generic.verify(&req, ss, &shop, &res);
		if ((int)res.status != cases[i].status ||
		    strcmp(res.reason, cases[i].reason) != 0)
			fail_msg("%s: got %d \"%s\", want %d \"%s\"", cases[i].name,
			    res.status, res.reason, cases[i].status, cases[i].reason);
		if (cases[i].status == PLATFORM_OK) {
			assert_non_null(shop);
			assert_string_equal(shop->domain, cases[i].shop);
		} else
			assert_null(shop);
		free(sig);
	}
	shops_free(ss);
}

/* Signs body as woo.example's generic sender at NOW_S, verifies, normalizes. */
static void
run(struct shops *ss, const char *id, const char *body, struct nevent *ev,
    struct platform_result *res)
{
	char *sig = sign(SW_KEY, id, NOW_S, body);
	struct hdrs h = { { "X-Nudge-Shop", "woo.example", "webhook-id", id,
	    "webhook-timestamp", NOW_S, "webhook-signature", sig } };
	struct platform_req req = {
		.request_id = "t", .path_tail = "", .body = body,
		.body_len = strlen(body), .header = hdr_lookup, .hctx = &h,
		.now_ms = NOW_MS + 1234,
	};
	const struct shop *shop = NULL;

	platform_generic.verify(&req, ss, &shop, res);
	if (res->status != PLATFORM_OK)
		fail_msg("verify: %d %s", res->status, res->reason);
	nevent_init(ev);
	platform_generic.normalize(&req, shop, ev, res);
	assert_ptr_equal(ev->shop, shop);
	free(sig);
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

#define EQ(got, want) do {				\
	if ((want) != NULL)				\
		assert_string_equal(got, want);		\
	else						\
		assert_null(got);			\
} while (0)

/* One row per event; body is a fixture file name or inline JSON. */
static void
test_normalize(void **state)
{
	static const struct {
		const char	*body;
		enum event_kind	 kind;
		const char	*order_id, *order_name, *checkout_token, *checkout_id;
		const char	*cart_token, *fulfillment_id, *status;
		const char	*email, *phone, *first_name, *locale;
		int		 consent_email, consent_sms;
		long long	 occurred_ms;
		const char	*ctx;	/* "null": no context */
	} cases[] = {
		{ "order_placed.json", EVENT_ORDER_PLACED,
		  "820982911946154508", "#1001", "c1a2b3d4e5f60718", "820982911946154509",
		  "ct-9f2e", NULL, NULL,
		  "maria@example.gr", "+306912345678", "Μαρία", "el", 1, 0,
		  1714546800000LL,
		  "{\"id\":\"820982911946154508\",\"name\":\"#1001\",\"number\":\"1001\","
		  "\"currency\":\"EUR\",\"total\":\"42.40\",\"subtotal\":\"37.90\","
		  "\"status_url\":\"https://shop.example/orders/820982911946154508/status\","
		  "\"created_at\":\"2024-05-01T09:59:58+03:00\",\"email\":\"maria@example.gr\","
		  "\"phone\":\"+306912345678\",\"first_name\":\"Μαρία\","
		  "\"last_name\":\"Παπαδοπούλου\",\"locale\":\"el\","
		  "\"checkout_token\":\"c1a2b3d4e5f60718\",\"cart_token\":\"ct-9f2e\","
		  "\"items\":[{\"title\":\"Κούπα\",\"variant\":\"Μπλε\",\"quantity\":2,"
		  "\"price\":\"12.50\",\"sku\":\"MUG-BLUE\",\"product_id\":\"9007199254740993\","
		  "\"variant_id\":\"9007199254740995\","
		  "\"image\":\"https://shop.example/img/mug-blue.jpg\"},"
		  "{\"title\":\"Gift wrap\",\"quantity\":1,\"price\":\"12.90\"}],"
		  "\"shipping_address\":{\"first_name\":\"Μαρία\",\"city\":\"Αθήνα\","
		  "\"country\":\"GR\",\"zip\":\"10563\",\"address1\":\"Ερμού 12\"}}" },
		{ "order_shipped.json", EVENT_ORDER_SHIPPED,
		  "820982911946154508", "#1001", NULL, NULL, NULL, "4903196917972",
		  "in_transit", "maria@example.gr", NULL, "Μαρία", "el", -1, -1,
		  1714638600000LL,
		  "{\"order_id\":\"820982911946154508\",\"order_name\":\"#1001\","
		  "\"fulfillment_id\":\"4903196917972\",\"status\":\"in_transit\","
		  "\"tracking_company\":\"ACS Courier\",\"tracking_number\":\"7301234567\","
		  "\"tracking_url\":\"https://track.example/acs?n=7301234567\","
		  "\"estimated_delivery_at\":\"2024-05-04T12:00:00Z\","
		  "\"happened_at\":\"2024-05-02T08:30:00Z\",\"email\":\"maria@example.gr\","
		  "\"first_name\":\"Μαρία\",\"locale\":\"el\","
		  "\"items\":[{\"title\":\"Κούπα\",\"variant\":\"Μπλε\",\"quantity\":2}]}" },
		{ "cart_abandoned.json", EVENT_CART_ABANDONED,
		  NULL, NULL, "9f86d081884c7d659a2feaa0c55ad015", "9223372036854775807",
		  "crt-1", NULL, NULL, "ana@example.com", NULL, "Ana", "pt-BR", 1, -1,
		  1714759200000LL,
		  "{\"token\":\"9f86d081884c7d659a2feaa0c55ad015\","
		  "\"checkout_id\":\"9223372036854775807\",\"cart_token\":\"crt-1\","
		  "\"email\":\"ana@example.com\",\"first_name\":\"Ana\",\"locale\":\"pt-BR\","
		  "\"currency\":\"BRL\",\"total\":\"89.90\",\"subtotal\":\"80.00\","
		  "\"url\":\"https://shop.example/cart/recover/9f86d081884c7d659a2feaa0c55ad015\","
		  "\"updated_at\":\"2024-05-03T18:00:00Z\","
		  "\"items\":[{\"title\":\"Caneca\",\"quantity\":1,\"price\":\"80.00\","
		  "\"product_id\":\"123\",\"image\":\"https://shop.example/img/caneca.jpg\"}]}" },
		{ "customer_redact.json", EVENT_CUSTOMER_REDACT,
		  NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		  "gone@example.com", "+15550001111", NULL, NULL, -1, -1, NOW_MS,
		  "{\"orders\":[\"820982911946154508\",\"1002\"]}" },
		{ "{\"type\":\"order_cancelled\",\"order\":{\"id\":9223372036854775806,"
		  "\"number\":\"A-7\"},\"customer\":{\"email\":\"X@Y.Z\"}}",
		  EVENT_ORDER_CANCELLED, "9223372036854775806", "#A-7", NULL, NULL, NULL,
		  NULL, NULL, "x@y.z", NULL, NULL, NULL, -1, -1, NOW_MS,
		  "{\"id\":\"9223372036854775806\",\"name\":\"#A-7\",\"number\":\"A-7\","
		  "\"email\":\"x@y.z\",\"items\":[]}" },
		{ "{\"type\":\"order_out_for_delivery\",\"occurred_at\":\"2024-05-04T07:00:00Z\","
		  "\"order\":{\"id\":\"1\",\"name\":\"#1\",\"items\":[{\"title\":\"Mug\","
		  "\"quantity\":1,\"price\":\"5.00\"}]},\"shipment\":{\"fulfillment_id\":\"f-1\","
		  "\"status\":\"out_for_delivery\"},\"customer\":{\"phone\":\"+15550002222\","
		  "\"sms_consent\":true}}",
		  EVENT_ORDER_OUT_FOR_DELIVERY, "1", "#1", NULL, NULL, NULL, "f-1",
		  "out_for_delivery", NULL, "+15550002222", NULL, NULL, -1, 1,
		  1714806000000LL,
		  "{\"order_id\":\"1\",\"order_name\":\"#1\",\"fulfillment_id\":\"f-1\","
		  "\"status\":\"out_for_delivery\",\"happened_at\":\"2024-05-04T07:00:00Z\","
		  "\"phone\":\"+15550002222\",\"items\":[{\"title\":\"Mug\",\"quantity\":1}]}" },
		{ "{\"type\":\"order_delivered\",\"order\":{\"id\":18446744073709551}}",
		  EVENT_ORDER_DELIVERED, "18446744073709551", NULL, NULL, NULL, NULL, NULL,
		  NULL, NULL, NULL, NULL, NULL, -1, -1, NOW_MS,
		  "{\"order_id\":\"18446744073709551\","
		  "\"happened_at\":\"2024-05-03T18:00:00Z\"}" },
		{ "{\"type\":\"shipment_failed\",\"order\":{\"id\":2},\"shipment\":"
		  "{\"fulfillment_id\":77,\"status\":\"failure\",\"tracking_number\":\"T1\"}}",
		  EVENT_SHIPMENT_FAILED, "2", NULL, NULL, NULL, NULL, "77", "failure",
		  NULL, NULL, NULL, NULL, -1, -1, NOW_MS,
		  "{\"order_id\":\"2\",\"fulfillment_id\":\"77\",\"status\":\"failure\","
		  "\"tracking_number\":\"T1\",\"happened_at\":\"2024-05-03T18:00:00Z\"}" },
		{ "{\"type\":\"cart_closed\",\"customer\":{\"email\":\"ana@example.com\"}}",
		  EVENT_CART_CLOSED, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		  "ana@example.com", NULL, NULL, NULL, -1, -1, NOW_MS,
		  "{\"email\":\"ana@example.com\",\"updated_at\":\"2024-05-03T18:00:00Z\","
		  "\"items\":[]}" },
		{ "{\"type\":\"cart_abandoned\",\"checkout\":{\"token\":4611686018427387904}}",
		  EVENT_CART_ABANDONED, NULL, NULL, "4611686018427387904", NULL, NULL, NULL,
		  NULL, NULL, NULL, NULL, NULL, -1, -1, NOW_MS,
		  "{\"token\":\"4611686018427387904\","
		  "\"updated_at\":\"2024-05-03T18:00:00Z\",\"items\":[]}" },
		{ "{\"type\":\"shop_redact\"}", EVENT_SHOP_REDACT,
		  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		  -1, -1, NOW_MS, "{}" },
		{ "{\"type\":\"data_request\",\"customer\":{\"phone\":\"+15550003333\"}}",
		  EVENT_DATA_REQUEST, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		  NULL, "+15550003333", NULL, NULL, -1, -1, NOW_MS, "{}" },
	};
	struct platform_result res;
	struct shops *ss = load_shops();
	struct nevent ev;
	char *rel, *path, *body, *id;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (cases[i].body[0] == '{')
			body = xstrdup(cases[i].body);
		else {
			rel = xasprintf("tests/fixtures/generic/%s", cases[i].body);
			path = unit_path(rel);
			body = unit_slurp(path, &len);
			free(path);
			free(rel);
		}
		id = xasprintf("msg_%zu_2Yv9", i);
		run(ss, id, body, &ev, &res);
		if (res.status != PLATFORM_OK)
			fail_msg("case %zu: %d %s", i, res.status, res.reason);
		assert_int_equal(ev.kind, cases[i].kind);
		assert_string_equal(ev.topic, nevent_kind_name(cases[i].kind));
		free(body);
		body = xasprintf("sw:%s", id);
		assert_string_equal(ev.delivery, body);
		EQ(ev.order_id, cases[i].order_id);
		EQ(ev.order_name, cases[i].order_name);
		EQ(ev.checkout_token, cases[i].checkout_token);
		EQ(ev.checkout_id, cases[i].checkout_id);
		EQ(ev.cart_token, cases[i].cart_token);
		EQ(ev.fulfillment_id, cases[i].fulfillment_id);
		EQ(ev.status, cases[i].status);
		EQ(ev.email, cases[i].email);
		EQ(ev.phone, cases[i].phone);
		EQ(ev.first_name, cases[i].first_name);
		EQ(ev.locale, cases[i].locale);
		assert_int_equal(ev.consent_email, cases[i].consent_email);
		assert_int_equal(ev.consent_sms, cases[i].consent_sms);
		assert_int_equal(ev.occurred_ms, cases[i].occurred_ms);
		if (strcmp(cases[i].ctx, "null") == 0)
			assert_null(ev.ctx);
		else
			assert_ctx(ev.ctx, cases[i].ctx);
		nevent_free(&ev);
		free(body);
		free(id);
	}
	shops_free(ss);
}

static void
test_normalize_errors(void **state)
{
	static const struct {
		const char	*body;
		const char	*reason;	/* prefix */
	} cases[] = {
		{ "{\"type\":\"order_paid\"}", "unknown event type order_paid" },
		{ "{\"type\":\"none\"}", "unknown event type none" },
		{ "{\"type\":\"\"}", "missing type" },
		{ "{\"type\":7}", "missing type" },
		{ "{}", "missing type" },
		{ "{\"type\":\"order_placed\"", "body is not a JSON object: " },
		{ "[]", "body is not a JSON object" },
		{ "{\"type\":\"order_placed\"}", "order_placed needs order.id" },
		{ "{\"type\":\"order_shipped\",\"order\":{\"id\":null}}",
		  "order_shipped needs order.id" },
		{ "{\"type\":\"order_placed\",\"order\":{\"id\":8.2e17}}",
		  "order.id must be a string or an integer" },
		{ "{\"type\":\"order_placed\",\"order\":{\"id\":\"\"}}",
		  "order.id must be a string or an integer" },
		{ "{\"type\":\"order_placed\",\"order\":[1]}", "\"order\" must be an object" },
		{ "{\"type\":\"cart_abandoned\",\"customer\":\"a@b.c\"}",
		  "\"customer\" must be an object" },
		{ "{\"type\":\"cart_abandoned\",\"customer\":{\"phone\":\"+1555\"}}",
		  "cart_abandoned needs checkout.token or customer.email" },
		{ "{\"type\":\"cart_closed\",\"checkout\":{\"url\":\"https://x\"}}",
		  "cart_closed needs checkout.token or customer.email" },
		{ "{\"type\":\"customer_redact\",\"orders\":[1]}",
		  "customer_redact needs customer.email or customer.phone" },
		{ "{\"type\":\"order_placed\",\"occurred_at\":\"yesterday\",\"order\":{\"id\":1}}",
		  "occurred_at is not an ISO-8601 time" },
		{ "{\"type\":\"order_placed\",\"order\":{\"id\":1},"
		  "\"customer\":{\"email_consent\":\"yes\"}}",
		  "customer consent must be true or false" },
		{ "{\"type\":\"order_placed\",\"order\":{\"id\":1},"
		  "\"customer\":{\"sms_consent\":1}}",
		  "customer consent must be true or false" },
		{ "{\"type\":\"order_placed\",\"order\":{\"id\":184467440737095516150}}",
		  "body is not a JSON object: " },
	};
	struct platform_result res;
	struct shops *ss = load_shops();
	struct nevent ev;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		run(ss, "msg_err", cases[i].body, &ev, &res);
		if (res.status != PLATFORM_INVALID ||
		    strncmp(res.reason, cases[i].reason, strlen(cases[i].reason)) != 0)
			fail_msg("%s: got %d \"%s\", want INVALID \"%s\"", cases[i].body,
			    res.status, res.reason, cases[i].reason);
		/* The delivery is known before the body is read. */
		assert_string_equal(ev.delivery, "sw:msg_err");
		assert_null(ev.ctx);
		nevent_free(&ev);
	}
	shops_free(ss);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_normalize_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
