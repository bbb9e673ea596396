/*
 * store: the async Redis connection.
 *
 * Lifecycle: DOWN -> (connect) CONNECTING -> (AUTH, SELECT, SCRIPT LOAD of
 * every script queued at once; the last reply) READY. Any disconnect -> DOWN
 * and a reconnect timer with exponential backoff (50 ms .. 500 ms). hiredis frees
 * the context itself after the disconnect callback, so we only drop our
 * pointer there and never call redisAsyncFree from inside a callback.
 *
 * Scripts are addressed by SHA1. Each script call keeps a copy of its
 * arguments until the reply, so a NOSCRIPT answer (SCRIPT FLUSH, a failover
 * to a replica without them) is retried once as a plain EVAL instead of
 * failing the caller.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/adapters/libevent.h>

#include "clock.h"
#include "log.h"
#include "store.h"
#include "util.h"

#include "lua_scripts.h"

static const char *store_texts[STORE__NSCRIPTS] = {
	[STORE_APPLY] = lua_apply,
	[STORE_CLAIM] = lua_claim,
	[STORE_ACK] = lua_ack,
	[STORE_EXPORT] = lua_export,
	[STORE_ERASE_SHOP] = lua_erase_shop,
	[STORE_REPLAY] = lua_replay,
	[STORE_UNSUBSCRIBE] = lua_unsubscribe,
	[STORE_TIMELINE] = lua_timeline,
	[STORE_INSPECT] = lua_inspect,
};
static const char *store_names[STORE__NSCRIPTS] = {
	"apply", "claim", "ack", "export", "erase_shop", "replay",
	"unsubscribe", "timeline", "inspect",
};

struct store {
	struct event_base	*base;
	redisAsyncContext	*ac;
	char			*host;
	int			 port;
	char			*password;
	int			 db;
	long			 timeout_ms;
	int			 ready;
	int			 freeing;
	char			 sha[STORE__NSCRIPTS][41];
	int			 loaded;
	struct event		*reconnect_ev;
	struct event		*watchdog_ev;
	long			 backoff_ms;
	unsigned long		 pending;	/* commands sent, not yet answered */
	int64_t			 last_reply_ms;
	unsigned long		 errors;
	store_state_cb		*state_cb;
	void			*state_arg;
	char			*channel;	/* subscribed channel, or NULL */
	store_msg_cb		*msg_cb;
	void			*msg_arg;
};

/* One command in flight: the caller's callback and, for scripts, the args. */
struct store_op {
	struct store	*st;
	store_cb	*cb;
	void		*arg;
	int		 script;	/* -1 for plain commands */
	int		 retried;
	int		 argc;
	char		**argv;
	size_t		*argvlen;
};

static void	store_connect(struct store *);

static void
store_set_ready(struct store *st, int ready)
{
	if (st->ready == ready)
		return;
	st->ready = ready;
	if (st->state_cb != NULL)
		st->state_cb(st->state_arg, ready);
}

static void
store_op_free(struct store_op *op)
{
	int i;

	if (op->argv != NULL) {
		for (i = 0; i < op->argc; i++)
			free(op->argv[i]);
		free(op->argv);
		free(op->argvlen);
	}
	free(op);
}

static void
store_reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	store_connect(arg);
}

static void
store_schedule_reconnect(struct store *st)
{
	struct timeval tv;

	if (st->freeing)
		return;
	tv.tv_sec = st->backoff_ms / 1000;
	tv.tv_usec = (st->backoff_ms % 1000) * 1000;
	evtimer_add(st->reconnect_ev, &tv);
	/* short: webhooks are answered 503 until we are back */
	st->backoff_ms = st->backoff_ms * 2 > 500 ? 500 : st->backoff_ms * 2;
}

static void
store_disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct store *st = ac->data;

	(void)status;
	if (st == NULL)
		return;
	st->ac = NULL;		/* hiredis frees it after we return */
	st->pending = 0;
	st->loaded = 0;
	if (!st->freeing) {
		log_warn(NULL, "redis connection lost (%s:%d): %s", st->host, st->port,
		    ac->errstr[0] ? ac->errstr : "closed");
		store_set_ready(st, 0);
		store_schedule_reconnect(st);
	}
}

