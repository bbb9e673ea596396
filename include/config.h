/*
 * config: every setting of every binary in one table (name, environment
 * variable, type, bounds, default, help), after redis's static_configs[].
 * One loop parses and validates the environment, prints --help and logs the
 * effective settings with secrets masked. Secrets also accept VAR_FILE.
 */
#ifndef NUDGE_CONFIG_H
#define NUDGE_CONFIG_H

#include <stdio.h>

/* Which binary a setting belongs to (a setting may belong to several). */
#define CONFIG_SERVER	0x1
#define CONFIG_WORKER	0x2
#define CONFIG_CTL	0x4
#define CONFIG_ALL	(CONFIG_SERVER | CONFIG_WORKER | CONFIG_CTL)

struct config {
	/* shared */
	char	*redis_url;		/* redis://host:port[/db] */
	char	*key_prefix;		/* prefix of every Redis key */
	long	 partitions;		/* hash-tagged partitions of the keyspace */
	char	*shops_file;
	char	*flows_file;
	char	*templates_dir;
	double	 time_scale;		/* divides every flow delay */
	char	*log_level;
	long	 timeline_max;		/* entries a timeline shows at most */

	/* nudge-server */
	char	*listen;		/* host:port */
	long	 body_limit;		/* bytes */
	long	 dedupe_ttl;		/* seconds a delivery id is remembered */
	long	 request_timeout_ms;	/* longest wait for Redis before 503 */
	long	 threads;		/* event loops (SO_REUSEPORT); 0 = cores */
	char	*export_dir;		/* privacy data-request exports */

	/* nudge-worker */
	char	*email_provider;
	char	*sms_provider;
	char	*outbox_dir;
	long	 max_attempts;
	long	 backoff_base_ms;
	long	 backoff_max_ms;
	long	 lease_ms;
	long	 send_timeout_ms;
	long	 claim_batch;
	long	 max_inflight;
	long	 claims_inflight;	/* per partition, while it has a backlog */
	long	 poll_ms;
	long	 grace_ms;
	long	 done_ttl;		/* seconds a sent marker stays */
	char	*worker_metrics_listen;

	/* providers */
	char	*sendgrid_api_key;
	char	*sendgrid_url;
	char	*postmark_token;
	char	*postmark_url;
	char	*mailgun_api_key;
	char	*mailgun_domain;
	char	*mailgun_url;
	char	*smtp_url;
	char	*twilio_sid;
	char	*twilio_token;
	char	*twilio_from;
	char	*twilio_url;
	char	*vonage_key;
	char	*vonage_secret;
	char	*vonage_from;
	char	*vonage_url;
	char	*webhook_url;
	char	*webhook_secret;
	long	 provider_concurrency;	/* per-provider sends in flight */
	long	 provider_rate;		/* per-provider requests/s, 0 = none */

	/* customer-facing */
	long	 frequency_cap_ms;	/* promotional messages per customer; 0 = none */
	char	*quiet_sms;		/* default quiet hours "21:00-08:00" */
	char	*quiet_email;
	long	 discount_valid_hours;
	char	*public_url;
	char	*unsubscribe_secret;
	char	*admin_token;
};

/*
 * Fills cfg from defaults and the environment for the settings of scope.
 * Returns 0, or -1 with *cause (caller frees) naming the setting at fault.
 */
int	config_load(struct config *cfg, unsigned scope, char **cause);
void	config_free(struct config *cfg);
/* Prints every setting of scope with its default and help. */
void	config_usage(FILE *fp, const char *prog, unsigned scope);
/* Logs the effective settings of scope, secrets masked. */
void	config_log(const struct config *cfg, unsigned scope);

#endif
