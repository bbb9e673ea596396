/*
 * worker_quiet: quiet hours as the claim script wants them. The worker
 * knows every shop's time zone and windows; the claim defers a message of a
 * shop and channel in quiet hours to their end, atomically with the claim.
 */
#include "worker_int.h"

/*
 * Which shops and channels are in quiet hours now, as the claim script
 * wants them ("shop|channel|until" lines). Recomputed at most once a second:
 * time zone arithmetic for every shop on every claim would be wasted work.
 */
const char *
worker_quiet(struct worker *w, int64_t now)
{
	static const char *chan[2] = { "email", "sms" };
	size_t i, n = shops_count(w->shops);
	int c;

	if (w->quiet_at != 0 && now - w->quiet_at < 1000)
		return w->quiet.data ? w->quiet.data : "";
	w->quiet_at = now;
	buf_reset(&w->quiet);
	for (i = 0; i < n; i++) {
		const struct shop *shop = shops_at(w->shops, i);

		for (c = 0; c < 2; c++) {
			int64_t until = quiet_until(shop->timezone, &w->quiet_win[2 * i + c], now);

			if (until > now)
				buf_printf(&w->quiet, "%s|%s|%lld\n", shop->domain, chan[c],
				    (long long)until);
		}
	}
	return w->quiet.data ? w->quiet.data : "";
}

/* Each shop's quiet hours: its "quiet_hours" setting, else the defaults. */
int
worker_quiet_setup(struct worker *w, char **cause)
{
	size_t i, n = shops_count(w->shops);
	int c;

	w->quiet_win = xcalloc(n ? 2 * n : 1, sizeof *w->quiet_win);
	for (i = 0; i < n; i++) {
		const struct shop *shop = shops_at(w->shops, i);
		json_t *q = shop->raw ? json_object_get(shop->raw, "quiet_hours") : NULL;

		if (!quiet_zone_valid(shop->timezone)) {
			*cause = xasprintf("NUDGE_SHOPS_FILE: shop %s: unknown time zone \"%s\"",
			    shop->domain, shop->timezone);
			return -1;
		}
		for (c = 0; c < 2; c++) {
			const char *key = c ? "sms" : "email";
			const char *spec = c ? w->cfg->quiet_sms : w->cfg->quiet_email;
			json_t *v = json_object_get(q, key);

			if (json_is_string(v))
				spec = json_string_value(v);
			if (quiet_parse(spec, &w->quiet_win[2 * i + c], cause) == -1) {
				char *why = *cause;

				*cause = xasprintf("quiet hours of shop %s (%s): %s", shop->domain,
				    key, why);
				free(why);
				return -1;
			}
		}
	}
	return 0;
}

