/*
 * render: the Mustache subset of render.h, rendered against a jansson value.
 *
 * A template is parsed once into a flat token list in which every section
 * records the index of its close, so rendering is one walk over the list
 * and never rescans text. The worker's templates are parsed when loaded
 * (render_compile) and rendered many times from their tokens. Nesting is
 * capped at RENDER_MAX_DEPTH while parsing, which bounds both the render
 * recursion and the context stack.
 * Templates come from operators, but this code is fuzzed: arbitrary bytes
 * must give an error, never a crash, a read past len or a hang.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"

enum render_tok_type {
	TOK_TEXT,	/* literal bytes */
	TOK_VAR,	/* {{name}}: escaped under RENDER_ESCAPE_HTML */
	TOK_RAW,	/* {{{name}}} or {{&name}}: never escaped */
	TOK_SECTION,	/* {{#name}} */
	TOK_INVERTED,	/* {{^name}} */
	TOK_CLOSE,	/* {{/name}} */
};

struct render_tok {
	enum render_tok_type	 type;
	const char		*s;	/* text, or the trimmed name; into the template */
	size_t			 len;
	size_t			 end;	/* sections: index of the matching close */
};

struct render_parser {
	const char		*tpl;
	size_t			 len;
	size_t			 text;	/* start of literal text not yet emitted */
	size_t			 line;	/* line number of byte lpos */
	size_t			 lpos;	/* newlines counted up to here */

	struct render_tok	*toks;
	size_t			 ntoks;
	size_t			 cap;

	int			 depth;	/* sections open */
	size_t			 open[RENDER_MAX_DEPTH];	/* their token index */
	size_t			 openline[RENDER_MAX_DEPTH];	/* and line */
	char			*cause;
};

/* Names quoted in errors are cut here: the input may be anything. */
#define RENDER_NAME_QUOTE 64

static int
render_qlen(size_t len)
{
	return len > RENDER_NAME_QUOTE ? RENDER_NAME_QUOTE : (int)len;
}

static int
render_isblank(char c)
{
	return c == ' ' || c == '\t';
}

static int
render_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Line number of byte at. Tags are visited in order, so counting resumes
 * where it stopped and the whole parse stays linear.
 */
static size_t
render_line(struct render_parser *p, size_t at)
{
	for (; p->lpos < at; p->lpos++) {
		if (p->tpl[p->lpos] == '\n')
			p->line++;
	}
	return p->line;
}

static size_t
render_push(struct render_parser *p, enum render_tok_type type, const char *s,
    size_t len)
{
	struct render_tok *t;

	if (p->ntoks == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 32;
		p->toks = xrealloc(p->toks, p->cap * sizeof *p->toks);
	}
	t = &p->toks[p->ntoks];
	t->type = type;
	t->s = s;
	t->len = len;
	t->end = 0;
	return p->ntoks++;
}

static void
render_text(struct render_parser *p, size_t from, size_t to)
{
	if (to > from)
		render_push(p, TOK_TEXT, p->tpl + from, to - from);
}

/*
 * If the tag at [ts, te) stands alone on its line (only blanks around it),
 * returns 1 with [*ls, *after) the span to drop: the leading blanks, the
 * tag, trailing blanks and the line's newline. Blanks before ts count only
 * back to p->text, since a tag before them on the same line spoils it.
 */
static int
render_standalone(struct render_parser *p, size_t ts, size_t te, size_t *ls,
    size_t *after)
{
	const char *tpl = p->tpl;
	size_t l = ts, r = te;

	while (l > p->text && render_isblank(tpl[l - 1]))
		l--;
	if (l != 0 && tpl[l - 1] != '\n')
		return 0;
	while (r < p->len && render_isblank(tpl[r]))
		r++;
	if (r < p->len && tpl[r] == '\n')
		r++;
	else if (r + 1 < p->len && tpl[r] == '\r' && tpl[r + 1] == '\n')
		r += 2;
	else if (r != p->len)
		return 0;
	*ls = l;
	*after = r;
	return 1;
}

