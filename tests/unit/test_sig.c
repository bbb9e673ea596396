/*
 * test_sig: HMAC-SHA256 and base64 against the published vectors of
 * Shopify, WooCommerce and Standard Webhooks (shared/reference/webhooks.md),
 * and every way a signature header can be wrong.
 */
#include "unit.h"

#include "sig.h"

struct vector {
	const char	*name;
	const char	*key;		/* as a string, or base64 when key_b64 */
	int		 key_b64;
	const char	*msg;
	const char	*want;		/* base64 HMAC */
};

static const struct vector vectors[] = {
	{ "V1 shopify-api-php", "7008c5f4da4718b9b45d26d3fcbbb157", 0,
	  "{\"foo\":\"bar\"}", "+R9TwYM4mbLTk3hEAOBkpA7zW2lc9vNFmVKs2u2jtyY=" },
	{ "V2 shopify_app", "secret", 0,
	  "foo=anything", "yCGX/RrK4fcuNtr3ztk5tQGsOBjcAzHpGLdMUrbV8yI=" },
	{ "V2b shopify_app old secret", "old_secret", 0,
	  "foo=anything", "XqRcjrSv57VACn6apEO9znyu/wkN1VC7QxdSPwK3Hzs=" },
	{ "WooCommerce empty key", "", 0,
	  "secret", "GBDo00G55h6IiV+6CxqivQPLbI//KzaOZm747971tPs=" },
	/* whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw: the key is what follows whsec_, decoded. */
	{ "Standard Webhooks v1", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 1,
	  "msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{\"test\": 2432232314}",
	  "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" },
};

static void
test_vectors(void **state)
{
	unsigned char key[64], mac[SIG_LEN];
	size_t i, keylen;
	char *got;

	(void)state;
	for (i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		const struct vector *v = &vectors[i];

		if (v->key_b64)
			assert_int_equal(sig_b64_decode(v->key, key, sizeof key, &keylen), 0);
		else {
			keylen = strlen(v->key);
			memcpy(key, v->key, keylen);
		}
		sig_hmac_sha256(key, keylen, v->msg, strlen(v->msg), mac);
		got = sig_b64_encode(mac, sizeof mac);
		if (strcmp(got, v->want) != 0)
			fail_msg("%s: got %s, want %s", v->name, got, v->want);
		free(got);

		if (!v->key_b64) {
			got = sig_b64_hmac(v->key, v->msg, strlen(v->msg));
			assert_string_equal(got, v->want);
			free(got);
			if (sig_verify_b64(v->key, v->msg, strlen(v->msg), v->want) != 1)
				fail_msg("%s: verify refused the published signature", v->name);
		}
	}
}

static void
test_vector_details(void **state)
{
	unsigned char key[64], mac[SIG_LEN];
	char hex[2 * 64 + 1];
	size_t keylen;

	(void)state;
	/* The hex digest of V1, and the decoded Standard Webhooks key. */
	sig_hmac_sha256("7008c5f4da4718b9b45d26d3fcbbb157", 32, "{\"foo\":\"bar\"}", 13, mac);
	util_hex(mac, sizeof mac, hex);
	assert_string_equal(hex,
	    "f91f53c1833899b2d393784400e064a40ef35b695cf6f3459952acdaeda3b726");

	assert_int_equal(sig_b64_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key,
	    sizeof key, &keylen), 0);
	assert_int_equal(keylen, 24);
	util_hex(key, keylen, hex);
	assert_string_equal(hex, "31f290f6bf06298aab4f08d43c3f082cf648a362da2da4b0");

	/* A NULL key is the empty key, not "reuse the last one". */
	sig_hmac_sha256(NULL, 0, "secret", 6, mac);
	{
		char *b = sig_b64_encode(mac, sizeof mac);

		assert_string_equal(b, "GBDo00G55h6IiV+6CxqivQPLbI//KzaOZm747971tPs=");
		free(b);
	}
}

