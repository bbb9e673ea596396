/*
 * text_date: a table of (time, locale, zone, flags) -> exact text, in en,
 * el and pl, across zones and date lines, with the input forms it takes
 * and the ones it gives back unchanged. Rows in a zone the system lacks
 * (no tzdata) are skipped with a note.
 */
#include "unit.h"
#include "quiet.h"
#include "textutil.h"

#define T	TEXT_DATE_TIME

static const struct {
	const char	*when, *locale, *tz;
	int		 flags, rc;
	const char	*want;
} rows[] = {
	{ "2026-11-30T18:00:00Z", "en", "UTC", 0, 0, "30 November 2026" },
	{ "2026-11-30T18:00:00Z", "el", "UTC", 0, 0, "30 Νοεμβρίου 2026" },
	{ "2026-11-30T18:00:00Z", "pl", "UTC", 0, 0, "30 listopada 2026" },
	{ "2026-11-30T18:00:00Z", "en", "UTC", T, 0, "30 November 2026, 18:00" },
	{ "2026-11-30T18:00:00Z", "el-GR", "Europe/Athens", T, 0, "30 Νοεμβρίου 2026, 20:00" },
	{ "2026-11-30T23:30:00Z", "en", "Europe/Athens", 0, 0, "1 December 2026" },
	{ "2026-11-30T23:30:00Z", "pl-PL", "Europe/Warsaw", T, 0, "1 grudnia 2026, 00:30" },
	{ "2026-11-30T03:00:00Z", "en", "America/New_York", T, 0, "29 November 2026, 22:00" },
	{ "2026-07-04T03:00:00Z", "en", "America/New_York", T, 0, "3 July 2026, 23:00" },
	{ "2026-12-31T13:30:00Z", "en", "Australia/Sydney", T, 0, "1 January 2027, 00:30" },
	{ "2026-06-01T18:45:00Z", "en", "Asia/Kolkata", T, 0, "2 June 2026, 00:15" },
	{ "2026-11-30T18:00:00Z", "en", "Nowhere/Land", T, 0, "30 November 2026, 18:00" },
	/* no zone: the time as written */
	{ "2026-11-30T20:00:00+02:00", "en", NULL, T, 0, "30 November 2026, 20:00" },
	{ "2026-11-30T20:00:00-0500", "en", "", T, 0, "30 November 2026, 20:00" },
	{ "2026-11-30T20:00:00.250+02:00", "en", NULL, T, 0, "30 November 2026, 20:00" },
	{ "2026-11-30T23:30:00-05:00", "en", "UTC", T, 0, "1 December 2026, 04:30" },
	{ "2026-11-30T20:00:00+05:30", "el", "UTC", T, 0, "30 Νοεμβρίου 2026, 14:30" },
	{ "2026-11-30 18:00:00", "en", NULL, 0, 0, "30 November 2026" },
	{ "2026-11-30T18:00:00", "en", NULL, T, 0, "30 November 2026, 18:00" },
	/* ms since the epoch */
	{ "1796061600000", "pl", NULL, T, 0, "30 listopada 2026, 18:00" },
	{ "1796061600000", "el", "Europe/Athens", 0, 0, "30 Νοεμβρίου 2026" },
	/* a date alone: no zone, no time */
	{ "2026-11-30", "en", "America/New_York", T, 0, "30 November 2026" },
	{ "2026-09-03", "pl", NULL, 0, 0, "3 września 2026" },
	{ "2026-10-03", "pl", NULL, 0, 0, "3 października 2026" },
	{ "2026-05-01", "el", NULL, 0, 0, "1 Μαΐου 2026" },
	{ "2026-08-15", "el", NULL, 0, 0, "15 Αυγούστου 2026" },
	{ "2028-02-29", "en", NULL, 0, 0, "29 February 2028" },
	/* languages without a table: en; case and '_' do not matter */
	{ "2026-01-05", "de", NULL, 0, 0, "5 January 2026" },
	{ "2026-01-05", "pt-BR", NULL, 0, 0, "5 January 2026" },
	{ "2026-01-05", NULL, NULL, 0, 0, "5 January 2026" },
	{ "2026-01-05", "EL_gr", NULL, 0, 0, "5 Ιανουαρίου 2026" },
	{ "2026-01-05", "plx", NULL, 0, 0, "5 January 2026" },
	/* not a time: as is */
	{ "next tuesday", "en", NULL, 0, -1, "next tuesday" },
	{ "2027-02-29", "en", NULL, 0, -1, "2027-02-29" },
	{ "2026-13-01T00:00:00Z", "en", "UTC", 0, -1, "2026-13-01T00:00:00Z" },
	{ "30/11/2026", "en", NULL, 0, -1, "30/11/2026" },
	{ "", "en", NULL, 0, -1, "" },
	{ "-1796061600000", "en", NULL, 0, -1, "-1796061600000" },
};

static void
test_table(void **state)
{
	char out[TEXT_DATE_MAX];
	size_t i;
	int rc, ran = 0;

	(void)state;
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		if (rows[i].tz != NULL && *rows[i].tz != '\0' &&
		    strcmp(rows[i].tz, "Nowhere/Land") != 0 && !quiet_zone_valid(rows[i].tz)) {
			fprintf(stderr, "note: zone %s is not installed (package tzdata): "
			    "skipping row %zu\n", rows[i].tz, i);
			continue;
		}
		memset(out, 'x', sizeof out);
		rc = text_date(rows[i].when, rows[i].locale, rows[i].tz, rows[i].flags, out,
		    sizeof out);
		if (rc != rows[i].rc || strcmp(out, rows[i].want) != 0)
			fail_msg("row %zu (%s, %s, %s): got %d '%s', want %d '%s'", i,
			    rows[i].when, rows[i].locale ? rows[i].locale : "(null)",
			    rows[i].tz ? rows[i].tz : "(null)", rc, out, rows[i].rc,
			    rows[i].want);
		ran++;
	}
	assert_true(ran >= 25);
}

static void
test_edges(void **state)
{
	char out[TEXT_DATE_MAX];

	(void)state;
	/* NULL is "" and a refusal. */
	out[0] = 'x';
	assert_int_equal(text_date(NULL, "en", NULL, 0, out, sizeof out), -1);
	assert_string_equal(out, "");
	/* A small buffer cuts between characters: "30 Ν" is 5 bytes, Ν two. */
	assert_int_equal(text_date("2026-11-30", "el", NULL, 0, out, 6), 0);
	assert_string_equal(out, "30 Ν");
	assert_int_equal(text_date("2026-11-30", "el", NULL, 0, out, 5), 0);
	assert_string_equal(out, "30 ");
	out[0] = 'z';
	assert_int_equal(text_date("2026-11-30", "el", NULL, 0, out, 0), 0);
	assert_int_equal(out[0], 'z');
	/* The longest month in the longest form fits TEXT_DATE_MAX. */
	assert_int_equal(text_date("2026-09-30T23:59:00Z", "el", NULL, T, out, sizeof out), 0);
	assert_string_equal(out, "30 Σεπτεμβρίου 2026, 23:59");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
