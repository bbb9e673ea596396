/*
 * fuzz_shopify: platform_shopify verify + normalize (shopify_normalize.c)
 * on arbitrary headers and bodies, then the plan of what came out.
 *
 * Selector (byte 0, see fuzz.h for the framing):
 *	bits 0-3	topic: one of shopify_topics[] (0-10), an unknown topic
 *			(11), none (12), or only what the input's headers say
 *	bit 4		sign with the shop's previous secret (rotation)
 *	bit 5		default headers use the "shopify-" prefix (Events)
 *	bit 6		no default signature: the input's, or none
 *	bit 7		no default event id: the dedupe key is the body hash
 * The default signature is correct for the body, so normalize is reached
 * on every input; it then runs with the verified shop, or with the demo
 * shop when verify refused (normalize sees only the shop pointer, so this
 * is what a correctly signed request with that body would do).
 */
#include "fuzz.h"
#include "sig.h"

static const char *const topics[] = {
	"orders/create", "orders/cancelled", "fulfillments/create",
	"fulfillments/update", "fulfillment_events/create", "checkouts/create",
	"checkouts/update", "checkouts/delete", "customers/redact",
	"customers/data_request", "shop/redact", "products/create",
};

static const char *shops_json =
    "[{\"domain\":\"demo.myshopify.com\",\"platform\":\"shopify\","
    "  \"secret\":\"demo-secret\",\"previous_secret\":\"old-secret\","
    "  \"name\":\"Demo Shop\",\"timezone\":\"Europe/Athens\",\"locale\":\"en\","
    "  \"from_email\":\"hello@demo-shop.example\",\"from_name\":\"Demo Shop\"},"
    " {\"domain\":\"woo.example\",\"platform\":\"woocommerce\",\"secret\":\"w\"}]";

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
	shops = fuzz_shops(shops_json);
	flows = fuzz_default_flows();
	demo = shops_find(shops, "demo.myshopify.com");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in;
	struct platform_req req;
	struct platform_result res;
	struct nevent ev;
	const struct shop *shop = NULL;
	const char *pfx;
	char *sig = NULL, names[5][48];
	unsigned t;

	fuzz_input_parse(data, size, &in);
	t = in.sel & 0x0f;
	pfx = (in.sel & 0x20) ? "shopify-" : "X-Shopify-";
	snprintf(names[0], sizeof names[0], "%sShop-Domain", pfx);
	snprintf(names[1], sizeof names[1], "%sTopic", pfx);
	snprintf(names[2], sizeof names[2], "%sHmac-Sha256", pfx);
	snprintf(names[3], sizeof names[3], "%sEvent-Id", pfx);
	snprintf(names[4], sizeof names[4], "%sWebhook-Id", pfx);

	fuzz_hdr_add(&in.h, names[0], "demo.myshopify.com");
	if (t < sizeof topics / sizeof topics[0])
		fuzz_hdr_add(&in.h, names[1], topics[t]);
	if (!(in.sel & 0x40)) {
		sig = sig_b64_hmac((in.sel & 0x10) ? "old-secret" : "demo-secret",
		    in.body, in.body_len);
		fuzz_hdr_add(&in.h, names[2], sig);
	}
	if (!(in.sel & 0x80)) {
		fuzz_hdr_add(&in.h, names[3], "evt-1");
		fuzz_hdr_add(&in.h, names[4], "wh-1");
	}
	fuzz_req(&in, &req);

	memset(&res, 0, sizeof res);
	platform_shopify.verify(&req, shops, &shop, &res);
	if ((res.status == PLATFORM_OK) != (shop != NULL))
		abort();	/* verify's contract: a shop exactly when OK */

	nevent_init(&ev);
	memset(&res, 0, sizeof res);
	platform_shopify.normalize(&req, shop != NULL ? shop : demo, &ev, &res);
	fuzz_use_event(flows, &ev, &res);
	nevent_free(&ev);

	free(sig);
	fuzz_input_free(&in);
	return 0;
}
