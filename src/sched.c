/*
 * sched: argument building and reply parsing for the Lua scripts in
 * src/lua/. The scripts are the source of truth for atomicity; this file
 * only marshals. Argument layouts are documented at the top of each script.
 */
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "clock.h"
#include "config.h"
#include "jtree.h"
#include "log.h"
#include "sched.h"
#include "shops.h"
#include "store.h"
#include "util.h"

struct sched_ackq;

struct sched {
	struct store	*store;
	const struct config *cfg;
	char		*wake;		/* wake-up channel */
	struct sched_ackq *ackq;	/* acks waiting for this loop iteration's end, per partition */
	struct store_defer *ack_flush;
};

/* An argv under construction; strings owned. */
struct sched_argv {
	char	**v;
	size_t	*len;
	int	 n;
	int	 cap;
};

static void
sched_argv_addn(struct sched_argv *a, const char *s, size_t n)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 32;
		a->v = xrealloc(a->v, (size_t)a->cap * sizeof *a->v);
		a->len = xrealloc(a->len, (size_t)a->cap * sizeof *a->len);
	}
	a->v[a->n] = xstrndup(s, n);
	a->len[a->n] = n;
	a->n++;
}

static void
sched_argv_add(struct sched_argv *a, const char *s)
{
	sched_argv_addn(a, s ? s : "", s ? strlen(s) : 0);
}

static void
sched_argv_addi(struct sched_argv *a, int64_t v)
{
	char tmp[32];

	snprintf(tmp, sizeof tmp, "%lld", (long long)v);
	sched_argv_add(a, tmp);
}

/* Adds the keys "<prefix><name>" for each space-separated name. */
static void
sched_argv_keys(struct sched_argv *a, const char *prefix, const char *names)
{
	char *list = xstrdup(names), *save = NULL, *n, *k;

	for (n = strtok_r(list, " ", &save); n != NULL; n = strtok_r(NULL, " ", &save)) {
		k = xasprintf("%s%s", prefix, n);
		sched_argv_add(a, k);
		free(k);
	}
	free(list);
}

static void
sched_argv_free(struct sched_argv *a)
{
	int i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	free(a->len);
}

static int
sched_run(struct sched *s, enum store_script sc, int nkeys, struct sched_argv *a,
    store_cb *cb, void *arg)
{
	int rc = store_script(s->store, sc, nkeys, a->n, (const char **)a->v, a->len, cb, arg);

	sched_argv_free(a);
	return rc;
}

char *
sched_prefix(const char *key_prefix, int partition)
{
	return xasprintf("%s{p%d}:", key_prefix, partition);
}

struct sched *
sched_new(struct store *store, const struct config *cfg)
{
	struct sched *s = xcalloc(1, sizeof *s);

	s->store = store;
	s->cfg = cfg;
	s->wake = xasprintf("%swake", cfg->key_prefix);
	return s;
}

static void	sched_ackq_drop(struct sched *);

void
sched_free(struct sched *s)
{
	if (s == NULL)
		return;
	sched_ackq_drop(s);
	store_defer_free(s->ack_flush);
	free(s->wake);
	free(s);
}

int
sched_partitions(const struct sched *s)
{
	return (int)s->cfg->partitions;
}

const char *
sched_wake_channel(const struct sched *s)
{
	return s->wake;
}

/* --- apply --------------------------------------------------------------- */

struct sched_apply_op {
	sched_apply_cb	*cb;
	void		*arg;
};

static void
sched_apply_reply(void *arg, redisReply *r, const char *err)
{
	struct sched_apply_op *op = arg;
	struct sched_result res = { SCHED_FAILED, 0, 0, err };

	if (r != NULL) {
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
		    r->element[0]->type == REDIS_REPLY_STRING) {
			res.status = strcmp(r->element[0]->str, "dup") == 0 ?
			    SCHED_DUPLICATE : SCHED_APPLIED;
			res.scheduled = (long)r->element[1]->integer;
			res.cancelled = (long)r->element[2]->integer;
		} else
			res.error = "unexpected reply from the apply script";
	}
	op->cb(op->arg, &res);
	free(op);
}

/*
 * A new message's record as src/lua/_lib.lua encodes it (rec_encode):
 * "d|0|<channel><class><cap mode><discount>|flow|step|template", the
 * template left empty when it is the step's name. Built here so the
 * script only stores it.
 */
