/*
 * quiet: parsing windows, and quiet_until as a table of (zone, window, now,
 * expected end) in UTC, across both DST changes of 2026 in Europe/Athens,
 * America/New_York and Australia/Sydney, a half-hour zone (Asia/Kolkata)
 * and UTC. Then an oracle: around every change, quiet_until must agree
 * with walking the local clock minute by minute.
 *
 * Rows in a zone the system lacks (no tzdata installed) are skipped with
 * a note rather than failed; UTC rows always run.
 */
#include <stdint.h>
#include <time.h>

#include "unit.h"
#include "nevent.h"
#include "pnorm.h"
#include "quiet.h"

static int64_t
iso(const char *s)
{
	int64_t ms;

	if (nevent_parse_time(s, &ms) != 0)
		fail_msg("bad time in the test: %s", s);
	return ms;
}

/* 1 if tz can be tested here; else a note, once per zone name. */
static int
have_zone(const char *tz)
{
	static char noted[8][32];
	static int nnoted;
	int i;

	if (strcmp(tz, "UTC") == 0 || quiet_zone_valid(tz))
		return 1;
	for (i = 0; i < nnoted; i++) {
		if (strcmp(noted[i], tz) == 0)
			return 0;
	}
	fprintf(stderr, "note: zone %s is not installed (package tzdata): "
	    "skipping its rows\n", tz);
	if (nnoted < 8)
		snprintf(noted[nnoted++], sizeof noted[0], "%s", tz);
	return 0;
}

static void
test_parse(void **state)
{
	static const struct {
		const char	*spec;
		int		 rc, start, end;
	} t[] = {
		{ "21:00-08:00", 0, 1260, 480 },
		{ "13:00-14:00", 0, 780, 840 },
		{ " 9:05 - 17:30 ", 0, 545, 1050 },
		{ "22:00-24:00", 0, 1320, 0 },
		{ "00:00-06:00", 0, 0, 360 },
		{ "08:00-08:00", 0, 0, 0 },		/* empty window */
		{ "", 0, 0, 0 },
		{ "none", 0, 0, 0 },
		{ "NONE", 0, 0, 0 },
		{ "21:00", -1, 0, 0 },
		{ "21:00-8", -1, 0, 0 },
		{ "25:00-08:00", -1, 0, 0 },
		{ "21:60-08:00", -1, 0, 0 },
		{ "24:01-08:00", -1, 0, 0 },
		{ "123:00-08:00", -1, 0, 0 },
		{ "21:00-08:00x", -1, 0, 0 },
		{ "21.00-08.00", -1, 0, 0 },
	};
	struct quiet_window w;
	char *cause;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		cause = NULL;
		w.start_min = w.end_min = 77;
		rc = quiet_parse(t[i].spec, &w, &cause);
		if (rc != t[i].rc || w.start_min != t[i].start || w.end_min != t[i].end)
			fail_msg("'%s': got %d {%d, %d}, want %d {%d, %d}", t[i].spec,
			    rc, w.start_min, w.end_min, t[i].rc, t[i].start, t[i].end);
		if (rc == 0)
			assert_null(cause);
		else {
			assert_non_null(cause);
			assert_non_null(strstr(cause, t[i].spec));
			free(cause);
		}
	}
	assert_int_equal(quiet_parse(NULL, &w, NULL), 0);
	assert_int_equal(w.start_min, w.end_min);
	assert_int_equal(quiet_parse("nope", &w, NULL), -1);	/* cause may be NULL */
}

static void
test_zone_valid(void **state)
{
	(void)state;
	assert_int_equal(quiet_zone_valid("UTC"), 1);
	assert_int_equal(quiet_zone_valid(NULL), 0);
	assert_int_equal(quiet_zone_valid(""), 0);
	assert_int_equal(quiet_zone_valid("Mars/Olympus_Mons"), 0);
	assert_int_equal(quiet_zone_valid("/etc/passwd"), 0);
	assert_int_equal(quiet_zone_valid("../../etc/passwd"), 0);
	assert_int_equal(quiet_zone_valid("Europe/../Europe/Athens"), 0);
	assert_int_equal(quiet_zone_valid("EST5EDT,M3.2.0,M11.1.0"), 0);
	if (have_zone("Europe/Athens")) {
		assert_int_equal(quiet_zone_valid("Europe/Athens"), 1);
		assert_int_equal(quiet_zone_valid("Europe"), 0);	/* a directory */
		assert_int_equal(quiet_zone_valid("Europe/"), 0);
	}
}

