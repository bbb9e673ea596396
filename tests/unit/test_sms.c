/*
 * sms: GSM-7 / UCS-2 detection and segment counts at the boundaries
 * (160/161 and 153 per part for GSM-7, 70/71 and 67 for UCS-2), extension
 * characters costing two septets, Greek capitals in and out of GSM-7,
 * Polish letters, emoji as surrogate pairs, and no split pairs.
 */
#include "unit.h"
#include "sms.h"

/* s repeated n times. Caller frees. */
static char *
rep(const char *s, int n)
{
	struct buf b;
	int i;

	buf_init(&b);
	buf_adds(&b, "");
	for (i = 0; i < n; i++)
		buf_adds(&b, s);
	return buf_detach(&b);
}

/* prefix + s repeated n times. Caller frees. */
static char *
rep2(const char *prefix, const char *s, int n)
{
	char *r = rep(s, n), *out = xasprintf("%s%s", prefix, r);

	free(r);
	return out;
}

static void
check(const char *what, const char *text, enum sms_coding coding, size_t chars,
    size_t units, size_t segments)
{
	struct sms_count c;

	if (sms_count(text, &c) != 0)
		fail_msg("%s: not UTF-8?", what);
	if (c.coding != coding || c.chars != chars || c.units != units ||
	    c.segments != segments)
		fail_msg("%s: coding %s chars %zu units %zu segments %zu; want %s %zu %zu %zu",
		    what, c.coding == SMS_GSM7 ? "gsm7" : "ucs2", c.chars, c.units,
		    c.segments, coding == SMS_GSM7 ? "gsm7" : "ucs2", chars, units, segments);
	assert_int_equal(sms_needs_ucs2(text), coding == SMS_UCS2);
}

static void
test_english(void **state)
{
	char *s;

	(void)state;
	check("empty", "", SMS_GSM7, 0, 0, 1);
	check("null", NULL, SMS_GSM7, 0, 0, 1);
	check("hello", "Hello Anna, your order #1001 shipped!", SMS_GSM7, 37, 37, 1);
	s = rep("a", 160);
	check("160", s, SMS_GSM7, 160, 160, 1);
	free(s);
	s = rep("a", 161);
	check("161", s, SMS_GSM7, 161, 161, 2);
	free(s);
	s = rep("a", 306);
	check("306 = 2 x 153", s, SMS_GSM7, 306, 306, 2);
	free(s);
	s = rep("a", 307);
	check("307", s, SMS_GSM7, 307, 307, 3);
	free(s);
	check("newlines, @ $ _", "a\nb\r\n@$_!?", SMS_GSM7, 10, 10, 1);
	/* typography that is not GSM-7 */
	check("curly quote", "it’s", SMS_UCS2, 4, 4, 1);
	check("backtick", "`", SMS_UCS2, 1, 1, 1);
	check("tab", "a\tb", SMS_UCS2, 3, 3, 1);
	check("latin ç (only Ç is GSM)", "ç", SMS_UCS2, 1, 1, 1);
	check("Ç é ñ ü ß Å", "Ç é ñ ü ß Å", SMS_GSM7, 11, 11, 1);
}

static void
test_extension(void **state)
{
	char *s, *a, *b;

	(void)state;
	check("euro", "10€", SMS_GSM7, 3, 4, 1);
	check("all extension", "^{}\\[~]|€\f", SMS_GSM7, 10, 20, 1);
	s = rep("€", 80);
	check("80 euros = 160 septets", s, SMS_GSM7, 80, 160, 1);
	free(s);
	s = rep2("a", "€", 80);
	check("a + 80 euros = 161 septets", s, SMS_GSM7, 81, 161, 2);
	free(s);
	/* 152 + an escape pair + 152: 306 septets, 2 parts if the pair could split */
	a = rep("a", 152);
	b = rep("b", 152);
	s = xasprintf("%s€%s", a, b);
	check("escape pair not split", s, SMS_GSM7, 305, 306, 3);
	free(a);
	free(b);
	free(s);
}

