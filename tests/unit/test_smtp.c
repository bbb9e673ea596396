/*
 * provider_smtp and dispatch's SMTP threads.
 *
 * Request building (credentials out of the URL, envelope, our Message-ID)
 * and classification of SMTP replies are plain tables. The rest talks to a
 * fake SMTP server on loopback (threads with blocking sockets, one per
 * connection) that records every command and the message data, and can
 * hold back its reply to the end of the data.
 *
 * The blocking investigation: libcurl 7.88 waits for that reply inside
 * curl_multi_perform / curl_multi_socket_action. test_raw_curl_stall
 * measures it without dispatch (the longest single curl_multi_perform
 * call); test_thread_keeps_loop_running shows that through dispatch a timer
 * on the caller's loop keeps firing meanwhile.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "provider_test.h"
#include "clock.h"
#include "dispatch.h"

/* The fake server. */
struct fsrv {
	int		 lfd;
	int		 port;
	int		 final_delay_ms;	/* before the reply to "." */
	const char	*final_reply;		/* default "250 2.0.0 queued as Q1" */
	const char	*rcpt_reply;		/* default "250 OK" */
	int		 offer_starttls;

	pthread_t	 acceptor;
	pthread_mutex_t	 lock;
	int		 stop;
	int		 conns[16];
	pthread_t	 threads[16];
	int		 nconn;
	struct buf	 log;			/* commands of all sessions */
	struct buf	 data[8];		/* message data, un-dot-stuffed */
	int		 ndata;
};

struct fconn {
	struct fsrv	*s;
	int		 fd;
};

static void
fsay(int fd, const char *s)
{
	ssize_t n = write(fd, s, strlen(s));

	(void)n;
}

/* Reads one line (CRLF stripped) into line; -1 at EOF. */
static int
fline(int fd, char *in, size_t *have, char *line, size_t cap)
{
	char *eol;
	ssize_t n;
	size_t len;

	while ((eol = memchr(in, '\n', *have)) == NULL) {
		if (*have == 8192 || (n = read(fd, in + *have, 8192 - *have)) <= 0)
			return -1;
		*have += (size_t)n;
	}
	len = (size_t)(eol - in);
	if (len > 0 && in[len - 1] == '\r')
		len--;
	if (len >= cap)
		len = cap - 1;
	memcpy(line, in, len);
	line[len] = '\0';
	*have -= (size_t)(eol + 1 - in);
	memmove(in, eol + 1, *have);
	return 0;
}

static void *
fconn_main(void *arg)
{
	struct fconn *c = arg;
	struct fsrv *s = c->s;
	char in[8192], line[8192];
	size_t have = 0;
	struct buf data;
	int fd = c->fd;

	free(c);
	buf_init(&data);
	fsay(fd, "220 fake.test ESMTP\r\n");
	while (fline(fd, in, &have, line, sizeof line) == 0) {
		pthread_mutex_lock(&s->lock);
		buf_adds(&s->log, line);
		buf_addc(&s->log, '\n');
		pthread_mutex_unlock(&s->lock);
		if (strncmp(line, "EHLO", 4) == 0)
			fsay(fd, s->offer_starttls ?
			    "250-fake.test\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n" :
			    "250-fake.test\r\n250 AUTH PLAIN\r\n");
		else if (strncmp(line, "RCPT", 4) == 0)
			fsay(fd, s->rcpt_reply != NULL ? s->rcpt_reply : "250 OK\r\n");
		else if (strcmp(line, "DATA") == 0) {
			fsay(fd, "354 go ahead\r\n");
			buf_reset(&data);
			buf_adds(&data, "");
			while (fline(fd, in, &have, line, sizeof line) == 0 &&
			    strcmp(line, ".") != 0) {
				buf_adds(&data, line[0] == '.' ? line + 1 : line);
				buf_adds(&data, "\r\n");
			}
			pthread_mutex_lock(&s->lock);
			if (s->ndata < 8)
				s->data[s->ndata++] = data;
			else
				buf_free(&data);
			pthread_mutex_unlock(&s->lock);
			buf_init(&data);
			if (s->final_delay_ms > 0)
				usleep((useconds_t)s->final_delay_ms * 1000);
			fsay(fd, s->final_reply != NULL ? s->final_reply :
			    "250 2.0.0 queued as Q1\r\n");
		} else if (strcmp(line, "QUIT") == 0) {
			fsay(fd, "221 bye\r\n");
			break;
		} else
			fsay(fd, "250 OK\r\n");
	}
	buf_free(&data);
	return NULL;
}

