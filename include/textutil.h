/*
 * textutil: small text formatting for message contexts. text_date turns
 * a timestamp into the date a customer reads ("30 November 2026") in
 * their language and time zone, from a static table of month names (no
 * locale files needed).
 */
#ifndef NUDGE_TEXTUTIL_H
#define NUDGE_TEXTUTIL_H

#include <stddef.h>

#define TEXT_DATE_TIME	0x1	/* append the time: "30 November 2026, 18:00" */

/* Enough for any date text_date writes. */
#define TEXT_DATE_MAX	64

/*
 * Formats when, one of
 *   an ISO-8601 time: "2026-11-30T18:00:00Z", "...T20:00:00+02:00",
 *       "...T18:00:00.250Z" (no zone means UTC);
 *   a date alone: "2026-11-30" (shown as is: no zone conversion, no time);
 *   ms since the epoch as decimal digits: "1796061600000";
 * as "<day> <month> <year>" in locale's language: en "30 November 2026",
 * el "30 Νοεμβρίου 2026", pl "30 listopada 2026" (the month in the
 * genitive, as el and pl write dates); any other language gets en. With
 * TEXT_DATE_TIME, ", HH:MM" (24-hour) follows.
 *
 * The date is the one in zone tz (an IANA name; one quiet_zone_valid()
 * refuses is UTC). A NULL or empty tz shows the time as written: in the
 * string's own offset, UTC for "Z", no offset or ms. A zone is applied
 * through quiet_localtime, so this sets TZ and is for one thread only
 * (see quiet.h).
 *
 * 0, or -1 when when is none of the above: out is then when unchanged
 * ("" for NULL). out is always NUL-terminated, cut at a character
 * boundary when outlen is too small.
 */
int	text_date(const char *when, const char *locale, const char *tz, int flags,
	    char *out, size_t outlen);

#endif
