/*
 * nudge-server: receives signed webhooks and schedules follow-up messages.
 * Settings come from the environment (--help lists them). One event loop
 * per thread (NUDGE_THREADS), all accepting on one port via SO_REUSEPORT.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "clock.h"
#include "config.h"
#include "flows.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "platform.h"
#include "server.h"
#include "shops.h"
#include "util.h"

struct loop {
	struct event_base	*base;
	struct server		*srv;
	struct event		*stop_ev;	/* activated from the main thread */
	struct event		*drain_ev;
	int64_t			 deadline;
	pthread_t		 thread;
};

static struct loop	*loops;
static long		 nloops;

static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;
	struct timeval tv = { 0, 20 * 1000 };

	(void)fd;
	(void)what;
	if (server_pending(l->srv) == 0 || clock_mono_ms() >= l->deadline) {
		event_base_loopexit(l->base, NULL);
		return;
	}
	evtimer_add(l->drain_ev, &tv);
}

/* In each loop: stop accepting, let requests waiting for Redis finish. */
static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;

	(void)fd;
	(void)what;
	server_stop_accepting(l->srv);
	l->deadline = clock_mono_ms() + 5000;
	drain_cb(-1, 0, l);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	static int seen;
	long i;

	(void)what;
	(void)arg;
	if (seen++) {
		log_warn(NULL, "second signal: exiting now");
		exit(1);
	}
	log_info(NULL, "signal %d: shutting down gracefully", (int)sig);
	for (i = 0; i < nloops; i++)
		event_active(loops[i].stop_ev, EV_TIMEOUT, 0);
}

static void *
loop_thread(void *arg)
{
	struct loop *l = arg;

	event_base_dispatch(l->base);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct shops *shops = NULL;
	struct flows *flows = NULL;
	struct metrics *metrics;
	struct event *sigterm, *sigint;
	char *cause = NULL;
	long i;
	int fd;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("nudge-server %s: receives signed shop webhooks and schedules "
		    "follow-up messages.\n\nUsage: nudge-server [--help | --version]\n\n",
		    NUDGE_VERSION);
		config_usage(stdout, "nudge-server", CONFIG_SERVER);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("nudge-server %s\n", NUDGE_VERSION);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "nudge-server: unknown argument %s (try --help)\n", argv[1]);
		return 2;
	}
	if (config_load(&cfg, CONFIG_SERVER, &cause) == -1) {
		fprintf(stderr, "nudge-server: invalid configuration: %s\n", cause);
		return 2;
	}
	log_init("nudge-server", log_level_parse(cfg.log_level));
	log_hook_libevent();
	if (shops_load(cfg.shops_file, cfg.partitions, &shops, &cause) == -1 ||
	    flows_load(cfg.flows_file, &flows, &cause) == -1) {
		log_error(NULL, "invalid configuration: %s", cause);
		return 2;
	}
	for (i = 0; i < (long)shops_count(shops); i++)
		if (woocommerce_check_shop(shops_at(shops, (size_t)i), &cause) == -1) {
			log_error(NULL, "invalid configuration: NUDGE_SHOPS_FILE: %s", cause);
			return 2;
		}
	config_log(&cfg, CONFIG_SERVER);
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();

	nloops = cfg.threads > 0 ? cfg.threads : sysconf(_SC_NPROCESSORS_ONLN);
	if (nloops < 1)
		nloops = 1;
	loops = xcalloc((size_t)nloops, sizeof *loops);
	metrics = metrics_new();
	server_metrics(metrics);
	for (i = 0; i < nloops; i++) {
		struct loop *l = &loops[i];

		if ((fd = http_listen(cfg.listen, nloops > 1, &cause)) == -1) {
			log_error(NULL, "NUDGE_LISTEN: cannot listen on %s", cause);
			return 2;
		}
		l->base = event_base_new();
		if ((l->srv = server_new(l->base, fd, &cfg, shops, flows, metrics, &cause)) == NULL) {
			log_error(NULL, "invalid configuration: %s", cause);
			return 2;
		}
		l->stop_ev = event_new(l->base, -1, 0, stop_cb, l);
		l->drain_ev = evtimer_new(l->base, drain_cb, l);
	}
	sigterm = evsignal_new(loops[0].base, SIGTERM, signal_cb, NULL);
	sigint = evsignal_new(loops[0].base, SIGINT, signal_cb, NULL);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	log_info(NULL, "nudge-server %s listening on %s with %ld loop(s), %zu shop(s), "
	    "%zu flow(s)", NUDGE_VERSION, cfg.listen, nloops, shops_count(shops), flows->n);

	for (i = 1; i < nloops; i++)
		pthread_create(&loops[i].thread, NULL, loop_thread, &loops[i]);
	event_base_dispatch(loops[0].base);
	for (i = 1; i < nloops; i++)
		pthread_join(loops[i].thread, NULL);

	event_free(sigterm);
	event_free(sigint);
	for (i = 0; i < nloops; i++) {
		server_free(loops[i].srv);
		event_free(loops[i].stop_ev);
		event_free(loops[i].drain_ev);
		event_base_free(loops[i].base);
	}
	free(loops);
	metrics_free(metrics);
	flows_free(flows);
	shops_free(shops);
	log_info(NULL, "stopped");
	config_free(&cfg);
	return 0;
}