static void *
fsrv_main(void *arg)
{
	struct fsrv *s = arg;
	struct pollfd pfd;
	struct fconn *c;
	int fd;

	for (;;) {
		pthread_mutex_lock(&s->lock);
		if (s->stop) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		pthread_mutex_unlock(&s->lock);
		pfd.fd = s->lfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 20) <= 0)
			continue;
		if ((fd = accept(s->lfd, NULL, NULL)) < 0)
			continue;
		pthread_mutex_lock(&s->lock);
		if (s->nconn == 16) {
			pthread_mutex_unlock(&s->lock);
			close(fd);
			continue;
		}
		c = xmalloc(sizeof *c);
		c->s = s;
		c->fd = fd;
		s->conns[s->nconn] = fd;
		pthread_create(&s->threads[s->nconn], NULL, fconn_main, c);
		s->nconn++;
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

static void
fsrv_start(struct fsrv *s)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;

	memset(s, 0, sizeof *s);
	buf_init(&s->log);
	buf_adds(&s->log, "");
	pthread_mutex_init(&s->lock, NULL);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(listen(s->lfd, 16), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sin, &len), 0);
	s->port = ntohs(sin.sin_port);
	assert_int_equal(pthread_create(&s->acceptor, NULL, fsrv_main, s), 0);
}

/* Stops accepting, cuts connections still open, joins every thread. */
static void
fsrv_stop(struct fsrv *s)
{
	int i;

	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->acceptor, NULL);
	for (i = 0; i < s->nconn; i++)
		shutdown(s->conns[i], SHUT_RDWR);
	for (i = 0; i < s->nconn; i++) {
		pthread_join(s->threads[i], NULL);
		close(s->conns[i]);
	}
	close(s->lfd);
	for (i = 0; i < s->ndata; i++)
		buf_free(&s->data[i]);
	buf_free(&s->log);
	pthread_mutex_destroy(&s->lock);
}

/* A dispatch on a fresh loop, a 20 ms ticker, and the answers. */
struct run {
	struct event_base	*base;
	struct dispatch		*d;
	struct event		*ticker;
	int			 ticks;
	int64_t			 last_tick;
	int64_t			 max_gap;	/* longest time between two ticks */
	int			 done;
	int			 want;
	long			 status[8];
	int			 terr[8];
	int64_t			 at[8];		/* ms after run_new */
	struct provider_result	 res[8];
	int64_t			 t0;
};

static struct run *cur;

static void
run_tick(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;
	int64_t now = clock_mono_ms();

	(void)fd;
	(void)what;
	if (now - r->last_tick > r->max_gap)
		r->max_gap = now - r->last_tick;
	r->last_tick = now;
	r->ticks++;
}

static void
run_done(void *arg, const struct provider_resp *resp)
{
	struct run *r = cur;
	int i = (int)(intptr_t)arg;

	r->status[i] = resp->status;
	r->terr[i] = resp->transport_error;
	r->at[i] = clock_mono_ms() - r->t0;
	provider_smtp.classify(resp, &r->res[i]);
	if (++r->done == r->want)
		event_base_loopexit(r->base, NULL);
}

