/*
 * platform_cartflows: the CartFlows "WooCommerce Cart Abandonment
 * Recovery" plugin's webhook (its Zapier integration).
 *
 * The plugin signs nothing: it POSTs http_build_query() of a flat array,
 * application/x-www-form-urlencoded, to whatever URL the merchant typed.
 * So the URL is the credential: POST /webhooks/cartflows/<token>, where
 * <token> is the shop's "cartflows_token" (found in constant time by
 * shops_find_by). Use a long random token; anyone holding it can start
 * cart reminders to any address.
 *
 * It fires with order_status=abandoned when the cut-off passes and again
 * with order_status=completed when an abandoned cart is recovered by an
 * order. Neither carries an id or a time; the cart is keyed by the
 * plugin's session id, which hides in the recovery link, else by the
 * customer's address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "platform.h"
#include "pnorm.h"
#include "sig.h"
#include "util.h"

/* Longest path token we look up (a shop's token is far shorter). */
#define CF_TOKEN_MAX	256

static void
cf_verify(const struct platform_req *req, const struct shops *shops,
    const struct shop **shopp, struct platform_result *res)
{
	const struct shop *shop;
	const char *tail = req->path_tail != NULL ? req->path_tail : "";
	char token[CF_TOKEN_MAX];
	size_t n;

	*shopp = NULL;
	/* The token is one path segment; a query or trailing slash is not part of it. */
	n = strcspn(tail, "/?#");
	if (n == 0) {
		platform_result_set(res, PLATFORM_UNAUTHORIZED, "missing token");
		return;
	}
	if (n >= sizeof token) {
		platform_result_set(res, PLATFORM_UNAUTHORIZED, "unknown token");
		return;
	}
	memcpy(token, tail, n);
	token[n] = '\0';
	if ((shop = shops_find_by(shops, "cartflows_token", token)) == NULL) {
		platform_result_set(res, PLATFORM_UNAUTHORIZED, "unknown token");
		return;
	}
	*shopp = shop;
	platform_result_set(res, PLATFORM_OK, "%s", "");
}

/*
 * The plugin's session id from a recovery link: a wcf_session_id query
 * parameter, or (what the plugin really writes) inside wcf_ac_token, which
 * is base64(http_build_query({wcf_session_id, ...})), in newer versions
 * followed by "|<signature>". NULL when neither holds one. Caller frees.
 */
static char *
cf_session_id(const char *url)
{
	const char *q, *v;
	struct form f, tf;
	unsigned char *raw;
	char *cause = NULL, *sid = NULL, *bar;
	size_t len, rawlen;

	if (url == NULL || (q = strchr(url, '?')) == NULL)
		return NULL;
	q++;
	len = strcspn(q, "#");
	if (form_parse(q, len, &f, &cause) != 0) {
		free(cause);
		form_free(&f);
		return NULL;
	}
	if ((v = form_get(&f, "wcf_session_id")) != NULL && *v != '\0')
		sid = xstrdup(v);
	else if ((v = form_get(&f, "wcf_ac_token")) != NULL && *v != '\0') {
		raw = xmalloc(strlen(v) + 1);
		if (sig_b64_decode(v, raw, strlen(v), &rawlen) == 0) {
			raw[rawlen] = '\0';
			if ((bar = memchr(raw, '|', rawlen)) != NULL)
				*bar = '\0';
			if (form_parse((char *)raw, strlen((char *)raw), &tf, &cause) == 0 &&
			    (v = form_get(&tf, "wcf_session_id")) != NULL && *v != '\0')
				sid = xstrdup(v);
			free(cause);
			form_free(&tf);
		}
		free(raw);
	}
	form_free(&f);
	return sid;
}

/*
 * WordPress's esc_url() writes '&' as "&#038;" in the link; a template
 * wants the URL itself.
 */
static char *
cf_unescape_url(const char *s)
{
	struct buf b;

	buf_init(&b);
	buf_add(&b, "", 0);
	while (*s != '\0') {
		if (strncmp(s, "&#038;", 6) == 0) {
			buf_addc(&b, '&');
			s += 6;
		} else if (strncmp(s, "&amp;", 5) == 0) {
			buf_addc(&b, '&');
			s += 5;
		} else
			buf_addc(&b, *s++);
	}
	return buf_detach(&b);
}

