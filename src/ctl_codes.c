/*
 * ctl_codes: `nudgectl codes load SHOP FILE` appends one discount code per
 * line of FILE to the shop's pool; steps with "discount": true take one
 * each, once. `nudgectl codes count SHOP` tells how many are left.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_redis.h"
#include "sched.h"
#include "shops.h"
#include "util.h"

int
ctl_codes(int argc, char **argv)
{
	char dom[SHOPS_DOMAIN_MAX], *pre, *key, *text, *line, *save = NULL, *cause = NULL;
	struct ctl x;
	redisReply *r;
	long n = 0;

	if (argc < 3 || (strcmp(argv[1], "load") == 0 && argc < 4) ||
	    (strcmp(argv[1], "load") != 0 && strcmp(argv[1], "count") != 0)) {
		fprintf(stderr, "usage: nudgectl codes load SHOP FILE\n"
		    "       nudgectl codes count SHOP\n");
		return 2;
	}
	if (ctl_open(&x) == -1)
		return 1;
	shops_normalize_domain(argv[2], dom, sizeof dom);
	pre = sched_prefix(x.cfg.key_prefix, shops_partition(dom, x.cfg.partitions));
	key = xasprintf("%scodes:%s", pre, dom);
	free(pre);
	if (strcmp(argv[1], "count") == 0) {
		if ((r = ctl_cmd(&x, "LLEN %s", key)) != NULL)
			printf("%lld codes left for %s\n", r->integer, dom);
		freeReplyObject(r);
		free(key);
		ctl_close(&x);
		return r ? 0 : 1;
	}
	if ((text = util_read_file(argv[3], NULL, &cause)) == NULL) {
		fprintf(stderr, "nudgectl codes: %s\n", cause);
		free(cause);
		free(key);
		ctl_close(&x);
		return 1;
	}
	for (line = strtok_r(text, "\r\n", &save); line != NULL; line = strtok_r(NULL, "\r\n", &save)) {
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '\0' || *line == '#')
			continue;
		redisAppendCommand(x.c, "RPUSH %s %s", key, line);
		n++;
	}
	for (long i = 0; i < n; i++) {
		if (redisGetReply(x.c, (void **)&r) != REDIS_OK || r->type == REDIS_REPLY_ERROR) {
			fprintf(stderr, "nudgectl codes: redis: %s\n", r ? r->str : x.c->errstr);
			freeReplyObject(r);
			free(text);
			free(key);
			ctl_close(&x);
			return 1;
		}
		freeReplyObject(r);
	}
	r = ctl_cmd(&x, "LLEN %s", key);
	printf("loaded %ld codes for %s; %lld in the pool\n", n, dom, r ? r->integer : -1LL);
	freeReplyObject(r);
	free(text);
	free(key);
	ctl_close(&x);
	return 0;
}
