/*
 * platform: one small vtable per webhook source (Shopify, WooCommerce,
 * CartFlows, generic Standard Webhooks). verify() finds the shop and checks
 * the signature over the raw body; normalize() turns the payload into a
 * struct nevent. Neither knows about libevent: headers come through a lookup
 * function, so both are table-tested without a server.
 */
#ifndef NUDGE_PLATFORM_H
#define NUDGE_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "nevent.h"
#include "shops.h"

struct platform_req {
	const char	*request_id;
	const char	*path_tail;	/* after /webhooks/<name>/, or "" */
	const char	*body;		/* raw bytes, exactly as received */
	size_t		 body_len;
	/* Case-insensitive header lookup; NULL when absent. */
	const char	*(*header)(void *hctx, const char *name);
	void		*hctx;
	int64_t		 now_ms;
};

enum platform_status {
	PLATFORM_OK = 0,	/* verified and normalized: apply the event */
	PLATFORM_IGNORE,	/* 200, nothing to do (ping, unknown topic) */
	PLATFORM_UNAUTHORIZED,	/* 401: bad/missing signature, unknown shop */
	PLATFORM_INVALID,	/* 400: unparseable or incomplete payload */
};

struct platform_result {
	enum platform_status status;
	char		 reason[160];	/* short, safe to return to the caller */
};

struct platform {
	const char	*name;		/* the path segment: /webhooks/<name> */
	void		(*verify)(const struct platform_req *, const struct shops *,
			    const struct shop **shop, struct platform_result *);
	void		(*normalize)(const struct platform_req *, const struct shop *,
			    struct nevent *, struct platform_result *);
};

extern const struct platform platform_shopify;
extern const struct platform platform_woocommerce;
extern const struct platform platform_cartflows;
extern const struct platform platform_generic;

/*
 * Checks a shop's WooCommerce settings ("status_map", "locale_meta",
 * "consent_meta"; see docs/events.md), which shops_load cannot know.
 * 0 when they are valid or absent; -1 with *cause (caller frees) naming
 * the shop and the setting at fault. Meant for startup.
 */
int	woocommerce_check_shop(const struct shop *, char **cause);

/* The platform serving /webhooks/<name>, or NULL. */
const struct platform *platform_find(const char *name);
/* A request header's value, or NULL when absent or empty. */
const char *platform_header(const struct platform_req *, const char *name);
/* Sets res->status and a printf-formatted reason. */
void	platform_result_set(struct platform_result *, enum platform_status,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