/* Handles one tag; 0 or -1 with p->cause. */
static int
render_tag(struct render_parser *p, char sigil, const char *name, size_t nlen,
    size_t line)
{
	struct render_tok *o;
	size_t i, idx;

	if (sigil == '!')
		return 0;
	if (sigil == '>' || sigil == '=') {
		p->cause = xasprintf("unsupported tag '{{%c' at line %zu", sigil, line);
		return -1;
	}
	if (nlen == 0) {
		p->cause = xasprintf("empty tag at line %zu", line);
		return -1;
	}
	for (i = 0; i < nlen; i++) {
		if (render_isspace(name[i]) || name[i] == '{' || name[i] == '}') {
			p->cause = xasprintf("invalid name '%.*s' at line %zu",
			    render_qlen(nlen), name, line);
			return -1;
		}
	}

	switch (sigil) {
	case '#':
	case '^':
		if (p->depth == RENDER_MAX_DEPTH) {
			p->cause = xasprintf("sections nested deeper than %d at line %zu",
			    RENDER_MAX_DEPTH, line);
			return -1;
		}
		idx = render_push(p, sigil == '#' ? TOK_SECTION : TOK_INVERTED, name, nlen);
		p->open[p->depth] = idx;
		p->openline[p->depth] = line;
		p->depth++;
		return 0;
	case '/':
		if (p->depth == 0) {
			p->cause = xasprintf("unexpected close '%.*s' at line %zu",
			    render_qlen(nlen), name, line);
			return -1;
		}
		o = &p->toks[p->open[p->depth - 1]];
		if (o->len != nlen || memcmp(o->s, name, nlen) != 0) {
			p->cause = xasprintf("mismatched close '%.*s' at line %zu "
			    "(expected '%.*s')", render_qlen(nlen), name, line,
			    render_qlen(o->len), o->s);
			return -1;
		}
		idx = render_push(p, TOK_CLOSE, name, nlen);
		p->toks[p->open[--p->depth]].end = idx;
		return 0;
	case '&':
	case '{':
		render_push(p, TOK_RAW, name, nlen);
		return 0;
	default:
		render_push(p, TOK_VAR, name, nlen);
		return 0;
	}
}

/* Parses the whole template into p->toks. 0, or -1 with p->cause. */
static int
render_parse(struct render_parser *p)
{
	const char *tpl = p->tpl, *m;
	size_t pos = 0, ts, ns, ne, te, ls, after, line;
	char sigil;

	while (pos < p->len &&
	    (m = memmem(tpl + pos, p->len - pos, "{{", 2)) != NULL) {
		ts = (size_t)(m - tpl);
		line = render_line(p, ts);
		if (ts + 2 < p->len && tpl[ts + 2] == '{') {
			sigil = '{';
			ns = ts + 3;
			m = memmem(tpl + ns, p->len - ns, "}}}", 3);
			te = m ? (size_t)(m - tpl) + 3 : 0;
		} else {
			ns = ts + 2;
			m = memmem(tpl + ns, p->len - ns, "}}", 2);
			te = m ? (size_t)(m - tpl) + 2 : 0;
			sigil = 0;
			if (m != NULL && ns < (size_t)(m - tpl) && tpl[ns] != '\0' &&
			    strchr("#^/!&>=", tpl[ns]) != NULL)
				sigil = tpl[ns++];
		}
		if (m == NULL) {
			p->cause = xasprintf("unclosed tag at line %zu", line);
			return -1;
		}
		ne = (size_t)(m - tpl);
		while (ns < ne && render_isspace(tpl[ns]))
			ns++;
		while (ne > ns && render_isspace(tpl[ne - 1]))
			ne--;

		if ((sigil == '#' || sigil == '^' || sigil == '/' || sigil == '!') &&
		    render_standalone(p, ts, te, &ls, &after)) {
			render_text(p, p->text, ls);
			te = after;
		} else
			render_text(p, p->text, ts);
		if (render_tag(p, sigil, tpl + ns, ne - ns, line) != 0)
			return -1;
		p->text = pos = te;
	}
	render_text(p, p->text, p->len);
	if (p->depth > 0) {
		struct render_tok *o = &p->toks[p->open[p->depth - 1]];

		p->cause = xasprintf("unclosed section '%.*s' opened at line %zu",
		    render_qlen(o->len), o->s, p->openline[p->depth - 1]);
		return -1;
	}
	return 0;
}

