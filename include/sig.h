/*
 * sig: HMAC-SHA256, base64 and constant-time comparison (OpenSSL), for
 * inbound webhook signatures, outbound webhook signing and unsubscribe
 * tokens.
 */
#ifndef NUDGE_SIG_H
#define NUDGE_SIG_H

#include <stddef.h>

#define SIG_LEN 32

void	 sig_hmac_sha256(const void *key, size_t keylen, const void *msg,
	     size_t len, unsigned char out[SIG_LEN]);
/* Base64 (standard alphabet, padded). Caller frees. */
char	*sig_b64_encode(const unsigned char *in, size_t len);
/* Decodes standard base64; -1 on any invalid input or when it exceeds cap. */
int	 sig_b64_decode(const char *in, unsigned char *out, size_t cap, size_t *outlen);
/* base64(HMAC-SHA256(secret, body)). Caller frees. */
char	*sig_b64_hmac(const char *secret, const void *body, size_t len);
/*
 * 1 when b64sig is the base64 HMAC-SHA256 of body under secret (compared in
 * constant time after decoding to exactly 32 bytes), 0 otherwise.
 */
int	 sig_verify_b64(const char *secret, const void *body, size_t len, const char *b64sig);
/* Constant-time equality of two byte strings of equal length. */
int	 sig_equal(const void *a, const void *b, size_t len);

#endif