static char *
sched_record(const struct plan_msg *m)
{
	const char *cap = m->step->cls == STEP_PROMOTIONAL ? m->flow->cap : NULL;

	return xasprintf("d|0|%c%c%c%c|%s|%s|%s", flows_channel_name(m->channel)[0],
	    m->step->cls == STEP_PROMOTIONAL ? 'p' : 't',
	    cap == NULL ? '-' : strcmp(cap, "skip") == 0 ? 's' : 'd',
	    m->step->discount ? '1' : '0', m->flow->name, m->step->name,
	    strcmp(m->step->template, m->step->name) == 0 ? "" : m->step->template);
}

int
sched_apply(struct sched *s, const struct nevent *ev, const struct plan *p, int64_t now_ms,
    sched_apply_cb *cb, void *arg)
{
	const struct config *cfg = s->cfg;
	struct sched_argv a = { 0 };
	struct sched_apply_op *op;
	char *prefix = sched_prefix(cfg->key_prefix, ev->shop->partition);
	int64_t keep = cfg->done_ttl, last_due = now_ms;
	size_t i;

	for (i = 0; i < p->nmsgs; i++)
		if (p->msgs[i].due_ms > last_due)
			last_due = p->msgs[i].due_ms;
	sched_argv_keys(&a, prefix, "due");	/* KEYS[1] */
	sched_argv_add(&a, prefix);
	sched_argv_addi(&a, now_ms);
	sched_argv_add(&a, ev->delivery ? ev->delivery : "");
	sched_argv_addi(&a, cfg->dedupe_ttl);
	sched_argv_add(&a, ev->shop->domain);
	sched_argv_add(&a, p->customer);
	sched_argv_addi(&a, cfg->timeline_max);
	sched_argv_addi(&a, keep);
	sched_argv_add(&a, s->wake);
	sched_argv_add(&a, nevent_kind_name(ev->kind));
	sched_argv_add(&a, ev->order_id ? ev->order_id : "");
	sched_argv_add(&a, ev->consent_email < 0 ? "" : ev->consent_email ? "1" : "0");
	sched_argv_add(&a, ev->consent_sms < 0 ? "" : ev->consent_sms ? "1" : "0");
	for (i = 0; i < p->nctxs; i++) {
		size_t j;

		sched_argv_add(&a, "C");
		sched_argv_add(&a, p->ctxs[i].subject);
		sched_argv_add(&a, p->ctxs[i].part);
		/* the same part twice (an order's, for its customer): a reference */
		for (j = 0; j < i; j++)
			if (strcmp(p->ctxs[j].part, p->ctxs[i].part) == 0 &&
			    strcmp(p->ctxs[j].json, p->ctxs[i].json) == 0)
				break;
		if (j < i) {
			char *ref = xasprintf("@%s", p->ctxs[j].subject);

			sched_argv_add(&a, ref);
			free(ref);
		} else
			sched_argv_add(&a, p->ctxs[i].json);
		/* the context lives as long as the last message that needs it */
		sched_argv_addi(&a, (last_due - now_ms) / 1000 + keep);
	}
	for (i = 0; i < p->ncancels; i++) {
		const struct plan_cancel *c = &p->cancels[i];

		if (c->subject == NULL) {
			sched_argv_add(&a, "K");
			sched_argv_add(&a, c->flow ? c->flow : "");
			sched_argv_add(&a, c->reason);
			sched_argv_add(&a, c->token);
			sched_argv_add(&a, c->checkout_id);
			sched_argv_add(&a, c->cart_token);
			continue;
		}
		sched_argv_add(&a, "X");
		sched_argv_add(&a, c->subject);
		sched_argv_add(&a, c->flow ? c->flow : "");
		sched_argv_add(&a, c->reason);
		sched_argv_add(&a, c->close ? "1" : "0");
		sched_argv_add(&a, c->keep ? c->keep : "");
	}
	for (i = 0; i < p->naliases; i++) {
		sched_argv_add(&a, "A");
		sched_argv_add(&a, p->aliases[i].subject);
		sched_argv_add(&a, p->aliases[i].checkout_id);
		sched_argv_add(&a, p->aliases[i].cart_token);
	}
	if (p->erase == PLAN_ERASE_CUSTOMER) {
		sched_argv_add(&a, "E");
		sched_argv_addi(&a, (int64_t)p->nerase_subjects);
		for (i = 0; i < p->nerase_subjects; i++)
			sched_argv_add(&a, p->erase_subjects[i]);
	}
	for (i = 0; i < p->nmsgs; i++) {
		const struct plan_msg *m = &p->msgs[i];
		const char *cond = (m->step->conds & STEP_COND_FIRST_ORDER) ? "first" :
		    (m->step->conds & STEP_COND_RETURNING) ? "returning" : "";
		char *rec = sched_record(m);

		sched_argv_add(&a, "S");
		sched_argv_add(&a, m->id);
		sched_argv_addi(&a, m->due_ms);
		sched_argv_add(&a, m->subject);
		sched_argv_add(&a, m->flow->name);
		sched_argv_add(&a, rec);
		sched_argv_add(&a, cond);
		sched_argv_add(&a, m->move ? "1" : "0");
		free(rec);
	}
	free(prefix);
	op = xmalloc(sizeof *op);
	op->cb = cb;
	op->arg = arg;
	if (sched_run(s, STORE_APPLY, 1, &a, sched_apply_reply, op) == -1) {
		free(op);
		return -1;
	}
	return 0;
}

