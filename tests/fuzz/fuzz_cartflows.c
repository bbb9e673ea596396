/*
 * fuzz_cartflows: platform_cartflows verify (the URL token) + normalize
 * (the form decoder, the session id inside the recovery link's base64
 * wcf_ac_token, esc_url's entities, the product name list), then the plan
 * of what came out.
 *
 * Selector (byte 0, see fuzz.h for the framing):
 *	bits 0-1	path tail: the token, token + "/", token + "?utm=1", or
 *			only what the input's ":path" pseudo-header says
 * The body is the form. normalize runs with the verified shop, or the
 * token's shop when verify refused.
 */
#include "fuzz.h"

#define TOKEN	"cf_4f9d2c61b7e04a8c9e1d3b5a7f60c2e8"

static const char *const tails[] = { TOKEN, TOKEN "/", TOKEN "?utm=1" };

static const char *shops_json =
    "[{\"domain\":\"woo.example\",\"platform\":\"woocommerce\",\"secret\":\"w\","
    "  \"cartflows_token\":\"" TOKEN "\"},"
    " {\"domain\":\"other.example\",\"platform\":\"shopify\",\"secret\":\"s\","
    "  \"cartflows_token\":\"cf_other_token_0123456789abcdef\"},"
    " {\"domain\":\"none.example\",\"platform\":\"woocommerce\",\"secret\":\"n\"}]";

static struct shops *shops;
static struct flows *flows;
static const struct shop *woo;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	shops = fuzz_shops(shops_json);
	flows = fuzz_default_flows();
	woo = shops_find(shops, "woo.example");
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
	unsigned t;

	fuzz_input_parse(data, size, &in);
	fuzz_req(&in, &req);
	t = in.sel & 0x03;
	if (in.path == NULL && t < sizeof tails / sizeof tails[0])
		req.path_tail = tails[t];

	memset(&res, 0, sizeof res);
	platform_cartflows.verify(&req, shops, &shop, &res);
	if ((res.status == PLATFORM_OK) != (shop != NULL))
		abort();

	nevent_init(&ev);
	memset(&res, 0, sizeof res);
	platform_cartflows.normalize(&req, shop != NULL ? shop : woo, &ev, &res);
	fuzz_use_event(flows, &ev, &res);
	nevent_free(&ev);

	fuzz_input_free(&in);
	return 0;
}