/* The signature of V1 re-encoded from n bytes of its MAC (padded with 0x5a). */
static char *
v1_resized(size_t n)
{
	unsigned char buf[64];

	memset(buf, 0x5a, sizeof buf);
	sig_hmac_sha256("7008c5f4da4718b9b45d26d3fcbbb157", 32, "{\"foo\":\"bar\"}", 13, buf);
	return sig_b64_encode(buf, n);
}

static void
test_rejects(void **state)
{
	static const struct {
		const char	*name;
		const char	*secret;
		const char	*sig;
	} cases[] = {
		{ "wrong secret", "7008c5f4da4718b9b45d26d3fcbbb158",
		  "+R9TwYM4mbLTk3hEAOBkpA7zW2lc9vNFmVKs2u2jtyY=" },
		{ "signature of another body", "7008c5f4da4718b9b45d26d3fcbbb157",
		  "yCGX/RrK4fcuNtr3ztk5tQGsOBjcAzHpGLdMUrbV8yI=" },
		{ "last byte changed", "7008c5f4da4718b9b45d26d3fcbbb157",
		  "+R9TwYM4mbLTk3hEAOBkpA7zW2lc9vNFmVKs2u2jtyc=" },
		{ "truncated to 30 bytes", "7008c5f4da4718b9b45d26d3fcbbb157",
		  "+R9TwYM4mbLTk3hEAOBkpA7zW2lc9vNFmVKs2u2j" },
		{ "padding dropped", "7008c5f4da4718b9b45d26d3fcbbb157",
		  "+R9TwYM4mbLTk3hEAOBkpA7zW2lc9vNFmVKs2u2jtyY" },
		{ "hex instead of base64", "7008c5f4da4718b9b45d26d3fcbbb157",
		  "f91f53c1833899b2d393784400e064a40ef35b695cf6f3459952acdaeda3b726" },
		{ "empty", "7008c5f4da4718b9b45d26d3fcbbb157", "" },
		{ "url-safe alphabet", "7008c5f4da4718b9b45d26d3fcbbb157",
		  "-R9TwYM4mbLTk3hEAOBkpA7zW2lc9vNFmVKs2u2jtyY=" },
		{ "invalid character", "7008c5f4da4718b9b45d26d3fcbbb157",
		  "+R9TwYM4mbLTk3hEAOBkpA7zW2lc9vNF*VKs2u2jtyY=" },
		{ "leading space", "7008c5f4da4718b9b45d26d3fcbbb157",
		  " +R9TwYM4mbLTk3hEAOBkpA7zW2lc9vNFmVKs2u2jtyY=" },
		{ "trailing newline", "7008c5f4da4718b9b45d26d3fcbbb157",
		  "+R9TwYM4mbLTk3hEAOBkpA7zW2lc9vNFmVKs2u2jtyY=\n" },
		{ "inner space, length kept", "7008c5f4da4718b9b45d26d3fcbbb157",
		  "+R9TwYM4mbLTk3hEAOBkpA7zW2lc9vN mVKs2u2jtyY=" },
		{ "Standard Webhooks prefix", "7008c5f4da4718b9b45d26d3fcbbb157",
		  "v1,+R9TwYM4mbLTk3hEAOBkpA7zW2lc9vNFmVKs2u2jtyY=" },
		{ "NULL signature", "7008c5f4da4718b9b45d26d3fcbbb157", NULL },
		{ "NULL secret", NULL, "+R9TwYM4mbLTk3hEAOBkpA7zW2lc9vNFmVKs2u2jtyY=" },
	};
	const char *body = "{\"foo\":\"bar\"}";
	size_t i, sizes[] = { 31, 33, 48 };
	char *s;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (sig_verify_b64(cases[i].secret, body, strlen(body), cases[i].sig) != 0)
			fail_msg("%s: accepted", cases[i].name);
	}
	/* Right bytes, wrong length: 31 and 33 decoded bytes are refused. */
	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		s = v1_resized(sizes[i]);
		if (sig_verify_b64("7008c5f4da4718b9b45d26d3fcbbb157", body,
		    strlen(body), s) != 0)
			fail_msg("%zu-byte signature %s accepted", sizes[i], s);
		free(s);
	}
	/* ... and the same helper at 32 bytes is accepted, so the above can fail. */
	s = v1_resized(32);
	assert_int_equal(sig_verify_b64("7008c5f4da4718b9b45d26d3fcbbb157", body,
	    strlen(body), s), 1);
	free(s);
	/* One bit of the body changed. */
	assert_int_equal(sig_verify_b64("7008c5f4da4718b9b45d26d3fcbbb157",
	    "{\"foo\":\"bas\"}", 13, "+R9TwYM4mbLTk3hEAOBkpA7zW2lc9vNFmVKs2u2jtyY="), 0);
}

