/*
 * test_shops: loading the tenant list (errors name the shop and field,
 * defaults), and finding a shop by domain, URL or another field.
 */
#include "unit.h"

#include <fcntl.h>

#include "shops.h"

static const char *shops_json =
    "[{\"domain\":\"shop.example\",\"platform\":\"shopify\","
    "\"secret\":\"s1\",\"previous_secret\":\"old_secret\","
    "\"timezone\":\"Europe/Athens\",\"token\":\"t0ken\"},"
    " {\"domain\":\"https://Woo.Example/\",\"platform\":\"woocommerce\","
    "\"secret\":\"wsecret\",\"name\":\"Woo Shop\"}]";

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
test_shops_errors(void **state)
{
	static const struct {
		const char	*json;
		const char	*cause;
	} cases[] = {
		{ "[{\"domain\":\"a.example\",\"platform\":\"shopify\",\"secret\":\"x\"},"
		  "{\"domain\":\"foo.myshopify.com\",\"platform\":\"magento\",\"secret\":\"x\"}]",
		  "shops: shop 2 (foo.myshopify.com): \"platform\" must be \"shopify\", "
		  "\"woocommerce\" or \"generic\"" },
		{ "[{\"domain\":\"a.example\",\"platform\":\"shopify\"}]",
		  "shops: shop 1 (a.example): \"secret\" must be a non-empty string" },
		{ "[{\"domain\":\"a.example\",\"platform\":\"shopify\",\"secret\":\"\"}]",
		  "shops: shop 1 (a.example): \"secret\" must be a non-empty string" },
		{ "[{\"domain\":\"A.example\",\"platform\":\"shopify\",\"secret\":\"x\"},"
		  "{\"domain\":\"b.example\",\"platform\":\"shopify\",\"secret\":\"x\"},"
		  "{\"domain\":\"https://a.example/\",\"platform\":\"generic\",\"secret\":\"y\"}]",
		  "shops: shop 3 (a.example): duplicate domain (also shop 1)" },
		{ "[{\"platform\":\"shopify\",\"secret\":\"x\"}]",
		  "shops: shop 1: \"domain\" must be a non-empty string" },
		{ "[{\"domain\":\"https:///\",\"platform\":\"shopify\",\"secret\":\"x\"}]",
		  "shops: shop 1: \"domain\" is not a domain" },
		{ "[{\"domain\":\"a.example\",\"platform\":\"shopify\",\"secret\":\"x\","
		  "\"timezone\":3}]",
		  "shops: shop 1 (a.example): \"timezone\" must be a string" },
		{ "[\"a.example\"]", "shops: shop 1: must be an object" },
		{ "{\"a.example\":{}}", "shops: must be a JSON array of shops "
		  "(or an object with a \"shops\" array)" },
		{ "[", "shops: line 1 column 1: " },
	};
	struct shops *ss;
	char *cause;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cause = NULL;
		ss = (struct shops *)&cause;
		assert_int_equal(shops_load_str(cases[i].json, 16, &ss, &cause), -1);
		assert_null(ss);
		assert_non_null(cause);
		if (strncmp(cause, cases[i].cause, strlen(cases[i].cause)) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, cause, cases[i].cause);
		free(cause);
	}
}