static void
store_connect_cb(const redisAsyncContext *ac, int status)
{
	struct store *st = ac->data;

	if (st == NULL)
		return;
	if (status != REDIS_OK) {
		/* hiredis frees ac after this callback; the disconnect cb is not called */
		st->ac = NULL;
		st->errors++;
		log_at(st->backoff_ms >= 500 ? LOG_WARN : LOG_DEBUG, NULL, NULL,
		    "redis connect to %s:%d failed: %s", st->host, st->port, ac->errstr);
		store_set_ready(st, 0);
		store_schedule_reconnect(st);
		return;
	}
	log_info(NULL, "redis connected to %s:%d", st->host, st->port);
}

static void
store_sub_cb(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply *reply = r;
	struct store *st = priv;

	(void)ac;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3)
		return;
	if (strcmp(reply->element[0]->str, "subscribe") == 0) {
		st->backoff_ms = 50;
		store_set_ready(st, 1);
		return;
	}
	if (strcmp(reply->element[0]->str, "message") == 0 && st->msg_cb != NULL &&
	    reply->element[2]->type == REDIS_REPLY_STRING)
		st->msg_cb(st->msg_arg, reply->element[1]->str, reply->element[2]->str);
}

/* Replies to the setup commands: AUTH, SELECT, SCRIPT LOAD. */
static void
store_setup_cb(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply *reply = r;
	struct store *st = ac->data;
	intptr_t which = (intptr_t)priv;

	if (st == NULL)
		return;
	st->pending--;
	st->last_reply_ms = clock_mono_ms();
	if (reply == NULL)
		return;		/* disconnected; reconnect handles it */
	if (reply->type == REDIS_REPLY_ERROR) {
		/* LOADING: a restarted Redis reading its AOF; it will be back */
		int loading = strncmp(reply->str, "LOADING", 7) == 0;

		st->errors++;
		log_at(loading ? LOG_WARN : LOG_ERROR, NULL, NULL, "redis setup (%s) failed: %s",
		    which < 0 ? "AUTH/SELECT" : store_names[which], reply->str);
		redisAsyncDisconnect(ac);
		return;
	}
	if (which < 0)
		return;
	if (reply->type == REDIS_REPLY_STRING && reply->len == 40) {
		memcpy(st->sha[which], reply->str, 40);
		st->sha[which][40] = '\0';
	}
	if (++st->loaded == STORE__NSCRIPTS) {
		st->backoff_ms = 50;
		log_info(NULL, "redis ready: scripts loaded");
		store_set_ready(st, 1);
	}
}

static void
store_connect(struct store *st)
{
	redisAsyncContext *ac;
	int i;

	ac = redisAsyncConnect(st->host, st->port);
	if (ac == NULL || ac->err) {
		log_warn(NULL, "redis connect to %s:%d: %s", st->host, st->port,
		    ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		store_schedule_reconnect(st);
		return;
	}
	ac->data = st;
	st->ac = ac;
	st->loaded = 0;
	st->pending = 0;
	st->last_reply_ms = clock_mono_ms();
	redisLibeventAttach(ac, st->base);
	redisAsyncSetConnectCallback(ac, store_connect_cb);
	redisAsyncSetDisconnectCallback(ac, store_disconnect_cb);
	if (st->password != NULL) {
		redisAsyncCommand(ac, store_setup_cb, (void *)(intptr_t)-1, "AUTH %s", st->password);
		st->pending++;
	}
	if (st->channel != NULL) {
		redisAsyncCommand(ac, store_sub_cb, st, "SUBSCRIBE %s", st->channel);
		return;
	}
	if (st->db != 0) {
		redisAsyncCommand(ac, store_setup_cb, (void *)(intptr_t)-1, "SELECT %d", st->db);
		st->pending++;
	}
	for (i = 0; i < STORE__NSCRIPTS; i++) {
		redisAsyncCommand(ac, store_setup_cb, (void *)(intptr_t)i, "SCRIPT LOAD %s",
		    store_texts[i]);
		st->pending++;
	}
}

/*
 * The watchdog: a connection with commands pending and no reply for longer
 * than the timeout is dropped, which fails those commands (their callbacks
 * get NULL) and starts a reconnect. hiredis 0.14 has no command timeout.
 */
static void
store_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store *st = arg;

	(void)fd;
	(void)what;
	if (st->ac != NULL && st->channel == NULL && st->pending > 0 &&
	    clock_mono_ms() - st->last_reply_ms > st->timeout_ms) {
		log_warn(NULL, "redis %s:%d: no reply for %ld ms with %lu commands pending; "
		    "reconnecting", st->host, st->port, st->timeout_ms, st->pending);
		st->errors++;
		redisAsyncDisconnect(st->ac);
	}
}

