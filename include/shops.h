/*
 * shops: the tenants, loaded from NUDGE_SHOPS_FILE (a JSON list). A shop is
 * found by its domain (Shopify's X-Shopify-Shop-Domain, WooCommerce's
 * X-WC-Webhook-Source with scheme and trailing slash removed) or by another
 * string field (the CartFlows URL token). The shop's whole JSON object stays
 * available for module-specific settings.
 */
#ifndef NUDGE_SHOPS_H
#define NUDGE_SHOPS_H

#include <stddef.h>
#include <jansson.h>

/* Buffer size for a normalized domain (host, optional port, NUL). */
#define SHOPS_DOMAIN_MAX 256

enum platform_kind {
	PLATFORM_SHOPIFY,
	PLATFORM_WOOCOMMERCE,
	PLATFORM_GENERIC,
};

struct shop {
	char		*domain;	/* normalized: lower case, no scheme, no slash */
	enum platform_kind platform;
	char		*secret;
	char		*previous_secret;	/* during rotation, or NULL */
	char		*timezone;	/* IANA, default "UTC" */
	char		*locale;	/* default locale, default "en" */
	char		*from_email;
	char		*from_name;
	char		*name;		/* display name, default from_name or domain */
	int		 partition;	/* which hash-tagged partition holds its keys */
	json_t		*raw;		/* the shop's JSON object (borrowed from shops) */
};

struct shops;

/* Loads and validates. -1 with *cause naming the shop and field at fault. */
int		 shops_load(const char *path, long partitions, struct shops **, char **cause);
int		 shops_load_str(const char *json, long partitions, struct shops **, char **cause);
void		 shops_free(struct shops *);
/* Finds by domain; the argument is normalized first. NULL when unknown. */
const struct shop *shops_find(const struct shops *, const char *domain);
/* Finds the shop whose string field `field` equals value. */
const struct shop *shops_find_by(const struct shops *, const char *field, const char *value);
size_t		 shops_count(const struct shops *);
const struct shop *shops_at(const struct shops *, size_t);
/* The partition of a domain: FNV-1a 32 of the normalized domain mod n. */
int		 shops_partition(const char *domain, long partitions);
/*
 * Normalizes a domain or URL into out (lower case, no scheme, no path or
 * trailing slash, port kept), truncated to outlen - 1 bytes.
 */
void		 shops_normalize_domain(const char *in, char *out, size_t outlen);
/* "shopify", "woocommerce", "generic". */
const char	*shops_platform_name(enum platform_kind);

#endif
