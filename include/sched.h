/*
 * sched: the Redis data model (see docs/architecture.md). Keys of a shop
 * all carry its partition's hash tag: "<prefix>{p<N>}:". This module turns
 * a plan into one call of the apply script, claims due messages, and
 * reports outcomes (ack / retry / dead / release / skip), each one atomic.
 */
#ifndef NUDGE_SCHED_H
#define NUDGE_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "nevent.h"
#include "flows.h"

struct store;
struct config;
struct shop;
struct sched;

enum sched_status {
	SCHED_APPLIED,		/* every operation happened */
	SCHED_DUPLICATE,	/* the delivery was seen before: nothing happened */
	SCHED_FAILED,		/* Redis unreachable or the script failed */
};

struct sched_result {
	enum sched_status status;
	long		 scheduled;
	long		 cancelled;
	const char	*error;		/* with SCHED_FAILED; valid during the callback */
};

typedef void sched_apply_cb(void *arg, const struct sched_result *);

/* A claimed message: its hash fields and its subject's context. */
struct sched_msg {
	int		 partition;
	char		*id;
	char		*token;		/* lease token: required to report the outcome */
	char		*flow, *step, *shop, *subject, *customer;
	char		*channel, *cls, *template;
	int		 attempts;	/* including this one */
	int64_t		 due_ms;
	int		 discount;	/* the step offers a discount code */
	char		*code;		/* discount code from the shop's pool, or NULL */
	int64_t		 code_expires_ms;
	json_t		*ctx;		/* {"order": {...}, "ship": {...}, ...} */
};

/* Claimed messages (owned by the callee after the callback: free each with sched_msg_free). */
typedef void sched_claim_cb(void *arg, int partition, struct sched_msg **msgs, size_t n,
    int64_t next_due_ms, const char *error);

enum sched_outcome {
	SCHED_SENT,
	SCHED_RETRY,
	SCHED_DEAD,
	SCHED_RELEASE,		/* shutting down: back to due, not an attempt */
	SCHED_SKIP,		/* policy said no: recorded with a reason */
};

typedef void sched_ack_cb(void *arg, int applied, const char *error);

struct sched	*sched_new(struct store *, const struct config *);
void		 sched_free(struct sched *);
int		 sched_partitions(const struct sched *);
/* "nudge:{p3}:" for partition 3. Caller frees. */
char		*sched_prefix(const char *key_prefix, int partition);
/* The wake-up channel workers subscribe to. */
const char	*sched_wake_channel(const struct sched *);

/* Applies plan for ev. -1 when Redis is not ready (cb not called). */
int	sched_apply(struct sched *, const struct nevent *ev, const struct plan *plan,
	    int64_t now_ms, sched_apply_cb *cb, void *arg);
/*
 * Claims up to batch due messages of a partition. quiet lists the shops and
 * channels now in quiet hours, one "shop|channel|until_ms" per line (""
 * for none). -1 when not ready.
 */
int	sched_claim(struct sched *, int partition, int64_t now_ms, long batch,
	    const char *token_prefix, const char *quiet, sched_claim_cb *cb, void *arg);
/*
 * Reports the outcome of a claimed message. info is the provider's message
 * id (SENT) or the error / reason. retry_at_ms with SCHED_RETRY.
 */
int	sched_ack(struct sched *, const struct sched_msg *m, enum sched_outcome,
	    int64_t now_ms, int64_t retry_at_ms, const char *info, sched_ack_cb *cb, void *arg);
void	sched_msg_free(struct sched_msg *);

/* What is stored about a customer, as JSON (caller decrefs), or NULL and error. */
typedef void sched_export_cb(void *arg, json_t *data, const char *error);
int	sched_export(struct sched *, const struct shop *, const char *customer,
	    sched_export_cb *cb, void *arg);
/* One step of erasing a shop; next_cursor "0" when done. */
typedef void sched_erase_cb(void *arg, const char *next_cursor, long deleted, const char *error);
int	sched_erase_shop(struct sched *, const struct shop *, const char *cursor,
	    sched_erase_cb *cb, void *arg);

/* Suppresses promotions to a customer; cancelled = pending ones cancelled, or -1 on error. */
typedef void sched_unsub_cb(void *arg, long cancelled, const char *error);
int	sched_unsubscribe(struct sched *, const struct shop *, const char *customer,
	    const char *source, sched_unsub_cb *cb, void *arg);
/* The customer's timeline, newest first, as a JSON array (caller decrefs). */
typedef void sched_timeline_cb(void *arg, json_t *entries, const char *error);
int	sched_timeline(struct sched *, const struct shop *, const char *customer,
	    sched_timeline_cb *cb, void *arg);

#endif
