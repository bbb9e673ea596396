/*
 * dispatch: provider requests on one libcurl multi handle, driven by the
 * worker's libevent loop (the shape of curl's hiperfifo.c example).
 *
 * curl tells us which sockets to watch (dispatch_sock_cb) and when to call
 * it back (dispatch_timer_cb); libevent tells curl when a socket is ready
 * or the timer expired (curl_multi_socket_action). Finished transfers are
 * collected with curl_multi_info_read after each socket_action returns,
 * and only then removed, cleaned up and reported: never from inside one of
 * curl's callbacks, where freeing an easy handle is not allowed.
 *
 * Connections stay in the multi handle's cache between requests (as many
 * as were ever in flight at once), so a steady stream of sends to one
 * provider reuses its connections (and multiplexes over HTTP/2 where the
 * provider offers it). What a request needs besides its body is reused
 * too: finished requests keep their easy handle, header list and buffers
 * for the next one, and socket structs are kept for the next socket.
 *
 * Re-entrancy: done callbacks may call dispatch_send, dispatch_abort_all or
 * dispatch_free. Every entry point brackets its work with dispatch_enter /
 * dispatch_leave; socket structs curl drops are reused, and the dispatch
 * itself freed, only when the outermost entry point unwinds, i.e. after curl
 * has returned and no done callback is on the stack. (That may be at the end
 * of the dropped socket's own libevent callback: libevent copies what it
 * needs before calling, and never touches the event afterwards.)
 *
 * SMTP runs elsewhere (dispatch_smtp.c). libcurl 7.88 sends the end of the message data and
 * then waits for the server's reply in a blocking loop of its own
 * (smtp_done -> smtp_block_statemach), inside curl_multi_socket_action:
 * measured on loopback, a server that takes 1 s to say "250" freezes every
 * other event of the loop for that second (0 of 50 timer ticks fired; the
 * same delay before the "354" reply costs nothing), and a silent server
 * freezes it until the transfer times out. So SMTP requests go to an SMTP
 * thread: one with its own event_base and its own dispatch (inline_smtp), fed
 * through a mutex-protected inbox and a pipe, answering through an outbox
 * and a second pipe that the caller's loop watches. Pipes rather than
 * event_active because the caller's base need not be evthread-enabled.
 * There are up to DISPATCH_SMTP_THREADS of them, so one slow reply holds up
 * only the sends that share its thread. tests/unit/test_smtp.c measures the
 * stall and its absence through dispatch.
 */
#include "dispatch_int.h"

static void	dispatch_event_cb(evutil_socket_t, short, void *);
static void	dispatch_req_free(struct dispatch_req *);

void
dispatch_enter(struct dispatch *d)
{
	d->depth++;
}


static void
dispatch_destroy(struct dispatch *d)
{
	struct dispatch_req *dr;
	struct dispatch_sock *ds;
	size_t i;

	/* Every job was reported by now; a thread may still be finishing one. */
	for (i = 0; i < DISPATCH_SMTP_THREADS; i++) {
		if (d->smtp[i] != NULL)
			dispatch_smtp_stop(d->smtp[i]);
	}
	/* Closes cached connections; may still call the socket callback. */
	curl_multi_cleanup(d->multi);
	while ((ds = LIST_FIRST(&d->socks)) != NULL) {
		event_del(&ds->ev);
		LIST_REMOVE(ds, entry);
		free(ds);
	}
	while ((ds = LIST_FIRST(&d->dead)) != NULL) {
		LIST_REMOVE(ds, entry);
		free(ds);
	}
	while ((ds = LIST_FIRST(&d->spare_socks)) != NULL) {
		LIST_REMOVE(ds, entry);
		free(ds);
	}
	while ((dr = TAILQ_FIRST(&d->spare)) != NULL) {
		TAILQ_REMOVE(&d->spare, dr, entry);
		dispatch_req_free(dr);
	}
	event_free(d->timer);
	free(d);
}

/* Leaves an entry point; d may be gone afterwards. */
void
dispatch_leave(struct dispatch *d)
{
	struct dispatch_sock *ds;

	if (--d->depth > 0)
		return;
	/* no callback of theirs is on the stack now: they may serve again */
	while ((ds = LIST_FIRST(&d->dead)) != NULL) {
		LIST_REMOVE(ds, entry);
		LIST_INSERT_HEAD(&d->spare_socks, ds, entry);
	}
	if (d->dying)
		dispatch_destroy(d);
}

