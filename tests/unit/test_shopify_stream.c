/*
 * test_shopify_stream: the order topics' streaming reader (shopify_stream),
 * as tables.
 *
 * order_cases holds the reference: every event field and the context, as
 * the exact bytes of json_dumps(ctx, JSON_COMPACT | JSON_SORT_KEYS), that
 * the jansson reader it replaced produced for the same body (' for " in
 * the contexts). Each case runs through the stream API with both readers,
 * and through platform_shopify as orders/create and orders/cancelled.
 * Every orders-*.json of tests/fixtures/shopify/ and ../shared (skipped
 * with a note when absent) must have a case.
 *
 * Hostile bodies are checked against json_loadb itself: refused exactly
 * when jansson refuses them, except where docs/parsing.md says otherwise
 * (nesting past 64, a NUL byte after a number; the reason given for an
 * order id past 64 bits).
 */
#include "test_shopify.h"

#include <dirent.h>

#include "shopify_stream.h"

#define YES	1
#define NO	0
#define UNK	(-1)

struct ocase {
	const char	*name;
	const char	*file;		/* under tests/fixtures/shopify/, or */
	const char	*shared;	/* under ../shared/fixtures/shopify/, or */
	const char	*body;		/* inline */
	int		 status;	/* PLATFORM_OK unless said */
	const char	*reason;	/* when not OK */
	const char	*order_id, *order_name;
	const char	*checkout_token, *checkout_id, *cart_token;
	const char	*email, *phone, *first_name, *locale;
	const char	*cancel_reason;	/* ev->status of orders/cancelled */
	int		 consent_email, consent_sms;	/* YES, NO, UNK: always said */
	long long	 occurred_ms;
	const char	*ctx;		/* sorted, compact, ' for " */
};