static struct run *
run_new(long timeout_ms)
{
	struct run *r = xcalloc(1, sizeof *r);
	struct timeval tv = { 0, 20000 };

	r->base = event_base_new();
	r->d = dispatch_new(r->base, timeout_ms);
	assert_non_null(r->d);
	r->ticker = event_new(r->base, -1, EV_PERSIST, run_tick, r);
	evtimer_add(r->ticker, &tv);
	r->t0 = r->last_tick = clock_mono_ms();
	cur = r;
	return r;
}

/* Runs the loop until want answers (or ms passed). */
static void
run_loop(struct run *r, int want, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	r->want = want;
	if (r->done < want) {
		event_base_loopexit(r->base, &tv);
		event_base_dispatch(r->base);
	}
}

static void
run_free(struct run *r)
{
	if (r->d != NULL)
		dispatch_free(r->d);
	event_free(r->ticker);
	event_base_free(r->base);
	free(r);
	cur = NULL;
}

static struct config
smtp_config(const char *url)
{
	struct config cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.smtp_url = (char *)url;
	return cfg;
}

/* Builds m for url and starts it on r as answer i. Returns the body sent. */
static char *
send_msg(struct run *r, const char *url, const struct message *m, int i)
{
	struct config cfg = smtp_config(url);
	struct provider_req *req = xmalloc(sizeof *req);
	char *body;

	pt_build(&provider_smtp, &cfg, m, req);
	body = xstrdup(req->body.data);
	assert_int_equal(dispatch_send(r->d, req, run_done, (void *)(intptr_t)i), 0);
	return body;
}