/* --- claim --------------------------------------------------------------- */

static void	sched_ack_flush(void *);

struct sched_claim_op {
	sched_claim_cb	*cb;
	void		*arg;
	int		 partition;
};

void
sched_msg_free(struct sched_msg *m)
{
	if (m == NULL)
		return;
	free(m->id);
	free(m->token);
	free(m->flow);
	free(m->step);
	free(m->shop);
	free(m->subject);
	free(m->customer);
	free(m->channel);
	free(m->cls);
	free(m->template);
	free(m->code);
	json_decref(m->ctx);
	free(m);
}

static struct sched_msg *
sched_msg_parse(int partition, redisReply *e)
{
	struct sched_msg *m;
	redisReply *h, *c;
	size_t i;

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 4)
		return NULL;
	m = xcalloc(1, sizeof *m);
	m->partition = partition;
	m->id = xstrdup(e->element[0]->str);
	m->token = xstrdup(e->element[1]->str);
	h = e->element[2];
	for (i = 0; i + 1 < h->elements; i += 2) {
		const char *k = h->element[i]->str, *v = h->element[i + 1]->str;
		char **dst = NULL;

		if (strcmp(k, "f") == 0) dst = &m->flow;
		else if (strcmp(k, "s") == 0) dst = &m->step;
		else if (strcmp(k, "sh") == 0) dst = &m->shop;
		else if (strcmp(k, "sj") == 0) dst = &m->subject;
		else if (strcmp(k, "cu") == 0) dst = &m->customer;
		else if (strcmp(k, "ch") == 0) dst = &m->channel;
		else if (strcmp(k, "cl") == 0) dst = &m->cls;
		else if (strcmp(k, "t") == 0) dst = &m->template;
		else if (strcmp(k, "a") == 0) m->attempts = atoi(v);
		else if (strcmp(k, "d") == 0) m->due_ms = strtoll(v, NULL, 10);
		else if (strcmp(k, "code") == 0) dst = &m->code;
		else if (strcmp(k, "dc") == 0) m->discount = strcmp(v, "1") == 0;
		else if (strcmp(k, "cx") == 0) m->code_expires_ms = strtoll(v, NULL, 10);
		if (dst != NULL && *dst == NULL)
			*dst = xstrdup(v);
	}
	m->ctx = json_object();
	c = e->element[3];
	for (i = 0; i + 1 < c->elements; i += 2) {
		json_t *part = jtree_load(c->element[i + 1]->str, c->element[i + 1]->len);

		if (part != NULL)
			json_object_set_new(m->ctx, c->element[i]->str, part);
	}
	if (!m->flow || !m->step || !m->shop || !m->subject || !m->channel || !m->template) {
		log_error(m->id, "claimed message has missing fields; dropping it from this batch");
		sched_msg_free(m);
		return NULL;
	}
	if (m->customer == NULL)
		m->customer = xstrdup("");
	if (m->cls == NULL)
		m->cls = xstrdup("transactional");
	return m;
}

