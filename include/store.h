/*
 * store: one asynchronous Redis connection on a libevent loop (hiredis with
 * its own libevent adapter). It connects, authenticates, selects the
 * database and loads the Lua scripts; only then is it ready. When the
 * connection drops it reconnects with backoff, and a watchdog drops a
 * connection whose replies stop coming, so no caller waits forever.
 * Commands issued while not ready fail at once (the caller answers 503 or
 * tries again later): nothing is queued behind a dead connection.
 */
#ifndef NUDGE_STORE_H
#define NUDGE_STORE_H

#include <stddef.h>

struct event_base;
struct redisReply;
struct store;

enum store_script {
	STORE_APPLY,
	STORE_CLAIM,
	STORE_ACK,
	STORE_EXPORT,
	STORE_ERASE_SHOP,
	STORE_REPLAY,
	STORE_UNSUBSCRIBE,
	STORE_TIMELINE,
	STORE_INSPECT,
	STORE__NSCRIPTS
};

/*
 * Reply callback: reply is NULL when the command failed (err says why:
 * connection lost, Redis error). The reply is freed after the callback.
 */
typedef void store_cb(void *arg, struct redisReply *reply, const char *err);
/* Connection state changes (ready or not), for readiness and wake-ups. */
typedef void store_state_cb(void *arg, int ready);
/* A pub/sub message on a subscribed channel. */
typedef void store_msg_cb(void *arg, const char *channel, const char *payload);

/* Parses url (redis://[:pass@]host[:port][/db]) and starts connecting. */
struct store	*store_new(struct event_base *, const char *url, long timeout_ms, char **cause);
void		 store_free(struct store *);
int		 store_ready(const struct store *);
void		 store_on_state(struct store *, store_state_cb *, void *);
/*
 * Subscribes this connection to channel (it then serves nothing else);
 * re-subscribed after every reconnect.
 */
void		 store_subscribe(struct store *, const char *channel, store_msg_cb *, void *);
/* Runs a loaded script (EVALSHA, EVAL again if Redis lost it). 0, or -1 when not ready. */
int		 store_script(struct store *, enum store_script, int nkeys, int argc,
		     const char **argv, const size_t *argvlen, store_cb *, void *);
/* Any command. 0, or -1 when not ready. */
int		 store_command(struct store *, int argc, const char **argv,
		     const size_t *argvlen, store_cb *, void *);
/*
 * A callback run once at the end of the loop iteration it is armed in, so
 * callers can gather work into one round trip (sched batches acks).
 */
struct store_defer;
struct store_defer *store_defer_new(struct store *, void (*fn)(void *), void *arg);
void		 store_defer_arm(struct store_defer *);
void		 store_defer_free(struct store_defer *);
/* Counters for metrics. */
unsigned long	 store_errors(const struct store *);
/*
 * Parses redis://[:pass@]host[:port][/db]. 0, or -1 with *cause. Strings
 * are the caller's to free.
 */
int		 store_parse_url(const char *url, char **host, int *port, char **password,
		     int *db, char **cause);
/* The text of a script, for nudgectl (synchronous use). */
const char	*store_script_text(enum store_script);

#endif