static const struct ocase order_cases[] = {
	{ .name = "cancelled order", .file = "orders-cancelled.json",
	  .order_id = "5912345678901", .order_name = "#1042",
	  .checkout_token = "a3f9c1e07b2d4e5f8a6b9c0d1e2f3a4b",
	  .checkout_id = "35012345678900",
	  .cart_token = "Z2NwLWV1cm9wZS13ZXN0MTowMUhRM0tH",
	  .email = "anna.papadopoulou@example.gr", .phone = "+306912345678",
	  .first_name = "Anna", .locale = "el", .cancel_reason = "customer",
	  .consent_email = NO, .consent_sms = YES,
	  .occurred_ms = 1732083300000LL,
	  .ctx = "{'cart_token':'Z2NwLWV1cm9wZS13ZXN0MTowMUhRM0tH',"
	    "'checkout_token':'a3f9c1e07b2d4e5f8a6b9c0d1e2f3a4b',"
	    "'created_at':'2024-11-19T21:03:12+02:00','currency':'EUR',"
	    "'email':'anna.papadopoulou@example.gr','first_name':'Anna',"
	    "'id':'5912345678901','items':[{'price':'12.50',"
	    "'product_id':'7701234567890','quantity':2,'sku':'MUG-BLUE',"
	    "'title':'Ceramic Mug','variant':'Blue',"
	    "'variant_id':'42001234567890'},{'price':'8.00',"
	    "'product_id':'7701234567891','quantity':1,'sku':'TOWEL',"
	    "'title':'Tea Towel','variant_id':'42001234567891'}],"
	    "'last_name':'Papadopoulou','locale':'el','name':'#1042',"
	    "'number':'1042','phone':'+306912345678',"
	    "'shipping_address':{'address1':'Ermou 12','city':'Athens',"
	    "'country':'Greece','first_name':'Anna','zip':'10563'},"
	    "'status_url':'https://demo.myshopify.com/60123456789/orders/"
	    "0c1d2e3f/authenticate?key=abc',"
	    "'subtotal':'33.00','total':'33.00'}" },
	{ .name = "small order: Greek, 64-bit ids, escapes",
	  .file = "orders-create-small.json",
	  .order_id = "6012345678901234567", .order_name = "#1107",
	  .checkout_token = "c4ca4238a0b923820dcc509a6f75849b",
	  .checkout_id = "36012345678901",
	  .cart_token = "Z2NwLWV1cm9wZS13ZXN0MTowMUhRM0tQ",
	  .email = "eleni@example.gr", .phone = "+30 691 234 5678",
	  .first_name = "Ελένη", .locale = "el",
	  .consent_email = YES, .consent_sms = UNK,
	  .occurred_ms = 1739518214000LL,
	  .ctx = "{'cart_token':'Z2NwLWV1cm9wZS13ZXN0MTowMUhRM0tQ',"
	    "'checkout_token':'c4ca4238a0b923820dcc509a6f75849b',"
	    "'created_at':'2025-02-14T09:30:12+02:00','currency':'EUR',"
	    "'email':'eleni@example.gr','first_name':'Ελένη',"
	    "'id':'6012345678901234567','items':[{'price':'36.90',"
	    "'product_id':'7801234567890','quantity':1,'sku':'MUG-BLUE-GR',"
	    "'title':'Κούπα κεραμική','variant':'Μπλε',"
	    "'variant_id':'9223372036854775807'}],"
	    "'last_name':'Παπαδοπούλου','locale':'el','name':'#1107',"
	    "'number':'1107','phone':'+30 691 234 5678',"
	    "'shipping_address':{'address1':'Ερμού 12','city':'Αθήνα',"
	    "'country':'Greece','first_name':'Ελένη','zip':'10563'},"
	    "'status_url':'https://demo.myshopify.com/60123456789/orders/"
	    "9f86d081884c7d65/authenticate?key=5f4dcc3b',"
	    "'subtotal':'36.90','total':'41.90'}" },
	{ .name = "official orders/create", .shared = "orders-create.json",
	  .order_id = "450789469", .order_name = "#1001",
	  .checkout_token = "bd5a8aa1ecd019dd3520ff791ee3a24c",
	  .checkout_id = "901414060",
	  .cart_token = "68778783ad298f1c80c3bafcddeea02f",
	  .email = "bob.norman@mail.example.com", .phone = "+557734881234",
	  .first_name = "Bob", .consent_email = NO, .consent_sms = NO,
	  .occurred_ms = 1199980800000LL,
	  .ctx = "{'cart_token':'68778783ad298f1c80c3bafcddeea02f',"
	    "'checkout_token':'bd5a8aa1ecd019dd3520ff791ee3a24c',"
	    "'created_at':'2008-01-10T11:00:00-05:00','currency':'USD',"
	    "'email':'bob.norman@mail.example.com','first_name':'Bob',"
	    "'id':'450789469','items':[{'price':'199.00',"
	    "'product_id':'632910392','quantity':1,'sku':'IPOD2008GREEN',"
	    "'title':'IPod Nano - 8gb','variant':'green',"
	    "'variant_id':'39072856'},{'price':'199.00',"
	    "'product_id':'632910392','quantity':1,'sku':'IPOD2008RED',"
	    "'title':'IPod Nano - 8gb','variant':'red',"
	    "'variant_id':'49148385'},{'price':'199.00',"
	    "'product_id':'632910392','quantity':1,'sku':'IPOD2008BLACK',"
	    "'title':'IPod Nano - 8gb','variant':'black',"
	    "'variant_id':'457924702'}],'last_name':'Norman',"
	    "'name':'#1001','number':'1001','phone':'+557734881234',"
	    "'shipping_address':{'address1':'Chestnut Street 92',"
	    "'city':'Louisville','country':'United States',"
	    "'first_name':'Bob','zip':'40202'},"
	    "'status_url':'https://jsmith.myshopify.com/548380009/orders/"
	    "b1946ac92492d2347c6235b4d2611184/"
	    "authenticate?key=imasecretipod',"
	    "'subtotal':'597.00','total':'598.94'}" },
	{ .name = "id as a string", .body = "{\"id\":\"77\"}",
	  .order_id = "77", .consent_email = UNK, .consent_sms = UNK,
	  .ctx = "{'id':'77','items':[]}" },
	{ .name = "negative zero", .body = "{\"id\":-0,\"order_number\":-0}",
	  .order_id = "0", .consent_email = UNK, .consent_sms = UNK,
	  .ctx = "{'id':'0','items':[],'number':'0'}" },
	{ .name = "64-bit extremes",
	  .body = "{\"id\":9223372036854775807,"
	    "\"checkout_id\":-9223372036854775808,"
	    "\"line_items\":[{\"product_id\":9223372036854775807,"
	    "\"variant_id\":\"01\"}]}",
	  .order_id = "9223372036854775807",
	  .checkout_id = "-9223372036854775808",
	  .consent_email = UNK, .consent_sms = UNK,
	  .ctx = "{'id':'9223372036854775807',"
	    "'items':[{'product_id':'9223372036854775807',"
	    "'variant_id':'01'}]}" },
	{ .name = "contact fallbacks",
	  .body = "{\"id\":1,\"contact_email\":\" X@Y.example \","
	    "\"customer\":{\"email\":\"c@x.example\"},"
	    "\"billing_address\":{\"phone\":\"+30 1\","
	    "\"first_name\":\"Bill\",\"last_name\":\"B\"},"
	    "\"shipping_address\":{\"phone\":\"+30 2\","
	    "\"first_name\":\"Ship\",\"last_name\":\"S\"}}",
	  .order_id = "1", .email = "x@y.example", .phone = "+30 1",
	  .first_name = "Bill", .consent_email = UNK, .consent_sms = UNK,
	  .ctx = "{'email':'x@y.example','first_name':'Bill',"
	    "'id':'1','items':[],'last_name':'B','phone':'+30 1',"
	    "'shipping_address':{'first_name':'Ship'}}" },
	{ .name = "empty strings are absent",
	  .body = "{\"id\":1,\"email\":\"\",\"phone\":\"\","
	    "\"customer\":{\"email\":\"C@X.example\",\"phone\":\"\","
	    "\"first_name\":\"\"},"
	    "\"shipping_address\":{\"phone\":\"+30 2\","
	    "\"first_name\":\"Ship\",\"city\":\"Athens\",\"zip\":\"\"}}",
	  .order_id = "1", .email = "c@x.example", .phone = "+30 2",
	  .first_name = "Ship", .consent_email = UNK, .consent_sms = UNK,
	  .ctx = "{'email':'c@x.example','first_name':'Ship',"
	    "'id':'1','items':[],'phone':'+30 2',"
	    "'shipping_address':{'city':'Athens','first_name':'Ship'}}" },
	{ .name = "duplicate keys: the last wins",
	  .body = "{\"id\":1,\"email\":\"a@x.example\","
	    "\"email\":null,\"name\":null,\"name\":\"#2\","
	    "\"customer\":{\"email\":\"c@x.example\",\"first_name\":\"C\","
	    "\"email_marketing_consent\":{\"state\":\"subscribed\"}},"
	    "\"customer\":{\"phone\":\"+1\","
	    "\"sms_marketing_consent\":{\"state\":\"subscribed\"},"
	    "\"sms_marketing_consent\":{\"state\":\"unsubscribed\"}},"
	    "\"line_items\":[{\"title\":\"a\"}],"
	    "\"line_items\":[{\"title\":\"b\",\"quantity\":3,"
	    "\"quantity\":\"4\"},{\"title\":\"c\","
	    "\"image\":{\"src\":\"s\"},\"image\":\"t\"}],"
	    "\"buyer_accepts_marketing\":true,"
	    "\"buyer_accepts_marketing\":null}",
	  .order_id = "1", .order_name = "#2", .phone = "+1",
	  .consent_email = UNK, .consent_sms = NO,
	  .ctx = "{'id':'1','items':[{'title':'b'},{'image':'t',"
	    "'title':'c'}],'name':'#2','phone':'+1'}" },
	{ .name = "duplicate id, the last null",
	  .body = "{\"id\":1,\"id\":null}",
	  .status = PLATFORM_INVALID, .reason = "order has no id" },
	{ .name = "line items of every shape",
	  .body = "{\"id\":1,\"line_items\":[1,\"x\",null,"
	    "[{\"title\":\"nested\"}],{\"title\":\"ok\",\"quantity\":2.0},"
	    "{\"quantity\":-0,\"product_id\":-0,\"variant_id\":\"\","
	    "\"sku\":\"\"}]}",
	  .order_id = "1", .consent_email = UNK, .consent_sms = UNK,
	  .ctx = "{'id':'1','items':[{'title':'ok'},"
	    "{'product_id':'0','quantity':0}]}" },
	{ .name = "item images",
	  .body = "{\"id\":1,"
	    "\"line_items\":[{\"image\":{\"src\":\"s\"},"
	    "\"image_url\":\"u\"},{\"image\":{\"src\":\"\"},"
	    "\"image_url\":\"u\"},{\"image\":\"i\",\"image_url\":\"u\"},"
	    "{\"image\":{\"src\":\"s\"},\"image\":\"t\"},{\"image\":\"t\","
	    "\"image\":{\"x\":1}},{\"image\":[\"a\"],\"image_url\":\"u\"}]}",
	  .order_id = "1", .consent_email = UNK, .consent_sms = UNK,
	  .ctx = "{'id':'1','items':[{'image':'s'},{'image':'u'},"
	    "{'image':'i'},{'image':'t'},{},{'image':'u'}]}" },
	{ .name = "containers of the wrong type",
	  .body = "{\"id\":1,"
	    "\"customer\":[{\"email\":\"c@x.example\"}],"
	    "\"shipping_address\":\"x\","
	    "\"billing_address\":[{\"phone\":\"1\"}],"
	    "\"line_items\":{\"title\":\"a\"}}",
	  .order_id = "1", .consent_email = UNK, .consent_sms = UNK,
	  .ctx = "{'id':'1','items':[]}" },
	{ .name = "consent object beats the boolean",
	  .body = "{\"id\":1,\"buyer_accepts_marketing\":false,"
	    "\"customer\":{\"email_marketing_consent\":{\"state\":\"subscribed\"},"
	    "\"sms_marketing_consent\":{\"state\":\"redacted\"}}}",
	  .order_id = "1", .consent_email = YES, .consent_sms = NO,
	  .ctx = "{'id':'1','items':[]}" },
	{ .name = "consent state unknown: the boolean",
	  .body = "{\"id\":1,\"buyer_accepts_marketing\":true,"
	    "\"customer\":{\"email_marketing_consent\":{\"state\":\"weird\"},"
	    "\"sms_marketing_consent\":{\"state\":\"pending\"}}}",
	  .order_id = "1", .consent_email = YES, .consent_sms = NO,
	  .ctx = "{'id':'1','items':[]}" },
	{ .name = "consent not an object",
	  .body = "{\"id\":1,\"buyer_accepts_marketing\":\"yes\","
	    "\"customer\":{\"email_marketing_consent\":\"subscribed\","
	    "\"sms_marketing_consent\":[{\"state\":\"subscribed\"}]}}",
	  .order_id = "1", .consent_email = UNK, .consent_sms = UNK,
	  .ctx = "{'id':'1','items':[]}" },
	{ .name = "escapes",
	  .body = "{\"id\":\"\\u0031\\u0032\","
	    "\"name\":\"\\\"#1\\\"\\/\\\\\","
	    "\"email\":\"Caf\\u00e9@x.example\","
	    "\"customer\":{\"first_name\":\"\\ud83d\\ude00\"}}",
	  .order_id = "12", .order_name = "\"#1\"/\\",
	  .email = "café@x.example", .first_name = "😀",
	  .consent_email = UNK, .consent_sms = UNK,
	  .ctx = "{'email':'café@x.example','first_name':'😀',"
	    "'id':'12','items':[],'name':'\\'#1\\'/\\\\'}" },
	{ .name = "UTF-8 as is",
	  .body = "{\"id\":1,\"name\":\"Ελένη ☕ 😀\","
	    "\"line_items\":[{\"title\":\"Κούπα\"}]}",
	  .order_id = "1", .order_name = "Ελένη ☕ 😀",
	  .consent_email = UNK, .consent_sms = UNK,
	  .ctx = "{'id':'1','items':[{'title':'Κούπα'}],"
	    "'name':'Ελένη ☕ 😀'}" },
	{ .name = "updated_at that does not parse",
	  .body = "{\"id\":1,\"updated_at\":\"bad\","
	    "\"created_at\":\"2024-01-01T00:00:00Z\"}",
	  .order_id = "1", .consent_email = UNK, .consent_sms = UNK,
	  .occurred_ms = 1704067200000LL,
	  .ctx = "{'created_at':'2024-01-01T00:00:00Z','id':'1',"
	    "'items':[]}" },
	{ .name = "updated_at not a string",
	  .body = "{\"id\":1,\"updated_at\":5,"
	    "\"created_at\":\"2024-01-01T00:00:00+02:00\"}",
	  .order_id = "1", .consent_email = UNK, .consent_sms = UNK,
	  .occurred_ms = 1704060000000LL,
	  .ctx = "{'created_at':'2024-01-01T00:00:00+02:00',"
	    "'id':'1','items':[]}" },
	{ .name = "cancel reason",
	  .body = "{\"id\":1,\"cancel_reason\":\"fraud\"}", .order_id = "1",
	  .cancel_reason = "fraud", .consent_email = UNK, .consent_sms = UNK,
	  .ctx = "{'id':'1','items':[]}" },
	{ .name = "keys of other objects are not the order's",
	  .body = "{\"id\":1,"
	    "\"note_attributes\":[{\"name\":\"email\",\"value\":\"x\"}],"
	    "\"x\":{\"email\":\"no@x.example\",\"id\":5,"
	    "\"customer\":{\"email\":\"no@x.example\"}},"
	    "\"refunds\":[{\"line_items\":[{\"title\":\"refunded\"}]}]}",
	  .order_id = "1", .consent_email = UNK, .consent_sms = UNK,
	  .ctx = "{'id':'1','items':[]}" },
	{ .name = "reals are no ids nor quantities",
	  .body = "{\"id\":1,\"checkout_id\":1.0,"
	    "\"order_number\":1e3,\"line_items\":[{\"quantity\":2.0,"
	    "\"product_id\":1.5,\"variant_id\":-1E-2}]}",
	  .order_id = "1", .consent_email = UNK, .consent_sms = UNK,
	  .ctx = "{'id':'1','items':[{}]}" },
	{ .name = "nested shop_domain is not the body's",
	  .body = "{\"id\":1,"
	    "\"customer\":{\"shop_domain\":\"other.example\"}}",
	  .order_id = "1", .consent_email = UNK, .consent_sms = UNK,
	  .ctx = "{'id':'1','items':[]}" },
	{ .name = "id as a double", .body = "{\"id\":4.5e8}",
	  .status = PLATFORM_INVALID, .reason = "order has no id" },
	{ .name = "id true", .body = "{\"id\":true}",
	  .status = PLATFORM_INVALID, .reason = "order has no id" },
	{ .name = "id empty", .body = "{\"id\":\"\"}",
	  .status = PLATFORM_INVALID, .reason = "order has no id" },
	{ .name = "id an object", .body = "{\"id\":{\"id\":1}}",
	  .status = PLATFORM_INVALID, .reason = "order has no id" },
};

