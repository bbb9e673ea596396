/*
 * provider_json: the request body writer gives byte for byte what jansson's
 * json_dumps(JSON_COMPACT) gives for the same object, refuses what jansson
 * refuses (strings that are not UTF-8), and names the member at fault.
 */
#include <jansson.h>

#include "unit.h"
#include "provider.h"

/* Every kind of byte: escapes, controls, DEL, 2- to 4-byte UTF-8, and broken UTF-8. */
static const char *const pj_strings[] = {
	"",
	"plain ascii 0123456789 ~!@#$%^&*()_+{}|:<>?/",
	"quote \" backslash \\ slash /",
	"\b\f\n\r\t",
	"\x01\x02\x03\x07\x0b\x0e\x1a\x1b\x1f",
	"del \x7f",
	"Γεια σου Άννα, καλή συνέχεια",
	"€ ₹ ∑ 中文 日本語",
	"emoji 😀 𝄞 U+10FFFF \xf4\x8f\xbf\xbf",
	"<p class=\"x\">a &amp; b</p>\n<a href='y'>z</a>\r\n",
	/* from here on, not UTF-8 */
	"\xc3\x28",			/* bad continuation */
	"\xc0\xaf",			/* overlong '/' */
	"\xe0\x80\xaf",			/* overlong, 3 bytes */
	"\xed\xa0\x80",			/* UTF-16 surrogate */
	"\xf4\x90\x80\x80",		/* past U+10FFFF */
	"\xf8\x88\x80\x80\x80",		/* 5-byte form */
	"\xe2\x82",			/* cut sequence at the end */
	"\x80 lone continuation",
	"\xff",
};

#define PJ_VALID	10	/* the strings before the broken ones */

/* jansson's dump of the string s, or NULL when jansson refuses it. Caller frees. */
static char *
pj_jansson(const char *s)
{
	json_t *v = json_string(s);
	char *out;

	if (v == NULL)
		return NULL;
	out = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(v);
	return out;
}

static void
test_escape_matches_jansson(void **state)
{
	struct buf b;
	char *want;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof pj_strings / sizeof pj_strings[0]; i++) {
		buf_init(&b);
		buf_adds(&b, "x");
		want = pj_jansson(pj_strings[i]);
		if (want == NULL) {
			if (provider_json_escape(&b, pj_strings[i], strlen(pj_strings[i])) != -1)
				fail_msg("string %zu: accepted what jansson refuses", i);
			assert_string_equal(b.data, "x");	/* nothing appended */
		} else {
			if (provider_json_escape(&b, pj_strings[i], strlen(pj_strings[i])) != 0)
				fail_msg("string %zu: refused what jansson takes", i);
			assert_int_equal(b.len, strlen(want) + 1);
			assert_string_equal(b.data + 1, want);
		}
		free(want);
		buf_free(&b);
	}
}

/* One comparison with jansson: s escaped (or refused) as jansson does. */
static void
pj_same(const char *s, const char *what, size_t pos)
{
	char *want = pj_jansson(s);
	struct buf b;
	int rc;

	buf_init(&b);
	rc = provider_json_escape(&b, s, strlen(s));
	if (want == NULL && rc != -1)
		fail_msg("%s at %zu: accepted what jansson refuses", what, pos);
	if (want != NULL && (rc != 0 || strcmp(b.data, want) != 0))
		fail_msg("%s at %zu: \"%s\", jansson \"%s\"", what, pos, b.data, want);
	free(want);
	buf_free(&b);
}

/*
 * Every byte value, and multi-byte sequences whole and cut, at every
 * position of a longer string: the 8-bytes-at-a-time path must see each
 * wherever it falls in a word.
 */
static void
test_escape_every_position(void **state)
{
	static const char *const seqs[] = { "é", "€", "😀", "\xe2\x82", "\xed\xa0\x80", "\"\\" };
	char s[40], what[32];
	size_t pos, i;
	int c;

	(void)state;
	for (pos = 0; pos < 24; pos++) {
		for (c = 1; c < 256; c++) {
			memset(s, 'a', 30);
			s[30] = '\0';
			s[pos] = (char)c;
			snprintf(what, sizeof what, "byte 0x%02x", c);
			pj_same(s, what, pos);
		}
		for (i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
			memset(s, 'a', 30);
			s[30] = '\0';
			memcpy(s + pos, seqs[i], strlen(seqs[i]));
			snprintf(what, sizeof what, "sequence %zu", i);
			pj_same(s, what, pos);
		}
	}
}

