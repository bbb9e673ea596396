/*
 * config: the settings table. Adding a setting is one line here and one
 * field in struct config; --help, validation and the startup log follow.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "util.h"

enum config_type {
	CT_STR,		/* plain string */
	CT_SECRET,	/* string, never logged, also read from VAR_FILE */
	CT_INT,		/* long within [min, max] */
	CT_DOUBLE,	/* double within (0, max] */
	CT_ENUM,	/* one of the '|'-separated words in choices */
};

struct config_entry {
	const char	*env;
	enum config_type type;
	unsigned	 scope;
	size_t		 offset;
	const char	*def;
	long		 min, max;
	const char	*choices;
	const char	*help;
};

#define S CONFIG_SERVER
#define W CONFIG_WORKER
#define C CONFIG_CTL
#define OFF(f) offsetof(struct config, f)

static const struct config_entry config_table[] = {
	{ "NUDGE_REDIS_URL", CT_SECRET, S|W|C, OFF(redis_url), "redis://127.0.0.1:6379/0", 0, 0, NULL,
	  "Redis to use: redis://[:password@]host:port[/db]" },
	{ "NUDGE_KEY_PREFIX", CT_STR, S|W|C, OFF(key_prefix), "nudge:", 0, 0, NULL,
	  "prefix of every Redis key" },
	{ "NUDGE_PARTITIONS", CT_INT, S|W|C, OFF(partitions), "16", 1, 4096, NULL,
	  "hash-tagged partitions of the keyspace (a shop lives in one); never change on a live store" },
	{ "NUDGE_SHOPS_FILE", CT_STR, S|W|C, OFF(shops_file), NULL, 0, 0, NULL,
	  "JSON list of shops (domain, platform, secret, ...); required by server and worker" },
	{ "NUDGE_FLOWS_FILE", CT_STR, S|W|C, OFF(flows_file), "config/flows.json", 0, 0, NULL,
	  "flow definitions" },
	{ "NUDGE_TEMPLATES_DIR", CT_STR, W|C, OFF(templates_dir), "templates", 0, 0, NULL,
	  "message templates: <dir>/<locale>/<template>.subject|.html|.txt|.sms" },
	{ "NUDGE_TIME_SCALE", CT_DOUBLE, S|W|C, OFF(time_scale), "1", 0, 100000000, NULL,
	  "divides every flow delay (demos and tests); 1 in production" },
	{ "NUDGE_LOG_LEVEL", CT_ENUM, S|W|C, OFF(log_level), "info", 0, 0, "debug|info|warn|error",
	  "lowest level logged" },
	{ "NUDGE_TIMELINE_MAX", CT_INT, S|W|C, OFF(timeline_max), "200", 0, 100000, NULL,
	  "entries a customer's timeline shows at most (0: all)" },

	{ "NUDGE_LISTEN", CT_STR, S, OFF(listen), "127.0.0.1:8080", 0, 0, NULL,
	  "host:port nudge-server listens on" },
	{ "NUDGE_BODY_LIMIT", CT_INT, S, OFF(body_limit), "1048576", 1024, 67108864, NULL,
	  "largest webhook body accepted, bytes (413 above)" },
	{ "NUDGE_DEDUPE_TTL", CT_INT, S, OFF(dedupe_ttl), "604800", 60, 31536000, NULL,
	  "seconds a webhook delivery id is remembered (longer than platform retries)" },
	{ "NUDGE_REQUEST_TIMEOUT_MS", CT_INT, S, OFF(request_timeout_ms), "3000", 50, 60000, NULL,
	  "longest wait for Redis before answering 503 (Shopify gives up at 5 s)" },
	{ "NUDGE_THREADS", CT_INT, S, OFF(threads), "1", 0, 256, NULL,
	  "event loops sharing the port with SO_REUSEPORT; 0 = one per core" },

	{ "NUDGE_EXPORT_DIR", CT_STR, S, OFF(export_dir), "var/exports", 0, 0, NULL,
	  "where answers to customers/data_request are written (one JSON file each)" },

	{ "NUDGE_EMAIL_PROVIDER", CT_ENUM, W, OFF(email_provider), "log", 0, 0,
	  "sendgrid|postmark|mailgun|smtp|webhook|log", "e-mail provider" },
	{ "NUDGE_SMS_PROVIDER", CT_ENUM, W, OFF(sms_provider), "none", 0, 0,
	  "twilio|vonage|webhook|log|none", "SMS provider (none: SMS steps are skipped)" },
	{ "NUDGE_OUTBOX_DIR", CT_STR, W, OFF(outbox_dir), "var/outbox", 0, 0, NULL,
	  "where the log provider writes each message" },
	{ "NUDGE_MAX_ATTEMPTS", CT_INT, W, OFF(max_attempts), "8", 1, 100, NULL,
	  "send attempts before a message goes to the dead-letter set" },
	{ "NUDGE_BACKOFF_BASE_MS", CT_INT, W, OFF(backoff_base_ms), "30000", 1, 86400000, NULL,
	  "first retry delay; doubles each attempt, with jitter" },
	{ "NUDGE_BACKOFF_MAX_MS", CT_INT, W, OFF(backoff_max_ms), "3600000", 1, 604800000, NULL,
	  "longest retry delay" },
	{ "NUDGE_LEASE_MS", CT_INT, W, OFF(lease_ms), "60000", 100, 3600000, NULL,
	  "claim lease; an unacknowledged message returns to due after it (> send timeout)" },
	{ "NUDGE_SEND_TIMEOUT_MS", CT_INT, W, OFF(send_timeout_ms), "15000", 50, 600000, NULL,
	  "timeout of one provider request" },
	{ "NUDGE_CLAIM_BATCH", CT_INT, W, OFF(claim_batch), "100", 1, 10000, NULL,
	  "messages claimed per Redis call" },
	{ "NUDGE_MAX_INFLIGHT", CT_INT, W, OFF(max_inflight), "1000", 1, 100000, NULL,
	  "sends in flight per worker" },
	{ "NUDGE_CLAIMS_INFLIGHT", CT_INT, W, OFF(claims_inflight), "4", 1, 64, NULL,
	  "claims in flight per partition while it has more due than a batch" },
	{ "NUDGE_POLL_MS", CT_INT, W, OFF(poll_ms), "1000", 10, 60000, NULL,
	  "longest idle sleep between claims (wake-ups come by pub/sub sooner)" },
	{ "NUDGE_GRACE_MS", CT_INT, W, OFF(grace_ms), "10000", 0, 600000, NULL,
	  "on SIGTERM, time given to in-flight sends before they are released" },
	{ "NUDGE_DONE_TTL", CT_INT, W, OFF(done_ttl), "8640000", 60, 315360000, NULL,
	  "seconds a sent message's marker stays, so a replay cannot send it again" },
	{ "NUDGE_WORKER_METRICS_LISTEN", CT_STR, W, OFF(worker_metrics_listen), "", 0, 0, NULL,
	  "host:port of the worker's /metrics and /healthz listener (empty: off)" },

	{ "SENDGRID_API_KEY", CT_SECRET, W, OFF(sendgrid_api_key), "", 0, 0, NULL,
	  "SendGrid API key" },
	{ "NUDGE_SENDGRID_URL", CT_STR, W, OFF(sendgrid_url), "https://api.sendgrid.com", 0, 0, NULL,
	  "SendGrid base URL (EU: https://api.eu.sendgrid.com)" },
	{ "POSTMARK_SERVER_TOKEN", CT_SECRET, W, OFF(postmark_token), "", 0, 0, NULL,
	  "Postmark server token" },
	{ "NUDGE_POSTMARK_URL", CT_STR, W, OFF(postmark_url), "https://api.postmarkapp.com", 0, 0, NULL,
	  "Postmark base URL" },
	{ "MAILGUN_API_KEY", CT_SECRET, W, OFF(mailgun_api_key), "", 0, 0, NULL,
	  "Mailgun API key" },
	{ "MAILGUN_DOMAIN", CT_STR, W, OFF(mailgun_domain), "", 0, 0, NULL,
	  "Mailgun sending domain" },
	{ "NUDGE_MAILGUN_URL", CT_STR, W, OFF(mailgun_url), "https://api.mailgun.net", 0, 0, NULL,
	  "Mailgun base URL (EU: https://api.eu.mailgun.net)" },
	{ "NUDGE_SMTP_URL", CT_SECRET, W, OFF(smtp_url), "", 0, 0, NULL,
	  "smtp[s]://user:pass@host:port for the smtp provider" },
	{ "TWILIO_ACCOUNT_SID", CT_STR, W, OFF(twilio_sid), "", 0, 0, NULL,
	  "Twilio account SID" },
	{ "TWILIO_AUTH_TOKEN", CT_SECRET, W, OFF(twilio_token), "", 0, 0, NULL,
	  "Twilio auth token" },
	{ "TWILIO_FROM", CT_STR, W, OFF(twilio_from), "", 0, 0, NULL,
	  "Twilio sender (number or alphanumeric id)" },
	{ "NUDGE_TWILIO_URL", CT_STR, W, OFF(twilio_url), "https://api.twilio.com", 0, 0, NULL,
	  "Twilio base URL" },
	{ "VONAGE_API_KEY", CT_STR, W, OFF(vonage_key), "", 0, 0, NULL,
	  "Vonage API key" },
	{ "VONAGE_API_SECRET", CT_SECRET, W, OFF(vonage_secret), "", 0, 0, NULL,
	  "Vonage API secret" },
	{ "VONAGE_FROM", CT_STR, W, OFF(vonage_from), "", 0, 0, NULL,
	  "Vonage sender" },
	{ "NUDGE_VONAGE_URL", CT_STR, W, OFF(vonage_url), "https://rest.nexmo.com", 0, 0, NULL,
	  "Vonage SMS base URL" },
	{ "NUDGE_WEBHOOK_URL", CT_STR, W, OFF(webhook_url), "", 0, 0, NULL,
	  "URL the webhook channel POSTs rendered messages to" },
	{ "NUDGE_WEBHOOK_SECRET", CT_SECRET, W, OFF(webhook_secret), "", 0, 0, NULL,
	  "whsec_... secret signing outbound webhooks (Standard Webhooks)" },
	{ "NUDGE_PROVIDER_CONCURRENCY", CT_INT, W, OFF(provider_concurrency), "500", 1, 100000, NULL,
	  "requests in flight per provider" },
	{ "NUDGE_PROVIDER_RATE", CT_INT, W, OFF(provider_rate), "0", 0, 1000000, NULL,
	  "requests per second per provider (0: unlimited)" },

	{ "NUDGE_FREQUENCY_CAP_MS", CT_INT, S|W|C, OFF(frequency_cap_ms), "57600000", 0, 2592000000, NULL,
	  "at most one promotional message per customer in this window (16 h; 0 = no cap; scaled by NUDGE_TIME_SCALE)" },
	{ "NUDGE_QUIET_HOURS_SMS", CT_STR, W, OFF(quiet_sms), "21:00-08:00", 0, 0, NULL,
	  "default SMS quiet hours in the shop's time zone (a shop's \"quiet_hours\" overrides; \"none\" = off)" },
	{ "NUDGE_QUIET_HOURS_EMAIL", CT_STR, W, OFF(quiet_email), "none", 0, 0, NULL,
	  "default e-mail quiet hours in the shop's time zone" },
	{ "NUDGE_DISCOUNT_VALID_HOURS", CT_INT, W, OFF(discount_valid_hours), "48", 1, 8760, NULL,
	  "how long a discount code handed out from a shop's pool is valid" },
	{ "NUDGE_PUBLIC_URL", CT_STR, S|W|C, OFF(public_url), "http://127.0.0.1:8080", 0, 0, NULL,
	  "base URL at which nudge-server is reachable from the internet (unsubscribe links)" },
	{ "NUDGE_UNSUBSCRIBE_SECRET", CT_SECRET, S|W|C, OFF(unsubscribe_secret), "", 0, 0, NULL,
	  "key signing unsubscribe tokens (default: derived from the shops' secrets)" },
	{ "NUDGE_ADMIN_TOKEN", CT_SECRET, S|C, OFF(admin_token), "", 0, 0, NULL,
	  "bearer token of the admin API (empty: admin API off)" },
};