/* Appends {"title": [s, e) trimmed} unless that is empty. */
static void
cf_add_item(json_t *items, const char *s, const char *e)
{
	char *title;

	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (e == s)
		return;
	title = xstrndup(s, (size_t)(e - s));
	json_array_append_new(items, json_pack("{s:s}", "title", title));
	free(title);
}

/*
 * product_names as the plugin joins them: "A, B & C" (", " between, " & "
 * before the last). A name that itself holds ", " or " & " is split too;
 * the list is for display, and the unsplit text stays in the context as
 * product_names.
 */
static json_t *
cf_items(const char *names)
{
	json_t *items = json_array();
	const char *s = names, *p, *comma, *amp = NULL;

	if (names == NULL)
		return items;
	while ((comma = strstr(s, ", ")) != NULL) {
		cf_add_item(items, s, comma);
		s = comma + 2;
	}
	/* The last piece may be "B & C": split at its last " & ". */
	for (p = s; (p = strstr(p, " & ")) != NULL; p += 3)
		amp = p;
	if (amp != NULL) {
		cf_add_item(items, s, amp);
		s = amp + 3;
	}
	cf_add_item(items, s, s + strlen(s));
	return items;
}

/* A form value, or NULL when absent or empty. */
static const char *
cf_get(const struct form *f, const char *name)
{
	const char *v = form_get(f, name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/*
 * Called only after verify() succeeded. On any status the caller still
 * owns ev and releases it with nevent_free().
 */
static void
cf_normalize(const struct platform_req *req, const struct shop *shop,
    struct nevent *ev, struct platform_result *res)
{
	const char *status, *url;
	char key[33], hash[17], *cause = NULL, *sid, *clean;
	struct form f;
	json_t *ctx;

	ev->shop = shop;
	ev->topic = xstrdup("cartflows");
	if (form_parse(req->body ? req->body : "", req->body_len, &f, &cause) != 0) {
		platform_result_set(res, PLATFORM_INVALID, "%s", cause);
		free(cause);
		goto out;
	}
	if ((status = cf_get(&f, "order_status")) == NULL) {
		platform_result_set(res, PLATFORM_INVALID, "missing order_status");
		goto out;
	}
	ev->status = xstrdup(status);
	if (strcmp(status, "abandoned") == 0)
		ev->kind = EVENT_CART_ABANDONED;
	else if (strcmp(status, "completed") == 0)
		ev->kind = EVENT_CART_CLOSED;
	else {
		platform_result_set(res, PLATFORM_IGNORE,
		    "order_status %s not handled", status);
		goto out;
	}

	ev->email = pnorm_email(cf_get(&f, "email"));
	ev->phone = pnorm_dup(cf_get(&f, "phone_number"));
	ev->first_name = pnorm_dup(cf_get(&f, "first_name"));
	if (nevent_customer_key(ev, key) != 0) {
		ev->kind = EVENT_NONE;
		platform_result_set(res, PLATFORM_IGNORE, "no contact");
		goto out;
	}
	url = cf_get(&f, "checkout_url");
	if ((sid = cf_session_id(url)) != NULL)
		ev->checkout_token = sid;
	else
		ev->checkout_token = xasprintf("cf:%s", key);
	pnorm_body_hash(req, hash, 16);
	ev->delivery = xasprintf("cf:%s:%s:%s", status, ev->checkout_token, hash);

	ctx = json_object();
	json_object_set_new(ctx, "token", json_string(ev->checkout_token));
	pnorm_set_str(ctx, "email", ev->email);
	pnorm_set_str(ctx, "phone", ev->phone);
	pnorm_set_str(ctx, "first_name", ev->first_name);
	pnorm_set_str(ctx, "last_name", cf_get(&f, "last_name"));
	pnorm_set_str(ctx, "total", cf_get(&f, "cart_total"));
	if (url != NULL) {
		clean = cf_unescape_url(url);
		pnorm_set_str(ctx, "url", clean);
		free(clean);
	}
	pnorm_set_str(ctx, "coupon", cf_get(&f, "coupon_code"));
	pnorm_set_str(ctx, "product_names", cf_get(&f, "product_names"));
	json_object_set_new(ctx, "items", cf_items(cf_get(&f, "product_names")));
	ev->ctx = ctx;
	platform_result_set(res, PLATFORM_OK, "%s", "");
out:
	form_free(&f);
}

const struct platform platform_cartflows = {
	.name = "cartflows",
	.verify = cf_verify,
	.normalize = cf_normalize,
};