/* A length stops the string: a cut inside a sequence is not UTF-8. */
static void
test_escape_bounded(void **state)
{
	const char *s = "aé\"b";	/* 'a', 2-byte é, '"', 'b' */
	struct buf b;

	(void)state;
	buf_init(&b);
	assert_int_equal(provider_json_escape(&b, s, 1), 0);
	assert_string_equal(b.data, "\"a\"");
	buf_reset(&b);
	assert_int_equal(provider_json_escape(&b, s, 2), -1);
	assert_int_equal(provider_json_escape(&b, s, 4), 0);
	assert_string_equal(b.data, "\"aé\\\"\"");
	buf_free(&b);
}

/* Nesting, separators, null and booleans, against the same object built with jansson. */
static void
test_object_matches_jansson(void **state)
{
	struct provider_json pj;
	struct buf b;
	json_t *root, *arr, *o;
	char *want;
	size_t i;

	(void)state;
	buf_init(&b);
	provider_json_init(&pj, &b);
	root = json_object();
	provider_json_open(&pj, NULL, '{');
	provider_json_str(&pj, "a", "1");
	json_object_set_new(root, "a", json_string("1"));
	provider_json_str(&pj, "n", NULL);
	json_object_set_new(root, "n", json_null());
	provider_json_open(&pj, "list", '[');
	arr = json_array();
	for (i = 0; i < PJ_VALID; i++) {
		provider_json_str(&pj, NULL, pj_strings[i]);
		json_array_append_new(arr, json_string(pj_strings[i]));
	}
	provider_json_open(&pj, NULL, '{');
	o = json_object();
	provider_json_bool(&pj, "t", 1);
	json_object_set_new(o, "t", json_true());
	provider_json_bool(&pj, "f", 0);
	json_object_set_new(o, "f", json_false());
	provider_json_open(&pj, "empty", '[');
	provider_json_close(&pj);
	json_object_set_new(o, "empty", json_array());
	provider_json_close(&pj);
	json_array_append_new(arr, o);
	provider_json_close(&pj);
	json_object_set_new(root, "list", arr);
	provider_json_open(&pj, "we \"quote\"", '{');
	provider_json_close(&pj);
	json_object_set_new(root, "we \"quote\"", json_object());
	provider_json_close(&pj);
	assert_null(pj.bad);
	assert_int_equal(pj.depth, 0);

	want = json_dumps(root, JSON_COMPACT);
	assert_string_equal(b.data, want);
	free(want);
	json_decref(root);
	buf_free(&b);
}

/* The first member that is not UTF-8 is named; it is written as null. */
static void
test_bad_member(void **state)
{
	struct provider_json pj;
	struct buf b;

	(void)state;
	buf_init(&b);
	provider_json_init(&pj, &b);
	provider_json_open(&pj, NULL, '{');
	provider_json_str(&pj, "ok", "fine");
	provider_json_str(&pj, "subject", "bad \xc3\x28");
	provider_json_open(&pj, "parts", '[');
	provider_json_str(&pj, NULL, "\xff");
	provider_json_close(&pj);
	provider_json_close(&pj);
	assert_string_equal(pj.bad, "subject");
	assert_string_equal(b.data, "{\"ok\":\"fine\",\"subject\":null,\"parts\":[null]}");
	buf_free(&b);

	buf_init(&b);
	provider_json_init(&pj, &b);
	provider_json_open(&pj, "x", '[');
	provider_json_str(&pj, NULL, "\xff");
	provider_json_close(&pj);
	assert_string_equal(pj.bad, "value");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_matches_jansson),
		cmocka_unit_test(test_escape_every_position),
		cmocka_unit_test(test_escape_bounded),
		cmocka_unit_test(test_object_matches_jansson),
		cmocka_unit_test(test_bad_member),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