static const char *
dispatch_header(void *hctx, const char *name)
{
	struct dispatch_req *dr = hctx;
	size_t i;

	for (i = 0; i < dr->nh; i++) {
		if (strcasecmp(dr->hdrs.data + dr->hname[i], name) == 0)
			return dr->hdrs.data + dr->hval[i];
	}
	return NULL;
}

static void
dispatch_headers_clear(struct dispatch_req *dr)
{
	dr->nh = 0;
	buf_reset(&dr->hdrs);
}

/*
 * One header line at a time. A status line starts a new response (after a
 * 100 Continue or a redirect), so only the final response's headers stay.
 * Names and values go into one buffer (offsets, as it may move).
 */
static size_t
dispatch_header_cb(char *ptr, size_t size, size_t n, void *arg)
{
	struct dispatch_req *dr = arg;
	size_t len = size * n, nlen, vlen;
	const char *colon, *v;

	if (len >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		dispatch_headers_clear(dr);
		return len;
	}
	colon = memchr(ptr, ':', len);
	if (colon == NULL || colon == ptr || dr->nh == DISPATCH_HDR_MAX ||
	    dr->hdrs.len + len > DISPATCH_HDR_BYTES)
		return len;
	nlen = (size_t)(colon - ptr);
	v = colon + 1;
	vlen = len - nlen - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
	    v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	dr->hname[dr->nh] = dr->hdrs.len;
	buf_add(&dr->hdrs, ptr, nlen);
	buf_addc(&dr->hdrs, '\0');
	dr->hval[dr->nh] = dr->hdrs.len;
	buf_add(&dr->hdrs, v, vlen);
	buf_addc(&dr->hdrs, '\0');
	dr->nh++;
	return len;
}

/* Keeps the start of the body; the rest is read and dropped, not refused. */
static size_t
dispatch_write_cb(char *ptr, size_t size, size_t n, void *arg)
{
	struct dispatch_req *dr = arg;
	size_t len = size * n, room;

	if (dr->body.len < DISPATCH_BODY_MAX) {
		room = DISPATCH_BODY_MAX - dr->body.len;
		buf_add(&dr->body, ptr, len < room ? len : room);
	}
	return len;
}

/* SMTP upload of req->body. */
static size_t
dispatch_read_cb(char *ptr, size_t size, size_t n, void *arg)
{
	struct dispatch_req *dr = arg;
	struct buf *b = &dr->req->body;
	size_t left = b->len - dr->upload_off, len = size * n;

	if (len > left)
		len = left;
	if (len > 0)
		memcpy(ptr, b->data + dr->upload_off, len);
	dr->upload_off += len;
	return len;
}

static void
dispatch_req_free(struct dispatch_req *dr)
{
	if (dr->easy != NULL)
		curl_easy_cleanup(dr->easy);
	curl_slist_free_all(dr->headers);
	curl_slist_free_all(dr->rcpt);
	buf_free(&dr->hdrs);
	buf_free(&dr->body);
	if (dr->req != NULL) {
		provider_req_free(dr->req);
		free(dr->req);
	}
	free(dr);
}

/* A request struct: a spare one (easy handle and buffers kept) or a new one. */
static struct dispatch_req *
dispatch_req_get(struct dispatch *d)
{
	struct dispatch_req *dr;

	if ((dr = TAILQ_FIRST(&d->spare)) != NULL) {
		TAILQ_REMOVE(&d->spare, dr, entry);
		d->nspare--;
		return dr;
	}
	dr = xcalloc(1, sizeof *dr);
	buf_init(&dr->body);
	buf_init(&dr->hdrs);
	return dr;
}

/*
 * Done with dr: what belongs to this request goes, the easy handle (reset
 * to defaults, so no option of this request leaks into the next), the
 * header list and the buffers stay for the next one, up to the peak in
 * flight. dr's handle must
 * not be in the multi handle.
 */