static void
test_shops_load(void **state)
{
	char tmpl[] = "/tmp/nudge-shops-XXXXXX", *cause = NULL, *want;
	struct shops *ss = NULL;
	const struct shop *s;
	int fd;

	(void)state;
	/* The {"shops": [...]} form, from a file; defaults filled in. */
	fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	dprintf(fd, "{\"shops\": %s}", shops_json);
	close(fd);
	if (shops_load(tmpl, 16, &ss, &cause) != 0)
		fail_msg("%s", cause);
	assert_int_equal(shops_count(ss), 2);
	s = shops_at(ss, 0);
	assert_string_equal(s->domain, "shop.example");
	assert_int_equal(s->platform, PLATFORM_SHOPIFY);
	assert_string_equal(s->previous_secret, "old_secret");
	assert_string_equal(s->timezone, "Europe/Athens");
	assert_string_equal(s->locale, "en");
	assert_string_equal(s->from_email, "no-reply@shop.example");
	assert_string_equal(s->from_name, "shop.example");
	assert_string_equal(s->name, "shop.example");
	assert_int_equal(s->partition, 1);	/* FNV-1a("shop.example") % 16 */
	assert_string_equal(json_string_value(json_object_get(s->raw, "token")), "t0ken");
	s = shops_at(ss, 1);
	assert_string_equal(s->domain, "woo.example");
	assert_int_equal(s->platform, PLATFORM_WOOCOMMERCE);
	assert_null(s->previous_secret);
	assert_string_equal(s->timezone, "UTC");
	assert_string_equal(s->from_name, "Woo Shop");
	assert_null(shops_at(ss, 2));
	shops_free(ss);

	/* Errors from a file name the file. */
	fd = open(tmpl, O_WRONLY | O_TRUNC);
	dprintf(fd, "[{\"domain\":\"x.example\",\"platform\":\"shopify\"}]");
	close(fd);
	assert_int_equal(shops_load(tmpl, 16, &ss, &cause), -1);
	want = xasprintf("shops file %s: shop 1 (x.example): \"secret\" must be "
	    "a non-empty string", tmpl);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	unlink(tmpl);
	assert_int_equal(shops_load(tmpl, 16, &ss, &cause), -1);
	assert_non_null(strstr(cause, tmpl));
	free(cause);
}

static void
test_shops_find(void **state)
{
	static const struct {
		const char	*in;
		const char	*want;	/* domain found, or NULL */
	} cases[] = {
		{ "shop.example", "shop.example" },
		{ "HTTPS://Shop.Example/", "shop.example" },
		{ "http://shop.example", "shop.example" },
		{ "https://shop.example/wp/?x=1", "shop.example" },
		{ "Woo.Example", "woo.example" },
		{ "shop.example:8443", NULL },		/* the port is kept */
		{ "shop.exampl", NULL },
		{ "", NULL },
	};
	struct shops *ss = load_shops(), *many = NULL;
	const struct shop *s;
	char norm[SHOPS_DOMAIN_MAX], *cause = NULL;
	struct buf b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		s = shops_find(ss, cases[i].in);
		if (cases[i].want == NULL && s != NULL)
			fail_msg("\"%s\" found %s", cases[i].in, s->domain);
		if (cases[i].want != NULL && (s == NULL || strcmp(s->domain, cases[i].want)))
			fail_msg("\"%s\" not found", cases[i].in);
	}
	shops_normalize_domain("HTTPS://Shop.Example:8443/path", norm, sizeof norm);
	assert_string_equal(norm, "shop.example:8443");
	shops_normalize_domain("https://shop.example", norm, 5);
	assert_string_equal(norm, "shop");

	assert_ptr_equal(shops_find_by(ss, "token", "t0ken"), shops_at(ss, 0));
	assert_null(shops_find_by(ss, "token", "t0ke"));
	assert_null(shops_find_by(ss, "token", "t0kem"));
	assert_ptr_equal(shops_find_by(ss, "name", "Woo Shop"), shops_at(ss, 1));

	assert_int_equal(shops_partition("a", 1000), 220);	/* 0xe40c292c */
	assert_int_equal(shops_partition("HTTPS://A/", 1000), 220);
	assert_int_equal(shops_partition("a", 0), 0);

	/* Hundreds of shops: every one is found, through the sorted index. */
	buf_init(&b);
	buf_addc(&b, '[');
	for (i = 0; i < 500; i++)
		buf_printf(&b, "%s{\"domain\":\"s%03zu.myshopify.com\","
		    "\"platform\":\"shopify\",\"secret\":\"k%zu\"}", i ? "," : "",
		    (i * 7919) % 500, i);
	buf_addc(&b, ']');
	if (shops_load_str(b.data, 64, &many, &cause) != 0)
		fail_msg("%s", cause);
	for (i = 0; i < 500; i++) {
		snprintf(norm, sizeof norm, "https://S%03zu.myshopify.com/", i);
		s = shops_find(many, norm);
		assert_non_null(s);
		snprintf(norm, sizeof norm, "s%03zu.myshopify.com", i);
		assert_string_equal(s->domain, norm);
		assert_true(s->partition >= 0 && s->partition < 64);
	}
	assert_null(shops_find(many, "s500.myshopify.com"));
	buf_free(&b);
	shops_free(many);
	shops_free(ss);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shops_errors),
		cmocka_unit_test(test_shops_load),
		cmocka_unit_test(test_shops_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
