/*
 * render: the templates of messages. A small Mustache subset:
 *   {{name}} {{a.b.c}}   variable, HTML-escaped (in html parts)
 *   {{{name}}} {{&name}} variable, never escaped
 *   {{#name}}...{{/name}} section: repeated over a list, entered once for a
 *                        true / non-empty value (with it pushed as context)
 *   {{^name}}...{{/name}} inverted section: when missing, false, empty
 *   {{! comment }}       {{.}} the current item
 * Missing variables render empty and are counted, never a crash.
 * Templates live in <dir>/<locale>/<template>.<part> where part is subject,
 * html, txt or sms; they are loaded and syntax-checked at start.
 */
#ifndef NUDGE_RENDER_H
#define NUDGE_RENDER_H

#include <jansson.h>

#include "util.h"

#define RENDER_ESCAPE_HTML 0x1	/* escape {{var}} for HTML */

struct render_stats {
	int	missing;	/* variables not found in the context */
};

/*
 * Renders tpl (len bytes) against ctx into out. 0, or -1 with *cause on a
 * syntax error (unclosed tag or section).
 */
int	render_string(const char *tpl, size_t len, json_t *ctx, int flags,
	    struct buf *out, struct render_stats *st, char **cause);
/* Syntax check only. */
int	render_check(const char *tpl, size_t len, char **cause);

struct templates;

/* Loads and checks every template under dir. -1 with *cause naming the file. */
int	templates_load(const char *dir, struct templates **, char **cause);
void	templates_free(struct templates *);
/*
 * The text of template `name`, part `part` ("subject", "html", "txt", "sms")
 * for the first locale that has it in: locale (e.g. "pl-PL"), its language
 * ("pl"), shop_locale, its language, "en". *used gets the locale chosen.
 * NULL when none has it.
 */
const char *templates_get(const struct templates *, const char *name, const char *part,
	    const char *locale, const char *shop_locale, const char **used, size_t *len);
/* 1 if template `name` exists in some locale with part `part`. */
int	templates_has(const struct templates *, const char *name, const char *part);

#endif
