/*
 * textutil: dates for people. Month names are a table here rather than
 * strftime's %B: that would need the locale files installed (they are not
 * in a slim image) and setlocale, which is process-wide as TZ is. Greek and
 * Polish write a date with the month in the genitive ("30 Νοεμβρίου").
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "nevent.h"
#include "quiet.h"
#include "textutil.h"
#include "util.h"

static const char *const text_months_en[12] = {
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December",
};

/* Genitive: "of January". */
static const char *const text_months_el[12] = {
	"Ιανουαρίου", "Φεβρουαρίου", "Μαρτίου", "Απριλίου", "Μαΐου", "Ιουνίου",
	"Ιουλίου", "Αυγούστου", "Σεπτεμβρίου", "Οκτωβρίου", "Νοεμβρίου", "Δεκεμβρίου",
};

static const char *const text_months_pl[12] = {
	"stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca",
	"sierpnia", "września", "października", "listopada", "grudnia",
};

static const char *const *
text_months(const char *locale)
{
	size_t n;

	if (locale == NULL)
		return text_months_en;
	n = strcspn(locale, "-_");
	if (n == 2 && strncasecmp(locale, "el", 2) == 0)
		return text_months_el;
	if (n == 2 && strncasecmp(locale, "pl", 2) == 0)
		return text_months_pl;
	return text_months_en;
}

/* Copies s into out, cutting at a UTF-8 character boundary if it must. */
static void
text_copy(char *out, size_t outlen, const char *s)
{
	size_t n = strlen(s);

	if (outlen == 0)
		return;
	if (n > outlen - 1) {
		n = outlen - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

/*
 * The offset (s) written at the end of an ISO time nevent_parse_time has
 * accepted: "+02:00", "-0500"; 0 for "Z" or none. The date and time before
 * it hold no sign after the first 19 characters.
 */
static long
text_iso_offset(const char *s)
{
	const char *p;
	long sign, h, m;

	if (strlen(s) <= 19 || (p = strpbrk(s + 19, "+-")) == NULL)
		return 0;
	sign = *p++ == '-' ? -1 : 1;
	h = (p[0] - '0') * 10 + (p[1] - '0');
	p += p[2] == ':' ? 3 : 2;
	m = (p[0] - '0') * 10 + (p[1] - '0');
	return sign * (h * 3600 + m * 60);
}

static int
text_all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return 0;
	}
	return 1;
}

int
text_date(const char *when, const char *locale, const char *tz, int flags, char *out,
    size_t outlen)
{
	const char *const *months = text_months(locale);
	char *iso, text[TEXT_DATE_MAX * 2];
	int64_t ms;
	time_t t;
	struct tm tm;
	int date_only = 0, ok;
	long off = 0;

	if (when == NULL) {
		text_copy(out, outlen, "");
		return -1;
	}
	if (strlen(when) == 10 && when[4] == '-') {
		/* A date alone: checked by the full parser as midnight UTC. */
		iso = xasprintf("%sT00:00:00Z", when);
		ok = nevent_parse_time(iso, &ms) == 0;
		free(iso);
		date_only = 1;
		tz = NULL;
	} else if (text_all_digits(when))
		ok = util_parse_i64(when, &ms) == 0;
	else {
		ok = nevent_parse_time(when, &ms) == 0;
		if (ok)
			off = text_iso_offset(when);
	}
	if (!ok) {
		text_copy(out, outlen, when);
		return -1;
	}

	if (tz != NULL && *tz != '\0')
		ok = quiet_localtime(tz, ms, &tm) == 0;
	else {
		t = (time_t)((ms - (ms % 1000 + 1000) % 1000) / 1000 + off);
		ok = gmtime_r(&t, &tm) != NULL;
	}
	if (!ok || tm.tm_mon < 0 || tm.tm_mon > 11) {
		text_copy(out, outlen, when);
		return -1;
	}
	if ((flags & TEXT_DATE_TIME) && !date_only)
		snprintf(text, sizeof text, "%d %s %d, %02d:%02d", tm.tm_mday,
		    months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min);
	else
		snprintf(text, sizeof text, "%d %s %d", tm.tm_mday, months[tm.tm_mon],
		    tm.tm_year + 1900);
	text_copy(out, outlen, text);
	return 0;
}
