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
 * Where the 8 bytes at s need a closer look (a control byte, '"', '\\' or
 * a non-ASCII byte): 0 when none does, the usual word of text and HTML.
 * The bit tricks ("has a zero byte", "has a byte below n") may also flag
 * bytes above a flagged one (a borrow runs upwards), never below it: the
 * lowest flag is exact, and that is all the caller uses.
 */
static uint64_t
provider_json_look(const unsigned char *s)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	uint64_t w, q, b;

	memcpy(&w, s, sizeof w);
	q = w ^ (ones * '"');
	b = w ^ (ones * '\\');
	return (((w - ones * 0x20) & ~w) |	/* a byte below 0x20 */
	    ((q - ones) & ~q) |			/* a '"' */
	    ((b - ones) & ~b) |			/* a '\\' */
	    w) & high;				/* a byte of 0x80 or more */
}

/* Index of the first byte of the word at s that look flags (look != 0). */
static size_t
provider_json_first(const unsigned char *s, uint64_t look)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	(void)s;
	return (size_t)__builtin_ctzll(look) / 8;
#else
	size_t k;

	(void)look;
	for (k = 0; k < 7; k++)
		if (s[k] >= 0x80 || provider_json_class[s[k]] != PJ_COPY)
			break;
	return k;
#endif
}

int
provider_json_escape(struct buf *b, const char *str, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n, k, start = b->len;
	uint64_t look;
	char *o;

	/*
	 * One pass: check, escape and copy, into room for the text and some
	 * escapes, grown when the next step could outrun it (8 bytes copied
	 * and one escape or sequence). Plain runs go 8 bytes at a time; in a
	 * word with something in it, the bytes before it are copied and the
	 * next word starts right after it.
	 */
	buf_reserve(b, len + len / 8 + 64);
	o = b->data + b->len;
	*o++ = '"';
	while (i < len) {
		if ((size_t)(o - b->data) + 8 + 6 + 2 > b->cap) {
			b->len = (size_t)(o - b->data);
			buf_reserve(b, len - i + (len - i) / 8 + 64);
			o = b->data + b->len;
		}
		if (i + 8 <= len) {
			memcpy(o, s + i, 8);
			if ((look = provider_json_look(s + i)) == 0) {
				o += 8;
				i += 8;
				continue;
			}
			k = provider_json_first(s + i, look);
			o += k;
			i += k;
		}
		/* s[i] needs a look, or it is one of the last 7 bytes */
		if (s[i] >= 0x80) {
			if ((n = provider_json_seq(s + i, len - i)) == 0) {
				b->len = start;
				b->data[start] = '\0';
				return -1;
			}
			memcpy(o, s + i, n);
			o += n;
			i += n;
			continue;
		}
		switch (provider_json_class[s[i]]) {
		case PJ_COPY:
			*o++ = (char)s[i];
			break;
		case PJ_SHORT:
			*o++ = '\\';
			*o++ = provider_json_short(s[i]);
			break;
		default:
			memcpy(o, "\\u00", 4);
			o[4] = hex[s[i] >> 4];
			o[5] = hex[s[i] & 15];
			o += 6;
		}
		i++;
	}
	*o++ = '"';
	*o = '\0';
	b->len = (size_t)(o - b->data);
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
