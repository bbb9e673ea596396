/*
 * nudge-worker: sends due messages through the configured providers.
 * Run as many as needed against one Redis; each message goes out once.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "config.h"
#include "flows.h"
#include "log.h"
#include "render.h"
#include "shops.h"
#include "util.h"
#include "worker.h"

static struct worker	*worker;
static struct event	*check_ev;

static void
check_cb(evutil_socket_t fd, short what, void *arg)
{
	struct event_base *base = arg;
	struct timeval tv = { 0, 20 * 1000 };

	(void)fd;
	(void)what;
	if (worker_done(worker))
		event_base_loopexit(base, NULL);
	else
		evtimer_add(check_ev, &tv);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	static int seen;

	(void)what;
	if (seen++) {
		log_warn(NULL, "second signal: exiting now");
		exit(1);
	}
	log_info(NULL, "signal %d: shutting down gracefully", (int)sig);
	worker_stop(worker);
	check_cb(-1, 0, arg);
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct shops *shops = NULL;
	struct flows *flows = NULL;
	struct templates *tpl = NULL;
	struct event_base *base;
	struct event *sigterm, *sigint;
	char *cause = NULL;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("nudge-worker %s: sends due follow-up messages through the "
		    "configured providers.\n\nUsage: nudge-worker [--help | --version]\n\n",
		    NUDGE_VERSION);
		config_usage(stdout, "nudge-worker", CONFIG_WORKER);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("nudge-worker %s\n", NUDGE_VERSION);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "nudge-worker: unknown argument %s (try --help)\n", argv[1]);
		return 2;
	}
	if (config_load(&cfg, CONFIG_WORKER, &cause) == -1) {
		fprintf(stderr, "nudge-worker: invalid configuration: %s\n", cause);
		return 2;
	}
	log_init("nudge-worker", log_level_parse(cfg.log_level));
	log_hook_libevent();
	if (shops_load(cfg.shops_file, cfg.partitions, &shops, &cause) == -1 ||
	    flows_load(cfg.flows_file, &flows, &cause) == -1 ||
	    templates_load(cfg.templates_dir, &tpl, &cause) == -1 ||
	    flows_check_templates(flows, tpl, &cause) == -1) {
		log_error(NULL, "invalid configuration: %s", cause);
		return 2;
	}
	config_log(&cfg, CONFIG_WORKER);
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	if ((worker = worker_new(base, &cfg, shops, flows, tpl, &cause)) == NULL) {
		log_error(NULL, "invalid configuration: %s", cause);
		return 2;
	}
	check_ev = evtimer_new(base, check_cb, base);
	sigterm = evsignal_new(base, SIGTERM, signal_cb, base);
	sigint = evsignal_new(base, SIGINT, signal_cb, base);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	event_base_dispatch(base);

	worker_free(worker);
	event_free(check_ev);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(base);
	templates_free(tpl);
	flows_free(flows);
	shops_free(shops);
	log_info(NULL, "stopped");
	config_free(&cfg);
	return 0;
}
