/*
 * unsub: token = base64url(payload) "." base64url(mac[0..15]),
 * payload = "1|<shop domain>|<customer key>", mac = HMAC-SHA256(key, payload),
 * key = NUDGE_UNSUBSCRIBE_SECRET if set, else HMAC-SHA256(shop secret,
 * "nudge-unsubscribe"). Deriving from the shop's secret makes a token of
 * one shop useless at another without any extra setting; an operator who
 * rotates shop secrets sets NUDGE_UNSUBSCRIBE_SECRET so old links keep
 * working.
 */
#include <string.h>

#include "config.h"
#include "shops.h"
#include "sig.h"
#include "unsub.h"
#include "util.h"

#define UNSUB_MAC_LEN 16

static void
unsub_key(const struct config *cfg, const struct shop *shop, unsigned char key[SIG_LEN])
{
	static const char label[] = "nudge-unsubscribe";

	if (cfg->unsubscribe_secret != NULL && *cfg->unsubscribe_secret != '\0')
		sig_hmac_sha256(cfg->unsubscribe_secret, strlen(cfg->unsubscribe_secret),
		    shop->domain, strlen(shop->domain), key);
	else
		sig_hmac_sha256(shop->secret, strlen(shop->secret), label, sizeof label - 1, key);
}

/* base64url without padding. */
static void
unsub_b64url(struct buf *b, const unsigned char *in, size_t len)
{
	char *s = sig_b64_encode(in, len), *p;

	for (p = s; *p && *p != '='; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
		buf_addc(b, *p);
	}
	free(s);
}

/* Decodes base64url (no padding) into out; -1 on bad input. */
static int
unsub_b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap, size_t *outlen)
{
	struct buf b;
	size_t i;
	int rc;

	buf_init(&b);
	for (i = 0; i < len; i++) {
		char c = in[i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (c == '+' || c == '/' || c == '=')
			break;
		buf_addc(&b, c);
	}
	if (i != len || b.len == 0) {
		buf_free(&b);
		return -1;
	}
	while (b.len % 4 != 0)
		buf_addc(&b, '=');
	rc = sig_b64_decode(b.data, out, cap, outlen);
	buf_free(&b);
	return rc;
}

char *
unsub_token(const struct config *cfg, const struct shop *shop, const char *customer)
{
	unsigned char key[SIG_LEN], mac[SIG_LEN];
	struct buf t;
	char *payload = xasprintf("1|%s|%s", shop->domain, customer);

	unsub_key(cfg, shop, key);
	sig_hmac_sha256(key, sizeof key, payload, strlen(payload), mac);
	buf_init(&t);
	unsub_b64url(&t, (const unsigned char *)payload, strlen(payload));
	buf_addc(&t, '.');
	unsub_b64url(&t, mac, UNSUB_MAC_LEN);
	free(payload);
	return buf_detach(&t);
}

char *
unsub_url(const struct config *cfg, const struct shop *shop, const char *customer)
{
	char *tok = unsub_token(cfg, shop, customer);
	const char *base = cfg->public_url;
	size_t n = strlen(base);
	char *url;

	while (n > 0 && base[n - 1] == '/')
		n--;
	url = xasprintf("%.*s/u/%s", (int)n, base, tok);
	free(tok);
	return url;
}

int
unsub_verify(const struct config *cfg, const struct shops *shops, const char *token,
    const struct shop **shopp, char customer[33])
{
	unsigned char payload[512], mac[64], key[SIG_LEN], want[SIG_LEN];
	const char *dot = strchr(token, '.'), *bar1, *bar2;
	const struct shop *shop;
	size_t plen, mlen;
	char dom[SHOPS_DOMAIN_MAX];

	if (dot == NULL ||
	    unsub_b64url_decode(token, (size_t)(dot - token), payload, sizeof payload - 1, &plen) == -1 ||
	    unsub_b64url_decode(dot + 1, strlen(dot + 1), mac, sizeof mac, &mlen) == -1 ||
	    mlen != UNSUB_MAC_LEN)
		return -1;
	payload[plen] = '\0';
	if (strncmp((char *)payload, "1|", 2) != 0 ||
	    (bar1 = strchr((char *)payload + 2, '|')) == NULL)
		return -1;
	bar2 = bar1 + 1;
	if ((size_t)(bar1 - (char *)payload - 2) >= sizeof dom || strlen(bar2) != 32 ||
	    strspn(bar2, "0123456789abcdef") != 32)
		return -1;
	memcpy(dom, payload + 2, (size_t)(bar1 - (char *)payload - 2));
	dom[bar1 - (char *)payload - 2] = '\0';
	if ((shop = shops_find(shops, dom)) == NULL)
		return -1;
	unsub_key(cfg, shop, key);
	sig_hmac_sha256(key, sizeof key, payload, plen, want);
	if (!sig_equal(want, mac, UNSUB_MAC_LEN))
		return -1;
	*shopp = shop;
	memcpy(customer, bar2, 33);
	return 0;
}
