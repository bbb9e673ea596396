/*
 * dispatch_smtp: SMTP requests on threads of their own. libcurl 7.88 waits
 * for the server's final reply to the message data in a blocking loop, even
 * on the multi interface (measured: a 600 ms reply blocked the event loop
 * for 600 ms), so SMTP cannot run on the worker's loop. Each thread has its
 * own event_base and dispatch; jobs go in and answers come back through
 * mutex-protected queues and pipes. See docs/providers.md.
 */
#include "dispatch_int.h"

/* The answers of SMTP threads have no headers. */
static const char *
dispatch_no_header(void *hctx, const char *name)
{
	(void)hctx;
	(void)name;
	return NULL;
}

/*
 * The SMTP threads (see dispatch.c for why). A job is one SMTP request: the
 * caller's loop creates it and keeps it on d->jobs until it reports it; the
 * thread owns it from its inbox to its outbox. One lock, the thread's,
 * never held while calling curl or a callback.
 */
TAILQ_HEAD(dispatch_jobq, dispatch_job);

struct dispatch_smtp {
	struct dispatch		*owner;
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	int			 in[2];		/* wakes the thread */
	int			 out[2];	/* wakes the owner's loop */
	struct dispatch_jobq	 inbox;		/* lock */
	struct dispatch_jobq	 outbox;	/* lock */
	int			 stop;		/* lock */
	size_t			 load;		/* owner's loop: jobs out there */
	struct event		*out_ev;	/* on the owner's base */

	/* The thread only (after creation). */
	struct event_base	*base;
	struct event		*in_ev;
	struct dispatch		*d;
	struct dispatch_jobq	 running;
};

static void
dispatch_wake(int fd)
{
	ssize_t n;

	/* Non-blocking: a full pipe already holds a wake-up. */
	do
		n = write(fd, "", 1);
	while (n < 0 && errno == EINTR);
}

static void
dispatch_drain_pipe(int fd)
{
	char b[64];

	while (read(fd, b, sizeof b) > 0)
		;
}

static void
dispatch_job_free(struct dispatch_job *job)
{
	if (job->req != NULL) {
		provider_req_free(job->req);
		free(job->req);
	}
	free(job->ref);
	free(job->error);
	buf_free(&job->body);
	free(job);
}

/* Thread: sends job home to the owner's loop. */
static void
dispatch_smtp_post(struct dispatch_smtp *l, struct dispatch_job *job)
{
	pthread_mutex_lock(&l->lock);
	TAILQ_INSERT_TAIL(&l->outbox, job, qentry);
	pthread_mutex_unlock(&l->lock);
	dispatch_wake(l->out[1]);
}

/* Thread: its dispatch reports a job; copy the answer, post it home. */
static void
dispatch_smtp_done(void *arg, const struct provider_resp *resp)
{
	struct dispatch_job *job = arg;

	job->status = resp->status;
	job->terr = resp->transport_error;
	job->timed_out = resp->timed_out;
	job->error = resp->error != NULL ? xstrdup(resp->error) : NULL;
	buf_add(&job->body, resp->body != NULL ? resp->body : "", resp->body_len);
	job->now_ms = resp->now_ms;
	TAILQ_REMOVE(&job->thr->running, job, qentry);
	dispatch_smtp_post(job->thr, job);
}

/* Thread: a job that never ran goes home with a transport error. */
static void
dispatch_smtp_unsent(struct dispatch_smtp *l, struct dispatch_job *job, int terr)
{
	job->terr = terr;
	job->now_ms = clock_now_ms();
	dispatch_smtp_post(l, job);
}

/* Thread: aborts the running request of job (its callback posts it home). */
static void
dispatch_smtp_cancel(struct dispatch *d, struct dispatch_job *job)
{
	struct dispatch_req *dr;

	dispatch_enter(d);
	TAILQ_FOREACH(dr, &d->reqs, entry) {
		if (dr->arg == job) {
			dispatch_finish(d, dr, CURLE_ABORTED_BY_CALLBACK);
			break;
		}
	}
	dispatch_leave(d);
}