static void
dispatch_req_put(struct dispatch *d, struct dispatch_req *dr)
{
	if (d->dying || d->nspare >= d->peak || d->nspare >= DISPATCH_SPARE_MAX) {
		dispatch_req_free(dr);
		return;
	}
	if (dr->easy != NULL)
		curl_easy_reset(dr->easy);
	/* dr->headers stays: the next request likely sends the same lines */
	curl_slist_free_all(dr->rcpt);
	dr->rcpt = NULL;
	if (dr->req != NULL) {
		provider_req_free(dr->req);
		free(dr->req);
		dr->req = NULL;
	}
	dr->cb = NULL;
	dr->arg = NULL;
	dr->upload_off = 0;
	dr->errbuf[0] = '\0';
	dispatch_headers_clear(dr);
	buf_reset(&dr->body);
	TAILQ_INSERT_HEAD(&d->spare, dr, entry);
	d->nspare++;
}

/*
 * Reports dr to its owner and frees it. dr's easy handle must not be in a
 * curl callback: callers are the info_read loop and dispatch_abort_all.
 */
void
dispatch_finish(struct dispatch *d, struct dispatch_req *dr, CURLcode rc)
{
	struct provider_resp resp;
	long status = 0;

	TAILQ_REMOVE(&d->reqs, dr, entry);
	d->inflight--;
	curl_multi_remove_handle(d->multi, dr->easy);

	memset(&resp, 0, sizeof resp);
	curl_easy_getinfo(dr->easy, CURLINFO_RESPONSE_CODE, &status);
	resp.status = status;
	resp.transport_error = (int)rc;
	if (rc != CURLE_OK)
		resp.error = dr->errbuf[0] != '\0' ? dr->errbuf : curl_easy_strerror(rc);
	resp.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
	resp.body = dr->body.data != NULL ? dr->body.data : "";
	resp.body_len = dr->body.len;
	resp.header = dispatch_header;
	resp.hctx = dr;
	resp.now_ms = clock_now_ms();
	resp.ref = dr->req->ref;
	dr->cb(dr->arg, &resp);
	dispatch_req_put(d, dr);
}

/* Reports every transfer curl has finished. Called after socket_action. */
static void
dispatch_drain(struct dispatch *d)
{
	struct dispatch_req *dr;
	CURLMsg *msg;
	CURLcode rc;
	char *priv;
	int left;

	while (!d->dying && (msg = curl_multi_info_read(d->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		/* msg belongs to the handle; copy before removing it. */
		rc = msg->data.result;
		priv = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		if ((dr = (struct dispatch_req *)priv) == NULL)
			continue;
		dispatch_finish(d, dr, rc);
	}
}

static void
dispatch_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dispatch *d = arg;
	int action = 0, running;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	dispatch_enter(d);
	curl_multi_socket_action(d->multi, fd, action, &running);
	dispatch_drain(d);
	dispatch_leave(d);
}

static void
dispatch_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dispatch *d = arg;
	int running;

	(void)fd;
	(void)what;
	dispatch_enter(d);
	curl_multi_socket_action(d->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	dispatch_drain(d);
	dispatch_leave(d);
}

/*
 * CURLMOPT_SOCKETFUNCTION: watch fd for what curl wants. This runs inside
 * curl_multi_socket_action, possibly inside the event callback of the very
 * socket being dropped, so a dropped struct goes to the dead list.
 */
static int
dispatch_sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
    void *socketp)
{
	struct dispatch *d = userp;
	struct dispatch_sock *ds = socketp;
	short kind;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (ds != NULL) {
			event_del(&ds->ev);
			LIST_REMOVE(ds, entry);
			LIST_INSERT_HEAD(&d->dead, ds, entry);
			curl_multi_assign(d->multi, fd, NULL);
		}
		return 0;
	}
	if (ds == NULL) {
		/* a connection is watched for each request: its struct is reused */
		if ((ds = LIST_FIRST(&d->spare_socks)) != NULL)
			LIST_REMOVE(ds, entry);
		else
			ds = xcalloc(1, sizeof *ds);
		ds->fd = fd;
		LIST_INSERT_HEAD(&d->socks, ds, entry);
		curl_multi_assign(d->multi, fd, ds);
	} else
		event_del(&ds->ev);
	kind = EV_PERSIST;
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	event_assign(&ds->ev, d->base, fd, kind, dispatch_event_cb, d);
	if (event_add(&ds->ev, NULL) != 0)
		return -1;
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: one timer; -1 stops it, 0 means "soon". */
static int
dispatch_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct dispatch *d = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(d->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(d->timer, &tv) == 0 ? 0 : -1;
}

