/*
 * form: a strict application/x-www-form-urlencoded decoder. Strict because
 * its input is machine-made (CartFlows' http_build_query, a recovery URL):
 * a broken escape means the sender or something in between is broken, and
 * the caller would rather refuse the body than store half-decoded text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "util.h"

static int
form_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
form_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str, *e = s + n;
	unsigned int cp, min;
	int more, i;

	while (s < e) {
		if (*s < 0x80) {
			s++;
			continue;
		}
		if ((*s & 0xe0) == 0xc0) {
			cp = *s & 0x1f;
			more = 1;
			min = 0x80;
		} else if ((*s & 0xf0) == 0xe0) {
			cp = *s & 0x0f;
			more = 2;
			min = 0x800;
		} else if ((*s & 0xf8) == 0xf0) {
			cp = *s & 0x07;
			more = 3;
			min = 0x10000;
		} else
			return 0;
		if (e - s <= more)
			return 0;
		for (i = 1; i <= more; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		s += more + 1;
	}
	return 1;
}

/* Decodes [s, e) into a new string. NULL, with *cause, when invalid. */
static char *
form_decode(const char *s, const char *e, const char *what, char **cause)
{
	struct buf b;
	int hi, lo;

	buf_init(&b);
	buf_reserve(&b, (size_t)(e - s));
	b.data[0] = '\0';
	for (; s < e; s++) {
		if (*s == '+')
			buf_addc(&b, ' ');
		else if (*s != '%')
			buf_addc(&b, *s);
		else {
			if (e - s < 3 || (hi = form_hexval((unsigned char)s[1])) < 0 ||
			    (lo = form_hexval((unsigned char)s[2])) < 0) {
				*cause = xasprintf("invalid %%-escape in form %s", what);
				buf_free(&b);
				return NULL;
			}
			buf_addc(&b, (char)(hi << 4 | lo));
			s += 2;
		}
	}
	/* Raw or escaped: C strings cannot carry it. */
	if (memchr(b.data, '\0', b.len) != NULL) {
		*cause = xasprintf("NUL byte in form %s", what);
		buf_free(&b);
		return NULL;
	}
	if (!form_utf8_valid(b.data, b.len)) {
		*cause = xasprintf("form %s is not UTF-8", what);
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}

int
form_parse(const char *s, size_t len, struct form *f, char **cause)
{
	const char *p = s, *end = s + len, *amp, *eq;
	char *name, *value;

	f->v = NULL;
	f->n = 0;
	while (p < end) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp == p) {
			p++;
			continue;
		}
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL)
			eq = amp;
		if ((name = form_decode(p, eq, "name", cause)) == NULL)
			return -1;
		value = form_decode(eq < amp ? eq + 1 : amp, amp, "value", cause);
		if (value == NULL) {
			free(name);
			return -1;
		}
		f->v = xrealloc(f->v, (f->n + 1) * sizeof *f->v);
		f->v[f->n].name = name;
		f->v[f->n].value = value;
		f->n++;
		p = amp + 1;
	}
	return 0;
}

const char *
form_get(const struct form *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		if (strcmp(f->v[i].name, name) == 0)
			return f->v[i].value;
	}
	return NULL;
}

void
form_free(struct form *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->v[i].name);
		free(f->v[i].value);
	}
	free(f->v);
	f->v = NULL;
	f->n = 0;
}