static int
render_parse_all(struct render_parser *p, const char *tpl, size_t len,
    char **cause)
{
	memset(p, 0, sizeof *p);
	p->tpl = tpl;
	p->len = tpl == NULL ? 0 : len;
	p->line = 1;
	if (render_parse(p) == 0)
		return 0;
	if (cause != NULL)
		*cause = p->cause;
	else
		free(p->cause);
	free(p->toks);
	p->toks = NULL;
	return -1;
}

/* A parsed template: its tokens point into the text, which outlives them. */
struct render_tpl {
	struct render_tok	*toks;
	size_t			 ntoks;
	size_t			 len;	/* of the text: what the output is sized by */
};

struct render_tpl *
render_compile(const char *tpl, size_t len, char **cause)
{
	struct render_parser p;
	struct render_tpl *t;

	if (render_parse_all(&p, tpl, len, cause) != 0)
		return NULL;
	t = xmalloc(sizeof *t);
	t->toks = p.toks;
	t->ntoks = p.ntoks;
	t->len = p.len;
	return t;
}

void
render_tpl_free(struct render_tpl *t)
{
	if (t == NULL)
		return;
	free(t->toks);
	free(t);
}

int
render_check(const char *tpl, size_t len, char **cause)
{
	struct render_parser p;

	if (render_parse_all(&p, tpl, len, cause) != 0)
		return -1;
	free(p.toks);
	return 0;
}

/* Rendering. */

struct render_state {
	const struct render_tok	*toks;
	int			 flags;
	struct buf		*out;
	size_t			 start;	/* out->len before this render */
	struct render_stats	*st;
	size_t			 steps;
	const char		*over;	/* which limit was exceeded */

	/* Innermost last. Root plus one per open section: depth-bounded. */
	json_t			*stack[RENDER_MAX_DEPTH + 1];
	int			 top;
};

/*
 * Resolves a dotted name: the first segment is looked up from the innermost
 * context outwards (objects only), the rest descends. NULL when missing; a
 * JSON null, when present, is returned as such.
 */
static json_t *
render_lookup(const struct render_state *r, const char *name, size_t len)
{
	json_t *v = NULL;
	const char *dot;
	size_t seg;
	int i;

	if (len == 1 && name[0] == '.')
		return r->top > 0 ? r->stack[r->top - 1] : NULL;
	dot = memchr(name, '.', len);
	seg = dot ? (size_t)(dot - name) : len;
	if (seg == 0)
		return NULL;
	for (i = r->top - 1; i >= 0 && v == NULL; i--) {
		if (json_is_object(r->stack[i]))
			v = json_object_getn(r->stack[i], name, seg);
	}
	while (v != NULL && seg < len) {
		name += seg + 1;
		len -= seg + 1;
		dot = memchr(name, '.', len);
		seg = dot ? (size_t)(dot - name) : len;
		if (seg == 0 || !json_is_object(v))
			return NULL;
		v = json_object_getn(v, name, seg);
	}
	return v;
}

/* Whether a section is entered; an inverted section is entered otherwise. */
static int
render_truthy(const json_t *v)
{
	if (v == NULL)
		return 0;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
	case JSON_TRUE:
		return 1;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0.0;
	default:
		return 0;
	}
}

static void
render_escaped(struct buf *out, const char *s, size_t len)
{
	size_t i, run = 0;
	const char *e;

	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '&':  e = "&amp;"; break;
		case '<':  e = "&lt;"; break;
		case '>':  e = "&gt;"; break;
		case '"':  e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		default:   continue;
		}
		buf_add(out, s + run, i - run);
		buf_adds(out, e);
		run = i + 1;
	}
	buf_add(out, s + run, len - run);
}

