/*
 * dispatch against real loopback servers in the same event_base: an evhttp
 * server (202 + X-Message-Id, /echo, /info, /big, and /slow that answers
 * after the dispatch timeout) and a tiny SMTP server. Checks statuses,
 * header lookup, bodies, timeouts, connection reuse, aborts and freeing
 * from inside a callback.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "unit.h"
#include "dispatch.h"

#define NCONC		50
#define NSEQ		20
#define SLOW_IDX	7

struct srv {
	struct event_base	*base;
	struct evhttp		*http;
	int			 port;
	int			 connections;	/* accepted by evhttp */
	int			 bad_requests;	/* missing X-Test, or an Expect */
	struct event		*slow[8];	/* pending delayed replies */
	int			 nslow;
};

struct call {
	int		 idx;
	int		 done;
	long		 status;
	int		 terr;
	int		 timed_out;
	char		*error;
	char		*msgid;
	char		*body;
	size_t		 body_len;
};

struct ctx {
	struct srv	 srv;
	struct dispatch	*d;
	struct call	 calls[NCONC + NSEQ];
	int		 ndone;
	int		 want;
	int		 seq_left;	/* sequential requests still to start */
	int		 conns_after_wave1;
	int		 free_in_cb;	/* dispatch_free from the first callback */
	int		 send_in_abort;	/* start a request from an abort callback */
};

static struct ctx *cur;

static struct bufferevent *
srv_bevcb(struct event_base *base, void *arg)
{
	struct srv *s = arg;

	s->connections++;
	return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
}

static void
srv_slow_reply(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	evhttp_send_reply(arg, 202, "Accepted", NULL);
}

static void
srv_handle(struct evhttp_request *req, void *arg)
{
	struct srv *s = arg;
	const char *path = evhttp_request_get_uri(req);
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evkeyvalq *outh = evhttp_request_get_output_headers(req);
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	struct evbuffer *out = evbuffer_new();
	struct timeval tv = { 1, 500000 };
	const char *a;
	int i;

	if (evhttp_find_header(in, "Expect") != NULL)
		s->bad_requests++;
	if (strcmp(path, "/slow") == 0) {
		/* Longer than the dispatch timeout; freed at teardown if still pending. */
		s->slow[s->nslow] = evtimer_new(s->base, srv_slow_reply, req);
		evtimer_add(s->slow[s->nslow++], &tv);
	} else if (strcmp(path, "/echo") == 0) {
		evbuffer_add_buffer(out, body);
		evhttp_send_reply(req, 200, "OK", out);
	} else if (strcmp(path, "/info") == 0) {
		a = evhttp_find_header(in, "Authorization");
		evbuffer_add_printf(out, "%d|%s|%zu", (int)evhttp_request_get_command(req),
		    a != NULL ? a : "-", evbuffer_get_length(body));
		evhttp_send_reply(req, 200, "OK", out);
	} else if (strcmp(path, "/big") == 0) {
		for (i = 0; i < 100; i++)
			evbuffer_add_printf(out, "%01023d\n", i);
		evhttp_send_reply(req, 200, "OK", out);
	} else {
		if (evhttp_find_header(in, "X-Test") == NULL)
			s->bad_requests++;
		evhttp_add_header(outh, "X-Message-Id", "abc");
		evhttp_send_reply(req, 202, "Accepted", NULL);
	}
	evbuffer_free(out);
}

static void
srv_start(struct srv *s, struct event_base *base)
{
	struct evhttp_bound_socket *bs;
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;

	memset(s, 0, sizeof *s);
	s->base = base;
	s->http = evhttp_new(base);
	evhttp_set_bevcb(s->http, srv_bevcb, s);
	evhttp_set_gencb(s->http, srv_handle, s);
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT);
	bs = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
	assert_non_null(bs);
	assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs),
	    (struct sockaddr *)&sin, &len), 0);
	s->port = ntohs(sin.sin_port);
}

static void
srv_stop(struct srv *s)
{
	int i;

	for (i = 0; i < s->nslow; i++)
		event_free(s->slow[i]);
	evhttp_free(s->http);
}