static void
test_b64_decode(void **state)
{
	static const struct {
		const char	*in;
		size_t		 cap;
		int		 rc;
		const char	*out;	/* expected bytes when rc == 0 */
	} cases[] = {
		{ "", 8, 0, "" },
		{ "Zg==", 8, 0, "f" },
		{ "Zm8=", 8, 0, "fo" },
		{ "Zm9v", 8, 0, "foo" },
		{ "Zm9vYg==", 8, 0, "foob" },
		{ "Zm9vYmE=", 8, 0, "fooba" },
		{ "Zm9vYmFy", 8, 0, "foobar" },
		{ "Zm9vYmFy", 6, 0, "foobar" },	/* exactly fits */
		{ "Zm9vYg==", 4, 0, "foob" },	/* fits, padding does not */
		{ "Zm9vYmFy", 5, -1, NULL },	/* exceeds cap */
		{ "Zm9vYg==", 3, -1, NULL },
		{ "Zg=", 8, -1, NULL },
		{ "Zg", 8, -1, NULL },
		{ "Z===", 8, -1, NULL },
		{ "====", 8, -1, NULL },
		{ "=Zg=", 8, -1, NULL },
		{ "Zg=a", 8, -1, NULL },
		{ "Zg==Zg==", 8, -1, NULL },
		{ "Zm9 ", 8, -1, NULL },
		{ " Zm9", 8, -1, NULL },
		{ "Zm9\n", 8, -1, NULL },
		{ "Zm9-", 8, -1, NULL },
		{ "Zm9_", 8, -1, NULL },
		{ "Zm.v", 8, -1, NULL },
		{ "Zm9v\xc3\xa9", 8, -1, NULL },
	};
	unsigned char out[16];
	size_t i, n;
	int rc;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		n = 99;
		rc = sig_b64_decode(cases[i].in, out, cases[i].cap, &n);
		if (rc != cases[i].rc)
			fail_msg("decode \"%s\" cap %zu: rc %d, want %d", cases[i].in,
			    cases[i].cap, rc, cases[i].rc);
		if (rc == 0 && (n != strlen(cases[i].out) ||
		    memcmp(out, cases[i].out, n) != 0))
			fail_msg("decode \"%s\": wrong bytes (%zu)", cases[i].in, n);
	}
	assert_int_equal(sig_b64_decode(NULL, out, sizeof out, &n), -1);
}

static void
test_b64_round_trip(void **state)
{
	unsigned char in[200], out[200];
	size_t len, n;
	char *s;

	(void)state;
	for (len = 0; len <= sizeof in; len++) {
		util_random(in, len);
		s = sig_b64_encode(in, len);
		assert_int_equal(strlen(s), (len + 2) / 3 * 4);
		assert_int_equal(sig_b64_decode(s, out, len, &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(in, out, len);
		free(s);
	}
}

static void
test_equal(void **state)
{
	(void)state;
	assert_int_equal(sig_equal("abcd", "abcd", 4), 1);
	assert_int_equal(sig_equal("abcd", "abce", 4), 0);
	assert_int_equal(sig_equal("xbcd", "abcd", 4), 0);
	assert_int_equal(sig_equal("a", "b", 0), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_vector_details),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_b64_decode),
		cmocka_unit_test(test_b64_round_trip),
		cmocka_unit_test(test_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