static const struct row {
	const char	*tz;
	const char	*window;
	const char	*now;
	const char	*until;		/* NULL: not quiet */
	const char	*why;
} rows[] = {
	{ "UTC", "21:00-08:00", "2026-06-01T22:00:00Z", "2026-06-02T08:00:00Z", "spans midnight, evening" },
	{ "UTC", "21:00-08:00", "2026-06-02T03:00:00Z", "2026-06-02T08:00:00Z", "spans midnight, morning" },
	{ "UTC", "21:00-08:00", "2026-06-01T21:00:00Z", "2026-06-02T08:00:00Z", "start minute is quiet" },
	{ "UTC", "21:00-08:00", "2026-06-01T20:59:59Z", NULL, "just before the start" },
	{ "UTC", "21:00-08:00", "2026-06-01T07:59:59Z", "2026-06-01T08:00:00Z", "last second" },
	{ "UTC", "21:00-08:00", "2026-06-01T08:00:00Z", NULL, "the end minute is allowed" },
	{ "UTC", "13:00-14:00", "2026-06-01T13:30:00Z", "2026-06-01T14:00:00Z", "same-day window" },
	{ "UTC", "13:00-14:00", "2026-06-01T14:00:00Z", NULL, "same-day window, end" },
	{ "UTC", "13:00-14:00", "2026-06-01T12:59:00Z", NULL, "same-day window, before" },
	{ "UTC", "22:00-24:00", "2026-12-31T23:00:00Z", "2027-01-01T00:00:00Z", "ends at midnight, new year" },
	{ "UTC", "none", "2026-06-01T03:00:00Z", NULL, "no window" },
	{ "Mars/Olympus_Mons", "21:00-08:00", "2026-06-01T22:00:00Z", "2026-06-02T08:00:00Z", "unknown zone is UTC" },

	/* Europe/Athens: EET +2, EEST +3; 2026-03-29 03:00 -> 04:00, 2026-10-25 04:00 -> 03:00. */
	{ "Europe/Athens", "21:00-08:00", "2026-01-15T21:00:00Z", "2026-01-16T06:00:00Z", "winter, 23:00 local" },
	{ "Europe/Athens", "21:00-08:00", "2026-01-16T06:00:00Z", NULL, "winter, 08:00 local" },
	{ "Europe/Athens", "21:00-08:00", "2026-03-28T21:00:00Z", "2026-03-29T05:00:00Z", "spring forward: 23:00 EET to 08:00 EEST" },
	{ "Europe/Athens", "21:00-08:00", "2026-03-29T00:30:00Z", "2026-03-29T05:00:00Z", "spring forward: 02:30 EET, before the jump" },
	{ "Europe/Athens", "21:00-08:00", "2026-03-29T01:00:00Z", "2026-03-29T05:00:00Z", "spring forward: 04:00 EEST, after the jump" },
	{ "Europe/Athens", "21:00-03:30", "2026-03-28T21:00:00Z", "2026-03-29T01:00:00Z", "03:30 does not exist: 04:00 EEST" },
	{ "Europe/Athens", "21:00-08:00", "2026-10-24T20:00:00Z", "2026-10-25T06:00:00Z", "fall back: 23:00 EEST to 08:00 EET" },
	{ "Europe/Athens", "21:00-03:30", "2026-10-24T20:00:00Z", "2026-10-25T00:30:00Z", "03:30 twice: the first (EEST)" },
	{ "Europe/Athens", "21:00-03:30", "2026-10-25T00:40:00Z", NULL, "03:40 EEST: over" },
	{ "Europe/Athens", "21:00-03:30", "2026-10-25T01:10:00Z", "2026-10-25T01:30:00Z", "03:10 EET, the second time: quiet again" },
	{ "Europe/Athens", "13:00-14:00", "2026-07-01T10:30:00Z", "2026-07-01T11:00:00Z", "summer, same-day window" },
	{ "Europe/Athens", "13:00-14:00", "2026-07-01T11:00:00Z", NULL, "summer, 14:00 local" },

	/* America/New_York: EST -5, EDT -4; 2026-03-08 02:00 -> 03:00, 2026-11-01 02:00 -> 01:00. */
	{ "America/New_York", "21:00-08:00", "2026-03-08T03:00:00Z", "2026-03-08T12:00:00Z", "spring forward: 22:00 EST to 08:00 EDT" },
	{ "America/New_York", "22:00-02:30", "2026-03-08T04:00:00Z", "2026-03-08T07:00:00Z", "02:30 does not exist: 03:00 EDT" },
	{ "America/New_York", "21:00-08:00", "2026-11-01T02:00:00Z", "2026-11-01T13:00:00Z", "fall back: 22:00 EDT to 08:00 EST" },
	{ "America/New_York", "22:00-01:30", "2026-11-01T03:00:00Z", "2026-11-01T05:30:00Z", "01:30 twice: the first (EDT)" },
	{ "America/New_York", "22:00-01:30", "2026-11-01T06:10:00Z", "2026-11-01T06:30:00Z", "01:10 EST: until 01:30 EST" },
	{ "America/New_York", "21:00-08:00", "2026-07-04T12:00:00Z", NULL, "summer, 08:00 EDT" },

	/* Australia/Sydney: AEST +10, AEDT +11; 2026-04-05 03:00 -> 02:00, 2026-10-04 02:00 -> 03:00. */
	{ "Australia/Sydney", "21:00-08:00", "2026-04-04T11:00:00Z", "2026-04-04T22:00:00Z", "fall back: 22:00 AEDT to 08:00 AEST" },
	{ "Australia/Sydney", "21:00-08:00", "2026-10-03T12:00:00Z", "2026-10-03T21:00:00Z", "spring forward: 22:00 AEST to 08:00 AEDT" },
	{ "Australia/Sydney", "21:00-02:30", "2026-10-03T12:00:00Z", "2026-10-03T16:00:00Z", "02:30 does not exist: 03:00 AEDT" },
	{ "Australia/Sydney", "13:00-14:00", "2026-01-10T02:15:00Z", "2026-01-10T03:00:00Z", "summer, same-day window" },

	/* Asia/Kolkata: +05:30, no DST. */
	{ "Asia/Kolkata", "21:00-08:00", "2026-06-01T16:00:00Z", "2026-06-02T02:30:00Z", "21:30 IST" },
	{ "Asia/Kolkata", "21:00-08:00", "2026-06-01T02:29:00Z", "2026-06-01T02:30:00Z", "07:59 IST" },
	{ "Asia/Kolkata", "21:00-08:00", "2026-06-01T02:30:00Z", NULL, "08:00 IST" },
	{ "Asia/Kolkata", "21:00-08:00", "2026-06-01T15:29:59Z", NULL, "20:59:59 IST" },
};