int
store_parse_url(const char *url, char **hostp, int *portp, char **passwordp, int *dbp,
    char **cause)
{
	const char *p = url + strlen("redis://");
	const char *at, *colon, *slash, *hostend;
	char *end, *host;
	int port = 6379, db = 0;

	*passwordp = NULL;
	if (strncmp(url, "redis://", 8) != 0) {
		*cause = xasprintf("NUDGE_REDIS_URL: must start with redis://");
		return -1;
	}
	if ((at = strrchr(p, '@')) != NULL) {
		const char *pw = memchr(p, ':', (size_t)(at - p));

		pw = pw ? pw + 1 : p;
		*passwordp = xstrndup(pw, (size_t)(at - pw));
		p = at + 1;
	}
	slash = strchr(p, '/');
	hostend = slash ? slash : p + strlen(p);
	colon = memchr(p, ':', (size_t)(hostend - p));
	host = xstrndup(p, (size_t)((colon ? colon : hostend) - p));
	if (*host == '\0') {
		free(host);
		host = xstrdup("127.0.0.1");
	}
	if (colon) {
		long v = strtol(colon + 1, &end, 10);

		if (end != hostend || v < 1 || v > 65535) {
			*cause = xasprintf("NUDGE_REDIS_URL: bad port");
			goto fail;
		}
		port = (int)v;
	}
	if (slash && slash[1] != '\0') {
		long v = strtol(slash + 1, &end, 10);

		if (*end != '\0' || v < 0 || v > 10000) {
			*cause = xasprintf("NUDGE_REDIS_URL: bad database number");
			goto fail;
		}
		db = (int)v;
	}
	*hostp = host;
	*portp = port;
	*dbp = db;
	return 0;
fail:
	free(host);
	free(*passwordp);
	*passwordp = NULL;
	return -1;
}

struct store *
store_new(struct event_base *base, const char *url, long timeout_ms, char **cause)
{
	struct store *st = xcalloc(1, sizeof *st);
	struct timeval tv = { 0, 250 * 1000 };

	if (store_parse_url(url, &st->host, &st->port, &st->password, &st->db, cause) == -1) {
		free(st);
		return NULL;
	}
	st->base = base;
	st->timeout_ms = timeout_ms;
	st->backoff_ms = 50;
	st->reconnect_ev = evtimer_new(base, store_reconnect_cb, st);
	st->watchdog_ev = event_new(base, -1, EV_PERSIST, store_watchdog_cb, st);
	evtimer_add(st->watchdog_ev, &tv);
	/* connect from the loop, so callers can set callbacks first */
	tv.tv_usec = 0;
	evtimer_add(st->reconnect_ev, &tv);
	return st;
}

void
store_free(struct store *st)
{
	if (st == NULL)
		return;
	st->freeing = 1;
	if (st->ac != NULL) {
		st->ac->data = NULL;
		redisAsyncFree(st->ac);	/* calls pending callbacks with NULL */
		st->ac = NULL;
	}
	event_free(st->reconnect_ev);
	event_free(st->watchdog_ev);
	free(st->host);
	free(st->password);
	free(st->channel);
	free(st);
}

int
store_ready(const struct store *st)
{
	return st->ready && st->ac != NULL;
}

void
store_on_state(struct store *st, store_state_cb *cb, void *arg)
{
	st->state_cb = cb;
	st->state_arg = arg;
}

void
store_subscribe(struct store *st, const char *channel, store_msg_cb *cb, void *arg)
{
	free(st->channel);
	st->channel = xstrdup(channel);
	st->msg_cb = cb;
	st->msg_arg = arg;
}

