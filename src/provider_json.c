/*
 * provider_json: the JSON request bodies of the providers, written straight
 * into the request's buffer.
 *
 * Building a jansson tree per message and dumping it was the worker's main
 * cost (a copy and a UTF-8 check of every string into the tree, another
 * pass to dump it, a callback per escaped run, a free per node: over a
 * third of its CPU at a few thousand messages a second). This writer gives
 * the bytes json_dumps(JSON_COMPACT) gives for the same object, members in
 * the order written and jansson's escapes ("\b \f \n \r \t \" \\", other
 * control bytes as \u00XX in upper case, everything else as it is), so a
 * provider's request does not change with it; tests/unit/test_provider_json.c
 * holds it to jansson's output.
 *
 * Strings must be UTF-8 (strict: no overlong forms, surrogates or code
 * points past U+10FFFF, as jansson checks). The first member whose value is
 * not is remembered in bad and written as null: the builder refuses the
 * message, which no retry could fix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider.h"

/* What an ASCII byte needs: copied as it is, a two-byte escape, or \u00XX. */
enum { PJ_COPY, PJ_SHORT, PJ_LONG };
#define S	PJ_SHORT
#define L	PJ_LONG
static const unsigned char provider_json_class[128] = {
	L, L, L, L, L, L, L, L, S, S, S, L, S, S, L, L,		/* \b \t \n \f \r */
	L, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L,
	['"'] = S, ['\\'] = S,
};
#undef S
#undef L
/* Bytes written for each class. */
static const unsigned char provider_json_width[] = { 1, 2, 6 };

/* The letter of a two-byte escape. */
static char
provider_json_short(unsigned char c)
{
	switch (c) {
	case '\b': return 'b';
	case '\f': return 'f';
	case '\n': return 'n';
	case '\r': return 'r';
	case '\t': return 't';
	default:   return (char)c;	/* '"' and '\\' */
	}
}

/*
 * Length of the UTF-8 sequence at s (at most left bytes), or 0 when it is
 * not one: the rules of provider_utf8_next, bounded by left instead of a NUL.
 */
static size_t
provider_json_seq(const unsigned char *s, size_t left)
{
	uint32_t c, min;
	size_t n, i;

	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	return n;
}

/*
 * 1 when none of the 8 bytes at s needs a closer look (a control byte, '"',
 * '\\' or a non-ASCII byte): the usual words of text and HTML, passed over
 * 8 at a time. The bit tricks ("has a zero byte", "has a byte below n") give
 * an exact answer for the word as a whole.
 */
static int
provider_json_plain8(const unsigned char *s)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	uint64_t w, q, b, look;

	memcpy(&w, s, sizeof w);
	q = w ^ (ones * '"');
	b = w ^ (ones * '\\');
	look = ((w - ones * 0x20) & ~w) |	/* a byte below 0x20 */
	    ((q - ones) & ~q) |			/* a '"' */
	    ((b - ones) & ~b) |			/* a '\\' */
	    w;					/* a byte of 0x80 or more */
	return (look & high) == 0;
}

int
provider_json_escape(struct buf *b, const char *str, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)str;
	size_t i, n, run, extra = 0;
	char *o;

	/* One pass to check and measure, one to write: a single allocation. */
	for (i = 0; i < len; ) {
		if (i + 8 <= len && provider_json_plain8(s + i))
			i += 8;
		else if (s[i] < 0x80)
			extra += provider_json_width[provider_json_class[s[i++]]] - 1u;
		else if ((n = provider_json_seq(s + i, len - i)) == 0)
			return -1;
		else
			i += n;
	}
	buf_reserve(b, len + extra + 2);
	o = b->data + b->len;
	*o++ = '"';
	/* runs that need nothing are copied whole; the bytes between get escaped */
	for (i = run = 0; extra > 0 && i < len; ) {
		if (i + 8 <= len && provider_json_plain8(s + i)) {
			i += 8;
			continue;
		}
		if (s[i] >= 0x80 || provider_json_class[s[i]] == PJ_COPY) {
			i++;
			continue;
		}
		memcpy(o, s + run, i - run);
		o += i - run;
		if (provider_json_class[s[i]] == PJ_SHORT) {
			*o++ = '\\';
			*o++ = provider_json_short(s[i]);
		} else {
			memcpy(o, "\\u00", 4);
			o[4] = hex[s[i] >> 4];
			o[5] = hex[s[i] & 15];
			o += 6;
		}
		run = ++i;
	}
	memcpy(o, s + run, len - run);
	o += len - run;
	*o++ = '"';
	*o = '\0';
	b->len += len + extra + 2;
	return 0;
}

void
provider_json_init(struct provider_json *pj, struct buf *out)
{
	memset(pj, 0, sizeof *pj);
	pj->out = out;
}

/* The separator and "key": before a member (key NULL in an array or at the top). */
static void
provider_json_member(struct provider_json *pj, const char *key)
{
	if (pj->depth > 0) {
		if (pj->more[pj->depth - 1])
			buf_addc(pj->out, ',');
		pj->more[pj->depth - 1] = 1;
	}
	if (key != NULL) {
		/* keys are our own literals: ASCII, never refused */
		provider_json_escape(pj->out, key, strlen(key));
		buf_addc(pj->out, ':');
	}
}

void
provider_json_open(struct provider_json *pj, const char *key, char bracket)
{
	if (pj->depth == PROVIDER_JSON_DEPTH) {
		/* our own builders' nesting: a bug, caught by the first test */
		fprintf(stderr, "provider_json_open: nested too deep\n");
		abort();
	}
	provider_json_member(pj, key);
	buf_addc(pj->out, bracket);
	pj->close[pj->depth] = bracket == '[' ? ']' : '}';
	pj->more[pj->depth++] = 0;
}

void
provider_json_close(struct provider_json *pj)
{
	if (pj->depth > 0)
		buf_addc(pj->out, pj->close[--pj->depth]);
}

void
provider_json_strn(struct provider_json *pj, const char *key, const char *value, size_t len)
{
	provider_json_member(pj, key);
	if (value == NULL)
		buf_adds(pj->out, "null");
	else if (provider_json_escape(pj->out, value, len) != 0) {
		if (pj->bad == NULL)
			pj->bad = key != NULL ? key : "value";
		buf_adds(pj->out, "null");
	}
}

void
provider_json_str(struct provider_json *pj, const char *key, const char *value)
{
	provider_json_strn(pj, key, value, value != NULL ? strlen(value) : 0);
}

void
provider_json_bool(struct provider_json *pj, const char *key, int value)
{
	provider_json_member(pj, key);
	buf_adds(pj->out, value ? "true" : "false");
}
