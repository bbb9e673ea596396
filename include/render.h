/*
 * render: the templates of messages. A small Mustache subset:
 *   {{name}} {{a.b.c}}   variable, HTML-escaped (in html parts)
 *   {{{name}}} {{&name}} variable, never escaped
 *   {{#name}}...{{/name}} section: repeated over a list, entered once for a
 *                        true / non-empty value (with it pushed as context)
 *   {{^name}}...{{/name}} inverted section: when missing, false, empty
 *   {{! comment }}       {{.}} the current item
 * Missing variables render empty and are counted, never a crash; null
 * renders empty and is not counted (the value is known to be absent).
 * Integers print exactly, reals with up to 15 significant digits, true and
 * false as "true" and "false" (as Mustache does), objects and lists as
 * nothing.
 * Names are dotted ("order.name"); the first segment is looked up from the
 * innermost section outwards, the rest descends into it. Lines holding only
 * a section, inverted, close or comment tag (and blanks) are removed, as in
 * the Mustache spec. No partials, no delimiter changes, no filters: values
 * (money included) arrive formatted in the context. docs/templates.md has
 * the full rules and the context the worker passes.
 * Templates live in <dir>/<locale>/<template>.<part> where part is subject,
 * html, txt or sms; they are loaded and syntax-checked at start.
 */
#ifndef NUDGE_RENDER_H
#define NUDGE_RENDER_H

#include <jansson.h>

#include "util.h"

#define RENDER_ESCAPE_HTML 0x1	/* escape {{var}} for HTML */

#define RENDER_MAX_DEPTH	32		/* sections nested deeper: syntax error */
#define RENDER_MAX_OUTPUT	(4u << 20)	/* bytes one render may produce */
#define RENDER_MAX_STEPS	(1u << 22)	/* tokens one render may visit */

struct render_stats {
	int	missing;	/* variables not found in the context */
};

/*
 * Renders tpl (len bytes) against ctx into out. 0, or -1 with *cause on a
 * syntax error (unclosed tag or section).
 * Output is appended to out; on error out is left as it was. st may be NULL;
 * its counts are added to, so one struct can span every part of a message.
 * Exceeding RENDER_MAX_OUTPUT or RENDER_MAX_STEPS (nested loops over long
 * lists) is an error too, so no template can make a worker spin.
 */
int	render_string(const char *tpl, size_t len, json_t *ctx, int flags,
	    struct buf *out, struct render_stats *st, char **cause);
/* Syntax check only. */
int	render_check(const char *tpl, size_t len, char **cause);

/*
 * A template parsed once, rendered many times (render_string parses on
 * every call). Its tokens point into tpl, which must outlive it.
 * render_compile: NULL with *cause on a syntax error. render_tpl_run: as
 * render_string, without the syntax errors.
 */
struct render_tpl;
struct render_tpl *render_compile(const char *tpl, size_t len, char **cause);
int	render_tpl_run(const struct render_tpl *, json_t *ctx, int flags,
	    struct buf *out, struct render_stats *st, char **cause);
void	render_tpl_free(struct render_tpl *);

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
/* templates_get's template, parsed (for rendering). NULL when no locale has it. */
const struct render_tpl *templates_get_compiled(const struct templates *, const char *name,
	    const char *part, const char *locale, const char *shop_locale, const char **used);
/* 1 if template `name` exists in some locale with part `part`. */
int	templates_has(const struct templates *, const char *name, const char *part);
/*
 * Checks the set as a whole, beyond each file's syntax: every template and
 * part present in some locale exists in "en" (the last fallback, so a lookup
 * never comes back empty for a template that exists), and a locale that has
 * an email body (html or txt) of a template also has its subject (otherwise
 * a translated body would go out under an English subject).
 * 0, or -1 with *cause (caller frees) naming the first offender.
 */
int	templates_check_all(const struct templates *, char **cause);
/* Number of loaded (locale, template, part) files. */
size_t	templates_count(const struct templates *);

#endif
