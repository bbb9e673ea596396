/*
 * money_format: a table of (amount, currency, locale) -> exact bytes, the
 * refusals, cutting to a small buffer, and half-up rounding checked
 * against integer arithmetic over a range of amounts.
 */
#include <stdint.h>

#include "unit.h"
#include "money.h"

#define NB	"\xc2\xa0"		/* U+00A0 NO-BREAK SPACE */
#define EURO	"\xe2\x82\xac"
#define POUND	"\xc2\xa3"
#define YEN	"\xc2\xa5"
#define ZL	"z\xc5\x82"

static const struct {
	const char	*amount, *currency, *locale;
	int		 rc;
	const char	*want;
} rows[] = {
	/* en */
	{ "1234.5", "EUR", "en", 0, EURO "1,234.50" },
	{ "1234.5", "USD", "en", 0, "$1,234.50" },
	{ "1234.5", "USD", "en-US", 0, "$1,234.50" },
	{ "3", "GBP", "en-GB", 0, POUND "3.00" },
	{ "1234.5", "PLN", "en", 0, "PLN" NB "1,234.50" },
	{ "1234.5", "CHF", "en", 0, "CHF" NB "1,234.50" },
	{ "-5", "EUR", "en", 0, "-" EURO "5.00" },
	{ "-1234.5", "PLN", "en", 0, "-PLN" NB "1,234.50" },
	{ "1234567.891", "USD", "en", 0, "$1,234,567.89" },
	{ "123", "EUR", "en", 0, EURO "123.00" },
	{ "0", "EUR", "en", 0, EURO "0.00" },
	{ "0.285", "EUR", "en", 0, EURO "0.29" },	/* 0.28499.. as a double */
	{ "0.2849999", "EUR", "en", 0, EURO "0.28" },
	{ "1.005", "USD", "en", 0, "$1.01" },		/* 1.00499.. as a double */
	{ "999.995", "EUR", "en", 0, EURO "1,000.00" },
	{ "999999.999", "EUR", "en", 0, EURO "1,000,000.00" },
	{ "-0.004", "EUR", "en", 0, EURO "0.00" },	/* no "-0.00" */
	{ "-0.005", "EUR", "en", 0, "-" EURO "0.01" },
	{ "1234.5", "JPY", "en", 0, YEN "1,235" },
	{ "1234.4", "JPY", "en", 0, YEN "1,234" },
	{ "1000", "KRW", "en", 0, "KRW" NB "1,000" },
	{ "100", "HUF", "en", 0, "HUF" NB "100.00" },
	{ "0012.5", "EUR", "en", 0, EURO "12.50" },
	{ ".5", "EUR", "en", 0, EURO "0.50" },
	{ "5.", "EUR", "en", 0, EURO "5.00" },
	{ "+7.10", "EUR", "en", 0, EURO "7.10" },
	{ " 59.90 ", "EUR", "en", 0, EURO "59.90" },
	{ "19.99", "eur", "en", 0, EURO "19.99" },
	{ "19.99", "xyz", "en", 0, "XYZ" NB "19.99" },
	{ "19.99", NULL, "en", 0, "19.99" },
	{ "1234.5", "", "pl", 0, "1" NB "234,50" },
	{ "12345678901234567890123.456", "EUR", "en", 0,
	    EURO "12,345,678,901,234,567,890,123.46" },
	/* el */
	{ "1234.5", "EUR", "el", 0, "1.234,50" NB EURO },
	{ "1234.5", "USD", "el-GR", 0, "1.234,50" NB "US$" },
	{ "-5", "EUR", "el", 0, "-5,00" NB EURO },
	{ "1234567", "EUR", "EL_gr", 0, "1.234.567,00" NB EURO },
	{ "1234.5", "PLN", "el", 0, "1.234,50" NB "PLN" },
	{ "12.5", "GBP", "el", 0, "12,50" NB POUND },
	{ "1234.5", "JPY", "el", 0, "1.235" NB YEN },
	/* pl */
	{ "1234.5", "PLN", "pl", 0, "1" NB "234,50" NB ZL },
	{ "1234.5", "PLN", "pl-PL", 0, "1" NB "234,50" NB ZL },
	{ "1234567.5", "EUR", "pl", 0, "1" NB "234" NB "567,50" NB EURO },
	{ "1234.5", "USD", "pl", 0, "1" NB "234,50" NB "US$" },
	{ "999", "PLN", "pl", 0, "999,00" NB ZL },
	{ "-12.345", "PLN", "pl_PL", 0, "-12,35" NB ZL },
	{ "49.9", "CZK", "pl", 0, "49,90" NB "CZK" },
	/* other languages: en style */
	{ "1234.5", "EUR", "de", 0, EURO "1,234.50" },
	{ "1234.5", "EUR", "fr-FR", 0, EURO "1,234.50" },
	{ "1234.5", "EUR", NULL, 0, EURO "1,234.50" },
	{ "1234.5", "EUR", "plx", 0, EURO "1,234.50" },
	{ "1234.5", "USD", "pt-BR", 0, "$1,234.50" },
	/* not a decimal number: as is, with the code */
	{ "abc", "EUR", "en", -1, "abc EUR" },
	{ "1,234.50", "EUR", "en", -1, "1,234.50 EUR" },
	{ "1e3", "USD", "el", -1, "1e3 USD" },
	{ "12.5.1", "EUR", "pl", -1, "12.5.1 EUR" },
	{ "-", "EUR", "en", -1, "- EUR" },
	{ ".", "EUR", "en", -1, ". EUR" },
	{ "", "EUR", "en", -1, " EUR" },
	{ "NaN", NULL, "en", -1, "NaN" },
	{ "--5", "EUR", "en", -1, "--5 EUR" },
	{ NULL, "EUR", "en", -1, " EUR" },
};