/* The body of c, or NULL when it needs ../shared and that is absent. */
static char *
case_body(const struct ocase *c, size_t *len)
{
	char *rel, *path, *body;

	if (c->body != NULL) {
		*len = strlen(c->body);
		return xstrdup(c->body);
	}
	if (c->shared != NULL) {
		rel = xasprintf("fixtures/shopify/%s", c->shared);
		path = unit_shared(rel);
	} else {
		rel = xasprintf("tests/fixtures/shopify/%s", c->file);
		path = unit_path(rel);
	}
	free(rel);
	if (path == NULL)
		return NULL;
	body = unit_slurp(path, len);
	free(path);
	return body;
}

/* ev (read by `how`) against c: every field, the context byte for byte. */
static void
check_event(const struct ocase *c, const char *how, const struct nevent *ev,
    int cancelled)
{
	char *name = xasprintf("%s (%s)", c->name, how);
	char *want = dq(c->ctx), *got;

	check_str(name, "order_id", ev->order_id, c->order_id);
	check_str(name, "order_name", ev->order_name, c->order_name);
	check_str(name, "checkout_token", ev->checkout_token, c->checkout_token);
	check_str(name, "checkout_id", ev->checkout_id, c->checkout_id);
	check_str(name, "cart_token", ev->cart_token, c->cart_token);
	check_str(name, "email", ev->email, c->email);
	check_str(name, "phone", ev->phone, c->phone);
	check_str(name, "first_name", ev->first_name, c->first_name);
	check_str(name, "locale", ev->locale, c->locale);
	check_str(name, "status", ev->status, cancelled ? c->cancel_reason : NULL);
	check_str(name, "fulfillment_id", ev->fulfillment_id, NULL);
	if (ev->consent_email != c->consent_email || ev->consent_sms != c->consent_sms)
		fail_msg("%s: consent %d/%d, want %d/%d", name, ev->consent_email,
		    ev->consent_sms, c->consent_email, c->consent_sms);
	if (ev->occurred_ms != c->occurred_ms)
		fail_msg("%s: occurred_ms %lld, want %lld", name,
		    (long long)ev->occurred_ms, c->occurred_ms);
	got = ev->ctx == NULL ? NULL :
	    json_dumps(ev->ctx, JSON_COMPACT | JSON_SORT_KEYS);
	check_str(name, "ctx", got, want);
	free(got);
	free(want);
	free(name);
}

