/*
 * parse_bench: what reading a Shopify order costs, per variant, on the
 * official orders-create fixture (compacted, as Shopify sends it: ~17 KB;
 * and pretty, as stored: ~27 KB) and on a small order (~3 KB).
 *
 *   jansson-load     json_loadb + json_decref: the parse alone
 *   jansson-order    json_loadb + the jansson order reader that the
 *                    streaming one replaced (kept below as the baseline)
 *   yajl-floor       yajl with no callbacks: the lexer alone, a floor
 *   stream-order     shopify_stream_parse + shopify_stream_order_placed:
 *                    what orders/create runs now
 *   shopify-e2e      platform_shopify verify + normalize: HMAC, headers,
 *                    parse and reader, all a webhook costs before Redis
 *
 * Timing: the median of RUNS runs of N parses each, as µs per parse and
 * MB/s. Noisy machines: use the instruction counts instead,
 *
 *   valgrind --tool=callgrind --toggle-collect=bench_one \
 *       parse_bench --one VARIANT FILE N
 *
 * counts only what bench_one runs; divide Ir by N. bench/parse_bench.sh
 * builds this against build/libnudge.a and runs both.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <yajl/yajl_parse.h>

#include "nevent.h"
#include "platform.h"
#include "pnorm.h"
#include "shops.h"
#include "shopify_stream.h"
#include "sig.h"
#include "util.h"

#define RUNS	7

/* ------------------------------------------------------------------ */
/*
 * Baseline: the jansson order reader as it was before shopify_stream
 * (src/shopify_normalize.c, shopify_order_read), so that before and after
 * are measured in the same run on the same machine.
 */

static const char *
base_first(const char *key, const json_t *a, const json_t *b, const json_t *c)
{
	const char *s;

	if ((s = pnorm_str(a, key)) != NULL || (s = pnorm_str(b, key)) != NULL)
		return s;
	return pnorm_str(c, key);
}

static int
base_consent(const json_t *consent)
{
	const char *state = pnorm_str(consent, "state");

	if (state == NULL)
		return -1;
	if (strcmp(state, "subscribed") == 0)
		return 1;
	if (strcmp(state, "not_subscribed") == 0 || strcmp(state, "unsubscribed") == 0 ||
	    strcmp(state, "pending") == 0 || strcmp(state, "redacted") == 0)
		return 0;
	return -1;
}

static json_t *
base_item(const json_t *li)
{
	json_t *item = json_object(), *img, *v;
	const char *image;

	pnorm_set_str(item, "title", pnorm_str(li, "title"));
	pnorm_set_str(item, "variant", pnorm_str(li, "variant_title"));
	if (json_is_integer(v = json_object_get(li, "quantity")))
		json_object_set_new(item, "quantity", json_integer(json_integer_value(v)));
	pnorm_set_str(item, "price", pnorm_str(li, "price"));
	pnorm_set_str(item, "sku", pnorm_str(li, "sku"));
	pnorm_set_id(item, "product_id", json_object_get(li, "product_id"));
	pnorm_set_id(item, "variant_id", json_object_get(li, "variant_id"));
	img = json_object_get(li, "image");
	image = json_is_object(img) ? pnorm_str(img, "src") : pnorm_str(li, "image");
	if (image == NULL)
		image = pnorm_str(li, "image_url");
	pnorm_set_str(item, "image", image);
	return item;
}