static void
test_request(void **state)
{
	static const struct {
		const char	*url;
		const char	*bare;
		const char	*userpwd;
		int		 tls;
	} t[] = {
		{ "smtp://relay.example.com:587/nudge.example.com",
		  "smtp://relay.example.com:587/nudge.example.com", NULL, 0 },
		{ "smtp://apikey:SG.x%40y%3Az@smtp.sendgrid.net:587",
		  "smtp://smtp.sendgrid.net:587", "apikey:SG.x@y:z", 1 },
		{ "smtps://user%40example.com:p@ss@smtp.example.com:465/",
		  "smtps://smtp.example.com:465/", "user@example.com:p@ss", 0 },
		{ "SMTP://u:@h:25", "SMTP://h:25", "u:", 1 },
		{ "smtp://:secret@h", "smtp://h", ":secret", 0 },
	};
	struct message m = pt_email();
	struct provider_req req;
	struct config cfg;
	char *mid;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		cfg = smtp_config(t[i].url);
		pt_build(&provider_smtp, &cfg, &m, &req);
		assert_string_equal(req.url, t[i].bare);
		if (t[i].userpwd == NULL)
			assert_null(req.userpwd);
		else
			assert_string_equal(req.userpwd, t[i].userpwd);
		assert_int_equal(req.smtp_require_tls, t[i].tls);
		assert_string_equal(req.mail_from, "<shop@example.com>");
		assert_string_equal(req.mail_rcpt, "<anna@example.gr>");
		assert_int_equal(req.nheaders, 0);
		assert_string_equal(req.ref, "<4f1c2a9be07d5e3a6b8c0d12@nudge>");
		mid = xasprintf("Message-ID: %s\r\n", req.ref);
		assert_true(strncmp(req.body.data, mid, strlen(mid)) == 0);
		free(mid);
		/* the Greek subject is RFC 2047 encoded, the unsubscribe headers set */
		assert_non_null(strstr(req.body.data, "\r\nSubject: =?UTF-8?B?"));
		assert_non_null(strstr(req.body.data, "\r\nList-Unsubscribe: "
		    "<https://nudge.example.com/u/abc?s=1>\r\n"
		    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
		assert_non_null(strstr(req.body.data, "Content-Type: multipart/alternative;"));
		assert_non_null(strstr(req.body.data, GREEK_HTML));
		provider_req_free(&req);
	}
}

static void
test_refused(void **state)
{
	struct config cfg = smtp_config("");
	struct message m = pt_email();

	(void)state;
	pt_refused(&provider_smtp, &cfg, &m, "NUDGE_SMTP_URL is empty");
	cfg = smtp_config("http://relay.example.com");
	pt_refused(&provider_smtp, &cfg, &m,
	    "NUDGE_SMTP_URL must start with smtp:// or smtps://");
	cfg = smtp_config("smtp://us%zzer:p@h");
	pt_refused(&provider_smtp, &cfg, &m,
	    "NUDGE_SMTP_URL: user name or password is not valid");
	cfg = smtp_config("smtp://a%3Ab:p@h");	/* ':' in the user name */
	pt_refused(&provider_smtp, &cfg, &m,
	    "NUDGE_SMTP_URL: user name or password is not valid");
	cfg = smtp_config("smtp://u:p%0D%0AQUIT@h");
	pt_refused(&provider_smtp, &cfg, &m,
	    "NUDGE_SMTP_URL: user name or password is not valid");
	cfg = smtp_config("smtp://h");
	/* an address that would end the RCPT command and start another */
	m.to = "anna@example.gr>\r\nRCPT TO:<eve@example.com";
	pt_refused(&provider_smtp, &cfg, &m, "smtp: recipient address is not valid");
	m = pt_email();
	m.from = "";
	pt_refused(&provider_smtp, &cfg, &m, "smtp: sender address is not valid");
}

static void
test_classify(void **state)
{
	static const struct pt_answer t[] = {
		{ 250, 0, NULL, 0, { NULL }, "", "<4f1c@nudge>", SEND_OK, 0, "<4f1c@nudge>", "" },
		/* temporary refusals: greylisting, throttling, mailbox full */
		{ 451, 8, "Weird server reply", 0, { NULL }, "", "<x@nudge>",
		  SEND_RETRY, 0, "", "SMTP 451: Weird server reply" },
		{ 454, 8, "Weird server reply", 0, { NULL }, "", "<x@nudge>",
		  SEND_RETRY, 0, "", "SMTP 454: Weird server reply" },
		{ 452, 55, "RCPT failed: 452", 0, { NULL }, "", "<x@nudge>",
		  SEND_RETRY, 0, "", "SMTP 452: RCPT failed: 452" },
		{ 421, 56, NULL, 0, { NULL }, "", "<x@nudge>", SEND_RETRY, 0, "", "SMTP 421" },
		/* permanent: unknown recipient, rejected content, failed login */
		{ 550, 55, "RCPT failed: 550", 0, { NULL }, "", "<x@nudge>",
		  SEND_PERMANENT, 0, "", "SMTP 550: RCPT failed: 550" },
		{ 554, 8, "Weird server reply", 0, { NULL }, "", "<x@nudge>",
		  SEND_PERMANENT, 0, "", "SMTP 554: Weird server reply" },
		{ 535, 67, "Login denied", 0, { NULL }, "", "<x@nudge>",
		  SEND_PERMANENT, 0, "", "SMTP 535: Login denied" },
		/* transport: no reply code, or a good one but no STARTTLS */
		{ 0, 7, "Failed to connect to relay port 587", 0, { NULL }, NULL, "<x@nudge>",
		  SEND_RETRY, 0, "", "transport: Failed to connect to relay port 587" },
		{ 250, 64, "STARTTLS not supported.", 0, { NULL }, "", "<x@nudge>",
		  SEND_RETRY, 0, "", "transport: STARTTLS not supported." },
		{ 0, 28, "Operation timed out after 15000 milliseconds", 1, { NULL }, NULL,
		  "<x@nudge>", SEND_RETRY, 0, "",
		  "timed out: Operation timed out after 15000 milliseconds" },
	};

	(void)state;
	pt_classify(&provider_smtp, t, sizeof t / sizeof t[0]);
}

/* The whole path: provider_smtp's request through dispatch to the server. */
static void
test_loopback_send(void **state)
{
	struct message m = pt_email();
	struct fsrv s;
	struct run *r;
	char *url, *body, *want;

	(void)state;
	fsrv_start(&s);
	r = run_new(5000);
	url = xasprintf("smtp://127.0.0.1:%d/nudge.test", s.port);
	/* a line starting with '.' must arrive as it was (dot-stuffing) */
	m.text = "Γεια σου Άννα,\n.hidden line\n.";
	body = send_msg(r, url, &m, 0);
	run_loop(r, 1, 5000);
	assert_int_equal(r->done, 1);
	assert_int_equal(r->terr[0], 0);
	assert_int_equal(r->status[0], 250);
	assert_int_equal(r->res[0].outcome, SEND_OK);
	assert_string_equal(r->res[0].provider_id, "<4f1c2a9be07d5e3a6b8c0d12@nudge>");
	/* QUIT goes when the dispatch (and its SMTP thread) is freed */
	dispatch_free(r->d);
	r->d = NULL;
	pthread_mutex_lock(&s.lock);
	assert_string_equal(s.log.data, "EHLO nudge.test\n"
	    "MAIL FROM:<shop@example.com>\nRCPT TO:<anna@example.gr>\nDATA\nQUIT\n");
	assert_int_equal(s.ndata, 1);
	assert_string_equal(s.data[0].data, body);
	want = xasprintf("Message-ID: <%s@nudge>\r\n", m.id);
	assert_true(strncmp(s.data[0].data, want, strlen(want)) == 0);
	assert_non_null(strstr(s.data[0].data, "\r\n.hidden line\r\n.\r\n"));
	pthread_mutex_unlock(&s.lock);
	free(want);
	free(body);
	free(url);
	run_free(r);
	fsrv_stop(&s);
}

/* Refusals of the real server become the right outcomes. */
static void
test_loopback_refusals(void **state)
{
	struct message m = pt_email();
	struct fsrv s;
	struct run *r;
	char *url;

	(void)state;
	/* 550 to RCPT: permanent */
	fsrv_start(&s);
	s.rcpt_reply = "550 5.1.1 no such user\r\n";
	r = run_new(5000);
	url = xasprintf("smtp://127.0.0.1:%d/nudge.test", s.port);
	free(send_msg(r, url, &m, 0));
	run_loop(r, 1, 5000);
	assert_int_equal(r->status[0], 550);
	assert_int_equal(r->res[0].outcome, SEND_PERMANENT);
	assert_string_equal(r->res[0].error, "SMTP 550: RCPT failed: 550");
	run_free(r);
	fsrv_stop(&s);
	free(url);

	/* 451 to the data: retried */
	fsrv_start(&s);
	s.final_reply = "451 4.3.0 try again later\r\n";
	r = run_new(5000);
	url = xasprintf("smtp://127.0.0.1:%d/nudge.test", s.port);
	free(send_msg(r, url, &m, 0));
	run_loop(r, 1, 5000);
	assert_int_equal(r->status[0], 451);
	assert_int_equal(r->res[0].outcome, SEND_RETRY);
	run_free(r);
	fsrv_stop(&s);
	free(url);

	/* credentials but no STARTTLS offered: nothing is sent, no AUTH */
	fsrv_start(&s);
	r = run_new(5000);
	url = xasprintf("smtp://user:secret@127.0.0.1:%d/nudge.test", s.port);
	free(send_msg(r, url, &m, 0));
	run_loop(r, 1, 5000);
	assert_int_equal(r->terr[0], CURLE_USE_SSL_FAILED);
	assert_int_equal(r->res[0].outcome, SEND_RETRY);
	run_free(r);
	pthread_mutex_lock(&s.lock);
	assert_null(strstr(s.log.data, "AUTH"));
	assert_null(strstr(s.log.data, "MAIL FROM"));
	assert_int_equal(s.ndata, 0);
	pthread_mutex_unlock(&s.lock);
	fsrv_stop(&s);
	free(url);
}

/*
 * The finding, measured without dispatch: one curl_multi_perform call
 * lasts as long as the server holds back the final reply. Asserted for
 * libcurl 7.88 (the version the SMTP threads were made for), reported otherwise.
 */
static void
test_raw_curl_stall(void **state)
{
	const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
	struct message m = pt_email();
	struct provider_req req;
	struct curl_slist *rcpt;
	struct config cfg;
	struct fsrv s;
	int64_t t, dt, longest = 0;
	int running = 1, left;
	CURLMsg *msg;
	CURLcode rc = CURLE_OK;
	long code = 0;
	char *url;
	FILE *fp;
	CURLM *multi;
	CURL *e;

	(void)state;
	fsrv_start(&s);
	s.final_delay_ms = 600;
	url = xasprintf("smtp://127.0.0.1:%d/nudge.test", s.port);
	cfg = smtp_config(url);
	pt_build(&provider_smtp, &cfg, &m, &req);
	fp = fmemopen(req.body.data, req.body.len, "r");
	rcpt = curl_slist_append(NULL, req.mail_rcpt);
	e = curl_easy_init();
	curl_easy_setopt(e, CURLOPT_URL, req.url);
	curl_easy_setopt(e, CURLOPT_MAIL_FROM, req.mail_from);
	curl_easy_setopt(e, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(e, CURLOPT_READDATA, fp);
	curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req.body.len);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
	multi = curl_multi_init();
	curl_multi_add_handle(multi, e);
	while (running) {
		t = clock_mono_ms();
		curl_multi_perform(multi, &running);
		dt = clock_mono_ms() - t;
		if (dt > longest)
			longest = dt;
		if (running)
			curl_multi_poll(multi, NULL, 0, 20, NULL);
	}
	while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
		if (msg->msg == CURLMSG_DONE)
			rc = msg->data.result;
	}
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_multi_remove_handle(multi, e);
	curl_easy_cleanup(e);
	curl_multi_cleanup(multi);
	curl_slist_free_all(rcpt);
	fclose(fp);
	provider_req_free(&req);
	free(url);
	fsrv_stop(&s);

	assert_int_equal(rc, CURLE_OK);
	assert_int_equal(code, 250);
	fprintf(stderr, "note: libcurl %s: the longest curl_multi_perform call lasted "
	    "%lld ms with the final SMTP reply held back 600 ms\n", vi->version,
	    (long long)longest);
	if (vi->version_num >> 8 == 0x0758)	/* 7.88.x */
		assert_true(longest >= 500);
}