struct dispatch *
dispatch_new(struct event_base *base, long timeout_ms)
{
	static int curl_ready;
	struct dispatch *d;

	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		curl_ready = 1;
	}
	d = xcalloc(1, sizeof *d);
	d->base = base;
	d->timeout_ms = timeout_ms > 0 ? timeout_ms : 15000;
	TAILQ_INIT(&d->reqs);
	TAILQ_INIT(&d->spare);
	TAILQ_INIT(&d->jobs);
	LIST_INIT(&d->socks);
	LIST_INIT(&d->dead);
	LIST_INIT(&d->spare_socks);
	if ((d->multi = curl_multi_init()) == NULL) {
		free(d);
		return NULL;
	}
	if ((d->timer = evtimer_new(base, dispatch_timeout_cb, d)) == NULL) {
		curl_multi_cleanup(d->multi);
		free(d);
		return NULL;
	}
	curl_multi_setopt(d->multi, CURLMOPT_SOCKETFUNCTION, dispatch_sock_cb);
	curl_multi_setopt(d->multi, CURLMOPT_SOCKETDATA, d);
	curl_multi_setopt(d->multi, CURLMOPT_TIMERFUNCTION, dispatch_timer_cb);
	curl_multi_setopt(d->multi, CURLMOPT_TIMERDATA, d);
	/*
	 * Keep idle connections for reuse; limit concurrency elsewhere
	 * (worker). dispatch_send raises the cache to the peak in flight.
	 */
	d->maxconnects = DISPATCH_CONNS_MIN;
	curl_multi_setopt(d->multi, CURLMOPT_MAXCONNECTS, d->maxconnects);
	curl_multi_setopt(d->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
	curl_multi_setopt(d->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	return d;
}

/*
 * dr->headers for its request: the request's lines, then "Expect:" (no
 * "100-continue" round trip before the body). A spare keeps its list, and
 * a provider sends the same lines every time (its key, its content type),
 * so the list is built again only when they differ. 0, or -1 out of memory.
 */
static int
dispatch_headers(struct dispatch_req *dr)
{
	struct provider_req *req = dr->req;
	struct curl_slist *l = dr->headers;
	size_t i;

	for (i = 0; i < req->nheaders && req->headers[i] != NULL; i++, l = l->next) {
		if (l == NULL || strcmp(l->data, req->headers[i]) != 0)
			break;
	}
	if ((i == req->nheaders || req->headers[i] == NULL) && l != NULL &&
	    strcmp(l->data, "Expect:") == 0 && l->next == NULL)
		return 0;
	curl_slist_free_all(dr->headers);
	dr->headers = NULL;
	for (i = 0; i < req->nheaders && req->headers[i] != NULL; i++) {
		if ((l = curl_slist_append(dr->headers, req->headers[i])) == NULL)
			return -1;
		dr->headers = l;
	}
	if ((l = curl_slist_append(dr->headers, "Expect:")) == NULL)
		return -1;
	dr->headers = l;
	return 0;
}

/*
 * Sets dr's easy handle up for its request (a spare one is reset to
 * defaults, a new one made); NULL when curl refuses an option.
 */
static CURL *
dispatch_easy(struct dispatch *d, struct dispatch_req *dr)
{
	struct provider_req *req = dr->req;
	struct curl_slist *l;
	CURL *e;

	if ((e = dr->easy) == NULL && (e = dr->easy = curl_easy_init()) == NULL)
		return NULL;
	if (curl_easy_setopt(e, CURLOPT_URL, req->url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https,smtp,smtps") != CURLE_OK)
		return NULL;
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)dr);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, dr->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, d->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    d->timeout_ms < DISPATCH_CONNECT_MAX_MS ? d->timeout_ms : DISPATCH_CONNECT_MAX_MS);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, dispatch_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, dr);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, dispatch_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, dr);
	if (req->userpwd != NULL)
		curl_easy_setopt(e, CURLOPT_USERPWD, req->userpwd);

	if (req->mail_from != NULL) {
		/*
		 * SMTP: the body is the whole RFC 5322 message (curl dot-stuffs
		 * it); STARTTLS when offered, or required. Only an SMTP thread runs this
		 * (dispatch_smtp.c): the final reply is awaited in a blocking loop.
		 */
		if ((l = curl_slist_append(NULL, req->mail_rcpt != NULL ?
		    req->mail_rcpt : "")) == NULL)
			return NULL;
		dr->rcpt = l;
		curl_easy_setopt(e, CURLOPT_MAIL_FROM, req->mail_from);
		curl_easy_setopt(e, CURLOPT_MAIL_RCPT, dr->rcpt);
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, dispatch_read_cb);
		curl_easy_setopt(e, CURLOPT_READDATA, dr);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body.len);
		curl_easy_setopt(e, CURLOPT_USE_SSL, (long)(req->smtp_require_tls ?
		    CURLUSESSL_ALL : CURLUSESSL_TRY));
		/*
		 * One connection per message: after a timed-out transfer the
		 * server's late reply would otherwise be read as the next
		 * message's answer (and give it the wrong error).
		 */
		curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
		return e;
	}

	/* Best effort: h2 over TLS when offered, HTTP/1.1 otherwise. */
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	if (strcmp(req->method, "GET") == 0 && req->body.len == 0)
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	else {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body.len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS,
		    req->body.data != NULL ? req->body.data : "");
		if (strcmp(req->method, "POST") != 0)
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
	}
	if (dispatch_headers(dr) == -1)
		return NULL;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, dr->headers);
	return e;
}