static int
base_order_read(json_t *o, struct nevent *ev)
{
	static const char *const akeys[] = {
		"first_name", "city", "country", "zip", "address1",
	};
	json_t *customer, *billing, *shipping, *ctx, *items, *addr, *v;
	const char *s;
	int64_t ms;
	size_t i;

	if ((ev->order_id = nevent_json_id(json_object_get(o, "id"))) == NULL)
		return -1;
	customer = json_object_get(o, "customer");
	billing = json_object_get(o, "billing_address");
	shipping = json_object_get(o, "shipping_address");
	ev->order_name = pnorm_dup(pnorm_str(o, "name"));
	ev->checkout_token = pnorm_dup(pnorm_str(o, "checkout_token"));
	ev->checkout_id = nevent_json_id(json_object_get(o, "checkout_id"));
	ev->cart_token = pnorm_dup(pnorm_str(o, "cart_token"));
	if ((s = pnorm_str(o, "email")) == NULL &&
	    (s = pnorm_str(o, "contact_email")) == NULL)
		s = pnorm_str(customer, "email");
	ev->email = pnorm_email(s);
	if ((s = pnorm_str(o, "phone")) == NULL)
		s = base_first("phone", customer, billing, shipping);
	ev->phone = pnorm_dup(s);
	ev->first_name = pnorm_dup(base_first("first_name", customer, billing, shipping));
	ev->locale = pnorm_dup(pnorm_str(o, "customer_locale"));
	ev->consent_email = base_consent(json_object_get(customer, "email_marketing_consent"));
	v = json_object_get(o, "buyer_accepts_marketing");
	if (ev->consent_email == -1 && json_is_boolean(v))
		ev->consent_email = json_is_true(v);
	ev->consent_sms = base_consent(json_object_get(customer, "sms_marketing_consent"));
	if (nevent_parse_time(pnorm_str(o, "updated_at"), &ms) == 0 ||
	    nevent_parse_time(pnorm_str(o, "created_at"), &ms) == 0)
		ev->occurred_ms = ms;

	ctx = json_object();
	json_object_set_new(ctx, "id", json_string(ev->order_id));
	pnorm_set_str(ctx, "name", ev->order_name);
	pnorm_set_id(ctx, "number", json_object_get(o, "order_number"));
	pnorm_set_str(ctx, "currency", pnorm_str(o, "currency"));
	pnorm_set_str(ctx, "total", pnorm_str(o, "total_price"));
	pnorm_set_str(ctx, "subtotal", pnorm_str(o, "subtotal_price"));
	pnorm_set_str(ctx, "status_url", pnorm_str(o, "order_status_url"));
	pnorm_set_str(ctx, "created_at", pnorm_str(o, "created_at"));
	pnorm_set_str(ctx, "email", ev->email);
	pnorm_set_str(ctx, "phone", ev->phone);
	pnorm_set_str(ctx, "first_name", ev->first_name);
	pnorm_set_str(ctx, "last_name", base_first("last_name", customer, billing, shipping));
	pnorm_set_str(ctx, "locale", ev->locale);
	pnorm_set_str(ctx, "checkout_token", ev->checkout_token);
	pnorm_set_str(ctx, "cart_token", ev->cart_token);
	items = json_array();
	json_array_foreach(json_object_get(o, "line_items"), i, v) {
		if (json_is_object(v))
			json_array_append_new(items, base_item(v));
	}
	json_object_set_new(ctx, "items", items);
	if (json_is_object(shipping)) {
		addr = json_object();
		for (i = 0; i < sizeof akeys / sizeof akeys[0]; i++)
			pnorm_set_str(addr, akeys[i], pnorm_str(shipping, akeys[i]));
		if (json_object_size(addr) > 0)
			json_object_set_new(ctx, "shipping_address", addr);
		else
			json_decref(addr);
	}
	ev->ctx = ctx;
	return 0;
}

/* ------------------------------------------------------------------ */

enum variant {
	V_JANSSON_LOAD, V_JANSSON_ORDER, V_YAJL_FLOOR, V_STREAM_ORDER, V_E2E,
	V__COUNT
};

static const char *const variant_names[V__COUNT] = {
	"jansson-load", "jansson-order", "yajl-floor", "stream-order", "shopify-e2e",
};

#define SECRET	"7008c5f4da4718b9b45d26d3fcbbb157"

/* What shopify-e2e needs: one shop, signed headers. */
struct e2e {
	struct shops	*shops;
	const char	*kv[10];
};

static const char *
e2e_header(void *hctx, const char *name)
{
	struct e2e *e = hctx;
	size_t i;

	for (i = 0; i + 1 < 10 && e->kv[i] != NULL; i += 2) {
		if (strcasecmp(e->kv[i], name) == 0)
			return e->kv[i + 1];
	}
	return NULL;
}

/*
 * One parse of body by variant v; returns something derived from the
 * result so that nothing is optimized away. Not inlined: callgrind's
 * --toggle-collect names it.
 */
