/*
 * worker_outcome: what becomes of a send once its provider answered (or it
 * was refused before the request): the outcome (sent, retry with backoff
 * and Retry-After, dead letter, released at shutdown), its log line and
 * metrics, and the ack to Redis, retried while Redis is away as long as
 * the lease holds. Then the send is freed and its place given back.
 */
#include "worker_int.h"

static void	worker_acked_cb(void *, int, const char *);

void
worker_send_free(struct send *s)
{
	struct worker *w = s->w;

	if (s->prev)
		s->prev->next = s->next;
	else
		w->sends = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (s->retry_ev)
		event_free(s->retry_ev);
	if (s->req != NULL) {
		provider_req_free(s->req);
		free(s->req);
	}
	compose_free(&s->c);
	sched_msg_free(s->m);
	free(s->info);
	if (s->reporting)
		w->reporting--;
	free(s);
	w->inflight--;
}

static void
worker_log_outcome(struct send *s)
{
	static const char *names[] = { "sent", "retry", "dead", "released", "skipped" };
	struct buf f;
	char mask[64];

	buf_init(&f);
	buf_adds(&f, "\"flow\":");
	buf_add_json_str(&f, s->m->flow);
	buf_adds(&f, ",\"step\":");
	buf_add_json_str(&f, s->m->step);
	buf_adds(&f, ",\"shop\":");
	buf_add_json_str(&f, s->m->shop);
	buf_adds(&f, ",\"provider\":");
	buf_add_json_str(&f, s->prov ? s->prov->name : "-");
	if (s->c.to != NULL) {
		log_mask_addr(s->c.to, mask, sizeof mask);
		buf_adds(&f, ",\"to\":");
		buf_add_json_str(&f, mask);
	}
	buf_printf(&f, ",\"attempt\":%d,\"ms\":%lld,\"lag_ms\":%lld", s->m->attempts,
	    (long long)(clock_now_ms() - s->start_ms),
	    (long long)(s->start_ms - s->m->due_ms));
	if (s->info != NULL && *s->info) {
		buf_adds(&f, s->outcome == SCHED_SENT ? ",\"provider_id\":" : ",\"reason\":");
		buf_add_json_str(&f, s->info);
	}
	log_at(s->outcome == SCHED_DEAD ? LOG_WARN : LOG_INFO, s->m->id, f.data, "%s",
	    names[s->outcome]);
	buf_free(&f);
	worker_count(s, names[s->outcome]);
}

static void
worker_ack_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	worker_report(arg);
}

static void
worker_acked_cb(void *arg, int applied, const char *err)
{
	struct send *s = arg;
	struct worker *w = s->w;
	struct timeval tv = { 0, 500 * 1000 };

	if (w->freeing)
		return;
	if (err != NULL) {
		/*
		 * Redis is away. Keep trying while our lease holds: giving up
		 * would let the lease expire and the message be sent again.
		 */
		metrics_add(w->metrics, "nudge_redis_errors_total", NULL, 1);
		if (++s->ack_tries * 500 < w->cfg->lease_ms) {
			if (s->ack_tries == 1)
				log_warn(s->m->id, "reporting the outcome failed (%s); retrying", err);
			if (s->retry_ev == NULL)
				s->retry_ev = evtimer_new(w->base, worker_ack_retry_cb, s);
			evtimer_add(s->retry_ev, &tv);
			return;
		}
		log_error(s->m->id, "outcome %d lost: %s; the lease will expire and "
		    "the message be claimed again", (int)s->outcome, err);
	} else if (!applied)
		log_warn(s->m->id, "stale lease: another worker owns this message now");
	worker_send_free(s);
	worker_check_done(w);
	worker_arm(w);
}

void
worker_report(struct send *s)
{
	if (!s->reporting) {
		s->reporting = 1;
		s->w->reporting++;
		worker_log_outcome(s);
	}
	if (sched_ack(s->w->sched, s->m, s->outcome, clock_now_ms(), s->retry_at, s->info,
	    worker_acked_cb, s) == -1)
		worker_acked_cb(s, 0, "redis not connected");
}

/* Turns a provider result into an outcome and reports it. */
void
worker_outcome(struct send *s, const struct provider_result *r)
{
	struct worker *w = s->w;
	uint32_t rnd;
	int64_t delay;

	switch (r->outcome) {
	case SEND_OK:
		s->outcome = SCHED_SENT;
		s->info = xstrdup(r->provider_id);
		break;
	case SEND_PERMANENT:
		s->outcome = SCHED_DEAD;
		s->info = xstrdup(r->error);
		break;
	case SEND_RETRY:
		if (w->stopping) {
			s->outcome = SCHED_RELEASE;
			s->info = xstrdup("shutting down");
			break;
		}
		if (s->m->attempts >= w->cfg->max_attempts) {
			s->outcome = SCHED_DEAD;
			s->info = xasprintf("gave up after %d attempts: %s", s->m->attempts, r->error);
			break;
		}
		util_random(&rnd, sizeof rnd);
		delay = backoff_delay_ms(s->m->attempts, w->cfg->backoff_base_ms,
		    w->cfg->backoff_max_ms, rnd);
		if (r->retry_after_ms > delay)
			delay = r->retry_after_ms;
		s->outcome = SCHED_RETRY;
		s->retry_at = clock_now_ms() + delay;
		s->info = xasprintf("%s (retry in %lld ms)", r->error, (long long)delay);
		break;
	}
	worker_report(s);
}
