/*
 * test_cartflows: the CartFlows abandonment webhook as tables: token
 * authentication from the URL path, the form decoder (percent escapes,
 * '+', UTF-8), the plugin's real forms (Greek names, the session id hidden
 * in wcf_ac_token, esc_url's "&#038;"), dedupe keys and every refusal.
 */
#include "unit.h"

#include "form.h"
#include "nevent.h"
#include "platform.h"
#include "pnorm.h"
#include "shops.h"

#define TOKEN	"cf_4f9d2c61b7e04a8c9e1d3b5a7f60c2e8"

static const char *shops_json =
    "[{\"domain\":\"woo.example\",\"platform\":\"woocommerce\",\"secret\":\"w\","
    "\"cartflows_token\":\"" TOKEN "\"},"
    " {\"domain\":\"other.example\",\"platform\":\"shopify\",\"secret\":\"s\","
    "\"cartflows_token\":\"cf_other_token_0123456789abcdef\"},"
    " {\"domain\":\"none.example\",\"platform\":\"woocommerce\",\"secret\":\"n\"}]";

/*
 * http_build_query() of what the plugin sends (generated with Python's
 * urlencode, which encodes the same way), around order_status.
 */
#define CF_HEAD \
    "first_name=%CE%9C%CE%B1%CF%81%CE%AF%CE%B1" \
    "&last_name=%CE%A0%CE%B1%CF%80%CE%B1%CE%B4%CE%BF%CF%80%CE%BF%CF%8D%CE%BB%CE%BF%CF%85" \
    "&phone_number=%2B30+691+234+5678" \
    "&billing_address=+%CE%95%CF%81%CE%BC%CE%BF%CF%8D+12%2C+I%2C+GR%2C+%CE%91%CE%B8%CE%AE%CE%BD%CE%B1%2C+10563" \
    "&shipping_address=%CE%95%CF%81%CE%BC%CE%BF%CF%8D+12%2C+%CE%91%CE%B8%CE%AE%CE%BD%CE%B1%2C+I%2C+10563" \
    "&email=Maria%40Example.GR" \
    "&checkout_url=https%3A%2F%2Fshop.example%2Fcheckout%2F%3Fwcf_ac_token%3D" \
    "d2NmX3Nlc3Npb25faWQ9OGYxNGU0NWZjZWVhMTY3YTVhMzZkZWRkNGJlYTI1NDM%253D" \
    "%26%23038%3Butm_source%3Dnudge" \
    "&product_names=%CE%9A%CE%BF%CF%8D%CF%80%CE%B1%2C+%CE%A4%CF%83%CE%AC%CE%BD%CF%84%CE%B1" \
    "+%26+%CE%9A%CE%AC%CE%BB%CF%84%CF%83%CE%B5%CF%82" \
    "&coupon_code=WELCOME10&order_status="
#define CF_TAIL \
    "&cart_total=42.4" \
    "&product_table=%3Ctable%3E%3Ctr%3E%3Ctd%3E%CE%9A%CE%BF%CF%8D%CF%80%CE%B1" \
    "%3C%2Ftd%3E%3C%2Ftr%3E%3C%2Ftable%3E"