static struct provider_req *
mkreq(const char *method, const char *url, const char *body)
{
	struct provider_req *req = xmalloc(sizeof *req);

	provider_req_init(req);
	req->method = method;
	req->url = xstrdup(url);
	provider_req_header(req, "X-Test: 1");
	provider_req_header(req, "Content-Type: application/json");
	if (body != NULL)
		buf_adds(&req->body, body);
	return req;
}

static void on_done(void *, const struct provider_resp *);

static void
send_via(struct ctx *c, struct dispatch *d, int idx, const char *path,
    const char *body)
{
	char *url = xasprintf("http://127.0.0.1:%d%s", c->srv.port, path);

	c->calls[idx].idx = idx;
	assert_int_equal(dispatch_send(d, mkreq("POST", url, body), on_done,
	    &c->calls[idx]), 0);
	free(url);
}

static void
send_one(struct ctx *c, int idx, const char *path, const char *body)
{
	send_via(c, c->d, idx, path, body);
}

static void
on_done(void *arg, const struct provider_resp *resp)
{
	struct call *call = arg;
	struct ctx *c = cur;
	const char *v;

	assert_int_equal(call->done, 0);
	call->done = 1;
	call->status = resp->status;
	call->terr = resp->transport_error;
	call->timed_out = resp->timed_out;
	call->error = resp->error != NULL ? xstrdup(resp->error) : NULL;
	v = resp->header(resp->hctx, "x-message-id");
	call->msgid = v != NULL ? xstrdup(v) : NULL;
	assert_null(resp->header(resp->hctx, "X-Not-There"));
	call->body = xstrndup(resp->body, resp->body_len);
	call->body_len = resp->body_len;
	assert_true(resp->now_ms > 1700000000000LL);
	c->ndone++;

	if (c->free_in_cb) {
		c->free_in_cb = 0;
		dispatch_free(c->d);	/* the rest are aborted; memory goes later */
		c->d = NULL;
	}
	if (c->send_in_abort && resp->transport_error == 42) {
		c->send_in_abort = 0;
		c->want++;
		send_one(c, NCONC, "/send", "{}");
	}
	if (c->seq_left > 0) {
		/* One at a time: each should reuse an idle connection. */
		send_one(c, NCONC + NSEQ - c->seq_left, "/send", "{\"seq\":1}");
		c->seq_left--;
	}
	if (c->ndone == c->want)
		event_base_loopexit(c->srv.base, NULL);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* Runs the loop until want callbacks came, failing after 10 s. */
static void
run_until(struct ctx *c, int want)
{
	struct timeval tv = { 10, 0 };
	struct event *dl = evtimer_new(c->srv.base, on_deadline, c->srv.base);

	c->want = want;
	evtimer_add(dl, &tv);
	if (c->ndone < c->want)
		event_base_dispatch(c->srv.base);
	event_free(dl);
	if (c->ndone != c->want)
		fail_msg("%d of %d callbacks after 10 s", c->ndone, c->want);
}

static struct ctx *
ctx_new(long timeout_ms)
{
	struct ctx *c = xcalloc(1, sizeof *c);
	struct event_base *base = event_base_new();

	assert_non_null(base);
	srv_start(&c->srv, base);
	c->d = dispatch_new(base, timeout_ms);
	assert_non_null(c->d);
	cur = c;
	return c;
}

static void
ctx_free(struct ctx *c)
{
	struct event_base *base = c->srv.base;
	size_t i;

	if (c->d != NULL)
		dispatch_free(c->d);
	srv_stop(&c->srv);
	event_base_free(base);
	for (i = 0; i < sizeof c->calls / sizeof c->calls[0]; i++) {
		free(c->calls[i].error);
		free(c->calls[i].msgid);
		free(c->calls[i].body);
	}
	free(c);
	cur = NULL;
}

static void
test_loopback(void **state)
{
	struct ctx *c = ctx_new(5000);
	struct dispatch *fast;
	char body[64];
	struct call *k;
	int i;

	(void)state;
	/*
	 * /slow goes through a second dispatch with a 200 ms timeout, on the
	 * same loop at the same time: the others get a generous timeout so a
	 * busy test machine cannot make them fail.
	 */
	fast = dispatch_new(c->srv.base, 200);
	assert_non_null(fast);
	for (i = 0; i < NCONC; i++) {
		if (i == SLOW_IDX)
			send_via(c, fast, i, "/slow", "{}");
		else if (i % 10 == 3) {
			snprintf(body, sizeof body, "{\"echo\":%d,\"s\":\"Γειά\"}", i);
			send_one(c, i, "/echo", body);
		} else
			send_one(c, i, "/send", "{\"n\":1}");
	}
	assert_int_equal(dispatch_inflight(c->d), NCONC - 1);
	assert_int_equal(dispatch_inflight(fast), 1);
	assert_int_equal(c->ndone, 0);		/* nothing runs before the loop */
	run_until(c, NCONC);
	assert_int_equal(dispatch_inflight(c->d), 0);
	assert_int_equal(dispatch_inflight(fast), 0);
	dispatch_free(fast);

	for (i = 0; i < NCONC; i++) {
		k = &c->calls[i];
		assert_int_equal(k->done, 1);
		if (i == SLOW_IDX) {
			assert_int_equal(k->timed_out, 1);
			assert_int_equal(k->terr, 28);	/* CURLE_OPERATION_TIMEDOUT */
			assert_int_equal(k->status, 0);
			assert_non_null(k->error);
			assert_non_null(strstr(k->error, "timed out"));
		} else if (i % 10 == 3) {
			snprintf(body, sizeof body, "{\"echo\":%d,\"s\":\"Γειά\"}", i);
			assert_int_equal(k->status, 200);
			assert_int_equal(k->terr, 0);
			assert_string_equal(k->body, body);
			assert_null(k->msgid);
		} else {
			assert_int_equal(k->status, 202);
			assert_int_equal(k->terr, 0);
			assert_int_equal(k->timed_out, 0);
			assert_null(k->error);
			assert_string_equal(k->msgid, "abc");
			assert_int_equal(k->body_len, 0);
		}
	}
	assert_int_equal(c->srv.bad_requests, 0);
	assert_true(c->srv.connections >= 1 && c->srv.connections <= NCONC);

	/* Sequential sends reuse idle connections: no new connection at all. */
	c->conns_after_wave1 = c->srv.connections;
	c->seq_left = NSEQ - 1;
	send_one(c, NCONC, "/send", "{\"seq\":1}");
	run_until(c, NCONC + NSEQ);
	for (i = NCONC; i < NCONC + NSEQ; i++) {
		assert_int_equal(c->calls[i].status, 202);
		assert_string_equal(c->calls[i].msgid, "abc");
	}
	assert_int_equal(c->srv.connections, c->conns_after_wave1);
	ctx_free(c);
}

static void
test_methods_and_limits(void **state)
{
	struct ctx *c = ctx_new(2000);
	struct provider_req *req;
	char *url, *want;

	(void)state;
	url = xasprintf("http://127.0.0.1:%d/info", c->srv.port);
	req = mkreq("PUT", url, "12345");
	req->userpwd = xstrdup("api:secret");
	c->calls[0].idx = 0;
	assert_int_equal(dispatch_send(c->d, req, on_done, &c->calls[0]), 0);
	assert_int_equal(dispatch_send(c->d, mkreq("GET", url, NULL), on_done,
	    &c->calls[1]), 0);
	free(url);
	send_one(c, 2, "/big", NULL);
	/* Not startable: req is freed by dispatch, the callback never runs. */
	req = mkreq("POST", "http://127.0.0.1:1/", NULL);
	free(req->url);
	req->url = NULL;
	assert_int_equal(dispatch_send(c->d, req, on_done, &c->calls[3]), -1);
	run_until(c, 3);

	/* "api:secret" in base64 */
	want = xasprintf("%d|Basic YXBpOnNlY3JldA==|5", (int)EVHTTP_REQ_PUT);
	assert_string_equal(c->calls[0].body, want);
	free(want);
	want = xasprintf("%d|-|0", (int)EVHTTP_REQ_GET);
	assert_string_equal(c->calls[1].body, want);
	free(want);
	assert_int_equal(c->calls[2].status, 200);
	assert_int_equal(c->calls[2].body_len, 64 * 1024);	/* capped */
	assert_int_equal(c->calls[3].done, 0);
	ctx_free(c);
}

static void
test_refused(void **state)
{
	struct ctx *c = ctx_new(2000);
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	char *url;
	int fd;

	(void)state;
	/* A port that was free a moment ago and has no listener now. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	url = xasprintf("http://127.0.0.1:%d/", ntohs(sin.sin_port));
	assert_int_equal(dispatch_send(c->d, mkreq("POST", url, "{}"), on_done,
	    &c->calls[0]), 0);
	free(url);
	run_until(c, 1);
	assert_int_equal(c->calls[0].terr, 7);	/* CURLE_COULDNT_CONNECT */
	assert_int_equal(c->calls[0].status, 0);
	assert_int_equal(c->calls[0].timed_out, 0);
	assert_non_null(c->calls[0].error);
	ctx_free(c);
}

static void
abort_now(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dispatch_abort_all(arg);
}

/* abort_all reports every request; one started from its callback still runs. */
static void
test_abort(void **state)
{
	struct ctx *c = ctx_new(5000);
	struct timeval tv = { 0, 100000 };
	struct event *ev;

	(void)state;
	send_one(c, 0, "/slow", "{}");
	send_one(c, 1, "/slow", "{}");
	c->send_in_abort = 1;
	ev = evtimer_new(c->srv.base, abort_now, c->d);
	evtimer_add(ev, &tv);
	run_until(c, 2);	/* want grows by one from the abort callback */
	event_free(ev);
	assert_int_equal(c->calls[0].terr, 42);	/* CURLE_ABORTED_BY_CALLBACK */
	assert_int_equal(c->calls[1].terr, 42);
	assert_non_null(c->calls[0].error);
	assert_int_equal(c->calls[NCONC].status, 202);
	assert_int_equal(dispatch_inflight(c->d), 0);
	ctx_free(c);
}

/* dispatch_free before the loop ran, and from inside a callback. */
static void
test_free_inflight(void **state)
{
	struct ctx *c = ctx_new(5000);

	(void)state;
	send_one(c, 0, "/send", "{}");
	send_one(c, 1, "/send", "{}");
	dispatch_free(c->d);
	c->d = NULL;
	assert_int_equal(c->ndone, 2);
	assert_int_equal(c->calls[0].terr, 42);
	assert_int_equal(c->calls[1].terr, 42);
	ctx_free(c);

	c = ctx_new(5000);
	send_one(c, 0, "/send", "{}");
	send_one(c, 1, "/slow", "{}");
	send_one(c, 2, "/slow", "{}");
	c->free_in_cb = 1;
	run_until(c, 3);
	assert_int_equal(c->calls[0].status, 202);
	assert_int_equal(c->calls[1].terr, 42);
	assert_int_equal(c->calls[2].terr, 42);
	ctx_free(c);
}

/*
 * A minimal SMTP server: enough of RFC 5321 for libcurl (no STARTTLS
 * offered, so CURLUSESSL_TRY goes on in plain text). It runs in a child
 * process with blocking sockets because libcurl waits for the reply to the
 * end of DATA in a blocking loop of its own (smtp_done), which a server in
 * the same event loop could never answer. The child sends what it saw
 * (commands, NUL, data) back through a pipe.
 */
struct smtp {
	int		 lfd;
	int		 port;
	struct buf	 log;		/* commands received */
	struct buf	 data;
};

static void
smtp_say(int fd, const char *s)
{
	ssize_t n = write(fd, s, strlen(s));

	(void)n;
}

static void
smtp_main(struct smtp *s)
{
	char in[4096], *eol;
	size_t have = 0;
	int fd, in_data = 0;
	ssize_t n;

	if ((fd = accept(s->lfd, NULL, NULL)) < 0)
		return;
	smtp_say(fd, "220 localhost ESMTP test\r\n");
	for (;;) {
		while ((eol = memchr(in, '\n', have)) == NULL) {
			if (have == sizeof in ||
			    (n = read(fd, in + have, sizeof in - have)) <= 0)
				goto out;
			have += (size_t)n;
		}
		*eol = '\0';
		if (eol > in && eol[-1] == '\r')
			eol[-1] = '\0';
		if (in_data) {
			if (strcmp(in, ".") == 0) {
				in_data = 0;
				smtp_say(fd, "250 OK queued as Q1\r\n");
			} else {
				buf_adds(&s->data, in);
				buf_adds(&s->data, "\r\n");
			}
		} else {
			buf_adds(&s->log, in);
			buf_addc(&s->log, '\n');
			if (strncmp(in, "EHLO", 4) == 0)
				smtp_say(fd, "250 localhost\r\n");
			else if (strcmp(in, "DATA") == 0) {
				in_data = 1;
				smtp_say(fd, "354 go ahead\r\n");
			} else if (strcmp(in, "QUIT") == 0) {
				smtp_say(fd, "221 bye\r\n");
				break;
			} else
				smtp_say(fd, "250 OK\r\n");
		}
		have -= (size_t)(eol + 1 - in);
		memmove(in, eol + 1, have);
	}
out:
	close(fd);
}

static void
test_smtp(void **state)
{
	struct ctx *c = ctx_new(3000);
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	struct provider_req *req;
	struct smtp s;
	int pfd[2], status;
	char chunk[4096];
	struct buf got;
	ssize_t n;
	pid_t pid;

	(void)state;
	memset(&s, 0, sizeof s);
	buf_init(&s.log);
	buf_init(&s.data);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s.lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(s.lfd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(listen(s.lfd, 4), 0);
	assert_int_equal(getsockname(s.lfd, (struct sockaddr *)&sin, &len), 0);
	assert_int_equal(pipe(pfd), 0);
	if ((pid = fork()) == 0) {
		close(pfd[0]);
		smtp_main(&s);
		buf_addc(&s.log, '\0');
		buf_add(&s.log, s.data.data != NULL ? s.data.data : "", s.data.len);
		n = write(pfd[1], s.log.data, s.log.len);
		_exit(n == (ssize_t)s.log.len ? 0 : 1);
	}
	assert_true(pid > 0);
	close(pfd[1]);

	req = xmalloc(sizeof *req);
	provider_req_init(req);
	req->url = xasprintf("smtp://127.0.0.1:%d/nudge.test", ntohs(sin.sin_port));
	req->mail_from = xstrdup("<shop@example.com>");
	req->mail_rcpt = xstrdup("<anna@example.gr>");
	buf_adds(&req->body, "Subject: hi\r\n\r\nline 1\r\n.dot line\r\n");
	assert_int_equal(dispatch_send(c->d, req, on_done, &c->calls[0]), 0);
	run_until(c, 1);
	/* Freeing the dispatch closes the cached connection: QUIT ends the thread. */
	dispatch_free(c->d);
	c->d = NULL;
	buf_init(&got);
	while ((n = read(pfd[0], chunk, sizeof chunk)) > 0)
		buf_add(&got, chunk, (size_t)n);
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(s.lfd);
	if (c->calls[0].terr != 0)
		fail_msg("smtp: %s; server saw:\n%s", c->calls[0].error, got.data);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(c->calls[0].status, 250);
	assert_string_equal(got.data, "EHLO nudge.test\n"
	    "MAIL FROM:<shop@example.com>\n"
	    "RCPT TO:<anna@example.gr>\nDATA\nQUIT\n");
	/* libcurl dot-stuffs; the server sees the escaped line. */
	assert_string_equal(got.data + strlen(got.data) + 1,
	    "Subject: hi\r\n\r\nline 1\r\n..dot line\r\n");
	ctx_free(c);
	buf_free(&got);
}

/*
 * Finished requests leave their easy handle and header list for the next
 * one: nothing of a request (method, credentials, headers, body) may carry
 * over into the next one on the same handle, and the connection is reused.
 */
static void
test_reuse_resets(void **state)
{
	struct ctx *c = ctx_new(2000);
	struct provider_req *req;
	char *url, *want;

	(void)state;
	url = xasprintf("http://127.0.0.1:%d/info", c->srv.port);
	req = mkreq("PUT", url, "12345");
	req->userpwd = xstrdup("api:secret");
	assert_int_equal(dispatch_send(c->d, req, on_done, &c->calls[0]), 0);
	run_until(c, 1);
	assert_int_equal(dispatch_send(c->d, mkreq("GET", url, NULL), on_done,
	    &c->calls[1]), 0);
	run_until(c, 2);
	assert_int_equal(dispatch_send(c->d, mkreq("POST", url, "ab"), on_done,
	    &c->calls[2]), 0);
	run_until(c, 3);
	/* header lists: a different set is sent as it is, then the usual one again */
	req = mkreq("POST", url, "abc");
	provider_req_header(req, "Authorization: Bearer tok");
	assert_int_equal(dispatch_send(c->d, req, on_done, &c->calls[3]), 0);
	run_until(c, 4);
	assert_int_equal(dispatch_send(c->d, mkreq("POST", url, "abcd"), on_done,
	    &c->calls[4]), 0);
	run_until(c, 5);
	free(url);

	want = xasprintf("%d|Basic YXBpOnNlY3JldA==|5", (int)EVHTTP_REQ_PUT);
	assert_string_equal(c->calls[0].body, want);
	free(want);
	want = xasprintf("%d|-|0", (int)EVHTTP_REQ_GET);
	assert_string_equal(c->calls[1].body, want);
	free(want);
	want = xasprintf("%d|-|2", (int)EVHTTP_REQ_POST);
	assert_string_equal(c->calls[2].body, want);
	free(want);
	want = xasprintf("%d|Bearer tok|3", (int)EVHTTP_REQ_POST);
	assert_string_equal(c->calls[3].body, want);
	free(want);
	want = xasprintf("%d|-|4", (int)EVHTTP_REQ_POST);
	assert_string_equal(c->calls[4].body, want);
	free(want);
	assert_int_equal(c->srv.connections, 1);
	assert_int_equal(c->srv.bad_requests, 0);
	ctx_free(c);
}

#define NWIDE	300	/* more than curl's default cache of 256 connections */

static int wide_done, wide_ok;

static void
on_wide(void *arg, const struct provider_resp *resp)
{
	(void)arg;
	if (resp->status == 202)
		wide_ok++;
	if (++wide_done == NWIDE)
		event_base_loopexit(cur->srv.base, NULL);
}

/* Sends NWIDE requests at once and runs the loop until all are answered. */
static void
wide_wave(struct ctx *c)
{
	struct timeval tv = { 10, 0 };
	char *url = xasprintf("http://127.0.0.1:%d/send", c->srv.port);
	int i;

	wide_done = wide_ok = 0;
	for (i = 0; i < NWIDE; i++)
		assert_int_equal(dispatch_send(c->d, mkreq("POST", url, "{}"), on_wide, NULL), 0);
	free(url);
	event_base_loopexit(c->srv.base, &tv);
	event_base_dispatch(c->srv.base);
	assert_int_equal(wide_done, NWIDE);
	assert_int_equal(wide_ok, NWIDE);
}

/*
 * As many connections are kept as requests were in flight: a second burst
 * as wide as the first opens none (with a cache smaller than the burst,
 * every request beyond it would open a new one).
 */
static void
test_wide_bursts_reuse(void **state)
{
	struct ctx *c = ctx_new(5000);
	int after_first;

	(void)state;
	wide_wave(c);
	after_first = c->srv.connections;
	assert_true(after_first > 256 && after_first <= NWIDE);
	wide_wave(c);
	assert_int_equal(c->srv.connections, after_first);
	ctx_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_methods_and_limits),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_free_inflight),
		cmocka_unit_test(test_smtp),
		cmocka_unit_test(test_reuse_resets),
		cmocka_unit_test(test_wide_bursts_reuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
