/*
 * nudgectl: the operator's command line. Synchronous on purpose: it runs
 * one command and exits, so it uses no event loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "nudgectl %s: operate nudge\n\n"
	    "Usage:\n"
	    "  nudgectl version                 print the version\n"
	    "  nudgectl sign --secret S FILE    print the base64 HMAC-SHA256 of FILE's bytes,\n"
	    "                                   as Shopify and WooCommerce send it\n"
	    "  nudgectl flows check FILE        validate a flows file (and the templates it names)\n"
	    "  nudgectl flows plan EVENT.json   print what an event (generic format) would do\n"
	    "  nudgectl status [--json]         due, in flight, dead, counters, pending by step\n"
	    "  nudgectl dead list [--limit N]   dead-lettered messages with their last error\n"
	    "  nudgectl dead replay ID|--all    send dead messages again\n"
	    "  nudgectl timeline SHOP EMAIL     what happened to a customer's messages\n"
	    "  nudgectl codes load SHOP FILE    add discount codes (one per line) to a shop's pool\n"
	    "  nudgectl codes count SHOP        codes left in a shop's pool\n"
	    "  nudgectl demo [--url URL]        play a customer lifecycle against `make run`\n"
	    "  nudgectl help                    this text\n\n"
	    "Commands that read Redis use NUDGE_REDIS_URL, NUDGE_KEY_PREFIX and NUDGE_PARTITIONS.\n", NUDGE_VERSION);
}

int
main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("nudgectl %s\n", NUDGE_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "sign") == 0)
		return ctl_sign(argc - 1, argv + 1);
	if (strcmp(argv[1], "flows") == 0)
		return ctl_flows(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0)
		return ctl_status(argc - 1, argv + 1);
	if (strcmp(argv[1], "dead") == 0)
		return ctl_dead(argc - 1, argv + 1);
	if (strcmp(argv[1], "timeline") == 0)
		return ctl_timeline(argc - 1, argv + 1);
	if (strcmp(argv[1], "codes") == 0)
		return ctl_codes(argc - 1, argv + 1);
	if (strcmp(argv[1], "demo") == 0)
		return ctl_demo(argc - 1, argv + 1);
	fprintf(stderr, "nudgectl: unknown command %s\n\n", argv[1]);
	usage(stderr);
	return 2;
}