static void
test_table(void **state)
{
	const struct row *r;
	struct quiet_window w;
	char got_s[PNORM_TIME_MAX];
	int64_t got, want;
	size_t i;
	int ran = 0;

	(void)state;
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		r = &rows[i];
		if (strncmp(r->tz, "Mars/", 5) != 0 && !have_zone(r->tz))
			continue;
		if (quiet_parse(r->window, &w, NULL) != 0)
			fail_msg("row %zu: bad window %s", i, r->window);
		got = quiet_until(r->tz, &w, iso(r->now));
		want = r->until != NULL ? iso(r->until) : 0;
		if (got != want) {
			if (got != 0)
				pnorm_iso_time(got, got_s);
			else
				snprintf(got_s, sizeof got_s, "none");
			fail_msg("row %zu (%s, %s, now %s: %s): got %s, want %s", i,
			    r->tz, r->window, r->now, r->why, got_s,
			    r->until != NULL ? r->until : "none");
		}
		ran++;
	}
	assert_true(ran >= 12);
}

/* The same zone again and again, and switching back and forth, gives the same answers. */
static void
test_zone_switching(void **state)
{
	struct quiet_window w = { 1260, 480 };
	int64_t now = iso("2026-01-15T21:00:00Z");
	int i;

	(void)state;
	if (!have_zone("Europe/Athens") || !have_zone("Asia/Kolkata"))
		return;
	for (i = 0; i < 50; i++) {
		assert_int_equal(quiet_until("Europe/Athens", &w, now), iso("2026-01-16T06:00:00Z"));
		assert_int_equal(quiet_until("Asia/Kolkata", &w, now), iso("2026-01-16T02:30:00Z"));
		assert_int_equal(quiet_until("UTC", &w, now), iso("2026-01-16T08:00:00Z"));
		assert_int_equal(quiet_until(NULL, &w, now), iso("2026-01-16T08:00:00Z"));
	}
	/* Someone else changed TZ behind our back: we set it again. */
	setenv("TZ", "Asia/Kolkata", 1);
	tzset();
	assert_int_equal(quiet_until("Europe/Athens", &w, now), iso("2026-01-16T06:00:00Z"));
}