static void
check_result(const struct ocase *c, const char *how,
    const struct platform_result *res)
{
	const char *reason = c->reason != NULL ? c->reason : "";

	if ((int)res->status != c->status || strcmp(res->reason, reason) != 0)
		fail_msg("%s (%s): got %d \"%s\", want %d \"%s\"", c->name, how,
		    res->status, res->reason, c->status, reason);
}

/* The stream API itself, with each reader. */
static void
run_stream(const struct ocase *c, const char *body, size_t len, int cancelled)
{
	const char *how = cancelled ? "stream, cancelled" : "stream, placed";
	struct platform_result res;
	struct shopify_stream *so;
	struct nevent ev;
	int rc;

	nevent_init(&ev);
	memset(&res, 0, sizeof res);
	if ((so = shopify_stream_parse(body, len, &res)) != NULL) {
		rc = cancelled ? shopify_stream_order_cancelled(so, &ev, &res) :
		    shopify_stream_order_placed(so, &ev, &res);
		if (rc == 0)
			platform_result_set(&res, PLATFORM_OK, "%s", "");
		shopify_stream_free(so);
	}
	check_result(c, how, &res);
	if (res.status == PLATFORM_OK)
		check_event(c, how, &ev, cancelled);
	nevent_free(&ev);
}

/* The server's path: verify, then normalize under the topic. */
static void
run_platform(struct shops *ss, const struct ocase *c, const char *body,
    size_t len, int cancelled)
{
	const char *topic = cancelled ? "orders/cancelled" : "orders/create";
	enum event_kind kind = cancelled ? EVENT_ORDER_CANCELLED : EVENT_ORDER_PLACED;
	struct platform_result res;
	struct nevent ev;

	run_normalize(ss, NULL, topic, body, len, &ev, &res);
	check_result(c, topic, &res);
	if (res.status == PLATFORM_OK) {
		if (ev.kind != kind)
			fail_msg("%s (%s): kind %s", c->name, topic,
			    nevent_kind_name(ev.kind));
		check_event(c, topic, &ev, cancelled);
	} else if (ev.kind != EVENT_NONE)
		fail_msg("%s (%s): kind on a refusal", c->name, topic);
	nevent_free(&ev);
}