__attribute__((noinline)) static size_t
bench_one(enum variant v, const char *body, size_t len, struct e2e *e)
{
	struct platform_result res;
	struct shopify_stream *so;
	struct platform_req req;
	const struct shop *shop;
	struct nevent ev;
	yajl_handle h;
	json_t *root;
	size_t out = 0;

	switch (v) {
	case V_JANSSON_LOAD:
		root = json_loadb(body, len, 0, NULL);
		out = json_object_size(root);
		json_decref(root);
		break;
	case V_JANSSON_ORDER:
		root = json_loadb(body, len, 0, NULL);
		nevent_init(&ev);
		if (root != NULL && base_order_read(root, &ev) == 0)
			out = json_object_size(ev.ctx);
		nevent_free(&ev);
		json_decref(root);
		break;
	case V_YAJL_FLOOR:
		h = yajl_alloc(NULL, NULL, NULL);
		if (yajl_parse(h, (const unsigned char *)body, len) == yajl_status_ok &&
		    yajl_complete_parse(h) == yajl_status_ok)
			out = 1;
		yajl_free(h);
		break;
	case V_STREAM_ORDER:
		nevent_init(&ev);
		if ((so = shopify_stream_parse(body, len, &res)) != NULL) {
			if (shopify_stream_order_placed(so, &ev, &res) == 0)
				out = json_object_size(ev.ctx);
			shopify_stream_free(so);
		}
		nevent_free(&ev);
		break;
	case V_E2E:
		req = (struct platform_req){ .request_id = "b", .path_tail = "",
		    .body = body, .body_len = len, .header = e2e_header, .hctx = e };
		platform_shopify.verify(&req, e->shops, &shop, &res);
		nevent_init(&ev);
		if (res.status == PLATFORM_OK) {
			platform_shopify.normalize(&req, shop, &ev, &res);
			out = json_object_size(ev.ctx);
		}
		nevent_free(&ev);
		break;
	default:
		break;
	}
	return out;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* A file as JSON text: compacted when compact is set (key order kept). */
static char *
load_body(const char *path, int compact, size_t *len)
{
	char *cause = NULL, *raw, *out;
	json_error_t err;
	json_t *j;

	if ((raw = util_read_file(path, len, &cause)) == NULL) {
		fprintf(stderr, "parse_bench: %s\n", cause);
		exit(1);
	}
	if (!compact)
		return raw;
	if ((j = json_loadb(raw, *len, 0, &err)) == NULL) {
		fprintf(stderr, "parse_bench: %s: %s\n", path, err.text);
		exit(1);
	}
	out = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	free(raw);
	*len = strlen(out);
	return out;
}

static void
e2e_setup(struct e2e *e, const char *body, size_t len, char **sig)
{
	char *cause = NULL;

	if (shops_load_str("[{\"domain\":\"shop.example\",\"platform\":\"shopify\","
	    "\"secret\":\"" SECRET "\"}]", 16, &e->shops, &cause) != 0) {
		fprintf(stderr, "parse_bench: shops: %s\n", cause);
		exit(1);
	}
	*sig = sig_b64_hmac(SECRET, body, len);
	e->kv[0] = "X-Shopify-Shop-Domain";
	e->kv[1] = "shop.example";
	e->kv[2] = "X-Shopify-Hmac-Sha256";
	e->kv[3] = *sig;
	e->kv[4] = "X-Shopify-Topic";
	e->kv[5] = "orders/create";
	e->kv[6] = "X-Shopify-Webhook-Id";	/* as Shopify sends: no body hash */
	e->kv[7] = "b2f3c3a4-5d6e-4f70-8a9b-0c1d2e3f4a5b";
	e->kv[8] = NULL;
}

static void
bench_body(const char *label, const char *body, size_t len)
{
	double t[RUNS], us;
	struct e2e e = { 0 };
	size_t n, i, sink = 0;
	char *sig;
	int v, r;

	e2e_setup(&e, body, len, &sig);
	/* ~0.1 s per run for the slowest variant on this kind of machine. */
	n = 300000000 / (len * 20) + 50;
	for (v = 0; v < V__COUNT; v++) {
		if (bench_one((enum variant)v, body, len, &e) == 0) {
			fprintf(stderr, "parse_bench: %s fails on %s\n",
			    variant_names[v], label);
			exit(1);
		}
		for (r = 0; r < RUNS; r++) {
			double t0 = now_s();

			for (i = 0; i < n; i++)
				sink += bench_one((enum variant)v, body, len, &e);
			t[r] = now_s() - t0;
		}
		qsort(t, RUNS, sizeof t[0], cmp_double);
		us = t[RUNS / 2] / (double)n * 1e6;
		printf("%-22s %7zu B  %-14s %9.2f us/parse  %8.1f MB/s  (%zu x %d runs, "
		    "min %.2f)\n", label, len, variant_names[v], us,
		    (double)len / us, n, RUNS, t[0] / (double)n * 1e6);
		fflush(stdout);
	}
	if (sink == 0)
		printf("(sink)\n");
	shops_free(e.shops);
	free(sig);
}

static void
usage(void)
{
	fprintf(stderr, "usage: parse_bench [SHARED_ORDER SMALL_ORDER]\n"
	    "       parse_bench --one VARIANT FILE N   (compacts FILE)\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *big = "../shared/fixtures/shopify/orders-create.json";
	const char *small = "tests/fixtures/shopify/orders-create-small.json";
	struct e2e e = { 0 };
	size_t len, n, i, sink = 0;
	char *body, *sig;
	int v;

	if (argc == 5 && strcmp(argv[1], "--one") == 0) {
		for (v = 0; v < V__COUNT; v++) {
			if (strcmp(argv[2], variant_names[v]) == 0)
				break;
		}
		if (v == V__COUNT)
			usage();
		body = load_body(argv[3], 1, &len);
		e2e_setup(&e, body, len, &sig);
		n = strtoul(argv[4], NULL, 10);
		for (i = 0; i < n; i++)
			sink += bench_one((enum variant)v, body, len, &e);
		printf("%s %s %zu B x %zu: %zu\n", argv[2], argv[3], len, n, sink);
		shops_free(e.shops);
		free(sig);
		free(body);
		return 0;
	}
	if (argc == 3) {
		big = argv[1];
		small = argv[2];
	} else if (argc != 1)
		usage();

	body = load_body(big, 1, &len);
	bench_body("orders-create compact", body, len);
	free(body);
	body = load_body(big, 0, &len);
	bench_body("orders-create pretty", body, len);
	free(body);
	body = load_body(small, 1, &len);
	bench_body("small order compact", body, len);
	free(body);
	return 0;
}
