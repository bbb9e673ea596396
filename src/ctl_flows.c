/*
 * ctl_flows: `nudgectl flows check FILE` validates a flows file (and, when
 * the templates directory exists, that every step has its templates)
 * without starting anything; `nudgectl flows plan EVENT.json` prints what an
 * event in nudge's generic event format would do: messages scheduled (with
 * their ids and due times), flows cancelled.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "ctl.h"
#include "flows.h"
#include "nevent.h"
#include "platform.h"
#include "render.h"
#include "shops.h"
#include "util.h"

static int
ctl_flows_check(const char *path)
{
	const char *dir = getenv("NUDGE_TEMPLATES_DIR");
	struct templates *t = NULL;
	struct flows *fl;
	char *cause = NULL;
	size_t i, steps = 0;

	if (flows_load(path, &fl, &cause) == -1) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return 1;
	}
	for (i = 0; i < fl->n; i++)
		steps += fl->v[i].nsteps;
	if (dir == NULL)
		dir = "templates";
	if (access(dir, R_OK) == 0) {
		if (templates_load(dir, &t, &cause) == -1 ||
		    flows_check_templates(fl, t, &cause) == -1) {
			fprintf(stderr, "%s\n", cause);
			free(cause);
			templates_free(t);
			flows_free(fl);
			return 1;
		}
		templates_free(t);
	}
	printf("%s: ok: %zu flows, %zu steps%s\n", path, fl->n, steps,
	    access(dir, R_OK) == 0 ? ", every template present" : "");
	flows_free(fl);
	return 0;
}

static void
ctl_time(int64_t ms, char *out, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *
ctl_no_header(void *hctx, const char *name)
{
	(void)hctx;
	(void)name;
	return NULL;
}

static int
ctl_flows_plan(int argc, char **argv)
{
	const char *flows_path = getenv("NUDGE_FLOWS_FILE"), *shop_name = NULL, *file = NULL;
	const char *scale_s = getenv("NUDGE_TIME_SCALE");
	struct platform_req req;
	struct platform_result res;
	struct shops *shops = NULL;
	struct flows *fl = NULL;
	struct nevent ev;
	struct plan p;
	const struct shop *shop;
	const struct platform *pg;
	char *body = NULL, *cause = NULL, when[32], *shops_json = NULL;
	double scale = scale_s ? strtod(scale_s, NULL) : 1;
	int64_t now = clock_now_ms();
	size_t len, i;
	int rc = 1;

	for (i = 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--shop") == 0 && i + 1 < (size_t)argc)
			shop_name = argv[++i];
		else if (strcmp(argv[i], "--flows") == 0 && i + 1 < (size_t)argc)
			flows_path = argv[++i];
		else
			file = argv[i];
	}
	if (file == NULL) {
		fprintf(stderr, "usage: nudgectl flows plan [--flows FILE] [--shop DOMAIN] EVENT.json\n");
		return 2;
	}
	if (!(scale > 0))
		scale = 1;
	if (flows_load(flows_path ? flows_path : "config/flows.json", &fl, &cause) == -1 ||
	    (body = util_read_file(file, &len, &cause)) == NULL)
		goto out;
	/* the shop only names the keys; any shop will do for a preview */
	shops_json = xasprintf("[{\"domain\":\"%s\",\"platform\":\"generic\",\"secret\":\"-\"}]",
	    shop_name ? shop_name : "example.myshopify.com");
	if (shops_load_str(shops_json, 16, &shops, &cause) == -1)
		goto out;
	shop = shops_at(shops, 0);
	memset(&req, 0, sizeof req);
	req.request_id = "plan";
	req.path_tail = "";
	req.body = body;
	req.body_len = len;
	req.header = ctl_no_header;
	req.now_ms = now;
	memset(&res, 0, sizeof res);
	nevent_init(&ev);
	ev.shop = shop;
	if ((pg = platform_find("generic")) == NULL) {
		cause = xstrdup("the generic platform is not built in");
		nevent_free(&ev);
		goto out;
	}
	pg->normalize(&req, shop, &ev, &res);
	if (res.status != PLATFORM_OK) {
		cause = xasprintf("%s: %s", file, res.reason);
		nevent_free(&ev);
		goto out;
	}
	if (flows_plan(fl, &ev, now, scale, &p, &cause) == -1) {
		nevent_free(&ev);
		goto out;
	}
	printf("event %s for shop %s%s%s\n", nevent_kind_name(ev.kind), shop->domain,
	    p.customer[0] ? ", customer " : "", p.customer);
	for (i = 0; i < p.ncancels; i++) {
		const struct plan_cancel *c = &p.cancels[i];

		if (c->subject != NULL)
			printf("cancel  %-12s pending steps of %s (%s)%s\n", c->flow ? c->flow : "*",
			    c->subject, c->reason, c->close ? "; flow closed for it" : "");
		else
			printf("cancel  %-12s the customer's open cart (token %s, checkout %s, "
			    "cart %s, else by e-mail) (%s)\n", c->flow, c->token ? c->token : "-",
			    c->checkout_id ? c->checkout_id : "-", c->cart_token ? c->cart_token : "-",
			    c->reason);
	}
	for (i = 0; i < p.nmsgs; i++) {
		const struct plan_msg *m = &p.msgs[i];

		ctl_time(m->due_ms, when, sizeof when);
		printf("schedule %s/%s %s at %s (+%llds) id %s subject %s%s%s\n", m->flow->name,
		    m->step->name, flows_channel_name(m->channel), when,
		    (long long)((m->due_ms - now) / 1000), m->id, m->subject,
		    m->step->conds & STEP_COND_FIRST_ORDER ? " [first order only]" :
		    m->step->conds & STEP_COND_RETURNING ? " [returning customers only]" : "",
		    m->move ? " [moves a pending copy]" : "");
	}
	if (p.erase == PLAN_ERASE_CUSTOMER)
		printf("erase   the customer's messages, contexts and timeline\n");
	else if (p.erase == PLAN_ERASE_SHOP)
		printf("erase   every key of the shop\n");
	else if (p.erase == PLAN_EXPORT_CUSTOMER)
		printf("export  what is stored about the customer\n");
	else if (p.nmsgs == 0 && p.ncancels == 0)
		printf("nothing to do\n");
	plan_free(&p);
	nevent_free(&ev);
	rc = 0;
out:
	if (cause != NULL) {
		fprintf(stderr, "nudgectl flows plan: %s\n", cause);
		free(cause);
	}
	free(body);
	free(shops_json);
	shops_free(shops);
	flows_free(fl);
	return rc;
}

int
ctl_flows(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "check") == 0)
		return ctl_flows_check(argv[2]);
	if (argc >= 2 && strcmp(argv[1], "plan") == 0)
		return ctl_flows_plan(argc - 1, argv + 1);
	fprintf(stderr, "usage: nudgectl flows check FILE\n"
	    "       nudgectl flows plan [--flows FILE] [--shop DOMAIN] EVENT.json\n");
	return 2;
}
