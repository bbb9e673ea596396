/*
 * hmac_http: the second ingest baseline. bare_http plus what every
 * Shopify receiver must do before anything else: find the shop by
 * X-Shopify-Shop-Domain and check X-Shopify-Hmac-Sha256 =
 * base64(HMAC-SHA256(secret, raw body)) in constant time (OpenSSL).
 * 401 on a bad signature. Nothing is parsed, nothing is stored: the gap
 * between this and nudge-server is the cost of normalizing, planning and
 * the Redis call.
 *
 * usage: hmac_http PORT THREADS SHOP_DOMAIN SECRET
 * build: cc -O2 -o hmac_http hmac_http.c -levent -lpthread -lcrypto
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "bench_http.h"

static const char *shop_domain;
static const char *secret;

static void
hmac_cb(struct evhttp_request *req, void *arg)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	const char *domain, *given;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned char b64[2 * EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	size_t len = evbuffer_get_length(body);
	const unsigned char *data = len ? evbuffer_pullup(body, -1) : (const unsigned char *)"";
	int n;

	(void)arg;
	domain = evhttp_find_header(h, "X-Shopify-Shop-Domain");
	given = evhttp_find_header(h, "X-Shopify-Hmac-Sha256");
	if (domain == NULL || strcmp(domain, shop_domain) != 0 || given == NULL) {
		bench_reply(req, 401, "{\"error\":\"unauthorized\"}");
		return;
	}
	if (HMAC(EVP_sha256(), secret, (int)strlen(secret), data, len, mac, &maclen) == NULL) {
		bench_reply(req, 500, "{\"error\":\"internal\"}");
		return;
	}
	n = EVP_EncodeBlock(b64, mac, (int)maclen);
	if ((size_t)n != strlen(given) || CRYPTO_memcmp(b64, given, (size_t)n) != 0) {
		bench_reply(req, 401, "{\"error\":\"unauthorized\"}");
		return;
	}
	bench_reply(req, 200,
	    "{\"result\":\"scheduled\",\"event\":\"order_placed\",\"messages\":4,"
	    "\"cancelled\":0,\"request_id\":\"0000000000000000\"}");
}

int
main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: hmac_http PORT THREADS SHOP_DOMAIN SECRET\n");
		return 2;
	}
	shop_domain = argv[3];
	secret = argv[4];
	bench_serve(atoi(argv[1]), atoi(argv[2]), 1024, hmac_cb, NULL);
	return 0;
}
