/*
 * bench_http.h: the few lines the benchmark's own evhttp servers share
 * (bare_http.c, hmac_http.c, stub_provider.c). Header-only, so each
 * server is one `cc` command.
 *
 * Each server runs THREADS event loops, each with its own evhttp and its
 * own listening socket on the same port (SO_REUSEPORT): the process model
 * of nudge-server with NUDGE_THREADS, so a baseline with 2 threads is
 * compared with nudge-server with 2 threads.
 */
#ifndef BENCH_HTTP_H
#define BENCH_HTTP_H

#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

struct bench_loop {
	struct event_base	*base;
	struct evhttp		*http;
	pthread_t		 thread;
};

/* A listening socket on 127.0.0.1:port with SO_REUSEPORT; exits on error. */
static inline int
bench_listen(int port, int backlog)
{
	struct sockaddr_in sin;
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
		perror("socket");
		exit(1);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 || listen(fd, backlog) == -1) {
		perror("bind/listen");
		exit(1);
	}
	evutil_make_socket_nonblocking(fd);
	return fd;
}

static inline void *
bench_loop_run(void *arg)
{
	struct bench_loop *l = arg;

	event_base_dispatch(l->base);
	return NULL;
}

/*
 * Starts `threads` loops on `port`, each calling cb(req, arg) for every
 * request, and blocks forever (the bench kills the process).
 */
static inline void
bench_serve(int port, int threads, int backlog, void (*cb)(struct evhttp_request *, void *),
    void *(*loop_arg)(struct event_base *))
{
	struct bench_loop *loops;
	int i;

	signal(SIGPIPE, SIG_IGN);
	if (threads < 1)
		threads = 1;
	loops = calloc((size_t)threads, sizeof *loops);
	for (i = 0; i < threads; i++) {
		loops[i].base = event_base_new();
		loops[i].http = evhttp_new(loops[i].base);
		evhttp_set_max_body_size(loops[i].http, 2 * 1048576);
		evhttp_set_max_headers_size(loops[i].http, 64 * 1024);
		evhttp_set_timeout(loops[i].http, 30);
		evhttp_set_gencb(loops[i].http, cb, loop_arg ? loop_arg(loops[i].base) : NULL);
		if (evhttp_accept_socket(loops[i].http, bench_listen(port, backlog)) != 0) {
			fprintf(stderr, "evhttp_accept_socket failed\n");
			exit(1);
		}
	}
	for (i = 1; i < threads; i++)
		pthread_create(&loops[i].thread, NULL, bench_loop_run, &loops[i]);
	bench_loop_run(&loops[0]);
}

/* The same small JSON answer for every server (nudge's is of this size). */
static inline void
bench_reply(struct evhttp_request *req, int code, const char *json)
{
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "application/json");
	evbuffer_add(out, json, strlen(json));
	evhttp_send_reply(req, code, code == 200 ? "OK" : "Error", out);
	evbuffer_free(out);
}

#endif