#define CF_CTX(token) \
    "{\"token\":\"" token "\",\"email\":\"maria@example.gr\"," \
    "\"phone\":\"+30 691 234 5678\",\"first_name\":\"Μαρία\"," \
    "\"last_name\":\"Παπαδοπούλου\",\"total\":\"42.4\"," \
    "\"url\":\"https://shop.example/checkout/?wcf_ac_token=" \
    "d2NmX3Nlc3Npb25faWQ9OGYxNGU0NWZjZWVhMTY3YTVhMzZkZWRkNGJlYTI1NDM%3D&utm_source=nudge\"," \
    "\"coupon\":\"WELCOME10\",\"product_names\":\"Κούπα, Τσάντα & Κάλτσες\"," \
    "\"items\":[{\"title\":\"Κούπα\"},{\"title\":\"Τσάντα\"},{\"title\":\"Κάλτσες\"}]}"

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
	static const struct {
		const char	*tail;
		int		 status;
		const char	*reason;
		const char	*domain;
	} cases[] = {
		{ TOKEN, PLATFORM_OK, "", "woo.example" },
		{ TOKEN "/", PLATFORM_OK, "", "woo.example" },
		{ TOKEN "?utm=1", PLATFORM_OK, "", "woo.example" },
		{ "cf_other_token_0123456789abcdef", PLATFORM_OK, "", "other.example" },
		{ "", PLATFORM_UNAUTHORIZED, "missing token", NULL },
		{ "/", PLATFORM_UNAUTHORIZED, "missing token", NULL },
		{ "?" TOKEN, PLATFORM_UNAUTHORIZED, "missing token", NULL },
		{ "cf_4f9d2c61b7e04a8c9e1d3b5a7f60c2e", PLATFORM_UNAUTHORIZED,
		  "unknown token", NULL },	/* one character short */
		{ TOKEN "0", PLATFORM_UNAUTHORIZED, "unknown token", NULL },
		{ "CF_4F9D2C61B7E04A8C9E1D3B5A7F60C2E8", PLATFORM_UNAUTHORIZED,
		  "unknown token", NULL },
		{ "woo.example", PLATFORM_UNAUTHORIZED, "unknown token", NULL },
	};
	struct shops *ss = load_shops();
	struct platform_result res;
	const struct shop *shop;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct platform_req req = {
			.request_id = "t", .path_tail = cases[i].tail,
			.body = "order_status=abandoned", .body_len = 22,
		};

		shop = (const struct shop *)&res;
		memset(&res, 0xff, sizeof res);
		platform_cartflows.verify(&req, ss, &shop, &res);
		if ((int)res.status != cases[i].status ||
		    strcmp(res.reason, cases[i].reason) != 0)
			fail_msg("\"%s\": got %d \"%s\", want %d \"%s\"", cases[i].tail,
			    res.status, res.reason, cases[i].status, cases[i].reason);
		if (cases[i].domain != NULL) {
			assert_non_null(shop);
			assert_string_equal(shop->domain, cases[i].domain);
		} else
			assert_null(shop);
	}
	shops_free(ss);
}

static void
test_form(void **state)
{
	static const struct {
		const char	*in;
		int		 rc;
		const char	*want;	/* "name=value|..." or the cause */
	} cases[] = {
		{ "a=1&b=2", 0, "a=1|b=2|" },
		{ "a=x+y%2By&&b=&c", 0, "a=x y+y|b=|c=|" },
		{ "%CE%B1=%ce%b2", 0, "α=β|" },
		{ "", 0, "" },
		{ "&&", 0, "" },
		{ "a=%4", -1, "invalid %-escape in form value" },
		{ "a=%zz", -1, "invalid %-escape in form value" },
		{ "a%=1", -1, "invalid %-escape in form name" },
		{ "a=%00", -1, "NUL byte in form value" },
		{ "a=%CE", -1, "form value is not UTF-8" },		/* truncated */
		{ "a=%C0%AF", -1, "form value is not UTF-8" },		/* overlong */
		{ "a=%ED%A0%80", -1, "form value is not UTF-8" },	/* surrogate */
		{ "a=%F4%90%80%80", -1, "form value is not UTF-8" },	/* > U+10FFFF */
		{ "a=%F0%9F%98%80", 0, "a=😀|" },
	};
	struct form f;
	struct buf b;
	char *cause;
	size_t i, j;
	int rc;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cause = NULL;
		rc = form_parse(cases[i].in, strlen(cases[i].in), &f, &cause);
		if (rc != cases[i].rc)
			fail_msg("\"%s\": rc %d (%s)", cases[i].in, rc, cause ? cause : "");
		if (rc == 0) {
			buf_init(&b);
			buf_add(&b, "", 0);
			for (j = 0; j < f.n; j++)
				buf_printf(&b, "%s=%s|", f.v[j].name, f.v[j].value);
			assert_string_equal(b.data, cases[i].want);
			buf_free(&b);
		} else {
			assert_string_equal(cause, cases[i].want);
			free(cause);
		}
		form_free(&f);
	}
	assert_int_equal(form_parse("a=1&a=2", 7, &f, &cause), 0);
	assert_string_equal(form_get(&f, "a"), "1");
	assert_null(form_get(&f, "b"));
	form_free(&f);
}