static void
sched_claim_reply(void *arg, redisReply *r, const char *err)
{
	struct sched_claim_op *op = arg;
	struct sched_msg **msgs = NULL;
	int64_t next = -1;
	size_t i, n = 0;

	if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
		redisReply *list = r->element[0];

		if (r->element[1]->type == REDIS_REPLY_STRING && r->element[1]->len > 0)
			next = (int64_t)strtod(r->element[1]->str, NULL);
		msgs = xcalloc(list->elements ? list->elements : 1, sizeof *msgs);
		for (i = 0; i < list->elements; i++)
			if ((msgs[n] = sched_msg_parse(op->partition, list->element[i])) != NULL)
				n++;
	} else if (r != NULL)
		err = "unexpected reply from the claim script";
	op->cb(op->arg, op->partition, msgs, n, next, err);
	free(msgs);
	free(op);
}

int
sched_claim(struct sched *s, int partition, int64_t now_ms, long batch,
    const char *token_prefix, const char *quiet, sched_claim_cb *cb, void *arg)
{
	struct sched_argv a = { 0 };
	struct sched_claim_op *op;
	char *prefix;

	/*
	 * Acks waiting for the end of this loop iteration go first: a release
	 * must reach Redis before a claim that could take the message again.
	 */
	if (s->ackq != NULL)
		sched_ack_flush(s);
	prefix = sched_prefix(s->cfg->key_prefix, partition);
	sched_argv_keys(&a, prefix, "due inflight");
	sched_argv_add(&a, prefix);
	sched_argv_addi(&a, now_ms);
	sched_argv_addi(&a, s->cfg->lease_ms);
	sched_argv_addi(&a, batch);
	sched_argv_add(&a, token_prefix);
	sched_argv_addi(&a, clock_scale_delay(s->cfg->frequency_cap_ms, s->cfg->time_scale));
	sched_argv_add(&a, quiet ? quiet : "");
	sched_argv_addi(&a, (int64_t)s->cfg->discount_valid_hours * 3600000);
	sched_argv_addi(&a, s->cfg->done_ttl);
	sched_argv_addi(&a, s->cfg->timeline_max);
	free(prefix);
	op = xmalloc(sizeof *op);
	op->cb = cb;
	op->arg = arg;
	op->partition = partition;
	if (sched_run(s, STORE_CLAIM, 2, &a, sched_claim_reply, op) == -1) {
		free(op);
		return -1;
	}
	return 0;
}

/* --- ack ----------------------------------------------------------------- */

/*
 * Acks are gathered per partition and sent at the end of the loop
 * iteration, as one call of ack.lua for all of them: the sends a batch of
 * provider answers finishes cost one round trip and one script call.
 */
struct sched_ack_one {
	sched_ack_cb	*cb;
	void		*arg;
};

struct sched_ackq {
	struct sched_argv	 a;	/* the tuples: id, token, outcome, retry at, info */
	struct sched_ack_one	*who;
	size_t			 n;
	size_t			 cap;
};

struct sched_ack_op {
	struct sched_ack_one	*who;
	size_t			 n;
};

static void
sched_ack_reply(void *arg, redisReply *r, const char *err)
{
	struct sched_ack_op *op = arg;
	size_t i;

	if (err == NULL && (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != op->n))
		err = "unexpected reply from the ack script";
	for (i = 0; i < op->n; i++)
		if (op->who[i].cb != NULL)
			op->who[i].cb(op->who[i].arg, err == NULL &&
			    r->element[i]->type == REDIS_REPLY_INTEGER && r->element[i]->integer == 1,
			    err);
	free(op->who);
	free(op);
}

static void
sched_ack_flush(void *arg)
{
	struct sched *s = arg;
	int p;

	for (p = 0; p < (int)s->cfg->partitions; p++) {
		struct sched_ackq *q = &s->ackq[p];
		struct sched_argv a = { 0 };
		struct sched_ack_op *op;
		char *prefix;
		int i;

		if (q->n == 0)
			continue;
		prefix = sched_prefix(s->cfg->key_prefix, p);
		sched_argv_keys(&a, prefix, "inflight due dead");
		sched_argv_add(&a, prefix);
		sched_argv_addi(&a, clock_now_ms());
		sched_argv_addi(&a, s->cfg->done_ttl);
		for (i = 0; i < q->a.n; i++)
			sched_argv_addn(&a, q->a.v[i], q->a.len[i]);
		free(prefix);
		op = xmalloc(sizeof *op);
		op->who = q->who;
		op->n = q->n;
		sched_argv_free(&q->a);
		memset(q, 0, sizeof *q);
		if (sched_run(s, STORE_ACK, 3, &a, sched_ack_reply, op) == -1)
			sched_ack_reply(op, NULL, "redis not connected");
	}
}

