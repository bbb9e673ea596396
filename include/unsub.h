/*
 * unsub: signed unsubscribe tokens. A token names a shop and a customer key
 * (never an address) and carries an HMAC under a key derived per shop, so
 * it cannot be forged, altered to another customer, or used at another
 * shop.
 */
#ifndef NUDGE_UNSUB_H
#define NUDGE_UNSUB_H

struct config;
struct shop;
struct shops;

/* The token for (shop, customer key). Caller frees. */
char	*unsub_token(const struct config *, const struct shop *, const char *customer);
/* NUDGE_PUBLIC_URL + "/u/" + token. Caller frees. */
char	*unsub_url(const struct config *, const struct shop *, const char *customer);
/* 0 and the shop and customer key when token is genuine; -1 otherwise. */
int	 unsub_verify(const struct config *, const struct shops *, const char *token,
	     const struct shop **shop, char customer[33]);

#endif