static void
store_reply_cb(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply *reply = r;
	struct store_op *op = priv;
	struct store *st = op->st;
	const char *err = NULL;

	if (ac->data != NULL) {
		st->pending--;
		st->last_reply_ms = clock_mono_ms();
	}
	if (reply == NULL)
		err = ac->errstr[0] ? ac->errstr : "connection lost";
	else if (reply->type == REDIS_REPLY_ERROR) {
		if (op->script >= 0 && !op->retried && ac->data != NULL &&
		    strncmp(reply->str, "NOSCRIPT", 8) == 0) {
			/* Redis lost the script: send it whole, once */
			const char **argv = xcalloc((size_t)op->argc, sizeof *argv);
			int i;

			op->retried = 1;
			free(op->argv[0]);
			op->argv[0] = xstrdup("EVAL");
			free(op->argv[1]);
			op->argv[1] = xstrdup(store_texts[op->script]);
			op->argvlen[0] = 4;
			op->argvlen[1] = strlen(op->argv[1]);
			for (i = 0; i < op->argc; i++)
				argv[i] = op->argv[i];
			redisAsyncCommandArgv(ac, store_reply_cb, op, op->argc, argv, op->argvlen);
			st->pending++;
			free(argv);
			return;
		}
		err = reply->str;
	}
	if (err != NULL && st != NULL)
		st->errors++;
	op->cb(op->arg, err ? NULL : reply, err);
	store_op_free(op);
}

static int
store_send(struct store *st, int script, int argc, const char **argv,
    const size_t *argvlen, store_cb *cb, void *arg)
{
	struct store_op *op;
	int i;

	if (!store_ready(st) || st->channel != NULL)
		return -1;
	op = xcalloc(1, sizeof *op);
	op->st = st;
	op->cb = cb;
	op->arg = arg;
	op->script = script;
	if (script >= 0) {
		op->argc = argc;
		op->argv = xcalloc((size_t)argc, sizeof *op->argv);
		op->argvlen = xcalloc((size_t)argc, sizeof *op->argvlen);
		for (i = 0; i < argc; i++) {
			op->argv[i] = xstrndup(argv[i], argvlen[i]);
			op->argvlen[i] = argvlen[i];
		}
	}
	if (redisAsyncCommandArgv(st->ac, store_reply_cb, op, argc, argv, argvlen) != REDIS_OK) {
		store_op_free(op);
		return -1;
	}
	if (st->pending++ == 0)
		st->last_reply_ms = clock_mono_ms();
	return 0;
}

int
store_script(struct store *st, enum store_script s, int nkeys, int argc,
    const char **argv, const size_t *argvlen, store_cb *cb, void *arg)
{
	const char **av = xcalloc((size_t)argc + 3, sizeof *av);
	size_t *al = xcalloc((size_t)argc + 3, sizeof *al);
	char nk[16];
	int rc, i;

	snprintf(nk, sizeof nk, "%d", nkeys);
	av[0] = "EVALSHA";
	av[1] = st->sha[s];
	av[2] = nk;
	al[0] = 7;
	al[1] = 40;
	al[2] = strlen(nk);
	for (i = 0; i < argc; i++) {
		av[i + 3] = argv[i];
		al[i + 3] = argvlen ? argvlen[i] : strlen(argv[i]);
	}
	rc = store_send(st, (int)s, argc + 3, av, al, cb, arg);
	free(av);
	free(al);
	return rc;
}

int
store_command(struct store *st, int argc, const char **argv, const size_t *argvlen,
    store_cb *cb, void *arg)
{
	size_t *al = NULL;
	int rc, i;

	if (argvlen == NULL) {
		al = xcalloc((size_t)argc, sizeof *al);
		for (i = 0; i < argc; i++)
			al[i] = strlen(argv[i]);
		argvlen = al;
	}
	rc = store_send(st, -1, argc, argv, argvlen, cb, arg);
	free(al);
	return rc;
}

struct store_defer {
	struct event	*ev;
	void		(*fn)(void *);
	void		*arg;
};

static void
store_defer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store_defer *d = arg;

	(void)fd;
	(void)what;
	d->fn(d->arg);
}

struct store_defer *
store_defer_new(struct store *st, void (*fn)(void *), void *arg)
{
	struct store_defer *d = xcalloc(1, sizeof *d);

	d->fn = fn;
	d->arg = arg;
	d->ev = event_new(st->base, -1, 0, store_defer_cb, d);
	return d;
}

void
store_defer_arm(struct store_defer *d)
{
	/* (activating an event already active this iteration is a no-op) */
	event_active(d->ev, EV_TIMEOUT, 0);
}

void
store_defer_free(struct store_defer *d)
{
	if (d == NULL)
		return;
	event_free(d->ev);
	free(d);
}

unsigned long
store_errors(const struct store *st)
{
	return st->errors;
}

const char *
store_script_text(enum store_script s)
{
	return store_texts[s];
}
