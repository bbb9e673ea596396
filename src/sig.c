/*
 * sig: HMAC-SHA256, strict base64 and constant-time comparison on top of
 * OpenSSL.
 *
 * Every webhook signature we accept is base64(HMAC-SHA256(secret, raw
 * body)); Shopify, WooCommerce and Standard Webhooks all agree on that. The
 * decoder is strict on purpose: a signature header is machine-made, so
 * whitespace, a missing pad or a stray character means the sender or
 * something in between is broken, and we would rather say "bad signature"
 * than guess. Comparison happens on the decoded 32 bytes with
 * CRYPTO_memcmp, so the time taken says nothing about how many bytes
 * matched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sig.h"
#include "util.h"

void
sig_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t len,
    unsigned char out[SIG_LEN])
{
	/*
	 * OpenSSL treats a NULL key as "reuse the previous key", and some
	 * 3.x releases fail HMAC() outright on one; WooCommerce signs with an
	 * empty secret by default, so hand it a real (empty) key instead.
	 */
	static const unsigned char empty[1];
	static const unsigned char nomsg[1];
	unsigned int outlen = 0;

	if (key == NULL || keylen == 0) {
		key = empty;
		keylen = 0;
	}
	if (msg == NULL)
		msg = nomsg;
	if (keylen > 0x7fffffff ||
	    HMAC(EVP_sha256(), key, (int)keylen, msg, len, out, &outlen) == NULL ||
	    outlen != SIG_LEN) {
		/*
		 * Only a broken OpenSSL gets here. Carrying on with an
		 * unset digest could let a forged signature through, so
		 * stop, as for out-of-memory.
		 */
		fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"HMAC-SHA256 failed\"}\n");
		abort();
	}
}

char *
sig_b64_encode(const unsigned char *in, size_t len)
{
	char *out;
	int n;

	if (len > (size_t)0x7fffffff / 4 * 3 - 3) {
		fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"base64 input too long\"}\n");
		abort();
	}
	out = xmalloc((len + 2) / 3 * 4 + 1);
	n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	out[n] = '\0';
	return out;
}

/* Whether c is in the standard base64 alphabet (padding excluded). */
static int
sig_b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/*
 * EVP_DecodeBlock is lenient where we must not be (it skips leading and
 * trailing whitespace) and does not report padding (it returns a multiple
 * of 3), so the input is validated here first and the real length worked
 * out from the trailing '='s.
 */
int
sig_b64_decode(const char *in, unsigned char *out, size_t cap, size_t *outlen)
{
	unsigned char *tmp, stackbuf[96];
	size_t len, i, pad, full, real;
	int n;

	if (outlen != NULL)
		*outlen = 0;
	if (in == NULL)
		return -1;
	len = strlen(in);
	if (len % 4 != 0 || len > (size_t)0x7fffffff)
		return -1;
	if (len == 0)
		return 0;

	pad = 0;
	if (in[len - 1] == '=')
		pad = (in[len - 2] == '=') ? 2 : 1;
	for (i = 0; i < len - pad; i++) {
		if (!sig_b64_char((unsigned char)in[i]))
			return -1;
	}
	full = len / 4 * 3;
	real = full - pad;
	if (real > cap)
		return -1;

	/* EVP_DecodeBlock writes the padding bytes too: give it room. */
	if (full <= cap)
		tmp = out;
	else if (full <= sizeof stackbuf)
		tmp = stackbuf;
	else
		tmp = xmalloc(full);
	n = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)len);
	if (n < 0 || (size_t)n != full) {
		if (tmp != out && tmp != stackbuf)
			free(tmp);
		return -1;
	}
	if (tmp != out) {
		memcpy(out, tmp, real);
		OPENSSL_cleanse(tmp, full);
		if (tmp != stackbuf)
			free(tmp);
	}
	if (outlen != NULL)
		*outlen = real;
	return 0;
}

char *
sig_b64_hmac(const char *secret, const void *body, size_t len)
{
	unsigned char mac[SIG_LEN];

	sig_hmac_sha256(secret, secret ? strlen(secret) : 0, body, len, mac);
	return sig_b64_encode(mac, sizeof mac);
}

int
sig_verify_b64(const char *secret, const void *body, size_t len,
    const char *b64sig)
{
	unsigned char want[SIG_LEN], got[SIG_LEN];
	size_t gotlen;

	if (secret == NULL || b64sig == NULL)
		return 0;
	/* cap = SIG_LEN rejects 33+ bytes; the check below rejects fewer. */
	if (sig_b64_decode(b64sig, got, sizeof got, &gotlen) != 0 ||
	    gotlen != SIG_LEN)
		return 0;
	sig_hmac_sha256(secret, strlen(secret), body, len, want);
	return sig_equal(want, got, SIG_LEN);
}

int
sig_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}