#undef S
#undef W
#undef C

#define N_ENTRIES (sizeof config_table / sizeof config_table[0])

static char **
config_str(struct config *cfg, const struct config_entry *e)
{
	return (char **)((char *)cfg + e->offset);
}

static int
config_enum_ok(const char *choices, const char *v)
{
	size_t n = strlen(v);
	const char *p = choices;

	while (p != NULL && *p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == n && strncmp(p, v, n) == 0)
			return 1;
		p = bar ? bar + 1 : NULL;
	}
	return 0;
}

/* The value of e: VAR, else VAR_FILE for secrets, else the default. */
static char *
config_value(const struct config_entry *e, char **cause)
{
	const char *v = getenv(e->env);
	char *fv, *name, *end;

	if (v != NULL)
		return xstrdup(v);
	if (e->type == CT_SECRET) {
		name = xasprintf("%s_FILE", e->env);
		v = getenv(name);
		if (v != NULL && *v != '\0') {
			if ((fv = util_read_file(v, NULL, cause)) == NULL) {
				char *c = *cause;

				*cause = xasprintf("%s: %s", name, c);
				free(c);
				free(name);
				return NULL;
			}
			end = fv + strlen(fv);
			while (end > fv && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
				*--end = '\0';
			free(name);
			return fv;
		}
		free(name);
	}
	return e->def ? xstrdup(e->def) : NULL;
}

int
config_load(struct config *cfg, unsigned scope, char **cause)
{
	const struct config_entry *e;
	char *v, *end;
	size_t i;

	memset(cfg, 0, sizeof *cfg);
	for (i = 0; i < N_ENTRIES; i++) {
		e = &config_table[i];
		*cause = NULL;
		v = config_value(e, cause);
		if (*cause != NULL)
			return -1;
		switch (e->type) {
		case CT_STR:
		case CT_SECRET:
			*config_str(cfg, e) = v ? v : xstrdup("");
			/* nudgectl reads Redis without the shops */
			if (v == NULL && (e->scope & scope & (CONFIG_SERVER | CONFIG_WORKER)) &&
			    e->def == NULL) {
				*cause = xasprintf("%s is required: %s", e->env, e->help);
				return -1;
			}
			break;
		case CT_ENUM:
			if (!config_enum_ok(e->choices, v)) {
				*cause = xasprintf("%s=%s: must be one of %s", e->env, v, e->choices);
				free(v);
				return -1;
			}
			*config_str(cfg, e) = v;
			break;
		case CT_INT: {
			long n;

			errno = 0;
			n = strtol(v, &end, 10);
			if (errno || *end != '\0' || end == v || n < e->min || n > e->max) {
				*cause = xasprintf("%s=%s: must be an integer in [%ld, %ld]",
				    e->env, v, e->min, e->max);
				free(v);
				return -1;
			}
			*(long *)((char *)cfg + e->offset) = n;
			free(v);
			break;
		}
		case CT_DOUBLE: {
			double d;

			errno = 0;
			d = strtod(v, &end);
			if (errno || *end != '\0' || end == v || !(d > 0) || d > (double)e->max) {
				*cause = xasprintf("%s=%s: must be a number in (0, %ld]",
				    e->env, v, e->max);
				free(v);
				return -1;
			}
			*(double *)((char *)cfg + e->offset) = d;
			free(v);
			break;
		}
		}
	}
	if ((scope & CONFIG_WORKER) && cfg->lease_ms <= cfg->send_timeout_ms) {
		*cause = xasprintf("NUDGE_LEASE_MS=%ld must exceed NUDGE_SEND_TIMEOUT_MS=%ld, "
		    "or a slow send could be claimed twice", cfg->lease_ms, cfg->send_timeout_ms);
		return -1;
	}
	if (strncmp(cfg->redis_url, "redis://", 8) != 0) {
		*cause = xasprintf("NUDGE_REDIS_URL: must start with redis://");
		return -1;
	}
	return 0;
}

void
config_free(struct config *cfg)
{
	size_t i;

	for (i = 0; i < N_ENTRIES; i++) {
		const struct config_entry *e = &config_table[i];

		if (e->type == CT_STR || e->type == CT_SECRET || e->type == CT_ENUM) {
			free(*config_str(cfg, e));
			*config_str(cfg, e) = NULL;
		}
	}
}

void
config_usage(FILE *fp, const char *prog, unsigned scope)
{
	size_t i;

	fprintf(fp, "Settings of %s (environment variables; secrets also as VAR_FILE):\n\n", prog);
	for (i = 0; i < N_ENTRIES; i++) {
		const struct config_entry *e = &config_table[i];

		if (!(e->scope & scope))
			continue;
		fprintf(fp, "  %-28s %s\n", e->env, e->help);
		if (e->type == CT_ENUM)
			fprintf(fp, "  %-28s one of %s; default: %s\n", "", e->choices, e->def);
		else if (e->def == NULL)
			fprintf(fp, "  %-28s required\n", "");
		else if (e->type == CT_SECRET && *e->def)
			fprintf(fp, "  %-28s default: %s (also %s_FILE)\n", "", e->def, e->env);
		else
			fprintf(fp, "  %-28s default: %s\n", "", *e->def ? e->def : "(empty)");
	}
}

void
config_log(const struct config *cfg, unsigned scope)
{
	struct buf f;
	size_t i;

	buf_init(&f);
	buf_adds(&f, "\"settings\":{");
	for (i = 0; i < N_ENTRIES; i++) {
		const struct config_entry *e = &config_table[i];
		const char *p = (const char *)cfg + e->offset;

		if (!(e->scope & scope))
			continue;
		if (f.data[f.len - 1] != '{')
			buf_addc(&f, ',');
		buf_add_json_str(&f, e->env);
		buf_addc(&f, ':');
		switch (e->type) {
		case CT_SECRET:
			buf_add_json_str(&f, **(char *const *)p ? "***" : "");
			break;
		case CT_STR:
		case CT_ENUM:
			buf_add_json_str(&f, *(char *const *)p);
			break;
		case CT_INT:
			buf_printf(&f, "%ld", *(const long *)p);
			break;
		case CT_DOUBLE:
			buf_printf(&f, "%g", *(const double *)p);
			break;
		}
	}
	buf_addc(&f, '}');
	log_at(LOG_INFO, NULL, f.data, "effective settings");
	buf_free(&f);
}