/*
 * Starts req. dispatch owns req from here on, also when -1 is returned
 * (then it is already freed and cb is never called).
 */
int
dispatch_send(struct dispatch *d, struct provider_req *req,
    dispatch_done_cb *cb, void *arg)
{
	struct dispatch_req *dr;

	if (!d->dying && !d->inline_smtp && req->url != NULL &&
	    strncasecmp(req->url, "smtp", 4) == 0)
		return dispatch_smtp_send(d, req, cb, arg);
	dr = dispatch_req_get(d);
	dr->req = req;
	dr->cb = cb;
	dr->arg = arg;
	dr->gen = d->gen;
	if (d->dying || req->url == NULL || dispatch_easy(d, dr) == NULL) {
		dispatch_req_free(dr);
		return -1;
	}
	/* Adding only arms the timer: the transfer starts from the loop. */
	if (curl_multi_add_handle(d->multi, dr->easy) != CURLM_OK) {
		dispatch_req_free(dr);
		return -1;
	}
	TAILQ_INSERT_TAIL(&d->reqs, dr, entry);
	if (++d->inflight > d->peak) {
		d->peak = d->inflight;
		/*
		 * Room in the connection cache for every request in flight:
		 * with fewer, each finished request beyond the cache size
		 * closes a connection that the next request opens again.
		 */
		if ((long)d->peak > d->maxconnects) {
			d->maxconnects = (long)d->peak;
			curl_multi_setopt(d->multi, CURLMOPT_MAXCONNECTS, d->maxconnects);
		}
	}
	return 0;
}

size_t
dispatch_inflight(const struct dispatch *d)
{
	return d->inflight;
}

/*
 * Aborts the requests in flight when called; those a callback starts
 * meanwhile (a newer generation) are left to run.
 */
void
dispatch_abort_all(struct dispatch *d)
{
	unsigned long cut = d->gen++;
	struct dispatch_job *job;
	struct dispatch_req *dr;

	dispatch_enter(d);
	for (;;) {
		TAILQ_FOREACH(dr, &d->reqs, entry) {
			if (dr->gen <= cut)
				break;
		}
		if (dr == NULL)
			break;
		dispatch_finish(d, dr, CURLE_ABORTED_BY_CALLBACK);
	}
	for (;;) {
		TAILQ_FOREACH(job, &d->jobs, entry) {
			if (job->gen <= cut)
				break;
		}
		if (job == NULL)
			break;
		dispatch_smtp_abort(d, job);
	}
	dispatch_leave(d);
}

/* Aborts what is in flight (callbacks are called), then frees everything. */
void
dispatch_free(struct dispatch *d)
{
	if (d == NULL || d->dying)
		return;
	d->dying = 1;
	dispatch_enter(d);
	dispatch_abort_all(d);
	dispatch_leave(d);
}
