/*
 * fuzz_generic: platform_generic, Standard Webhooks verify (webhook-id,
 * webhook-timestamp, the space-separated "v1,<base64>" list, whsec_ and
 * raw keys, rotation, the 5-minute window) + normalize (nudge's own event
 * schema), then the plan of what came out.
 *
 * Selector (byte 0, see fuzz.h for the framing):
 *	bits 0-1	shop: generic with a whsec_ secret, generic signed with
 *			its previous (raw) secret, a Shopify shop with a raw
 *			generic_secret, a shop whose whsec_ key does not decode
 *	bit 2		a decoy "v1," entry and a "v2," entry before the real one
 *	bit 3		no default signature: the input's, or none
 *	bit 4		no default webhook-id / webhook-timestamp
 * The default signature is correct for the id, timestamp and body, so
 * normalize is reached; it runs with the verified shop, or the selected
 * one when verify refused.
 */
#include "fuzz.h"
#include "sig.h"

#define SW_KEY	"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

static const char *const domains[] = {
	"gen.example", "gen.example", "raw.example", "bad.example",
};

static const char *shops_json =
    "[{\"domain\":\"gen.example\",\"platform\":\"generic\",\"secret\":\"" SW_KEY "\","
    "  \"previous_secret\":\"plain old secret\",\"locale\":\"pl\"},"
    " {\"domain\":\"raw.example\",\"platform\":\"shopify\",\"secret\":\"s\","
    "  \"generic_secret\":\"not a whsec key\"},"
    " {\"domain\":\"bad.example\",\"platform\":\"shopify\",\"secret\":\"s\","
    "  \"generic_secret\":\"whsec_!!notbase64\"}]";

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

/* "v1,<base64>" for the secret as the shop has it (whsec_ or raw). */
static char *
sw_sign(const char *secret, const char *id, const char *ts, const char *body,
    size_t len)
{
	unsigned char key[256], mac[SIG_LEN];
	size_t keylen;
	struct buf msg;
	char *b64, *out;

	if (strncmp(secret, "whsec_", 6) == 0) {
		if (sig_b64_decode(secret + 6, key, sizeof key, &keylen) != 0)
			keylen = 0;
	} else {
		keylen = strlen(secret);
		memcpy(key, secret, keylen);
	}
	buf_init(&msg);
	buf_printf(&msg, "%s.%s.", id, ts);
	buf_add(&msg, body, len);
	sig_hmac_sha256(key, keylen, msg.data, msg.len, mac);
	buf_free(&msg);
	b64 = sig_b64_encode(mac, sizeof mac);
	out = xasprintf("v1,%s", b64);
	free(b64);
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const secrets[] = {
		SW_KEY, "plain old secret", "not a whsec key", "whsec_!!notbase64",
	};
	struct fuzz_input in;
	struct platform_req req;
	struct platform_result res;
	struct nevent ev;
	const struct shop *shop = NULL, *chosen;
	const char *id, *ts;
	char *sig = NULL, *sigs = NULL;
	unsigned s;

	fuzz_input_parse(data, size, &in);
	s = in.sel & 0x03;
	chosen = shops_find(shops, domains[s]);

	fuzz_hdr_add(&in.h, "X-Nudge-Shop", domains[s]);
	if (!(in.sel & 0x10)) {
		fuzz_hdr_add(&in.h, "webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek");
		fuzz_hdr_add(&in.h, "webhook-timestamp", FUZZ_NOW_S);
	}
	/* Sign what the lookup will really return, input overrides included. */
	id = fuzz_hdr_lookup(&in.h, "webhook-id");
	ts = fuzz_hdr_lookup(&in.h, "webhook-timestamp");
	if (!(in.sel & 0x08)) {
		sig = sw_sign(secrets[s], id ? id : "", ts ? ts : "", in.body, in.body_len);
		if (in.sel & 0x04)
			sigs = xasprintf("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "
			    "v2,abc  %s", sig);
		fuzz_hdr_add(&in.h, "webhook-signature", sigs ? sigs : sig);
	}
	fuzz_req(&in, &req);

	memset(&res, 0, sizeof res);
	platform_generic.verify(&req, shops, &shop, &res);
	if ((res.status == PLATFORM_OK) != (shop != NULL))
		abort();

	nevent_init(&ev);
	memset(&res, 0, sizeof res);
	platform_generic.normalize(&req, shop != NULL ? shop : chosen, &ev, &res);
	fuzz_use_event(flows, &ev, &res);
	nevent_free(&ev);

	free(sig);
	free(sigs);
	fuzz_input_free(&in);
	return 0;
}
