/*
 * quiet: quiet hours (no SMS at night) in the customer's IANA time zone,
 * correct across daylight-saving changes. The C library's zoneinfo does
 * the zone arithmetic: this module sets TZ for the whole process and asks
 * localtime_r. It therefore must only be called from one thread (the
 * worker's), and nothing else in the process may rely on TZ or on
 * localtime(): everything else in nudge works in UTC (gmtime_r).
 */
#ifndef NUDGE_QUIET_H
#define NUDGE_QUIET_H

#include <stdint.h>
#include <time.h>

/*
 * Minutes after local midnight, 0..1439. start > end spans midnight
 * (21:00-08:00 is {1260, 480}); start == end is no window at all. The
 * window holds start and stops before end: at end's minute sending is
 * allowed again.
 */
struct quiet_window {
	int	start_min;
	int	end_min;
};

/*
 * Parses "HH:MM-HH:MM" (hours may have one digit, "24:00" is midnight,
 * blanks around the parts are allowed). "", NULL and "none" (any case) are
 * no window. 0, or -1 with *cause (caller frees) and *out set to no window.
 */
int	quiet_parse(const char *spec, struct quiet_window *out, char **cause);

/*
 * If now_ms (UTC, ms since the epoch) falls in w in zone tz, the UTC ms at
 * which it ends, else 0. The end is the first instant the local clock is
 * out of the window: normally end_min on the right day; when a DST jump
 * skips end_min (03:30 on a 03:00 -> 04:00 night), the first minute after
 * the jump (04:00); when end_min happens twice (a 04:00 -> 03:00 night),
 * the first one after now. A zone that quiet_zone_valid() refuses is
 * treated as UTC. Sets TZ (see above).
 */
int64_t	quiet_until(const char *tz, const struct quiet_window *w, int64_t now_ms);

/*
 * 1 if tz names a zone file under $TZDIR or /usr/share/zoneinfo (a plain
 * name such as "Europe/Athens": no leading '/', no ".."), or is "UTC";
 * else 0. For checking configuration and customer data at the door.
 */
int	quiet_zone_valid(const char *tz);

/*
 * Local time in tz (UTC when refused, as above) of ms; tm_gmtoff holds
 * the offset. 0, or -1 when the time is out of range. Sets TZ (see above).
 */
int	quiet_localtime(const char *tz, int64_t ms, struct tm *out);

#endif