static void
test_orders(void **state)
{
	struct shops *ss = load_shops();
	size_t i, len, skipped = 0;
	char *body;
	int cancelled;

	(void)state;
	for (i = 0; i < sizeof order_cases / sizeof order_cases[0]; i++) {
		const struct ocase *c = &order_cases[i];

		if ((body = case_body(c, &len)) == NULL) {
			skipped++;
			continue;
		}
		for (cancelled = 0; cancelled < 2; cancelled++) {
			run_stream(c, body, len, cancelled);
			run_platform(ss, c, body, len, cancelled);
		}
		free(body);
	}
	if (skipped > 0)
		fprintf(stderr, "note: skipped %zu case(s) that need ../shared\n",
		    skipped);
	shops_free(ss);
}

/* Fails when an orders-*.json of dir has no case (shared: of ../shared). */
static void
check_dir_covered(const char *dir, int shared)
{
	struct dirent *de;
	size_t i;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		fail_msg("cannot open %s", dir);
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		size_t l = strlen(n);

		if (strncmp(n, "orders-", 7) != 0 || l < 5 ||
		    strcmp(n + l - 5, ".json") != 0)
			continue;
		for (i = 0; i < sizeof order_cases / sizeof order_cases[0]; i++) {
			const char *f = shared ? order_cases[i].shared :
			    order_cases[i].file;

			if (f != NULL && strcmp(f, n) == 0)
				break;
		}
		if (i == sizeof order_cases / sizeof order_cases[0])
			fail_msg("%s/%s has no case in order_cases", dir, n);
	}
	closedir(d);
}

static void
test_every_order_fixture(void **state)
{
	char *dir;

	(void)state;
	dir = unit_path("tests/fixtures/shopify");
	check_dir_covered(dir, 0);
	free(dir);
	if ((dir = unit_shared("fixtures/shopify")) != NULL) {
		check_dir_covered(dir, 1);
		free(dir);
	}
}