static void
run(struct shops *ss, const char *body, struct nevent *ev, struct platform_result *res)
{
	struct platform_req req = {
		.request_id = "t", .path_tail = TOKEN, .body = body,
		.body_len = strlen(body),
	};
	const struct shop *shop = NULL;

	platform_cartflows.verify(&req, ss, &shop, res);
	if (res->status != PLATFORM_OK)
		fail_msg("verify: %d %s", res->status, res->reason);
	nevent_init(ev);
	platform_cartflows.normalize(&req, shop, ev, res);
	assert_ptr_equal(ev->shop, shop);
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

static void
test_normalize(void **state)
{
	static const struct {
		const char	*name;
		const char	*body;
		int		 status;
		const char	*reason;
		enum event_kind	 kind;
		const char	*token;	/* NULL: "cf:" + the customer key */
		const char	*hash;	/* NULL: computed here */
		const char	*email, *phone, *first_name;
		const char	*ctx;	/* NULL: not checked */
	} cases[] = {
		{ "abandoned, session id in wcf_ac_token",
		  CF_HEAD "abandoned" CF_TAIL, PLATFORM_OK, "", EVENT_CART_ABANDONED,
		  "8f14e45fceea167a5a36dedd4bea2543", "a285bdd01cb8518d",
		  "maria@example.gr", "+30 691 234 5678", "Μαρία",
		  CF_CTX("8f14e45fceea167a5a36dedd4bea2543") },
		{ "recovered: completed closes the same cart",
		  CF_HEAD "completed" CF_TAIL, PLATFORM_OK, "", EVENT_CART_CLOSED,
		  "8f14e45fceea167a5a36dedd4bea2543", "62f3b3666dd8a29e",
		  "maria@example.gr", "+30 691 234 5678", "Μαρία",
		  CF_CTX("8f14e45fceea167a5a36dedd4bea2543") },
		{ "signed token of newer versions",
		  "email=ana%40example.com&order_status=abandoned&checkout_url="
		  "https%3A%2F%2Fshop.example%2F%3Fwcf_ac_token%3Dd2NmX3Nlc3Npb25faWQ9"
		  "YzlmMGY4OTVmYjk4YWI5MTU5ZjUxZmQwMjk3ZTIzNmQmd2NmX2NvdXBvbl9jb2RlPXww"
		  "MTIzYWJjZA%253D%253D&product_names=Mug&cart_total=",
		  PLATFORM_OK, "", EVENT_CART_ABANDONED,
		  "c9f0f895fb98ab9159f51fd0297e236d", NULL,
		  "ana@example.com", NULL, NULL,
		  "{\"token\":\"c9f0f895fb98ab9159f51fd0297e236d\","
		  "\"email\":\"ana@example.com\",\"url\":\"https://shop.example/?wcf_ac_token="
		  "d2NmX3Nlc3Npb25faWQ9YzlmMGY4OTVmYjk4YWI5MTU5ZjUxZmQwMjk3ZTIzNmQmd2NmX2Nv"
		  "dXBvbl9jb2RlPXwwMTIzYWJjZA%3D%3D\",\"product_names\":\"Mug\","
		  "\"items\":[{\"title\":\"Mug\"}]}" },
		{ "a plain wcf_session_id parameter",
		  "phone_number=%2B48600100200&order_status=abandoned&checkout_url="
		  "https%3A%2F%2Fshop.example%2Fcheckout%2F%3Fwcf_session_id%3Dabc123",
		  PLATFORM_OK, "", EVENT_CART_ABANDONED, "abc123", NULL,
		  NULL, "+48600100200", NULL,
		  "{\"token\":\"abc123\",\"phone\":\"+48600100200\","
		  "\"url\":\"https://shop.example/checkout/?wcf_session_id=abc123\","
		  "\"items\":[]}" },
		{ "no link: keyed by the address",
		  "email=Bob%40Example.com&order_status=abandoned&product_names=A%2C+B+%26+C",
		  PLATFORM_OK, "", EVENT_CART_ABANDONED, NULL, NULL,
		  "bob@example.com", NULL, NULL, NULL },
		{ "a token that is not base64: keyed by the address",
		  "email=bob%40example.com&order_status=completed&checkout_url="
		  "https%3A%2F%2Fshop.example%2F%3Fwcf_ac_token%3Dnot-base64",
		  PLATFORM_OK, "", EVENT_CART_CLOSED, NULL, NULL,
		  "bob@example.com", NULL, NULL, NULL },
		{ "other statuses are acknowledged",
		  "email=bob%40example.com&order_status=lost", PLATFORM_IGNORE,
		  "order_status lost not handled", EVENT_NONE, NULL, NULL,
		  NULL, NULL, NULL, NULL },
		{ "no contact", "first_name=Bob&email=&phone_number=&order_status=abandoned",
		  PLATFORM_IGNORE, "no contact", EVENT_NONE, NULL, NULL,
		  NULL, NULL, NULL, NULL },
		{ "no order_status", "email=bob%40example.com", PLATFORM_INVALID,
		  "missing order_status", EVENT_NONE, NULL, NULL, NULL, NULL, NULL, NULL },
		{ "bad escape", "email=bob%4gexample.com&order_status=abandoned",
		  PLATFORM_INVALID, "invalid %-escape in form value", EVENT_NONE,
		  NULL, NULL, NULL, NULL, NULL, NULL },
		{ "not UTF-8", "first_name=%CE&order_status=abandoned",
		  PLATFORM_INVALID, "form value is not UTF-8", EVENT_NONE,
		  NULL, NULL, NULL, NULL, NULL, NULL },
	};
	struct platform_req hreq = { 0 };
	struct platform_result res;
	struct shops *ss = load_shops();
	struct nevent ev;
	char key[33], hash[17], *token, *delivery;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		run(ss, cases[i].body, &ev, &res);
		if ((int)res.status != cases[i].status ||
		    strcmp(res.reason, cases[i].reason) != 0)
			fail_msg("%s: got %d \"%s\", want %d \"%s\"", cases[i].name,
			    res.status, res.reason, cases[i].status, cases[i].reason);
		assert_string_equal(ev.topic, "cartflows");
		if (res.status != PLATFORM_OK) {
			assert_null(ev.ctx);
			assert_null(ev.delivery);
			nevent_free(&ev);
			continue;
		}
		assert_int_equal(ev.kind, cases[i].kind);
#define EQ(got, want) do { if ((want) != NULL) assert_string_equal(got, want); \
	else assert_null(got); } while (0)
		EQ(ev.email, cases[i].email);
		EQ(ev.phone, cases[i].phone);
		EQ(ev.first_name, cases[i].first_name);
#undef EQ
		assert_null(ev.order_id);
		assert_null(ev.locale);
		assert_int_equal(ev.consent_email, -1);
		assert_int_equal(ev.occurred_ms, 0);

		assert_int_equal(nevent_customer_key(&ev, key), 0);
		token = cases[i].token ? xstrdup(cases[i].token) : xasprintf("cf:%s", key);
		assert_string_equal(ev.checkout_token, token);
		hreq.body = cases[i].body;
		hreq.body_len = strlen(cases[i].body);
		pnorm_body_hash(&hreq, hash, 16);
		if (cases[i].hash != NULL)
			assert_string_equal(hash, cases[i].hash);
		delivery = xasprintf("cf:%s:%s:%s", ev.status, token, hash);
		assert_string_equal(ev.delivery, delivery);
		if (cases[i].ctx != NULL)
			assert_ctx(ev.ctx, cases[i].ctx);
		else
			assert_string_equal(json_string_value(json_object_get(ev.ctx,
			    "token")), token);
		free(delivery);
		free(token);
		nevent_free(&ev);
	}
	shops_free(ss);
}

