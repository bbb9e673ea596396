/*
 * jtree_load against json_loadb: the same value (json_equal, for which an
 * integer never equals a real) for every context shape nudge stores and for the
 * shared fixtures; NULL for what json_loadb refuses among them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "jtree.h"

static void
check(const char *text, size_t len)
{
	json_t *want = json_loadb(text, len, 0, NULL);
	json_t *got = jtree_load(text, len);

	if (want == NULL) {
		if (got != NULL)
			fail_msg("jtree took what json_loadb refuses: %.*s", (int)len, text);
		return;
	}
	if (got == NULL || !json_equal(want, got))
		fail_msg("jtree and json_loadb differ on: %.*s", (int)len, text);
	json_decref(want);
	json_decref(got);
}

static void
test_table(void **state)
{
	static const char *cases[] = {
		"{}", "[]", "{\"a\":1}", "{\"a\":-1.5e3,\"b\":[1,2.0,\"x\",null,true,false]}",
		"{\"items\":[{\"title\":\"Κούπα\",\"quantity\":2,\"price\":\"12.50\"},"
		"{\"title\":\"Ręcznik\",\"image\":\"https://x.example/a.jpg\"}],\"total\":\"84.40\"}",
		"{\"id\":\"99999999999999999999\",\"n\":9223372036854775807,\"m\":-9223372036854775808}",
		"{\"a\":{\"b\":{\"c\":{\"d\":[[[[]]]]}}}}", "{\"dup\":1,\"dup\":2}",
		"{\"esc\":\"a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00\"}", "  {\"ws\" : [ 1 , 2 ] }  ",
		/* refused by both */
		"", "{", "{\"a\":}", "{\"a\":1,}", "[1 2]", "{\"a\":1} x", "{\"a\":\"\\u0000\"}",
		"{\"a\":99999999999999999999}", "nul", "{\"a\":tru}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check(cases[i], strlen(cases[i]));
}

static void
test_fixtures(void **state)
{
	static const char *files[] = {
		"../shared/fixtures/shopify/orders-create.json",
		"tests/fixtures/shopify/orders-create-small.json",
		"tests/fixtures/shopify/orders-cancelled.json",
	};
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof files / sizeof files[0]; i++) {
		FILE *f = fopen(files[i], "rb");
		char *buf;

		if (f == NULL)
			continue;	/* ../shared is not in every checkout */
		buf = malloc(1 << 20);
		n = fread(buf, 1, 1 << 20, f);
		fclose(f);
		check(buf, n);
		free(buf);
	}
}

static void
test_depth(void **state)
{
	char deep[300];
	json_t *v;

	(void)state;
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	v = jtree_load(deep, 200);	/* past JTREE_DEPTH: refused, nothing leaked */
	assert_null(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_depth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
