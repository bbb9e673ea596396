/*
 * fuzz_shopify_stream: the one-pass yajl reader of Shopify orders
 * (shopify_stream.c), checked against jansson, which it must agree with:
 * include/shopify_stream.h promises that it accepts exactly what
 * json_loadb accepts (as an object), last duplicate key winning, except
 * that nesting past SHOPIFY_STREAM_MAX_DEPTH is refused.
 *
 * Input: the raw body. For every input:
 *  - shopify_stream_parse succeeds exactly when json_loadb gives an object
 *    no deeper than SHOPIFY_STREAM_MAX_DEPTH and the body holds no NUL
 *    byte (see below), and a refusal is PLATFORM_INVALID with a reason;
 *  - shopify_stream_shop_domain is the object's top-level "shop_domain"
 *    when that is a non-empty string, else NULL;
 *  - both readers (orders/create, orders/cancelled) run on what was kept,
 *    and what they produce is used as the server would (fuzz.h).
 */
#include "fuzz.h"
#include "shopify_stream.h"

static struct shops *shops;
static struct flows *flows;
static const struct shop *demo;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	shops = fuzz_shops("[{\"domain\":\"demo.myshopify.com\",\"platform\":\"shopify\","
	    "\"secret\":\"demo-secret\",\"locale\":\"en\"}]");
	flows = fuzz_default_flows();
	demo = shops_find(shops, "demo.myshopify.com");
	return 0;
}

/* Containers open at the deepest point, the value's own included. */
static size_t
depth(json_t *v)
{
	size_t d, max = 0, i;
	const char *k;
	json_t *c;

	if (json_is_object(v)) {
		json_object_foreach(v, k, c)
			if ((d = depth(c)) > max)
				max = d;
		return max + 1;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, c)
			if ((d = depth(c)) > max)
				max = d;
		return max + 1;
	}
	return 0;
}

static void
fail(const char *what, const char *reason)
{
	fprintf(stderr, "fuzz_shopify_stream: %s (%s)\n", what, reason ? reason : "");
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int (*const readers[])(const struct shopify_stream *, struct nevent *,
	    struct platform_result *) = {
		shopify_stream_order_placed, shopify_stream_order_cancelled,
	};
	static const enum event_kind kinds[] = { EVENT_ORDER_PLACED, EVENT_ORDER_CANCELLED };
	struct platform_result res;
	struct shopify_stream *so;
	struct nevent ev;
	const char *sd, *jd;
	json_t *j, *v;
	char *body;
	int want;
	size_t i;

	/* An exact-size copy: reading it as a C string is an ASan report. */
	body = xmalloc(size ? size : 1);
	memcpy(body, data, size);

	j = json_loadb(body, size, 0, NULL);
	/*
	 * jansson 2.14 skips a NUL byte right after a number or a literal
	 * ('{"x":1\0}' loads); JSON has no place for a raw NUL, and the
	 * stream reader refuses it, rightly.
	 */
	want = json_is_object(j) && depth(j) <= SHOPIFY_STREAM_MAX_DEPTH &&
	    memchr(body, '\0', size) == NULL;
	memset(&res, 0, sizeof res);
	so = shopify_stream_parse(body, size, &res);
	if ((so != NULL) != want)
		fail(so ? "accepted what jansson refuses" : "refused what jansson accepts",
		    res.reason);
	if (so == NULL && (res.status != PLATFORM_INVALID || res.reason[0] == '\0'))
		fail("refused without PLATFORM_INVALID and a reason", res.reason);

	if (so != NULL) {
		sd = shopify_stream_shop_domain(so);
		v = json_object_get(j, "shop_domain");
		jd = json_is_string(v) && json_string_length(v) > 0 ? json_string_value(v) : NULL;
		if ((sd == NULL) != (jd == NULL) || (sd != NULL && strcmp(sd, jd) != 0))
			fail("shop_domain differs from jansson's", sd);

		for (i = 0; i < sizeof readers / sizeof readers[0]; i++) {
			nevent_init(&ev);
			ev.shop = demo;
			ev.kind = kinds[i];
			ev.topic = xstrdup(i == 0 ? "orders/create" : "orders/cancelled");
			ev.delivery = xstrdup("evt-1");
			memset(&res, 0, sizeof res);
			if (readers[i](so, &ev, &res) == 0)
				platform_result_set(&res, PLATFORM_OK, "%s", "");
			fuzz_use_event(flows, &ev, &res);
			nevent_free(&ev);
		}
	}
	shopify_stream_free(so);
	json_decref(j);
	free(body);
	return 0;
}