/*
 * What json_loadb says of body: 1 when it is an object, 0 when it is
 * refused or not an object.
 */
static int
jansson_accepts(const char *body, size_t len)
{
	json_t *j = json_loadb(body, len, 0, NULL);
	int ok = json_is_object(j);

	json_decref(j);
	return ok;
}

/*
 * Parses body; checks the status and reason (prefix) against want, and
 * that it is refused exactly when jansson refuses it unless differs.
 */
static void
check_parse(const char *name, const char *body, size_t len, int want_ok,
    const char *want_reason, int differs)
{
	struct platform_result res;
	struct shopify_stream *so;
	int ok;

	memset(&res, 0, sizeof res);
	so = shopify_stream_parse(body, len, &res);
	ok = so != NULL;
	shopify_stream_free(so);
	if (ok != want_ok)
		fail_msg("%s: %s \"%s\"", name, ok ? "accepted" : "refused", res.reason);
	if (!ok && (res.status != PLATFORM_INVALID ||
	    strncmp(res.reason, want_reason, strlen(want_reason)) != 0))
		fail_msg("%s: %d \"%s\", want \"%s\"", name, res.status,
		    res.reason, want_reason);
	if (!differs && jansson_accepts(body, len) != ok)
		fail_msg("%s: jansson %s it", name, ok ? "refuses" : "accepts");
}

#define NOTOBJ	"body is not a JSON object"
#define NOTJSON	"body is not a JSON object: "

