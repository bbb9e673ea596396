/*
 * compose: template context and rendering of one message.
 */
#include <stdlib.h>
#include <string.h>

#include "compose.h"
#include "config.h"
#include "render.h"
#include "sched.h"
#include "shops.h"
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
	static const char *parts[] = { "ship", "ship_ofd", "ship_delivered", "ship_failed" };
	json_t *ship = json_object();
	size_t i;

	for (i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		json_t *p = json_object_get(ctx, parts[i]);

		if (json_is_object(p))
			json_object_update(ship, p);
	}
	return ship;
}

/* A string setting of the shop (shops file), or def. */
static const char *
compose_shop_str(const struct shop *shop, const char *key, const char *def)
{
	json_t *v = shop->raw ? json_object_get(shop->raw, key) : NULL;

	return json_is_string(v) && *json_string_value(v) ? json_string_value(v) : def;
}

json_t *
compose_context(const struct config *cfg, const struct shop *shop, const struct sched_msg *m)
{
	json_t *c = json_object(), *part;
	const char *key;
	const char *first = compose_pick(m->ctx, "first_name");
	const char *email = compose_pick(m->ctx, "email");
	const char *locale = compose_pick(m->ctx, "locale");
	const char *url = compose_shop_str(shop, "url", NULL);
	char *def = xasprintf("https://%s", shop->domain);

	(void)cfg;
	if (url == NULL)
		url = def;
	json_object_set_new(c, "shop", json_pack("{s:s, s:s, s:s, s:s, s:s}",
	    "name", shop->name ? shop->name : shop->domain,
	    "domain", shop->domain, "url", url,
	    "review_url", compose_shop_str(shop, "review_url", url),
	    "loyalty_url", compose_shop_str(shop, "loyalty_url", url)));
	free(def);
	json_object_set_new(c, "customer", json_pack("{s:s?, s:s?, s:s?}",
	    "first_name", first, "email", email, "locale", locale));
	json_object_foreach(m->ctx, key, part)
		if (strncmp(key, "ship", 4) != 0)
			json_object_set(c, key, part);
	json_object_set_new(c, "ship", compose_ship(m->ctx));
	json_object_set_new(c, "message", json_pack("{s:s, s:s, s:s}",
	    "id", m->id, "flow", m->flow, "step", m->step));
	return c;
}

/* Renders one part; NULL (no error) when no locale has it. */
static int
compose_part(const struct templates *t, const struct sched_msg *m, const char *part,
    const char *locale, const char *shop_locale, json_t *ctx, int flags, char **out,
    const char **used, int *missing, char **cause)
{
	struct render_stats st = { 0 };
	struct buf b;
	const char *text;
	size_t len;

	*out = NULL;
	if ((text = templates_get(t, m->template, part, locale, shop_locale, used, &len)) == NULL)
		return 0;
	buf_init(&b);
	if (render_string(text, len, ctx, flags, &b, &st, cause) == -1) {
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
	ctx = compose_context(cfg, shop, m);
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
compose_free(struct composed *c)
{
	free(c->to);
	free(c->to_name);
	free(c->locale);
	free(c->subject);
	free(c->html);
	free(c->text);
	memset(c, 0, sizeof *c);
}