static void
test_greek(void **state)
{
	char *s;

	(void)state;
	check("Δ alone", "Δ", SMS_GSM7, 1, 1, 1);
	check("GSM Greek capitals", "ΓΔΘΛΞΠΣΦΨΩ", SMS_GSM7, 10, 10, 1);
	check("α forces UCS-2", "α", SMS_UCS2, 1, 1, 1);
	check("Δα", "Δα", SMS_UCS2, 2, 2, 1);
	check("Greek Α (U+0391) is not Latin A", "Α", SMS_UCS2, 1, 1, 1);
	check("tonos", "ά", SMS_UCS2, 1, 1, 1);
	check("final sigma", "ς", SMS_UCS2, 1, 1, 1);
	check("sentence", "Γεια σου Άννα!", SMS_UCS2, 14, 14, 1);
	s = rep("α", 70);
	check("70 α", s, SMS_UCS2, 70, 70, 1);
	free(s);
	s = rep("α", 71);
	check("71 α", s, SMS_UCS2, 71, 71, 2);
	free(s);
	s = rep("α", 134);
	check("134 α = 2 x 67", s, SMS_UCS2, 134, 134, 2);
	free(s);
	s = rep("α", 135);
	check("135 α", s, SMS_UCS2, 135, 135, 3);
	free(s);
	/* One Greek letter makes a 100-character English text cost 2 parts. */
	s = rep2("α", "a", 99);
	check("1 α + 99 a", s, SMS_UCS2, 100, 100, 2);
	free(s);
}

static void
test_polish(void **state)
{
	static const char *const letters[] = {
		"ą", "ć", "ę", "ł", "ń", "ó", "ś", "ź", "ż",
		"Ą", "Ć", "Ę", "Ł", "Ń", "Ó", "Ś", "Ź", "Ż",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof letters / sizeof letters[0]; i++)
		check(letters[i], letters[i], SMS_UCS2, 1, 1, 1);
	check("ł", "ł", SMS_UCS2, 1, 1, 1);
	check("zł price", "49,90 zł", SMS_UCS2, 8, 8, 1);
	check("ö and é are GSM", "öé", SMS_GSM7, 2, 2, 1);
}

static void
test_emoji(void **state)
{
	char *s, *a;

	(void)state;
	check("one emoji", "👍", SMS_UCS2, 1, 2, 1);
	s = rep("👍", 35);
	check("35 emoji = 70 units", s, SMS_UCS2, 35, 70, 1);
	free(s);
	s = rep2("a", "👍", 35);
	check("a + 35 emoji = 71 units", s, SMS_UCS2, 36, 71, 2);
	free(s);
	/* 66 + a pair + 66: 134 units, 2 parts if the pair could split */
	a = rep("α", 66);
	s = xasprintf("%s👍%s", a, a);
	check("surrogate pair not split", s, SMS_UCS2, 133, 134, 3);
	free(a);
	free(s);
}

static void
test_invalid(void **state)
{
	static const char *const bad[] = {
		"\xff", "\xce", "a\xce", "\xc0\x80", "\xe0\x80\xaf", "\xed\xa0\x80",
		"\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80",
	};
	struct sms_count c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (sms_count(bad[i], &c) != -1)
			fail_msg("case %zu accepted", i);
		assert_int_equal(sms_needs_ucs2(bad[i]), -1);
	}
	assert_int_equal(sms_gsm7_septets('A'), 1);
	assert_int_equal(sms_gsm7_septets(0x20ac), 2);
	assert_int_equal(sms_gsm7_septets(0x03b1), 0);
	assert_int_equal(sms_gsm7_septets(0x1f44d), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_english),
		cmocka_unit_test(test_extension),
		cmocka_unit_test(test_greek),
		cmocka_unit_test(test_polish),
		cmocka_unit_test(test_emoji),
		cmocka_unit_test(test_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
