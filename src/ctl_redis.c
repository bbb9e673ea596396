/*
 * ctl_redis: synchronous Redis for nudgectl.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_redis.h"
#include "util.h"

/*
 * `make run` starts its own redis-server on a free port and writes its URL
 * to var/redis.url: without NUDGE_REDIS_URL, nudgectl run from the same
 * directory uses it.
 */
static void
ctl_local_redis(void)
{
	char url[256];
	FILE *f;

	if (getenv("NUDGE_REDIS_URL") != NULL || (f = fopen("var/redis.url", "r")) == NULL)
		return;
	if (fgets(url, sizeof url, f) != NULL) {
		url[strcspn(url, "\r\n")] = '\0';
		if (strncmp(url, "redis://", 8) == 0)
			setenv("NUDGE_REDIS_URL", url, 0);
	}
	fclose(f);
}

int
ctl_open(struct ctl *x)
{
	struct timeval tv = { 5, 0 };
	char *host = NULL, *password = NULL, *cause = NULL;
	int port, db;
	redisReply *r;

	memset(x, 0, sizeof *x);
	ctl_local_redis();
	if (config_load(&x->cfg, CONFIG_CTL, &cause) == -1 ||
	    store_parse_url(x->cfg.redis_url, &host, &port, &password, &db, &cause) == -1) {
		fprintf(stderr, "nudgectl: invalid configuration: %s\n", cause);
		free(cause);
		return -1;
	}
	x->c = redisConnectWithTimeout(host, port, tv);
	if (x->c == NULL || x->c->err) {
		fprintf(stderr, "nudgectl: cannot connect to redis at %s:%d: %s\n", host, port,
		    x->c ? x->c->errstr : "out of memory");
		free(host);
		free(password);
		return -1;
	}
	redisSetTimeout(x->c, tv);
	free(host);
	if (password != NULL) {
		r = redisCommand(x->c, "AUTH %s", password);
		free(password);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			fprintf(stderr, "nudgectl: redis AUTH failed\n");
			freeReplyObject(r);
			return -1;
		}
		freeReplyObject(r);
	}
	if (db != 0) {
		r = redisCommand(x->c, "SELECT %d", db);
		freeReplyObject(r);
	}
	return 0;
}

void
ctl_close(struct ctl *x)
{
	if (x->c != NULL)
		redisFree(x->c);
	config_free(&x->cfg);
}

redisReply *
ctl_cmd(struct ctl *x, const char *fmt, ...)
{
	redisReply *r;
	va_list ap;

	va_start(ap, fmt);
	r = redisvCommand(x->c, fmt, ap);
	va_end(ap);
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "nudgectl: redis: %s\n", r ? r->str : x->c->errstr);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

redisReply *
ctl_script(struct ctl *x, enum store_script s, int nkeys, int argc, const char **argv)
{
	const char **av = xcalloc((size_t)argc + 3, sizeof *av);
	char nk[16];
	redisReply *r;
	int i;

	snprintf(nk, sizeof nk, "%d", nkeys);
	av[0] = "EVAL";
	av[1] = store_script_text(s);
	av[2] = nk;
	for (i = 0; i < argc; i++)
		av[i + 3] = argv[i];
	r = redisCommandArgv(x->c, argc + 3, av, NULL);
	free(av);
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "nudgectl: redis: %s\n", r ? r->str : x->c->errstr);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

redisReply *
ctl_message(struct ctl *x, const char *prefix, const char *id)
{
	char *due = xasprintf("%sdue", prefix);
	const char *av[3] = { due, prefix, id };
	redisReply *r = ctl_script(x, STORE_INSPECT, 1, 3, av);

	free(due);
	if (r != NULL && (r->type != REDIS_REPLY_ARRAY || r->elements != 1 ||
	    r->element[0]->elements == 0)) {
		freeReplyObject(r);
		r = NULL;
	}
	return r;
}

const char *
ctl_message_field(const redisReply *m, const char *name)
{
	const redisReply *f = m->element[0];
	size_t i;

	for (i = 0; i + 1 < f->elements; i += 2)
		if (strcmp(f->element[i]->str, name) == 0)
			return f->element[i + 1]->str;
	return NULL;
}
