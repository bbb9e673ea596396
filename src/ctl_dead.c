/*
 * ctl_dead: the dead-letter set. `nudgectl dead list [--limit N]` shows
 * dead messages with their last error; `nudgectl dead replay ID|--all`
 * puts them back to due with their attempts reset.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "ctl.h"
#include "ctl_redis.h"
#include "sched.h"
#include "util.h"

static int
ctl_dead_list(struct ctl *x, long limit)
{
	long shown = 0;
	int p;
	size_t i;

	for (p = 0; p < x->cfg.partitions && shown < limit; p++) {
		char *pre = sched_prefix(x->cfg.key_prefix, p);
		redisReply *r = ctl_cmd(x, "ZRANGE %sdead 0 %ld WITHSCORES", pre, limit - shown - 1);

		for (i = 0; r != NULL && i + 1 < r->elements; i += 2) {
			redisReply *m = ctl_message(x, pre, r->element[i]->str);
			time_t t = (time_t)(strtoll(r->element[i + 1]->str, NULL, 10) / 1000);
			char when[32];
			struct tm tm;

			gmtime_r(&t, &tm);
			strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
			if (m != NULL) {
				const char *a = ctl_message_field(m, "a"), *err = ctl_message_field(m, "err");

				printf("%s  %s  %s  %s/%s  attempts %s  %s\n", r->element[i]->str, when,
				    ctl_message_field(m, "sh"), ctl_message_field(m, "f"),
				    ctl_message_field(m, "s"), a ? a : "?", err ? err : "");
			}
			freeReplyObject(m);
			shown++;
		}
		freeReplyObject(r);
		free(pre);
	}
	if (shown == 0)
		printf("no dead messages\n");
	return 0;
}

/* Replays id in partition p; 1 if it was dead there. */
static int
ctl_dead_replay_one(struct ctl *x, int p, const char *id)
{
	char *pre = sched_prefix(x->cfg.key_prefix, p);
	char *dead = xasprintf("%sdead", pre), *due = xasprintf("%sdue", pre);
	char now[32], keep[32];
	const char *argv[6];
	redisReply *r;
	int ok;

	snprintf(now, sizeof now, "%lld", (long long)clock_now_ms());
	argv[0] = dead;
	argv[1] = due;
	argv[2] = pre;
	argv[3] = id;
	argv[4] = now;
	snprintf(keep, sizeof keep, "%ld", (long)x->cfg.done_ttl);
	argv[5] = keep;
	r = ctl_script(x, STORE_REPLAY, 2, 6, argv);
	ok = r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
	freeReplyObject(r);
	free(dead);
	free(due);
	free(pre);
	return ok;
}

static void	ctl_dead_wake(struct ctl *, int);
static long	ctl_dead_replay_all(struct ctl *, int);

static int
ctl_dead_replay(struct ctl *x, const char *id)
{
	long n = 0;
	int p;

	for (p = 0; p < x->cfg.partitions; p++) {
		long before = n;

		if (id != NULL)
			n += ctl_dead_replay_one(x, p, id);
		else
			n += ctl_dead_replay_all(x, p);
		if (n > before)
			ctl_dead_wake(x, p);
	}
	printf("replayed %ld message%s\n", n, n == 1 ? "" : "s");
	return id != NULL && n == 0 ? 1 : 0;
}

/* Wakes idle workers for partition p, as the apply script does. */
static void
ctl_dead_wake(struct ctl *x, int p)
{
	char *pre = sched_prefix(x->cfg.key_prefix, p);
	char *payload = xasprintf("%s %lld", pre, (long long)clock_now_ms());
	redisReply *r = ctl_cmd(x, "PUBLISH %swake %s", x->cfg.key_prefix, payload);

	freeReplyObject(r);
	free(payload);
	free(pre);
}

static long
ctl_dead_replay_all(struct ctl *x, int p)
{
	long n = 0;
	size_t i, got;

	do {
		char *pre = sched_prefix(x->cfg.key_prefix, p);
		redisReply *r = ctl_cmd(x, "ZRANGE %sdead 0 999", pre);

		free(pre);
		got = r ? r->elements : 0;
		for (i = 0; i < got; i++)
			n += ctl_dead_replay_one(x, p, r->element[i]->str);
		freeReplyObject(r);
	} while (got == 1000);
	return n;
}

int
ctl_dead(int argc, char **argv)
{
	struct ctl x;
	int rc;

	if (argc < 2 || (strcmp(argv[1], "list") != 0 && strcmp(argv[1], "replay") != 0) ||
	    (strcmp(argv[1], "replay") == 0 && argc < 3)) {
		fprintf(stderr, "usage: nudgectl dead list [--limit N]\n"
		    "       nudgectl dead replay ID|--all\n");
		return 2;
	}
	if (ctl_open(&x) == -1)
		return 1;
	if (strcmp(argv[1], "list") == 0)
		rc = ctl_dead_list(&x, argc >= 4 && strcmp(argv[2], "--limit") == 0 ?
		    strtol(argv[3], NULL, 10) : 100);
	else
		rc = ctl_dead_replay(&x, strcmp(argv[2], "--all") == 0 ? NULL : argv[2]);
	ctl_close(&x);
	return rc;
}
