/*
 * compose: template context and rendering of one message.
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "clock.h"
#include "compose.h"
#include "config.h"
#include "money.h"
#include "render.h"
#include "sched.h"
#include "shops.h"
#include "textutil.h"
#include "unsub.h"
#include "util.h"

/* The first string found at key in the context parts, in order. */
static const char *
compose_pick(json_t *ctx, const char *key)
{
	static const char *parts[] = { "order", "cart", "ship", NULL };
	int i;

	for (i = 0; parts[i] != NULL; i++) {
		json_t *v = json_object_get(json_object_get(ctx, parts[i]), key);

		if (json_is_string(v) && *json_string_value(v) != '\0')
			return json_string_value(v);
	}
	return NULL;
}

/*
 * The shipment as templates see it: the parts of each shipping event merged
 * in the order they happen, so a later scan without a tracking number
 * keeps the number an earlier one gave, and "status" is the latest.
 */
static json_t *
compose_ship(json_t *ctx)
{
	json_t *order = json_object_get(ctx, "order");
	static const char *parts[] = { "ship", "ship_ofd", "ship_delivered", "ship_failed" };
	json_t *ship = json_object();
	size_t i;

	for (i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		json_t *p = json_object_get(ctx, parts[i]);

		if (json_is_object(p))
			json_object_update(ship, p);
	}
	/* a carrier scan names no order; the order's own part does */
	if (json_object_get(ship, "order_name") == NULL &&
	    json_is_string(json_object_get(order, "name")))
		json_object_set(ship, "order_name", json_object_get(order, "name"));
	return ship;
}

/* A date for people: in the shop's time zone and the customer's language. */
static void
compose_date(int64_t ms, const char *locale, const struct shop *shop, char *out, size_t len)
{
	char when[32];

	snprintf(when, sizeof when, "%lld", (long long)ms);
	text_date(when, locale, shop->timezone, TEXT_DATE_TIME, out, len);
}

/* Replaces part[key], a decimal amount, with its display form. */
static void
compose_money_field(json_t *obj, const char *key, const char *currency, const char *locale)
{
	json_t *v = json_object_get(obj, key);
	char out[MONEY_MAX];

	if (!json_is_string(v) || currency == NULL)
		return;
	money_format(json_string_value(v), currency, locale, out, sizeof out);
	json_object_set_new(obj, key, json_string(out));
}

/*
 * A part with its money as the customer reads it: "€1,234.50", "1.234,50 €",
 * "1 234,50 zł". Templates print amounts as they come; the currency is
 * inside. Shallow copies (of the part and of each item): whatever is not
 * reformatted is shared with the claimed context, which stays untouched,
 * instead of copying the whole order for every message.
 */
static json_t *
compose_money(json_t *part, const char *locale)
{
	const char *cur = json_string_value(json_object_get(part, "currency"));
	json_t *copy, *items, *list, *it, *ic;
	size_t i;

	if (!json_is_object(part))
		return json_incref(part);
	copy = json_copy(part);
	compose_money_field(copy, "total", cur, locale);
	compose_money_field(copy, "subtotal", cur, locale);
	if (json_is_array(items = json_object_get(part, "items"))) {
		list = json_array();
		json_array_foreach(items, i, it) {
			ic = json_is_object(it) ? json_copy(it) : json_incref(it);
			compose_money_field(ic, "price", cur, locale);
			compose_money_field(ic, "line_price", cur, locale);
			json_array_append_new(list, ic);
		}
		json_object_set_new(copy, "items", list);
	}
	return copy;
}

/*
 * The discount a step offers: a code from the shop's pool (claimed once for
 * this message), else the shop's static "discount" setting, else none.
 */
static void
compose_discount(json_t *c, const struct config *cfg, const struct shop *shop,
    const struct sched_msg *m, const char *locale)
{
	json_t *st = shop->raw ? json_object_get(shop->raw, "discount") : NULL;
	json_t *d, *pct = json_object_get(st, "percent");
	const char *code = m->code;
	int64_t expires = m->code_expires_ms;
	char when[64];

	if (code == NULL) {
		json_t *sc = json_object_get(st, "code"), *vh = json_object_get(st, "valid_hours");

		if (!json_is_string(sc) || *json_string_value(sc) == '\0')
			return;
		code = json_string_value(sc);
		expires = clock_now_ms() + (json_is_integer(vh) ? json_integer_value(vh) :
		    cfg->discount_valid_hours) * 3600000;
	}
	d = json_pack("{s:s}", "code", code);
	if (json_is_integer(pct))
		json_object_set(d, "percent", pct);
	if (expires > 0) {
		compose_date(expires, locale, shop, when, sizeof when);
		json_object_set_new(d, "expires_at", json_string(when));
	}
	json_object_set_new(c, "discount", d);
}