/* Thread: new jobs, cancellations or the order to stop. */
static void
dispatch_smtp_in(evutil_socket_t fd, short what, void *arg)
{
	struct dispatch_smtp *l = arg;
	struct dispatch_job *job;
	struct dispatch_jobq q;
	int stop, cancel;

	(void)what;
	dispatch_drain_pipe(fd);
	TAILQ_INIT(&q);
	pthread_mutex_lock(&l->lock);
	TAILQ_CONCAT(&q, &l->inbox, qentry);
	stop = l->stop;
	pthread_mutex_unlock(&l->lock);

	/* Cancelled while running: abort each (one at a time, the list changes). */
	for (;;) {
		pthread_mutex_lock(&l->lock);
		TAILQ_FOREACH(job, &l->running, qentry) {
			if (job->cancel)
				break;
		}
		pthread_mutex_unlock(&l->lock);
		if (job == NULL)
			break;
		dispatch_smtp_cancel(l->d, job);
	}
	while ((job = TAILQ_FIRST(&q)) != NULL) {
		TAILQ_REMOVE(&q, job, qentry);
		pthread_mutex_lock(&l->lock);
		cancel = job->cancel;
		pthread_mutex_unlock(&l->lock);
		if (stop || cancel) {
			dispatch_smtp_unsent(l, job, CURLE_ABORTED_BY_CALLBACK);
			continue;
		}
		TAILQ_INSERT_TAIL(&l->running, job, qentry);
		if (dispatch_send(l->d, job->req, dispatch_smtp_done, job) != 0) {
			job->req = NULL;	/* freed by dispatch_send */
			TAILQ_REMOVE(&l->running, job, qentry);
			dispatch_smtp_unsent(l, job, CURLE_FAILED_INIT);
			continue;
		}
		job->req = NULL;
	}
	if (stop)
		event_base_loopbreak(l->base);
}

static void *
dispatch_smtp_main(void *arg)
{
	struct dispatch_smtp *l = arg;

	event_base_dispatch(l->base);
	/* Aborts what still runs: the callbacks post it all to the outbox. */
	dispatch_free(l->d);
	return NULL;
}

static void	dispatch_smtp_out(evutil_socket_t, short, void *);

static void
dispatch_smtp_free(struct dispatch_smtp *l)
{
	struct dispatch_job *job;

	if (l->in_ev != NULL)
		event_free(l->in_ev);
	if (l->out_ev != NULL)
		event_free(l->out_ev);
	if (l->base != NULL)
		event_base_free(l->base);
	while ((job = TAILQ_FIRST(&l->inbox)) != NULL) {
		TAILQ_REMOVE(&l->inbox, job, qentry);
		dispatch_job_free(job);
	}
	while ((job = TAILQ_FIRST(&l->outbox)) != NULL) {
		TAILQ_REMOVE(&l->outbox, job, qentry);
		dispatch_job_free(job);
	}
	close(l->in[0]);
	close(l->in[1]);
	close(l->out[0]);
	close(l->out[1]);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static int
dispatch_pipe(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0)
		return 0;
	fds[0] = fds[1] = -1;
	return -1;
}

