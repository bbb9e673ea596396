/*
 * stub_provider: a fast stand-in for an e-mail provider's send API
 * (SendGrid's POST /v3/mail/send). Reads the request, answers 202 with an
 * empty body and an X-Message-Id header, at once (DELAY_MS 0) or after
 * DELAY_MS on a timer, so the sender sees a provider with that latency
 * without the stub spending CPU while "waiting". One event loop; backlog
 * 4096 so a worker opening 1,000 connections at once is not held in SYN
 * retries.
 *
 * usage: stub_provider PORT DELAY_MS [THREADS]
 * build: cc -O2 -o stub_provider stub_provider.c -levent -lpthread
 */
#include <stdatomic.h>

#include "bench_http.h"

static int delay_ms;
static atomic_ulong counter;

static void
stub_answer(struct evhttp_request *req)
{
	char id[48];

	snprintf(id, sizeof id, "stub-%lu", (unsigned long)atomic_fetch_add(&counter, 1));
	evhttp_add_header(evhttp_request_get_output_headers(req), "X-Message-Id", id);
	evhttp_send_reply(req, 202, "Accepted", NULL);
}

static void
stub_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	stub_answer(arg);
}

static void
stub_cb(struct evhttp_request *req, void *arg)
{
	struct event_base *base = arg;
	struct timeval tv;

	if (delay_ms <= 0) {
		stub_answer(req);
		return;
	}
	tv.tv_sec = delay_ms / 1000;
	tv.tv_usec = (delay_ms % 1000) * 1000;
	event_base_once(base, -1, EV_TIMEOUT, stub_timer_cb, req, &tv);
}

static void *
stub_loop_arg(struct event_base *base)
{
	return base;
}

int
main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: stub_provider PORT DELAY_MS [THREADS]\n");
		return 2;
	}
	delay_ms = atoi(argv[2]);
	bench_serve(atoi(argv[1]), argc > 3 ? atoi(argv[3]) : 1, 4096, stub_cb, stub_loop_arg);
	return 0;
}