static void
test_table(void **state)
{
	char out[MONEY_MAX];
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		memset(out, 'x', sizeof out);
		rc = money_format(rows[i].amount, rows[i].currency, rows[i].locale, out,
		    sizeof out);
		if (rc != rows[i].rc || strcmp(out, rows[i].want) != 0)
			fail_msg("row %zu (%s %s %s): got %d '%s', want %d '%s'", i,
			    rows[i].amount ? rows[i].amount : "(null)",
			    rows[i].currency ? rows[i].currency : "(null)",
			    rows[i].locale ? rows[i].locale : "(null)",
			    rc, out, rows[i].rc, rows[i].want);
	}
}

static void
test_minor(void **state)
{
	(void)state;
	assert_int_equal(money_minor_units("JPY"), 0);
	assert_int_equal(money_minor_units("krw"), 0);
	assert_int_equal(money_minor_units("HUF"), 2);
	assert_int_equal(money_minor_units("EUR"), 2);
	assert_int_equal(money_minor_units("XYZ"), 2);
	assert_int_equal(money_minor_units(NULL), 2);
}

/* A small buffer cuts between characters, never inside the euro sign. */
static void
test_cut(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(money_format("1234.5", "EUR", "en", out, 4), 0);
	assert_string_equal(out, EURO);
	assert_int_equal(money_format("1234.5", "EUR", "en", out, 3), 0);
	assert_string_equal(out, "");
	assert_int_equal(money_format("1234.5", "EUR", "en", out, 6), 0);
	assert_string_equal(out, EURO "1,");
	assert_int_equal(money_format("1234.5", "PLN", "pl", out, 3), 0);
	assert_string_equal(out, "1");			/* not half an NBSP */
	assert_int_equal(money_format("bad", "EUR", "en", out, 5), -1);
	assert_string_equal(out, "bad ");
	out[0] = 'z';
	assert_int_equal(money_format("1", "EUR", "en", out, 0), 0);
	assert_int_equal(out[0], 'z');			/* nothing written */
}

/* Half up on thousandths, against integer arithmetic: x/1000 -> (x+5)/10 cents. */
static void
test_rounding(void **state)
{
	char amount[32], want[32], out[MONEY_MAX];
	int64_t x, c;

	(void)state;
	for (x = 0; x < 999995; x += 7) {
		snprintf(amount, sizeof amount, "%lld.%03lld", (long long)(x / 1000),
		    (long long)(x % 1000));
		c = (x + 5) / 10;
		snprintf(want, sizeof want, "%lld,%02lld" NB ZL, (long long)(c / 100),
		    (long long)(c % 100));
		assert_int_equal(money_format(amount, "PLN", "pl", out, sizeof out), 0);
		if (strcmp(out, want) != 0)
			fail_msg("%s: got '%s', want '%s'", amount, out, want);
		/* The negative is the mirror image. */
		snprintf(amount, sizeof amount, "-%lld.%03lld", (long long)(x / 1000),
		    (long long)(x % 1000));
		snprintf(want, sizeof want, "%s%lld,%02lld" NB ZL, c != 0 ? "-" : "",
		    (long long)(c / 100), (long long)(c % 100));
		assert_int_equal(money_format(amount, "PLN", "pl", out, sizeof out), 0);
		if (strcmp(out, want) != 0)
			fail_msg("%s: got '%s', want '%s'", amount, out, want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_minor),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_rounding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
