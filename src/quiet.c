/*
 * quiet: quiet hours in an IANA zone. The zone rules come from the C
 * library (TZ + tzset + localtime_r and its tm_gmtoff); this file only
 * decides which instants to ask about. Owns the process's TZ: see quiet.h.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "quiet.h"
#include "util.h"

#define QUIET_ZONE_MAX	128
#define QUIET_DAY	86400

/* What TZ was last set to, and for which requested name. */
static char	quiet_req[QUIET_ZONE_MAX];
static char	quiet_set[QUIET_ZONE_MAX];
static int	quiet_cached;

static void
quiet_skip_blank(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

/* "H:MM" or "HH:MM", 00:00..23:59 or 24:00; minutes after midnight, or -1. */
static int
quiet_parse_hm(const char **p)
{
	const char *s = *p;
	int h = 0, m, n = 0;

	while (isdigit((unsigned char)*s) && n < 2) {
		h = h * 10 + (*s++ - '0');
		n++;
	}
	if (n == 0 || *s++ != ':')
		return -1;
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
		return -1;
	m = (s[0] - '0') * 10 + (s[1] - '0');
	s += 2;
	if (m > 59 || h > 24 || (h == 24 && m != 0))
		return -1;
	*p = s;
	return (h * 60 + m) % 1440;
}

int
quiet_parse(const char *spec, struct quiet_window *out, char **cause)
{
	const char *p = spec;
	int start, end;

	out->start_min = out->end_min = 0;
	if (spec == NULL)
		return 0;
	quiet_skip_blank(&p);
	if (*p == '\0' || util_strcaseeq(p, "none"))
		return 0;
	if ((start = quiet_parse_hm(&p)) < 0)
		goto bad;
	quiet_skip_blank(&p);
	if (*p++ != '-')
		goto bad;
	quiet_skip_blank(&p);
	if ((end = quiet_parse_hm(&p)) < 0)
		goto bad;
	quiet_skip_blank(&p);
	if (*p != '\0')
		goto bad;
	if (start != end) {
		out->start_min = start;
		out->end_min = end;
	}
	return 0;
bad:
	if (cause != NULL)
		*cause = xasprintf("invalid quiet hours '%s' (want HH:MM-HH:MM or none)", spec);
	return -1;
}

int
quiet_zone_valid(const char *tz)
{
	const char *dir, *c;
	char *path, magic[4];
	int fd, ok;

	if (tz == NULL || *tz == '\0')
		return 0;
	if (strcmp(tz, "UTC") == 0)
		return 1;
	if (strlen(tz) >= QUIET_ZONE_MAX || tz[0] == '/' || strstr(tz, "..") != NULL)
		return 0;
	for (c = tz; *c != '\0'; c++) {
		if (!isalnum((unsigned char)*c) && strchr("/_+-", *c) == NULL)
			return 0;
	}
	if ((dir = getenv("TZDIR")) == NULL || *dir == '\0')
		dir = "/usr/share/zoneinfo";
	path = xasprintf("%s/%s", dir, tz);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return 0;
	/* A directory ("Europe") or a stray file is not a zone. */
	ok = read(fd, magic, sizeof magic) == (ssize_t)sizeof magic &&
	    memcmp(magic, "TZif", 4) == 0;
	close(fd);
	return ok;
}

/*
 * Points TZ at tz (or UTC) and re-reads it. localtime_r need not call
 * tzset itself (glibc's does not after the first time), so we do. Cheap
 * when the zone has not changed: the common case of many messages to one
 * shop's customers. If someone else changed TZ, it is set again.
 */
static void
quiet_use_zone(const char *tz)
{
	const char *want, *cur;

	if (tz == NULL)
		tz = "";
	cur = getenv("TZ");
	if (quiet_cached && strcmp(quiet_req, tz) == 0 && cur != NULL &&
	    strcmp(cur, quiet_set) == 0)
		return;
	/* "UTC0" is a POSIX rule: it needs no zone file. */
	want = (strcmp(tz, "UTC") != 0 && quiet_zone_valid(tz)) ? tz : "UTC0";
	setenv("TZ", want, 1);
	tzset();
	quiet_cached = strlen(tz) < sizeof quiet_req;
	if (quiet_cached) {
		snprintf(quiet_req, sizeof quiet_req, "%s", tz);
		snprintf(quiet_set, sizeof quiet_set, "%s", want);
	}
}

static int64_t
quiet_floordiv(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* The UTC offset (s) in force at t, in the zone currently set. */
static long
quiet_offset(time_t t)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return 0;
	return tm.tm_gmtoff;
}

static int
quiet_inside(const struct quiet_window *w, int min)
{
	if (w->start_min < w->end_min)
		return min >= w->start_min && min < w->end_min;
	return min >= w->start_min || min < w->end_min;
}

/* Local minute of day at t under offset off. */
static int
quiet_minute(int64_t t, long off)
{
	int64_t lt = t + off;

	return (int)((lt - quiet_floordiv(lt, QUIET_DAY) * QUIET_DAY) / 60);
}

int
quiet_localtime(const char *tz, int64_t ms, struct tm *out)
{
	time_t t = (time_t)quiet_floordiv(ms, 1000);

	quiet_use_zone(tz);
	return localtime_r(&t, out) == NULL ? -1 : 0;
}

/*
 * Walks spans of constant UTC offset from now. Inside one span the local
 * clock runs with UTC, so it leaves the window exactly when it reaches
 * end_min. If the span ends first (a DST change), the jump may land
 * outside the window (the end minute was skipped, or the clock fell back
 * to before the start): the quiet time ends at the jump. Otherwise the
 * next span goes on. The window is under 24 h of local clock and zones
 * change offset at most twice a year, so two or three spans suffice;
 * a span is assumed to hold at most one change within 25 h.
 */
int64_t
quiet_until(const char *tz, const struct quiet_window *w, int64_t now_ms)
{
	int64_t s, lt, target, end, lo, hi, mid;
	long off;
	int span;

	if (w == NULL || w->start_min == w->end_min ||
	    w->start_min < 0 || w->start_min >= 1440 ||
	    w->end_min < 0 || w->end_min >= 1440)
		return 0;
	quiet_use_zone(tz);
	s = quiet_floordiv(now_ms, 1000);
	off = quiet_offset((time_t)s);
	if (!quiet_inside(w, quiet_minute(s, off)))
		return 0;

	for (span = 0; span < 4; span++) {
		/* The next time the local clock shows end_min:00 at this offset. */
		lt = s + off;
		target = quiet_floordiv(lt, QUIET_DAY) * QUIET_DAY + (int64_t)w->end_min * 60;
		if (target <= lt)
			target += QUIET_DAY;
		end = target - off;

		/* Does the offset change before then? Find the first second it does. */
		hi = s + QUIET_DAY + 3600;
		if (quiet_offset((time_t)hi) == off)
			return end * 1000;
		lo = s;
		while (hi - lo > 1) {
			mid = lo + (hi - lo) / 2;
			if (quiet_offset((time_t)mid) == off)
				lo = mid;
			else
				hi = mid;
		}
		if (end <= lo)
			return end * 1000;
		/* hi is the first second of the new offset. */
		s = hi;
		off = quiet_offset((time_t)s);
		if (!quiet_inside(w, quiet_minute(s, off)))
			return s * 1000;
	}
	return end * 1000;
}