static int
inside(const struct quiet_window *w, int m)
{
	if (w->start_min < w->end_min)
		return m >= w->start_min && m < w->end_min;
	return m >= w->start_min || m < w->end_min;
}

static int
local_minute(const char *tz, int64_t ms)
{
	struct tm tm;

	if (quiet_localtime(tz, ms, &tm) != 0)
		fail_msg("quiet_localtime failed at %lld", (long long)ms);
	return tm.tm_hour * 60 + tm.tm_min;
}

/*
 * The definition, by brute force: quiet ends at the first minute whose
 * local clock reading is outside the window. Checked every 17 minutes
 * (and at odd seconds) over three days around each change, for windows
 * that end in, start in, or straddle the changed hour.
 */
static void
test_oracle(void **state)
{
	static const struct {
		const char	*tz;
		const char	*from;
	} spans[] = {
		{ "Europe/Athens", "2026-03-27T12:00:00Z" },
		{ "Europe/Athens", "2026-10-23T12:00:00Z" },
		{ "America/New_York", "2026-03-06T12:00:00Z" },
		{ "America/New_York", "2026-10-30T12:00:00Z" },
		{ "Australia/Sydney", "2026-04-02T12:00:00Z" },
		{ "Australia/Sydney", "2026-10-01T12:00:00Z" },
		{ "Asia/Kolkata", "2026-06-01T00:00:00Z" },
		{ "UTC", "2026-06-01T00:00:00Z" },
	};
	static const char *windows[] = {
		"21:00-08:00", "21:00-03:30", "13:00-14:00", "01:00-03:30", "03:30-08:00",
		"03:45-03:30", "22:00-02:30", "02:00-03:30", "00:00-06:00", "23:30-00:30",
		"02:15-02:45", "03:15-03:45",
	};
	struct quiet_window w;
	int64_t from, now, got, want;
	size_t i, j;
	int step, checked = 0;

	(void)state;
	for (i = 0; i < sizeof spans / sizeof spans[0]; i++) {
		if (!have_zone(spans[i].tz))
			continue;
		from = iso(spans[i].from);
		for (j = 0; j < sizeof windows / sizeof windows[0]; j++) {
			if (quiet_parse(windows[j], &w, NULL) != 0)
				fail_msg("bad window %s", windows[j]);
			for (step = 0; step < 3 * 24 * 60 / 17; step++) {
				now = from + (int64_t)step * 17 * 60000 + (step % 3) * 20500;
				got = quiet_until(spans[i].tz, &w, now);
				want = 0;
				if (inside(&w, local_minute(spans[i].tz, now))) {
					want = (now / 60000 + 1) * 60000;
					while (inside(&w, local_minute(spans[i].tz, want)))
						want += 60000;
				}
				if (got != want)
					fail_msg("%s %s now %lld: got %lld, want %lld", spans[i].tz,
					    windows[j], (long long)now, (long long)got, (long long)want);
				checked++;
			}
		}
	}
	assert_true(checked > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_zone_valid),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_zone_switching),
		cmocka_unit_test(test_oracle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