/* product_names as the plugin joins them. */
static void
test_items(void **state)
{
	static const struct {
		const char	*names;	/* form-encoded */
		const char	*want;
	} cases[] = {
		{ "A", "[{\"title\":\"A\"}]" },
		{ "A+%26+B", "[{\"title\":\"A\"},{\"title\":\"B\"}]" },
		{ "A%2C+B%2C+C+%26+D",
		  "[{\"title\":\"A\"},{\"title\":\"B\"},{\"title\":\"C\"},{\"title\":\"D\"}]" },
		{ "+A+%2C+%2C+B+", "[{\"title\":\"A\"},{\"title\":\"B\"}]" },
		{ "", "[]" },
	};
	struct platform_result res;
	struct shops *ss = load_shops();
	struct nevent ev;
	json_t *want;
	char *body;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		body = xasprintf("email=a%%40b.c&order_status=abandoned&product_names=%s",
		    cases[i].names);
		run(ss, body, &ev, &res);
		assert_int_equal(res.status, PLATFORM_OK);
		want = json_loads(cases[i].want, 0, NULL);
		if (!json_equal(want, json_object_get(ev.ctx, "items"))) {
			char *got = json_dumps(ev.ctx, JSON_COMPACT);

			fail_msg("\"%s\": ctx %s", cases[i].names, got);
		}
		json_decref(want);
		nevent_free(&ev);
		free(body);
	}
	shops_free(ss);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_items),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
