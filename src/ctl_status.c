/*
 * ctl_status: `nudgectl status [--json]`: how much is due, in flight and
 * dead, per partition and in total, the counters, and pending messages by
 * flow and step (from the first 100,000 due messages of each partition).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clock.h"
#include "ctl.h"
#include "ctl_redis.h"
#include "sched.h"
#include "util.h"

#define CTL_STEP_SAMPLE 100000

int
ctl_status(int argc, char **argv)
{
	struct ctl x;
	json_t *out, *parts, *stats, *steps;
	long long due = 0, inflight = 0, dead = 0, next = -1;
	int as_json = argc > 1 && strcmp(argv[1], "--json") == 0;
	int p;
	size_t i;

	if (ctl_open(&x) == -1)
		return 1;
	out = json_object();
	parts = json_array();
	stats = json_object();
	steps = json_object();
	for (p = 0; p < x.cfg.partitions; p++) {
		char *pre = sched_prefix(x.cfg.key_prefix, p);
		redisReply *r;
		long long d, f, k;

		r = ctl_cmd(&x, "ZCARD %sdue", pre);
		d = r ? r->integer : 0;
		freeReplyObject(r);
		r = ctl_cmd(&x, "ZCARD %sinflight", pre);
		f = r ? r->integer : 0;
		freeReplyObject(r);
		r = ctl_cmd(&x, "ZCARD %sdead", pre);
		k = r ? r->integer : 0;
		freeReplyObject(r);
		due += d;
		inflight += f;
		dead += k;
		if (d || f || k)
			json_array_append_new(parts, json_pack("{s:i, s:I, s:I, s:I}", "partition", p,
			    "due", (json_int_t)d, "inflight", (json_int_t)f, "dead", (json_int_t)k));
		if ((r = ctl_cmd(&x, "ZRANGE %sdue 0 0 WITHSCORES", pre)) != NULL) {
			if (r->elements == 2) {
				long long s = strtoll(r->element[1]->str, NULL, 10);

				if (next < 0 || s < next)
					next = s;
			}
			freeReplyObject(r);
		}
		if ((r = ctl_cmd(&x, "HGETALL %sstats", pre)) != NULL) {
			for (i = 0; i + 1 < r->elements; i += 2) {
				json_t *v = json_object_get(stats, r->element[i]->str);
				long long n = strtoll(r->element[i + 1]->str, NULL, 10);

				json_object_set_new(stats, r->element[i]->str,
				    json_integer((v ? json_integer_value(v) : 0) + n));
			}
			freeReplyObject(r);
		}
		if (d > 0 && (r = ctl_cmd(&x, "ZRANGE %sdue 0 %d", pre, CTL_STEP_SAMPLE - 1)) != NULL) {
			for (i = 0; i < r->elements; i++) {
				redisReply *m = ctl_message(&x, pre, r->element[i]->str);
				char *key;
				json_t *v;

				if (m == NULL)
					continue;
				key = xasprintf("%s/%s", ctl_message_field(m, "f"),
				    ctl_message_field(m, "s"));
				v = json_object_get(steps, key);
				json_object_set_new(steps, key, json_integer(v ? json_integer_value(v) + 1 : 1));
				free(key);
				freeReplyObject(m);
			}
			freeReplyObject(r);
		}
		free(pre);
	}
	json_object_set_new(out, "due", json_integer(due));
	json_object_set_new(out, "inflight", json_integer(inflight));
	json_object_set_new(out, "dead", json_integer(dead));
	json_object_set_new(out, "next_due_in_ms",
	    next < 0 ? json_null() : json_integer(next - clock_now_ms()));
	json_object_set_new(out, "partitions", parts);
	json_object_set_new(out, "counters", stats);
	json_object_set_new(out, "pending_by_step", steps);
	if (as_json) {
		char *s = json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS);

		printf("%s\n", s);
		free(s);
	} else {
		const char *k;
		json_t *v;

		printf("due %lld, in flight %lld, dead %lld", due, inflight, dead);
		if (next >= 0)
			printf("; next due in %.1f s", (double)(next - clock_now_ms()) / 1000);
		printf("\n\ncounters:\n");
		json_object_foreach(stats, k, v)
			printf("  %-14s %lld\n", k, (long long)json_integer_value(v));
		printf("\npending by flow/step:\n");
		json_object_foreach(steps, k, v)
			printf("  %-32s %lld\n", k, (long long)json_integer_value(v));
	}
	json_decref(out);
	ctl_close(&x);
	return 0;
}
