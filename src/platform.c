/*
 * platform: the table of webhook sources, found by the path segment of
 * /webhooks/<name>. Adding a source is one vtable file and one line here
 * (plus its extern in platform.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "platform.h"

static const struct platform *const platform_table[] = {
	&platform_shopify,
	&platform_woocommerce,
	&platform_cartflows,
	&platform_generic,
};

const struct platform *
platform_find(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < sizeof platform_table / sizeof platform_table[0]; i++) {
		if (strcmp(platform_table[i]->name, name) == 0)
			return platform_table[i];
	}
	return NULL;
}

/* The reason is truncated to fit; it is for people, not for parsing. */
void
platform_result_set(struct platform_result *res, enum platform_status status,
    const char *fmt, ...)
{
	va_list ap;

	res->status = status;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof res->reason, fmt, ap);
	va_end(ap);
}

const char *
platform_header(const struct platform_req *req, const char *name)
{
	const char *v;

	if (req->header == NULL || (v = req->header(req->hctx, name)) == NULL ||
	    *v == '\0')
		return NULL;
	return v;
}
