/*
 * fuzz_sig: sig_b64_decode and sig_verify_b64 on arbitrary signature
 * header strings and bodies, checked against a reference.
 *
 * Input: byte 0 picks the secret and the decode capacity; the header
 * string runs to the first '\n' (a NUL inside ends it, as it would end a
 * C header value); the rest is the body.
 *
 * Oracles, beyond "no crash, no leak, no UB":
 *  - sig_b64_decode agrees with ref_decode below (strict RFC 4648 base64:
 *    length a multiple of 4, alphabet only, '=' only as one or two
 *    trailing pads) on acceptance, length and bytes, for every capacity;
 *  - it never writes past cap (the output buffer is cap bytes on the heap);
 *  - decode(encode(x)) == x;
 *  - sig_verify_b64 is 1 exactly when the header decodes to 32 bytes equal
 *    to HMAC-SHA256(secret, body), and always 1 for sig_b64_hmac's output.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sig.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
ref_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict decoder: -1 or the decoded length; out holds len / 4 * 3 bytes. */
static long
ref_decode(const char *in, unsigned char *out)
{
	size_t len = strlen(in), i, pad = 0, n = 0;
	uint32_t acc;
	int v, k;

	if (len % 4 != 0)
		return -1;
	if (len >= 1 && in[len - 1] == '=')
		pad = (len >= 2 && in[len - 2] == '=') ? 2 : 1;
	for (i = 0; i < len; i += 4) {
		acc = 0;
		for (k = 0; k < 4; k++) {
			if (i + k >= len - pad)
				v = 0;
			else if ((v = ref_val((unsigned char)in[i + k])) < 0)
				return -1;
			acc = acc << 6 | (uint32_t)v;
		}
		out[n++] = (unsigned char)(acc >> 16);
		out[n++] = (unsigned char)(acc >> 8);
		out[n++] = (unsigned char)acc;
	}
	return (long)(n - pad);
}

static void
check(int cond, const char *what, const char *in)
{
	if (!cond) {
		fprintf(stderr, "fuzz_sig: %s for \"%s\"\n", what, in);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const secrets[] = { "demo-secret", "", "\xce\xb1\xce\xb2" };
	static const size_t caps[] = { 0, 1, 2, 3, 31, 32, 33, 64, 96, 97, 4096 };
	const char *secret;
	const uint8_t *nl;
	unsigned char *out, *ref, mac[SIG_LEN];
	char *hdr, *body, *enc;
	size_t hlen, blen, cap, outlen, outlen2, i;
	long rlen;
	int rc, ok;

	if (size == 0)
		return 0;
	secret = secrets[data[0] % 3];
	cap = caps[(data[0] >> 2) % (sizeof caps / sizeof caps[0])];
	data++;
	size--;
	nl = memchr(data, '\n', size);
	hlen = nl ? (size_t)(nl - data) : size;
	hdr = xstrndup((const char *)data, hlen);
	blen = nl ? size - hlen - 1 : 0;
	body = xmalloc(blen ? blen : 1);
	memcpy(body, nl ? nl + 1 : data + size, blen);

	ref = xmalloc(strlen(hdr) / 4 * 3 + 3);
	rlen = ref_decode(hdr, ref);

	/* Every capacity the caller might pass, the chosen one on the heap. */
	for (i = 0; i <= sizeof caps / sizeof caps[0]; i++) {
		size_t c = i < sizeof caps / sizeof caps[0] ? caps[i] : cap;

		out = xmalloc(c ? c : 1);
		rc = sig_b64_decode(hdr, out, c, &outlen);
		if (rlen < 0 || (size_t)rlen > c)
			check(rc == -1 && outlen == 0, "accepted what the reference refuses", hdr);
		else {
			check(rc == 0, "refused what the reference accepts", hdr);
			check(outlen == (size_t)rlen, "decoded length differs", hdr);
			check(memcmp(out, ref, outlen) == 0, "decoded bytes differ", hdr);
		}
		free(out);
	}
	/* NULL outlen is allowed. */
	out = xmalloc(4096);
	(void)sig_b64_decode(hdr, out, 4096, NULL);

	/* The body round-trips through encode and decode. */
	enc = sig_b64_encode((const unsigned char *)body, blen > 3000 ? 3000 : blen);
	check(sig_b64_decode(enc, out, 4096, &outlen2) == 0, "own encoding refused", enc);
	check(outlen2 == (blen > 3000 ? 3000 : blen) && memcmp(out, body, outlen2) == 0,
	    "round trip differs", enc);
	free(enc);
	free(out);

	/* Verification agrees with decoding plus comparison. */
	sig_hmac_sha256(secret, strlen(secret), body, blen, mac);
	ok = rlen == SIG_LEN && memcmp(ref, mac, SIG_LEN) == 0;
	check(sig_verify_b64(secret, body, blen, hdr) == ok, "verify disagrees", hdr);
	enc = sig_b64_hmac(secret, body, blen);
	check(sig_verify_b64(secret, body, blen, enc) == 1, "own signature refused", enc);
	free(enc);
	check(sig_verify_b64(NULL, body, blen, hdr) == 0, "NULL secret verified", hdr);

	free(ref);
	free(hdr);
	free(body);
	return 0;
}