/* Through dispatch, the caller's loop keeps running during that wait. */
static void
test_thread_keeps_loop_running(void **state)
{
	struct message m = pt_email();
	struct fsrv s;
	struct run *r;
	char *url;

	(void)state;
	fsrv_start(&s);
	s.final_delay_ms = 600;
	r = run_new(5000);
	url = xasprintf("smtp://127.0.0.1:%d/nudge.test", s.port);
	free(send_msg(r, url, &m, 0));
	run_loop(r, 1, 5000);
	assert_int_equal(r->done, 1);
	assert_int_equal(r->res[0].outcome, SEND_OK);
	assert_true(r->at[0] >= 600);
	fprintf(stderr, "note: through dispatch: %d ticks of 20 ms in %lld ms, longest "
	    "gap %lld ms\n", r->ticks, (long long)r->at[0], (long long)r->max_gap);
	/* ~30 ticks expected; a stalled loop would show one gap of >= 600 ms */
	assert_true(r->ticks >= 15);
	assert_true(r->max_gap < 300);
	run_free(r);
	fsrv_stop(&s);
	free(url);
}

/* Slow replies on several SMTP threads overlap instead of queueing. */
static void
test_threads_parallel(void **state)
{
	struct message m = pt_email();
	struct fsrv s;
	struct run *r;
	char *url;
	int i;

	(void)state;
	fsrv_start(&s);
	s.final_delay_ms = 400;
	r = run_new(5000);
	url = xasprintf("smtp://127.0.0.1:%d/nudge.test", s.port);
	for (i = 0; i < 4; i++)
		free(send_msg(r, url, &m, i));
	assert_int_equal(dispatch_inflight(r->d), 4);
	run_loop(r, 4, 5000);
	assert_int_equal(r->done, 4);
	assert_int_equal(dispatch_inflight(r->d), 0);
	fprintf(stderr, "note: four SMTP sends, final replies held back 400 ms: done "
	    "after %lld, %lld, %lld, %lld ms\n", (long long)r->at[0], (long long)r->at[1],
	    (long long)r->at[2], (long long)r->at[3]);
	for (i = 0; i < 4; i++) {
		assert_int_equal(r->res[i].outcome, SEND_OK);
		/* one after the other would take 1600 ms */
		assert_true(r->at[i] < 1200);
	}
	run_free(r);
	pthread_mutex_lock(&s.lock);
	assert_int_equal(s.ndata, 4);
	pthread_mutex_unlock(&s.lock);
	fsrv_stop(&s);
	free(url);
}