/* A new SMTP thread, running, or NULL. */
static struct dispatch_smtp *
dispatch_smtp_new(struct dispatch *d)
{
	struct dispatch_smtp *l = xcalloc(1, sizeof *l);
	sigset_t all, old;
	int rc;

	l->in[0] = l->in[1] = l->out[0] = l->out[1] = -1;
	l->owner = d;
	pthread_mutex_init(&l->lock, NULL);
	TAILQ_INIT(&l->inbox);
	TAILQ_INIT(&l->outbox);
	TAILQ_INIT(&l->running);
	if (dispatch_pipe(l->in) != 0 || dispatch_pipe(l->out) != 0 ||
	    (l->base = event_base_new()) == NULL ||
	    (l->d = dispatch_new(l->base, d->timeout_ms)) == NULL ||
	    (l->in_ev = event_new(l->base, l->in[0], EV_READ | EV_PERSIST,
	    dispatch_smtp_in, l)) == NULL || event_add(l->in_ev, NULL) != 0 ||
	    (l->out_ev = event_new(d->base, l->out[0], EV_READ | EV_PERSIST,
	    dispatch_smtp_out, l)) == NULL || event_add(l->out_ev, NULL) != 0)
		goto fail;
	l->d->inline_smtp = 1;
	/* Signals are the main thread's business: this one blocks them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&l->thread, NULL, dispatch_smtp_main, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		goto fail;
	return l;
fail:
	if (l->d != NULL)
		dispatch_free(l->d);
	dispatch_smtp_free(l);
	return NULL;
}

/* Stops the thread (waiting for a blocked transfer to end) and frees it. */
void
dispatch_smtp_stop(struct dispatch_smtp *l)
{
	pthread_mutex_lock(&l->lock);
	l->stop = 1;
	pthread_mutex_unlock(&l->lock);
	dispatch_wake(l->in[1]);
	pthread_join(l->thread, NULL);
	dispatch_smtp_free(l);
}

/* Owner's loop: answers came home; report those not yet reported. */
static void
dispatch_smtp_out(evutil_socket_t fd, short what, void *arg)
{
	struct dispatch_smtp *l = arg;
	struct dispatch *d = l->owner;
	struct provider_resp resp;
	struct dispatch_job *job;
	struct dispatch_jobq q;

	(void)what;
	dispatch_drain_pipe(fd);
	TAILQ_INIT(&q);
	pthread_mutex_lock(&l->lock);
	TAILQ_CONCAT(&q, &l->outbox, qentry);
	pthread_mutex_unlock(&l->lock);

	dispatch_enter(d);
	while ((job = TAILQ_FIRST(&q)) != NULL) {
		TAILQ_REMOVE(&q, job, qentry);
		l->load--;
		if (!job->reported) {
			job->reported = 1;
			TAILQ_REMOVE(&d->jobs, job, entry);
			d->inflight--;
			memset(&resp, 0, sizeof resp);
			resp.status = job->status;
			resp.transport_error = job->terr;
			resp.error = job->error != NULL ? job->error :
			    job->terr != 0 ? curl_easy_strerror((CURLcode)job->terr) : NULL;
			resp.timed_out = job->timed_out;
			resp.body = job->body.data != NULL ? job->body.data : "";
			resp.body_len = job->body.len;
			resp.header = dispatch_no_header;
			resp.now_ms = job->now_ms;
			resp.ref = job->ref;
			job->cb(job->arg, &resp);
		}
		dispatch_job_free(job);
	}
	dispatch_leave(d);
}

/* Hands req to the least busy SMTP thread, making one if all are busy. 0 / -1. */
int
dispatch_smtp_send(struct dispatch *d, struct provider_req *req,
    dispatch_done_cb *cb, void *arg)
{
	struct dispatch_smtp *l = NULL, *n;
	struct dispatch_job *job;
	size_t i;

	for (i = 0; i < DISPATCH_SMTP_THREADS; i++) {
		if (d->smtp[i] == NULL) {
			if ((l == NULL || l->load > 0) &&
			    (n = dispatch_smtp_new(d)) != NULL)
				l = d->smtp[i] = n;
			break;
		}
		if (l == NULL || d->smtp[i]->load < l->load)
			l = d->smtp[i];
	}
	if (l == NULL) {
		provider_req_free(req);
		free(req);
		return -1;
	}
	job = xcalloc(1, sizeof *job);
	job->req = req;
	job->cb = cb;
	job->arg = arg;
	job->gen = d->gen;
	job->thr = l;
	job->ref = req->ref != NULL ? xstrdup(req->ref) : NULL;
	buf_init(&job->body);
	l->load++;
	d->inflight++;
	TAILQ_INSERT_TAIL(&d->jobs, job, entry);
	pthread_mutex_lock(&l->lock);
	TAILQ_INSERT_TAIL(&l->inbox, job, qentry);
	pthread_mutex_unlock(&l->lock);
	dispatch_wake(l->in[1]);
	return 0;
}

/* Owner's loop: reports job as aborted and tells its thread to drop it. */
void
dispatch_smtp_abort(struct dispatch *d, struct dispatch_job *job)
{
	struct provider_resp resp;

	job->reported = 1;
	TAILQ_REMOVE(&d->jobs, job, entry);
	d->inflight--;
	pthread_mutex_lock(&job->thr->lock);
	job->cancel = 1;
	pthread_mutex_unlock(&job->thr->lock);
	dispatch_wake(job->thr->in[1]);
	memset(&resp, 0, sizeof resp);
	resp.transport_error = CURLE_ABORTED_BY_CALLBACK;
	resp.error = curl_easy_strerror(CURLE_ABORTED_BY_CALLBACK);
	resp.body = "";
	resp.header = dispatch_no_header;
	resp.now_ms = clock_now_ms();
	resp.ref = job->ref;
	/* job stays the thread's until it comes home; cb must not see it again. */
	job->cb(job->arg, &resp);
}