/* At shutdown: acks not yet sent are reported as failed. */
static void
sched_ackq_drop(struct sched *s)
{
	int p;

	if (s->ackq == NULL)
		return;
	for (p = 0; p < (int)s->cfg->partitions; p++) {
		sched_argv_free(&s->ackq[p].a);
		free(s->ackq[p].who);
	}
	free(s->ackq);
	s->ackq = NULL;
}

int
sched_ack(struct sched *s, const struct sched_msg *m, enum sched_outcome o, int64_t now_ms,
    int64_t retry_at_ms, const char *info, sched_ack_cb *cb, void *arg)
{
	static const char *names[] = { "sent", "retry", "dead", "release", "skip" };
	struct sched_ackq *q;

	(void)now_ms;	/* the script stamps the flush's time */
	if (!store_ready(s->store))
		return -1;
	if (s->ackq == NULL) {
		s->ackq = xcalloc(s->cfg->partitions, sizeof *s->ackq);
		s->ack_flush = store_defer_new(s->store, sched_ack_flush, s);
	}
	q = &s->ackq[m->partition];
	sched_argv_add(&q->a, m->id);
	sched_argv_add(&q->a, m->token);
	sched_argv_add(&q->a, names[o]);
	sched_argv_addi(&q->a, retry_at_ms);
	sched_argv_add(&q->a, info ? info : "");
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 16;
		q->who = xrealloc(q->who, q->cap * sizeof *q->who);
	}
	q->who[q->n].cb = cb;
	q->who[q->n].arg = arg;
	q->n++;
	store_defer_arm(s->ack_flush);
	return 0;
}

/* --- privacy ------------------------------------------------------------- */

struct sched_priv_op {
	sched_export_cb	*export_cb;
	sched_erase_cb	*erase_cb;
	void		*arg;
};

/* A flat [k, v, k, v...] reply as an object; values that are JSON stay JSON. */
static json_t *
sched_hash_json(redisReply *r)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; r && i + 1 < r->elements; i += 2) {
		const char *v = r->element[i + 1]->str;
		json_t *j = (v[0] == '{' || v[0] == '[') ? json_loads(v, 0, NULL) : NULL;

		json_object_set_new(o, r->element[i]->str, j ? j : json_string(v));
	}
	return o;
}

static json_t *
sched_list_json(redisReply *r)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; r && i < r->elements; i++) {
		json_t *j = json_loads(r->element[i]->str, 0, NULL);

		json_array_append_new(a, j ? j : json_string(r->element[i]->str));
	}
	return a;
}

static void
sched_export_reply(void *arg, redisReply *r, const char *err)
{
	struct sched_priv_op *op = arg;
	json_t *data = NULL, *subjects;
	size_t i, j;

	if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements >= 3) {
		data = json_object();
		json_object_set_new(data, "customer", sched_hash_json(r->element[0]));
		json_object_set_new(data, "orders", sched_list_json(r->element[1]));
		json_object_set_new(data, "timeline", sched_list_json(r->element[2]));
		subjects = json_array();
		for (i = 3; i < r->elements; i++) {
			redisReply *e = r->element[i], *msgs = e->element[2];
			json_t *ms = json_array();

			for (j = 0; j < msgs->elements; j++)
				json_array_append_new(ms, sched_hash_json(msgs->element[j]));
			json_array_append_new(subjects, json_pack("{s:s, s:o, s:o}",
			    "subject", e->element[0]->str, "context", sched_hash_json(e->element[1]),
			    "pending_messages", ms));
		}
		json_object_set_new(data, "subjects", subjects);
	} else if (r != NULL)
		err = "unexpected reply from the export script";
	op->export_cb(op->arg, data, err);
	json_decref(data);
	free(op);
}

int
sched_export(struct sched *s, const struct shop *shop, const char *customer,
    sched_export_cb *cb, void *arg)
{
	struct sched_argv a = { 0 };
	struct sched_priv_op *op;
	char *prefix = sched_prefix(s->cfg->key_prefix, shop->partition);

	sched_argv_keys(&a, prefix, "due");
	sched_argv_add(&a, prefix);
	sched_argv_add(&a, shop->domain);
	sched_argv_add(&a, customer);
	free(prefix);
	op = xcalloc(1, sizeof *op);
	op->export_cb = cb;
	op->arg = arg;
	if (sched_run(s, STORE_EXPORT, 1, &a, sched_export_reply, op) == -1) {
		free(op);
		return -1;
	}
	return 0;
}