static void
abort_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dispatch_abort_all(arg);
}

/* abort_all answers at once, even while a thread waits; nothing comes twice. */
static void
test_thread_abort(void **state)
{
	struct timeval tv = { 0, 150000 };
	struct message m = pt_email();
	struct event *ev;
	struct fsrv s;
	struct run *r;
	char *url;

	(void)state;
	fsrv_start(&s);
	s.final_delay_ms = 700;
	r = run_new(5000);
	url = xasprintf("smtp://127.0.0.1:%d/nudge.test", s.port);
	free(send_msg(r, url, &m, 0));
	ev = evtimer_new(r->base, abort_cb, r->d);
	evtimer_add(ev, &tv);
	run_loop(r, 1, 5000);
	assert_int_equal(r->done, 1);
	assert_int_equal(r->terr[0], CURLE_ABORTED_BY_CALLBACK);
	assert_true(r->at[0] < 600);
	assert_int_equal(r->res[0].outcome, SEND_RETRY);
	assert_int_equal(dispatch_inflight(r->d), 0);
	/* the thread's late answer is dropped, not reported */
	run_loop(r, 2, 1000);
	assert_int_equal(r->done, 1);
	event_free(ev);
	run_free(r);
	fsrv_stop(&s);
	free(url);
}

/* dispatch_free while a thread waits: the callback runs, the thread is joined. */
static void
test_thread_free_inflight(void **state)
{
	struct message m = pt_email();
	struct fsrv s;
	struct run *r;
	char *url;

	(void)state;
	fsrv_start(&s);
	s.final_delay_ms = 300;
	r = run_new(5000);
	url = xasprintf("smtp://127.0.0.1:%d/nudge.test", s.port);
	free(send_msg(r, url, &m, 0));
	free(send_msg(r, url, &m, 1));
	dispatch_free(r->d);	/* before the loop even ran */
	r->d = NULL;
	assert_int_equal(r->done, 2);
	assert_int_equal(r->terr[0], CURLE_ABORTED_BY_CALLBACK);
	assert_int_equal(r->terr[1], CURLE_ABORTED_BY_CALLBACK);
	run_free(r);
	fsrv_stop(&s);
	free(url);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_loopback_send),
		cmocka_unit_test(test_loopback_refusals),
		cmocka_unit_test(test_raw_curl_stall),
		cmocka_unit_test(test_thread_keeps_loop_running),
		cmocka_unit_test(test_threads_parallel),
		cmocka_unit_test(test_thread_abort),
		cmocka_unit_test(test_thread_free_inflight),
	};

	assert_ptr_equal(provider_find("smtp"), &provider_smtp);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