/*
 * Products to suggest after a delivery: the shop's "cross_sell" setting
 * lists them by the product bought ("by_product": {"<product id>": [...]})
 * with a "default" list; items already bought are left out; three at most.
 */
static json_t *
compose_cross_sell(const struct shop *shop, json_t *ctx)
{
	json_t *cs = shop->raw ? json_object_get(shop->raw, "cross_sell") : NULL;
	json_t *by = json_object_get(cs, "by_product"), *items, *it, *out = json_array();
	json_t *bought = json_object_get(json_object_get(ctx, "order"), "items");
	size_t i, j, k;

	for (k = 0; k <= json_array_size(bought); k++) {
		const char *pid = NULL;

		if (k < json_array_size(bought))
			pid = json_string_value(json_object_get(json_array_get(bought, k), "product_id"));
		items = k < json_array_size(bought) ? (pid ? json_object_get(by, pid) : NULL) :
		    json_object_get(cs, "default");
		json_array_foreach(items, i, it) {
			const char *t = json_string_value(json_object_get(it, "title"));
			const char *ip = json_string_value(json_object_get(it, "product_id"));
			int dup = t == NULL || json_object_get(it, "url") == NULL;

			for (j = 0; !dup && j < json_array_size(out); j++)
				dup = strcmp(t, json_string_value(json_object_get(json_array_get(out, j),
				    "title"))) == 0;
			for (j = 0; !dup && ip && j < json_array_size(bought); j++) {
				const char *b = json_string_value(json_object_get(json_array_get(bought,
				    j), "product_id"));

				dup = b != NULL && strcmp(b, ip) == 0;
			}
			if (!dup && json_array_size(out) < 3)
				json_array_append(out, it);
		}
	}
	return out;
}

/* obj[key] = value, a string, or null when value is NULL. */
static void
compose_set(json_t *obj, const char *key, const char *value)
{
	json_object_set_new(obj, key, value != NULL ? json_string(value) : json_null());
}

/* A string setting of the shop (shops file), or def. */
static const char *
compose_shop_str(const struct shop *shop, const char *key, const char *def)
{
	json_t *v = shop->raw ? json_object_get(shop->raw, key) : NULL;

	return json_is_string(v) && *json_string_value(v) ? json_string_value(v) : def;
}

json_t *
compose_context(const struct config *cfg, const struct shop *shop, const struct sched_msg *m,
    const char *fmt_locale)
{
	json_t *c = json_object(), *part, *o;
	const char *key;
	const char *first = compose_pick(m->ctx, "first_name");
	const char *email = compose_pick(m->ctx, "email");
	const char *locale = compose_pick(m->ctx, "locale");
	const char *url = compose_shop_str(shop, "url", NULL);
	char *def = xasprintf("https://%s", shop->domain);

	(void)cfg;
	if (url == NULL)
		url = def;
	/* built key by key: json_pack parses its format on every call */
	o = json_object();
	compose_set(o, "name", shop->name ? shop->name : shop->domain);
	compose_set(o, "domain", shop->domain);
	compose_set(o, "url", url);
	compose_set(o, "review_url", compose_shop_str(shop, "review_url", url));
	compose_set(o, "loyalty_url", compose_shop_str(shop, "loyalty_url", url));
	json_object_set_new(c, "shop", o);
	free(def);
	o = json_object();
	compose_set(o, "first_name", first);
	compose_set(o, "email", email);
	compose_set(o, "locale", locale);
	json_object_set_new(c, "customer", o);
	json_object_foreach(m->ctx, key, part) {
		/* formatting must not touch the claimed context: copies where it changes */
		if (strcmp(key, "order") == 0 || strcmp(key, "cart") == 0)
			json_object_set_new(c, key, compose_money(part, fmt_locale));
		else if (strncmp(key, "ship", 4) != 0)
			json_object_set(c, key, part);
	}
	json_object_set_new(c, "ship", compose_ship(m->ctx));
	o = json_object();
	compose_set(o, "id", m->id);
	compose_set(o, "flow", m->flow);
	compose_set(o, "step", m->step);
	json_object_set_new(c, "message", o);
	if (m->discount)
		compose_discount(c, cfg, shop, m, fmt_locale);
	if (strcmp(m->step, "cross_sell") == 0 || strcmp(m->template, "cross_sell") == 0) {
		json_t *cs = compose_cross_sell(shop, m->ctx), *it;
		const char *cur = json_string_value(json_object_get(json_object_get(m->ctx, "order"),
		    "currency"));
		size_t i;

		json_array_foreach(cs, i, it) {
			json_t *copy = json_deep_copy(it);

			compose_money_field(copy, "price", cur, fmt_locale);
			json_array_set_new(cs, i, copy);
		}
		json_object_set_new(c, "cross_sell", cs);
	}
	if (strcmp(m->cls, "promotional") == 0 && m->customer[0] != '\0') {
		char *u = unsub_url(cfg, shop, m->customer);

		json_object_set_new(c, "unsubscribe_url", json_string(u));
		free(u);
	}
	return c;
}