static void
sched_erase_reply(void *arg, redisReply *r, const char *err)
{
	struct sched_priv_op *op = arg;

	if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2)
		op->erase_cb(op->arg, r->element[0]->str, (long)r->element[1]->integer, NULL);
	else
		op->erase_cb(op->arg, NULL, 0, err ? err : "unexpected reply from erase_shop");
	free(op);
}

int
sched_erase_shop(struct sched *s, const struct shop *shop, const char *cursor,
    sched_erase_cb *cb, void *arg)
{
	struct sched_argv a = { 0 };
	struct sched_priv_op *op;
	char *prefix = sched_prefix(s->cfg->key_prefix, shop->partition);

	sched_argv_keys(&a, prefix, "due inflight");
	sched_argv_add(&a, prefix);
	sched_argv_add(&a, shop->domain);
	sched_argv_add(&a, cursor);
	sched_argv_add(&a, "500");
	free(prefix);
	op = xcalloc(1, sizeof *op);
	op->erase_cb = cb;
	op->arg = arg;
	if (sched_run(s, STORE_ERASE_SHOP, 2, &a, sched_erase_reply, op) == -1) {
		free(op);
		return -1;
	}
	return 0;
}

/* --- unsubscribe and timeline ------------------------------------------- */

struct sched_misc_op {
	sched_unsub_cb		*unsub_cb;
	sched_timeline_cb	*timeline_cb;
	void			*arg;
};

static void
sched_unsub_reply(void *arg, redisReply *r, const char *err)
{
	struct sched_misc_op *op = arg;

	if (r != NULL && r->type == REDIS_REPLY_INTEGER)
		op->unsub_cb(op->arg, (long)r->integer, NULL);
	else
		op->unsub_cb(op->arg, -1, err ? err : "unexpected reply from unsubscribe");
	free(op);
}

int
sched_unsubscribe(struct sched *s, const struct shop *shop, const char *customer,
    const char *source, sched_unsub_cb *cb, void *arg)
{
	struct sched_argv a = { 0 };
	struct sched_misc_op *op;
	char *prefix = sched_prefix(s->cfg->key_prefix, shop->partition);

	sched_argv_keys(&a, prefix, "due");
	sched_argv_add(&a, prefix);
	sched_argv_add(&a, shop->domain);
	sched_argv_add(&a, customer);
	sched_argv_addi(&a, clock_now_ms());
	sched_argv_addi(&a, s->cfg->timeline_max);
	sched_argv_addi(&a, s->cfg->done_ttl);
	sched_argv_add(&a, source);
	free(prefix);
	op = xcalloc(1, sizeof *op);
	op->unsub_cb = cb;
	op->arg = arg;
	if (sched_run(s, STORE_UNSUBSCRIBE, 1, &a, sched_unsub_reply, op) == -1) {
		free(op);
		return -1;
	}
	return 0;
}

static void
sched_timeline_reply(void *arg, redisReply *r, const char *err)
{
	struct sched_misc_op *op = arg;
	json_t *list = NULL;

	if (r != NULL && r->type == REDIS_REPLY_ARRAY)
		list = sched_list_json(r);
	op->timeline_cb(op->arg, list, list ? NULL : (err ? err : "unexpected reply"));
	json_decref(list);
	free(op);
}

int
sched_timeline(struct sched *s, const struct shop *shop, const char *customer,
    sched_timeline_cb *cb, void *arg)
{
	struct sched_argv a = { 0 };
	struct sched_misc_op *op = xcalloc(1, sizeof *op);
	char *prefix = sched_prefix(s->cfg->key_prefix, shop->partition);

	sched_argv_keys(&a, prefix, "due");
	sched_argv_add(&a, prefix);
	sched_argv_add(&a, shop->domain);
	sched_argv_add(&a, customer);
	sched_argv_addi(&a, s->cfg->timeline_max);
	free(prefix);
	op->timeline_cb = cb;
	op->arg = arg;
	if (sched_run(s, STORE_TIMELINE, 1, &a, sched_timeline_reply, op) == -1) {
		free(op);
		return -1;
	}
	return 0;
}
