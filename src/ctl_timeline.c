/*
 * ctl_timeline: `nudgectl timeline SHOP EMAIL [--json]`: what happened to
 * one customer's messages, newest first: scheduled, sent, deferred,
 * failed, cancelled, skipped, each with its reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ctl.h"
#include "ctl_redis.h"
#include "nevent.h"
#include "sched.h"
#include "shops.h"
#include "util.h"

int
ctl_timeline(int argc, char **argv)
{
	char dom[SHOPS_DOMAIN_MAX], key[33], max[24], *pre, *due;
	const char *av[5];
	struct ctl x;
	redisReply *r;
	size_t i;
	int as_json = argc > 3 && strcmp(argv[3], "--json") == 0;

	if (argc < 3) {
		fprintf(stderr, "usage: nudgectl timeline SHOP EMAIL [--json]\n");
		return 2;
	}
	if (ctl_open(&x) == -1)
		return 1;
	shops_normalize_domain(argv[1], dom, sizeof dom);
	nevent_customer_key_of(argv[2], key);
	pre = sched_prefix(x.cfg.key_prefix, shops_partition(dom, x.cfg.partitions));
	due = xasprintf("%sdue", pre);
	snprintf(max, sizeof max, "%ld", x.cfg.timeline_max);
	av[0] = due;
	av[1] = pre;
	av[2] = dom;
	av[3] = key;
	av[4] = max;
	r = ctl_script(&x, STORE_TIMELINE, 1, 5, av);
	free(due);
	free(pre);
	if (r == NULL) {
		ctl_close(&x);
		return 1;
	}
	if (as_json)
		printf("[");
	for (i = 0; i < r->elements; i++) {
		json_t *e = json_loads(r->element[i]->str, 0, NULL);
		time_t t;
		struct tm tm;
		char when[32];

		if (as_json) {
			printf("%s%s", i ? "," : "", r->element[i]->str);
			json_decref(e);
			continue;
		}
		if (e == NULL)
			continue;
		t = (time_t)(json_integer_value(json_object_get(e, "t")) / 1000);
		gmtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("%s  %-9s %s/%s  %s  %s\n", when,
		    json_string_value(json_object_get(e, "e")),
		    json_string_value(json_object_get(e, "f")),
		    json_string_value(json_object_get(e, "s")),
		    json_string_value(json_object_get(e, "id")),
		    json_is_string(json_object_get(e, "r")) ?
		    json_string_value(json_object_get(e, "r")) : "");
		json_decref(e);
	}
	if (as_json)
		printf("]\n");
	else if (r->elements == 0)
		printf("nothing recorded for this customer\n");
	freeReplyObject(r);
	ctl_close(&x);
	return 0;
}
