/*
 * bare_http: the first ingest baseline. An evhttp server that reads the
 * whole request (evhttp does, before the callback) and answers 200 with a
 * small JSON body: the ceiling any evhttp webhook receiver on this machine
 * can reach, so nudge-server's figure is read against it.
 *
 * usage: bare_http PORT [THREADS]
 * build: cc -O2 -o bare_http bare_http.c -levent -lpthread
 */
#include "bench_http.h"

static void
bare_cb(struct evhttp_request *req, void *arg)
{
	(void)arg;
	bench_reply(req, 200,
	    "{\"result\":\"scheduled\",\"event\":\"order_placed\",\"messages\":4,"
	    "\"cancelled\":0,\"request_id\":\"0000000000000000\"}");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bare_http PORT [THREADS]\n");
		return 2;
	}
	bench_serve(atoi(argv[1]), argc > 2 ? atoi(argv[2]) : 1, 1024, bare_cb, NULL);
	return 0;
}