/* Renders one part; NULL (no error) when no locale has it. */
static int
compose_part(const struct templates *t, const struct sched_msg *m, const char *part,
    const char *locale, const char *shop_locale, json_t *ctx, int flags, char **out,
    const char **used, int *missing, char **cause)
{
	struct render_stats st = { 0 };
	const struct render_tpl *tpl;
	struct buf b;

	*out = NULL;
	if ((tpl = templates_get_compiled(t, m->template, part, locale, shop_locale,
	    used)) == NULL)
		return 0;
	buf_init(&b);
	if (render_tpl_run(tpl, ctx, flags, &b, &st, cause) == -1) {
		buf_free(&b);
		return -1;
	}
	*missing += st.missing;
	*out = buf_detach(&b);
	return 0;
}

int
compose_message(const struct templates *t, const struct config *cfg, const struct shop *shop,
    const struct sched_msg *m, struct composed *out, char **cause)
{
	const char *locale, *used = NULL, *to;
	int sms = strcmp(m->channel, "sms") == 0;
	json_t *ctx;
	char *p;

	memset(out, 0, sizeof *out);
	to = compose_pick(m->ctx, sms ? "phone" : "email");
	if (to == NULL && json_object_get(m->ctx, "order") == NULL &&
	    json_object_get(m->ctx, "cart") == NULL) {
		*cause = xasprintf("the %s's contact details have not arrived yet", m->subject[0] == 'k' ?
		    "checkout" : "order");
		return COMPOSE_LATER;
	}
	if (to == NULL) {
		*cause = xasprintf("no %s for this customer", sms ? "phone number" : "e-mail address");
		return COMPOSE_SKIP;
	}
	out->to = xstrdup(to);
	if ((p = (char *)compose_pick(m->ctx, "first_name")) != NULL)
		out->to_name = xstrdup(p);
	locale = compose_pick(m->ctx, "locale");
	/* the language the message will be in decides how money and dates read */
	if (templates_get(t, m->template, sms ? "sms" : "subject", locale, shop->locale,
	    &used, NULL) == NULL)
		used = NULL;
	ctx = compose_context(cfg, shop, m, used ? used : "en");
	used = NULL;
	if (json_is_string(json_object_get(ctx, "unsubscribe_url")))
		out->unsubscribe_url = xstrdup(json_string_value(json_object_get(ctx,
		    "unsubscribe_url")));
	if (sms) {
		if (compose_part(t, m, "sms", locale, shop->locale, ctx, 0, &out->text, &used,
		    &out->missing, cause) == -1)
			goto fail;
		if (out->text == NULL) {
			*cause = xasprintf("template \"%s\" has no .sms part in any locale", m->template);
			goto fail;
		}
	} else {
		if (compose_part(t, m, "subject", locale, shop->locale, ctx, 0, &out->subject,
		    &used, &out->missing, cause) == -1 ||
		    compose_part(t, m, "html", locale, shop->locale, ctx, RENDER_ESCAPE_HTML,
		    &out->html, &used, &out->missing, cause) == -1 ||
		    compose_part(t, m, "txt", locale, shop->locale, ctx, 0, &out->text, &used,
		    &out->missing, cause) == -1)
			goto fail;
		if (out->subject == NULL || (out->html == NULL && out->text == NULL)) {
			*cause = xasprintf("template \"%s\" needs .subject and .html or .txt",
			    m->template);
			goto fail;
		}
		/* a subject is one line */
		for (p = out->subject; *p; p++)
			if (*p == '\r' || *p == '\n')
				*p = ' ';
		while (p > out->subject && p[-1] == ' ')
			*--p = '\0';
	}
	out->locale = xstrdup(used ? used : "en");
	json_decref(ctx);
	return COMPOSE_OK;
fail:
	json_decref(ctx);
	compose_free(out);
	return COMPOSE_BROKEN;
}

void
compose_free_parts(struct composed *c)
{
	free(c->subject);
	free(c->html);
	free(c->text);
	c->subject = c->html = c->text = NULL;
}

void
compose_free(struct composed *c)
{
	free(c->to);
	free(c->to_name);
	free(c->locale);
	free(c->subject);
	free(c->html);
	free(c->text);
	free(c->unsubscribe_url);
	memset(c, 0, sizeof *c);
}