static void
test_hostile(void **state)
{
	static const struct {
		const char	*name;
		const char	*body;
		size_t		 len;		/* 0: strlen */
		int		 ok;		/* parsed */
		const char	*reason;	/* prefix, when not ok */
		int		 differs;	/* from jansson, documented */
	} cases[] = {
		/* Not an object. */
		{ "empty", "", 0, 0, NOTJSON, 0 },
		{ "white space", " \r\n\t", 0, 0, NOTJSON, 0 },
		{ "array", "[{\"id\":1}]", 0, 0, NOTOBJ, 0 },
		{ "number", "5", 0, 0, NOTOBJ, 0 },
		{ "string", "\"x\"", 0, 0, NOTOBJ, 0 },
		{ "null", "null", 0, 0, NOTOBJ, 0 },
		{ "true", "true", 0, 0, NOTOBJ, 0 },
		/* Not JSON. */
		{ "truncated", "{\"id\":1,\"name\":\"#1", 0, 0, NOTJSON, 0 },
		{ "truncated number", "{\"id\":1", 0, 0, NOTJSON, 0 },
		{ "trailing data", "{\"id\":1} x", 0, 0, NOTJSON, 0 },
		{ "two objects", "{\"id\":1}{}", 0, 0, NOTJSON, 0 },
		/* yajl alone takes these for a string still to come. */
		{ "unterminated string after", "{\"id\":1} \"x", 0, 0,
		  NOTJSON "trailing garbage", 0 },
		{ "quote after", "{\"id\":{}}\"", 0, 0, NOTJSON "trailing garbage", 0 },
		{ "white space after", "{\"id\":1} \r\n\t ", 0, 1, NULL, 0 },
		{ "trailing comma", "{\"id\":1,}", 0, 0, NOTJSON, 0 },
		{ "comment", "{\"id\":1 /* c */}", 0, 0, NOTJSON, 0 },
		{ "single quotes", "{'id':1}", 0, 0, NOTJSON, 0 },
		{ "leading zero", "{\"id\":01}", 0, 0, NOTJSON, 0 },
		{ "plus sign", "{\"id\":+1}", 0, 0, NOTJSON, 0 },
		{ "NaN", "{\"id\":NaN}", 0, 0, NOTJSON, 0 },
		{ "byte order mark", "\xef\xbb\xbf{\"id\":1}", 0, 0, NOTJSON, 0 },
		{ "NUL after the object", "{\"id\":1}\0", 9, 0, NOTJSON, 0 },
		{ "NUL in a string", "{\"id\":\"\0\"}", 10, 0, NOTJSON, 0 },
		/* jansson's reader skips a NUL that follows a number. */
		{ "NUL after a number", "{\"id\":4\0}", 9, 0, NOTJSON, 1 },
		/* White space and control characters. */
		{ "tab, CR, LF around", " \t\r\n{\"id\":1}\n\t ", 0, 1, NULL, 0 },
		{ "form feed as white space", "{\"id\":1,\f\"x\":1}", 0, 0, NOTJSON, 0 },
		{ "vertical tab as white space", "{\"id\":1,\v\"x\":1}", 0, 0, NOTJSON, 0 },
		{ "raw tab in a string", "{\"id\":1,\"x\":\"a\tb\"}", 0, 0, NOTJSON, 0 },
		{ "control byte in a string", "{\"id\":1,\"x\":\"a\x01" "b\"}", 0, 0,
		  NOTJSON, 0 },
		{ "DEL in a string", "{\"id\":1,\"x\":\"a\x7f" "b\"}", 0, 1, NULL, 0 },
		/* UTF-8. */
		{ "Latin-1", "{\"id\":1,\"name\":\"caf\xe9\"}", 0, 0, NOTJSON, 0 },
		{ "overlong NUL", "{\"id\":1,\"x\":\"\xc0\x80\"}", 0, 0, NOTJSON, 0 },
		{ "overlong 3 bytes", "{\"id\":1,\"x\":\"\xe0\x80\x80\"}", 0, 0, NOTJSON, 0 },
		{ "surrogate", "{\"id\":1,\"x\":\"\xed\xa0\x80\"}", 0, 0, NOTJSON, 0 },
		{ "past U+10FFFF", "{\"id\":1,\"x\":\"\xf4\x90\x80\x80\"}", 0, 0,
		  NOTJSON, 0 },
		{ "F5 lead byte", "{\"id\":1,\"x\":\"\xf5\x80\x80\x80\"}", 0, 0,
		  NOTJSON, 0 },
		{ "lone continuation", "{\"id\":1,\"x\":\"\x80\"}", 0, 0, NOTJSON, 0 },
		{ "sequence cut by the quote", "{\"id\":1,\"x\":\"\xce\"}", 0, 0,
		  NOTJSON, 0 },
		{ "sequence cut by the end", "{\"id\":1}\xce", 0, 0, NOTJSON, 0 },
		{ "UTF-8 outside a string", "{\"id\":1,\xce\xb1:1}", 0, 0, NOTJSON, 0 },
		{ "4-byte UTF-8", "{\"id\":1,\"x\":\"\xf0\x9f\x98\x80\"}", 0, 1, NULL, 0 },
		/* Escapes. */
		{ "\\u0000 in a value", "{\"id\":1,\"name\":\"a\\u0000b\"}", 0, 0,
		  NOTJSON, 0 },
		{ "\\u0000 in a key", "{\"id\":1,\"a\\u0000b\":1}", 0, 0, NOTJSON, 0 },
		{ "lone high surrogate", "{\"id\":1,\"x\":\"\\ud800\"}", 0, 0, NOTJSON, 0 },
		{ "high surrogate, then text", "{\"id\":1,\"x\":\"\\ud800x\"}", 0, 0,
		  NOTJSON, 0 },
		{ "lone low surrogate", "{\"id\":1,\"x\":\"\\udc00\"}", 0, 0, NOTJSON, 0 },
		{ "high surrogate, then not low", "{\"id\":1,\"x\":\"\\ud800\\u0041\"}", 0,
		  0, NOTJSON, 0 },
		{ "two high surrogates", "{\"id\":1,\"x\":\"\\ud800\\ud800\"}", 0, 0,
		  NOTJSON, 0 },
		{ "surrogate pair", "{\"id\":1,\"x\":\"\\uD83D\\uDE00\"}", 0, 1, NULL, 0 },
		{ "escaped backslash, then u", "{\"id\":1,\"x\":\"\\\\ud800\"}", 0, 1,
		  NULL, 0 },
		{ "not hex", "{\"id\":1,\"x\":\"\\u00g0\"}", 0, 0, NOTJSON, 0 },
		{ "short \\u", "{\"id\":1,\"x\":\"\\u00\"}", 0, 0, NOTJSON, 0 },
		{ "unknown escape", "{\"id\":1,\"x\":\"\\x\"}", 0, 0, NOTJSON, 0 },
		/*
		 * Numbers. An integer past 64 bits, anywhere, is refused as
		 * jansson refuses it; when it is the order's id the reason
		 * says so.
		 */
		{ "id past 64 bits", "{\"id\":99999999999999999999}", 0, 0,
		  "order id out of range", 0 },
		{ "id 2^63", "{\"id\":9223372036854775808}", 0, 0,
		  "order id out of range", 0 },
		{ "id -2^63 - 1", "{\"id\":-9223372036854775809}", 0, 0,
		  "order id out of range", 0 },
		{ "id -2^63", "{\"id\":-9223372036854775808}", 0, 1, NULL, 0 },
		{ "nested id past 64 bits", "{\"x\":{\"id\":99999999999999999999},"
		  "\"id\":1}", 0, 0, NOTJSON "integer out of range", 0 },
		{ "another integer past 64 bits", "{\"id\":1,\"x\":[99999999999999999999]}",
		  0, 0, NOTJSON "integer out of range", 0 },
		{ "quantity past 64 bits", "{\"id\":1,\"line_items\":[{\"quantity\":"
		  "-99999999999999999999}]}", 0, 0, NOTJSON "integer out of range", 0 },
		{ "real overflow", "{\"id\":1,\"x\":1e400}", 0, 0,
		  NOTJSON "real number overflow", 0 },
		{ "negative real overflow", "{\"id\":1,\"x\":-1.5E+400}", 0, 0,
		  NOTJSON "real number overflow", 0 },
		{ "real underflow", "{\"id\":1,\"x\":1e-400}", 0, 1, NULL, 0 },
		{ "400 digits, then a fraction", "{\"id\":1,\"x\":1"
		  "0000000000000000000000000000000000000000000000000000000000000000000000"
		  "0000000000000000000000000000000000000000000000000000000000000000000000"
		  "0000000000000000000000000000000000000000000000000000000000000000000000"
		  "0000000000000000000000000000000000000000000000000000000000000000000000"
		  "0000000000000000000000000000000000000000000000000000000000000000000000"
		  "000000000000000000000000000000000000000000000000.5}", 0, 0,
		  NOTJSON "real number overflow", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_parse(cases[i].name, cases[i].body,
		    cases[i].len ? cases[i].len : strlen(cases[i].body),
		    cases[i].ok, cases[i].reason, cases[i].differs);
}

/*
 * Nesting: 64 open containers, the order's own included, are read; one
 * more is refused (jansson would go on to 2048). A body of 100,000 '['
 * stops at the limit: yajl's state stack and ours never grow past it.
 */
static void
test_depth(void **state)
{
	static const struct {
		const char	*name;
		const char	*head, *open, *mid, *close, *tail;
		size_t		 n;		/* times open (and close) */
		int		 ok, differs;
		const char	*reason;
	} cases[] = {
		{ "64 levels", "{\"id\":1,\"x\":", "[", "", "]", "}", 63, 1, 0, NULL },
		{ "65 levels", "{\"id\":1,\"x\":", "[", "", "]", "}", 64, 0, 1,
		  NOTJSON "nested too deep" },
		{ "65 objects", "", "{\"a\":", "1", "}", "", 65, 0, 1,
		  NOTJSON "nested too deep" },
		{ "100,000 '[' in the order", "{\"id\":1,\"x\":", "[", "", "", "",
		  100000, 0, 0, NOTJSON "nested too deep" },
		{ "100,000 '['", "", "[", "", "", "", 100000, 0, 0, NOTOBJ },
		{ "100,000 '{\"a\":'", "", "{\"a\":", "", "", "", 100000, 0, 0,
		  NOTJSON "nested too deep" },
	};
	struct buf b;
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		buf_init(&b);
		buf_adds(&b, cases[i].head);
		for (j = 0; j < cases[i].n; j++)
			buf_adds(&b, cases[i].open);
		buf_adds(&b, cases[i].mid);
		for (j = 0; j < cases[i].n; j++)
			buf_adds(&b, cases[i].close);
		buf_adds(&b, cases[i].tail);
		check_parse(cases[i].name, b.data, b.len, cases[i].ok,
		    cases[i].reason, cases[i].differs);
		buf_free(&b);
	}
}

/* Every strict prefix of a real order is refused, as jansson refuses it. */
static void
test_truncated(void **state)
{
	char *path = unit_path("tests/fixtures/shopify/orders-create-small.json");
	char *raw, *body, *name;
	size_t len, i;
	json_t *j;

	(void)state;
	raw = unit_slurp(path, &len);
	j = json_loadb(raw, len, 0, NULL);
	assert_non_null(j);
	body = json_dumps(j, JSON_COMPACT);	/* as Shopify sends it */
	len = strlen(body);
	for (i = 0; i < len; i++) {
		name = xasprintf("first %zu bytes", i);
		check_parse(name, body, i, 0, NOTJSON, 0);
		free(name);
	}
	check_parse("whole body", body, len, 1, NULL, 0);
	json_decref(j);
	free(body);
	free(raw);
	free(path);
}

/*
 * shop_domain: the top-level string only. A body naming another shop is
 * refused before its order is read, as for every Shopify topic.
 */
static void
test_shop_domain(void **state)
{
	static const struct {
		const char	*body;
		const char	*domain;	/* shopify_stream_shop_domain */
		int		 status;	/* through platform_shopify */
		const char	*reason;
	} cases[] = {
		{ "{\"id\":1,\"shop_domain\":\"https://SHOP.example/\"}",
		  "https://SHOP.example/", PLATFORM_OK, "" },
		{ "{\"id\":1,\"shop_domain\":\"other.example\"}", "other.example",
		  PLATFORM_UNAUTHORIZED, "shop_domain does not match" },
		{ "{\"shop_domain\":\"other.example\"}", "other.example",
		  PLATFORM_UNAUTHORIZED, "shop_domain does not match" },
		{ "{\"shop_domain\":\"other.example\",\"id\":1,\"shop_domain\":null}",
		  NULL, PLATFORM_OK, "" },
		{ "{\"id\":1,\"shop_domain\":\"\"}", NULL, PLATFORM_OK, "" },
		{ "{\"id\":1,\"customer\":{\"shop_domain\":\"other.example\"}}", NULL,
		  PLATFORM_OK, "" },
	};
	struct shops *ss = load_shops();
	struct platform_result res;
	struct shopify_stream *so;
	struct nevent ev;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		so = shopify_stream_parse(cases[i].body, strlen(cases[i].body), &res);
		assert_non_null(so);
		check_str(cases[i].body, "shop_domain", shopify_stream_shop_domain(so),
		    cases[i].domain);
		shopify_stream_free(so);
		run_normalize(ss, NULL, "orders/create", cases[i].body,
		    strlen(cases[i].body), &ev, &res);
		if ((int)res.status != cases[i].status ||
		    strcmp(res.reason, cases[i].reason) != 0)
			fail_msg("%s: %d \"%s\"", cases[i].body, res.status, res.reason);
		nevent_free(&ev);
	}
	shops_free(ss);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_orders),
		cmocka_unit_test(test_every_order_fixture),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_shop_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