static void
render_value(struct render_state *r, const json_t *v, int escape)
{
	char num[64];
	const char *s;
	size_t len;
	int n;

	switch (json_typeof(v)) {
	case JSON_STRING:
		s = json_string_value(v);
		len = json_string_length(v);
		break;
	case JSON_INTEGER:
		n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		s = num;
		len = n > 0 ? (size_t)n : 0;
		break;
	case JSON_REAL:
		/* %.15g: exact for anything typed as a decimal, no trailing zeros. */
		n = snprintf(num, sizeof num, "%.15g", json_real_value(v));
		s = num;
		len = n > 0 ? (size_t)n : 0;
		break;
	case JSON_TRUE:
		s = "true";
		len = 4;
		break;
	case JSON_FALSE:
		s = "false";
		len = 5;
		break;
	default:
		return;		/* null, object, array: nothing */
	}
	if (escape)
		render_escaped(r->out, s, len);
	else
		buf_add(r->out, s, len);
}

/* Counts one unit of work; -1 once a limit is passed. */
static int
render_step(struct render_state *r)
{
	if (++r->steps > RENDER_MAX_STEPS) {
		r->over = "template too expensive to render";
		return -1;
	}
	if (r->out->len - r->start > RENDER_MAX_OUTPUT) {
		r->over = "template output too large";
		return -1;
	}
	return 0;
}

/* Renders a section body [from, to) with v pushed. */
static int render_range(struct render_state *, size_t, size_t);

static int
render_with(struct render_state *r, json_t *v, size_t from, size_t to)
{
	int rc;

	/* Cannot overflow: one frame per open section, checked when parsing. */
	r->stack[r->top++] = v;
	rc = render_range(r, from, to);
	r->top--;
	return rc;
}

static int
render_range(struct render_state *r, size_t i, size_t end)
{
	const struct render_tok *t;
	json_t *v;
	size_t k;

	for (; i < end; i++) {
		if (render_step(r) != 0)
			return -1;
		t = &r->toks[i];
		switch (t->type) {
		case TOK_TEXT:
			buf_add(r->out, t->s, t->len);
			break;
		case TOK_VAR:
		case TOK_RAW:
			v = render_lookup(r, t->s, t->len);
			if (v == NULL) {
				if (r->st != NULL)
					r->st->missing++;
			} else
				render_value(r, v, t->type == TOK_VAR &&
				    (r->flags & RENDER_ESCAPE_HTML));
			break;
		case TOK_SECTION:
			/* A missing section name is a test, not an error. */
			v = render_lookup(r, t->s, t->len);
			if (render_truthy(v) && json_is_array(v)) {
				for (k = 0; k < json_array_size(v); k++) {
					if (render_step(r) != 0 ||
					    render_with(r, json_array_get(v, k),
					    i + 1, t->end) != 0)
						return -1;
				}
			} else if (render_truthy(v) &&
			    render_with(r, v, i + 1, t->end) != 0)
				return -1;
			i = t->end;
			break;
		case TOK_INVERTED:
			v = render_lookup(r, t->s, t->len);
			if (!render_truthy(v) && render_range(r, i + 1, t->end) != 0)
				return -1;
			i = t->end;
			break;
		case TOK_CLOSE:
			break;
		}
	}
	return 0;
}

int
render_tpl_run(const struct render_tpl *t, json_t *ctx, int flags, struct buf *out,
    struct render_stats *st, char **cause)
{
	struct render_state r;

	memset(&r, 0, sizeof r);
	r.toks = t->toks;
	r.flags = flags;
	r.out = out;
	r.start = out->len;
	r.st = st;
	if (ctx != NULL)
		r.stack[r.top++] = ctx;

	/*
	 * Room for about the template's size and its values: one allocation
	 * instead of a doubling series (and out->data is a string even when
	 * the output is empty).
	 */
	buf_reserve(out, t->len + t->len / 4);
	out->data[out->len] = '\0';
	if (render_range(&r, 0, t->ntoks) != 0) {
		out->len = r.start;
		out->data[out->len] = '\0';
		if (cause != NULL)
			*cause = xstrdup(r.over);
		return -1;
	}
	return 0;
}

int
render_string(const char *tpl, size_t len, json_t *ctx, int flags,
    struct buf *out, struct render_stats *st, char **cause)
{
	struct render_tpl *t;
	int rc;

	if ((t = render_compile(tpl, len, cause)) == NULL)
		return -1;
	rc = render_tpl_run(t, ctx, flags, out, st, cause);
	render_tpl_free(t);
	return rc;
}
