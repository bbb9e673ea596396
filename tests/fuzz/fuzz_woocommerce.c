/*
 * fuzz_woocommerce: platform_woocommerce verify + normalize on arbitrary
 * headers and bodies, against shops with and without status_map,
 * locale_meta and consent_meta, then the plan of what came out.
 *
 * Selector (byte 0, see fuzz.h for the framing):
 *	bits 0-1	topic: order.created, order.updated, an unknown topic,
 *			or only what the input's headers say
 *	bits 2-3	shop: plain, with settings, with broken settings (which
 *			woocommerce_check_shop refuses at start, but normalize
 *			must survive), rotated (signed with previous_secret)
 *	bit 4		no default signature: the input's, or none
 * The default signature is correct for the body, so normalize is reached;
 * it runs with the verified shop, or the selected one when verify refused.
 */
#include "fuzz.h"
#include "sig.h"

static const char *const topics[] = { "order.created", "order.updated", "order.deleted" };

static const char *const domains[] = {
	"plain.example", "mapped.example", "broken.example", "rotated.example",
};

static const char *shops_json =
    "[{\"domain\":\"plain.example\",\"platform\":\"woocommerce\",\"secret\":\"plain\"},"
    " {\"domain\":\"mapped.example\",\"platform\":\"woocommerce\",\"secret\":\"woo-secret\","
    "  \"locale\":\"el\",\"timezone\":\"Europe/Athens\","
    "  \"status_map\":{\"completed\":\"order_shipped\",\"shipped\":\"order_shipped\","
    "   \"out-for-delivery\":\"order_out_for_delivery\",\"delivered\":\"order_delivered\","
    "   \"failed\":null,\"refunded\":\"\",\"on-hold\":\"none\",\"returned\":\"shipment_failed\"},"
    "  \"locale_meta\":\"wpml_language\",\"consent_meta\":\"_marketing_optin\"},"
    " {\"domain\":\"broken.example\",\"platform\":\"woocommerce\",\"secret\":\"b\","
    "  \"status_map\":{\"completed\":\"cart_abandoned\",\"shipped\":42,\"x\":\"nope\"},"
    "  \"locale_meta\":\"\",\"consent_meta\":7},"
    " {\"domain\":\"rotated.example\",\"platform\":\"woocommerce\",\"secret\":\"new\","
    "  \"previous_secret\":\"old\",\"status_map\":[1]}]";

static struct shops *shops;
static struct flows *flows;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	shops = fuzz_shops(shops_json);
	flows = fuzz_default_flows();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in;
	struct platform_req req;
	struct platform_result res;
	struct nevent ev;
	const struct shop *shop = NULL, *chosen;
	const char *secret;
	char *sig = NULL, *cause = NULL;
	unsigned t, s;

	fuzz_input_parse(data, size, &in);
	t = in.sel & 0x03;
	s = (in.sel >> 2) & 0x03;
	chosen = shops_find(shops, domains[s]);

	if (t < sizeof topics / sizeof topics[0])
		fuzz_hdr_add(&in.h, "X-WC-Webhook-Topic", topics[t]);
	fuzz_hdr_add(&in.h, "X-WC-Webhook-Source", s == 1 ? "https://Mapped.example/" :
	    domains[s]);
	if (!(in.sel & 0x10)) {
		secret = s == 3 ? "old" : chosen->secret;
		sig = sig_b64_hmac(secret, in.body, in.body_len);
		fuzz_hdr_add(&in.h, "X-WC-Webhook-Signature", sig);
	}
	fuzz_hdr_add(&in.h, "X-WC-Webhook-Delivery-ID", "77");
	fuzz_req(&in, &req);

	memset(&res, 0, sizeof res);
	platform_woocommerce.verify(&req, shops, &shop, &res);
	if ((res.status == PLATFORM_OK) != (shop != NULL))
		abort();

	nevent_init(&ev);
	memset(&res, 0, sizeof res);
	platform_woocommerce.normalize(&req, shop != NULL ? shop : chosen, &ev, &res);
	fuzz_use_event(flows, &ev, &res);
	nevent_free(&ev);

	/* The start-up check, on the shop the request went to. */
	if (woocommerce_check_shop(shop != NULL ? shop : chosen, &cause) != 0)
		free(cause);

	free(sig);
	fuzz_input_free(&in);
	return 0;
}
