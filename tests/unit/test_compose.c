/*
 * compose: the template context of a claimed message (money formatted for
 * the language, the parts templates read) and the rendering of the shipped
 * templates from their parsed form. The claimed context is shared with the
 * composed one, so it is checked to come out untouched.
 */
#include <jansson.h>

#include "unit.h"
#include "compose.h"
#include "config.h"
#include "render.h"
#include "sched.h"
#include "shops.h"

static const char *shops_json =
    "[{\"domain\": \"demo.myshopify.com\", \"platform\": \"shopify\", \"secret\": \"s\","
    " \"name\": \"Demo\", \"timezone\": \"Europe/Athens\", \"locale\": \"en\","
    " \"from_email\": \"hello@demo.example\"}]";

static const char *order_json =
    "{\"order\": {\"name\": \"#1042\", \"currency\": \"EUR\", \"total\": \"1234.5\","
    " \"subtotal\": \"1200\", \"email\": \"anna@example.gr\", \"first_name\": \"Anna\","
    " \"locale\": \"el\", \"items\": [{\"title\": \"Mug\", \"quantity\": 2, \"price\": \"12.5\","
    " \"line_price\": \"25\"}, {\"title\": \"Oil\", \"quantity\": 1, \"price\": \"30\"}, \"odd\"],"
    " \"shipping_address\": {\"city\": \"Athens\"}},"
    " \"ship\": {\"tracking_number\": \"TRK1\", \"status\": \"in_transit\"},"
    " \"ship_delivered\": {\"status\": \"delivered\"},"
    " \"note\": {\"text\": \"hi\"}}";

static struct sched_msg *
msg_new(const char *template)
{
	struct sched_msg *m = xcalloc(1, sizeof *m);

	m->id = xstrdup("4f1c2a9be07d5e3a6b8c0d12");
	m->token = xstrdup("t");
	m->flow = xstrdup("order");
	m->step = xstrdup("confirmation");
	m->shop = xstrdup("demo.myshopify.com");
	m->subject = xstrdup("o:1042");
	m->customer = xstrdup("");
	m->channel = xstrdup("email");
	m->cls = xstrdup("transactional");
	m->template = xstrdup(template);
	m->attempts = 1;
	m->ctx = json_loads(order_json, 0, NULL);
	assert_non_null(m->ctx);
	return m;
}

static const char *
str_at(json_t *root, const char *a, const char *b)
{
	return json_string_value(json_object_get(json_object_get(root, a), b));
}

static void
test_context_money_and_parts(void **state)
{
	struct shops *ss = NULL;
	struct sched_msg *m = msg_new("order_confirmation");
	struct config cfg;
	char *cause = NULL, *before, *after;
	json_t *c, *items;

	(void)state;
	memset(&cfg, 0, sizeof cfg);
	cfg.public_url = "http://127.0.0.1:8080";
	if (shops_load_str(shops_json, 16, &ss, &cause) != 0)
		fail_msg("%s", cause);
	before = json_dumps(m->ctx, JSON_SORT_KEYS | JSON_COMPACT);

	c = compose_context(&cfg, shops_at(ss, 0), m, "el");
	assert_string_equal(str_at(c, "order", "total"), "1.234,50\xc2\xa0€");
	assert_string_equal(str_at(c, "order", "subtotal"), "1.200,00\xc2\xa0€");
	assert_string_equal(str_at(c, "order", "name"), "#1042");
	items = json_object_get(json_object_get(c, "order"), "items");
	assert_int_equal(json_array_size(items), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "price")),
	    "12,50\xc2\xa0€");
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0),
	    "line_price")), "25,00\xc2\xa0€");
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "title")),
	    "Mug");
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 1), "price")),
	    "30,00\xc2\xa0€");
	assert_string_equal(json_string_value(json_array_get(items, 2)), "odd");
	assert_string_equal(str_at(c, "note", "text"), "hi");
	/* the shipment: parts merged in order, the order's name added */
	assert_string_equal(str_at(c, "ship", "tracking_number"), "TRK1");
	assert_string_equal(str_at(c, "ship", "status"), "delivered");
	assert_string_equal(str_at(c, "ship", "order_name"), "#1042");
	assert_null(json_object_get(c, "ship_delivered"));
	assert_string_equal(str_at(c, "customer", "first_name"), "Anna");
	assert_string_equal(str_at(c, "shop", "url"), "https://demo.myshopify.com");
	assert_string_equal(str_at(c, "message", "step"), "confirmation");

	/* the claimed context is shared, never changed */
	after = json_dumps(m->ctx, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(after, before);
	free(after);
	json_decref(c);
	after = json_dumps(m->ctx, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(after, before);
	free(after);
	free(before);

	/* English formats the same amounts its own way */
	c = compose_context(&cfg, shops_at(ss, 0), m, "en");
	assert_string_equal(str_at(c, "order", "total"), "€1,234.50");
	json_decref(c);
	sched_msg_free(m);
	shops_free(ss);
}

/* The shipped order confirmation, rendered twice from the parsed templates. */
static void
test_message_from_parsed_templates(void **state)
{
	struct templates *t = NULL;
	struct shops *ss = NULL;
	struct sched_msg *m = msg_new("order_confirmation");
	struct composed out;
	struct config cfg;
	char *dir = unit_path("templates"), *cause = NULL, *first;
	int i, missing = -1;

	(void)state;
	memset(&cfg, 0, sizeof cfg);
	cfg.public_url = "http://127.0.0.1:8080";
	if (shops_load_str(shops_json, 16, &ss, &cause) != 0 ||
	    templates_load(dir, &t, &cause) != 0)
		fail_msg("%s", cause);
	first = NULL;
	for (i = 0; i < 2; i++) {
		if (compose_message(t, &cfg, shops_at(ss, 0), m, &out, &cause) != COMPOSE_OK)
			fail_msg("compose: %s", cause);
		assert_string_equal(out.to, "anna@example.gr");
		assert_string_equal(out.locale, "el");
		if (missing == -1)
			missing = out.missing;
		assert_int_equal(out.missing, missing);
		assert_non_null(strstr(out.subject, "#1042"));
		assert_non_null(strstr(out.html, "1.234,50"));
		assert_non_null(strstr(out.text, "Mug"));
		if (first == NULL)
			first = xstrdup(out.html);
		else
			assert_string_equal(out.html, first);	/* nothing kept between renders */
		/* once the request is built, only the recipient stays */
		compose_free_parts(&out);
		assert_null(out.subject);
		assert_null(out.html);
		assert_null(out.text);
		assert_string_equal(out.to, "anna@example.gr");
		compose_free(&out);
	}
	free(first);
	templates_free(t);
	shops_free(ss);
	sched_msg_free(m);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_context_money_and_parts),
		cmocka_unit_test(test_message_from_parsed_templates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
