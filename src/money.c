/*
 * money: formatting prices per locale. Rounding is decimal and exact: the
 * amount stays a string of digits from the webhook to the message, since
 * "0.285" as a double is 0.28499999... and would round down.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "money.h"
#include "util.h"

#define NBSP	"\xc2\xa0"

/*
 * Common currencies. A NULL symbol means "print the code". ISO 4217 gives
 * HUF and CZK two minor units even though cash has none; shops send them
 * so, and so do we.
 */
static const struct money_currency {
	const char	*code;
	int		 minor;
	const char	*sym_en;	/* in en and the languages without a style */
	const char	*sym_el;
	const char	*sym_pl;
} money_currencies[] = {
	{ "EUR", 2, "\xe2\x82\xac", "\xe2\x82\xac", "\xe2\x82\xac" },	/* € */
	{ "USD", 2, "$", "US$", "US$" },
	{ "GBP", 2, "\xc2\xa3", "\xc2\xa3", "\xc2\xa3" },		/* £ */
	{ "PLN", 2, NULL, NULL, "z\xc5\x82" },				/* zł */
	{ "CHF", 2, NULL, NULL, NULL },
	{ "SEK", 2, NULL, NULL, NULL },
	{ "NOK", 2, NULL, NULL, NULL },
	{ "DKK", 2, NULL, NULL, NULL },
	{ "CZK", 2, NULL, NULL, NULL },
	{ "HUF", 2, NULL, NULL, NULL },
	{ "RON", 2, NULL, NULL, NULL },
	{ "BGN", 2, NULL, NULL, NULL },
	{ "JPY", 0, "\xc2\xa5", "\xc2\xa5", "\xc2\xa5" },		/* ¥ */
	{ "KRW", 0, NULL, NULL, NULL },
	{ "CAD", 2, NULL, NULL, NULL },
	{ "AUD", 2, NULL, NULL, NULL },
};

enum money_style {
	MONEY_EN,	/* -€1,234.50, -PLN 1,234.50 */
	MONEY_EL,	/* -1.234,50 € */
	MONEY_PL,	/* -1 234,50 zł */
};

static const struct money_currency *
money_find(const char *code)
{
	size_t i;

	if (code == NULL)
		return NULL;
	for (i = 0; i < sizeof money_currencies / sizeof money_currencies[0]; i++) {
		if (util_strcaseeq(code, money_currencies[i].code))
			return &money_currencies[i];
	}
	return NULL;
}

int
money_minor_units(const char *currency)
{
	const struct money_currency *c = money_find(currency);

	return c != NULL ? c->minor : 2;
}

/* The style of a locale's language: "el", "el-GR", "EL_gr" are el. */
static enum money_style
money_style(const char *locale)
{
	size_t n;

	if (locale == NULL)
		return MONEY_EN;
	n = strcspn(locale, "-_");
	if (n == 2 && strncasecmp(locale, "el", 2) == 0)
		return MONEY_EL;
	if (n == 2 && strncasecmp(locale, "pl", 2) == 0)
		return MONEY_PL;
	return MONEY_EN;
}

/* Copies s into out, cutting at a UTF-8 character boundary if it must. */
static void
money_copy(char *out, size_t outlen, const char *s, size_t len)
{
	size_t n = len;

	if (outlen == 0)
		return;
	if (n > outlen - 1) {
		n = outlen - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

/*
 * Parses [+-]digits[.digits] with blanks around it. On success *neg, the
 * integer digits without leading zeros (*ip, *il; il may be 0) and the
 * fraction digits (*fp, *fl).
 */
static int
money_parse(const char *s, int *neg, const char **ip, size_t *il, const char **fp,
    size_t *fl)
{
	size_t n;

	*neg = 0;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '-' || *s == '+')
		*neg = *s++ == '-';
	*ip = s;
	for (n = 0; isdigit((unsigned char)s[n]); n++)
		;
	*il = n;
	s += n;
	*fp = s;
	*fl = 0;
	if (*s == '.') {
		*fp = ++s;
		for (n = 0; isdigit((unsigned char)s[n]); n++)
			;
		*fl = n;
		s += n;
	}
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s != '\0' || (*il == 0 && *fl == 0))
		return -1;
	while (*il > 0 && **ip == '0') {
		(*ip)++;
		(*il)--;
	}
	return 0;
}

int
money_format(const char *amount, const char *currency, const char *locale, char *out,
    size_t outlen)
{
	const struct money_currency *cur;
	enum money_style style = money_style(locale);
	const char *ip, *fp, *sym, *group, *point;
	char *digits, *code = NULL;
	size_t il, fl, nd, i, nint;
	int neg, minor, zero, carry, alpha;
	struct buf b;

	if (amount == NULL || money_parse(amount, &neg, &ip, &il, &fp, &fl) != 0) {
		buf_init(&b);
		buf_adds(&b, amount != NULL ? amount : "");
		if (currency != NULL && *currency != '\0')
			buf_printf(&b, " %s", currency);
		money_copy(out, outlen, b.data != NULL ? b.data : "", b.len);
		buf_free(&b);
		return -1;
	}
	cur = money_find(currency);
	minor = cur != NULL ? cur->minor : 2;

	/*
	 * The digits of |amount| scaled by 10^minor, one leading slot for a
	 * carry: "1234.5" with 2 minor units is "0123450". Then half up on the
	 * first digit dropped.
	 */
	nd = 1 + il + (size_t)minor;
	digits = xmalloc(nd + 1);
	digits[0] = '0';
	memcpy(digits + 1, ip, il);
	for (i = 0; i < (size_t)minor; i++)
		digits[1 + il + i] = i < fl ? fp[i] : '0';
	digits[nd] = '\0';
	if (fl > (size_t)minor && fp[minor] >= '5') {
		carry = 1;
		for (i = nd; carry && i-- > 0;) {
			if (digits[i] == '9')
				digits[i] = '0';
			else {
				digits[i]++;
				carry = 0;
			}
		}
	}
	zero = strspn(digits, "0") == nd;

	sym = NULL;
	if (cur != NULL)
		sym = style == MONEY_EL ? cur->sym_el :
		    style == MONEY_PL ? cur->sym_pl : cur->sym_en;
	if (sym == NULL && currency != NULL && *currency != '\0') {
		code = xstrdup(currency);
		for (i = 0; code[i] != '\0'; i++)
			code[i] = (char)toupper((unsigned char)code[i]);
		sym = code;
	}
	alpha = sym != NULL && isalpha((unsigned char)sym[0]);
	group = style == MONEY_EL ? "." : style == MONEY_PL ? NBSP : ",";
	point = style == MONEY_EN ? "." : ",";

	/* The integer part without leading zeros, at least one digit. */
	nint = nd - (size_t)minor;
	for (i = 0; i + 1 < nint && digits[i] == '0'; i++)
		;
	buf_init(&b);
	if (neg && !zero)
		buf_addc(&b, '-');
	if (style == MONEY_EN && sym != NULL) {
		buf_adds(&b, sym);
		if (alpha)
			buf_adds(&b, NBSP);
	}
	for (; i < nint; i++) {
		buf_addc(&b, digits[i]);
		if (i + 1 < nint && (nint - i - 1) % 3 == 0)
			buf_adds(&b, group);
	}
	if (minor > 0) {
		buf_adds(&b, point);
		buf_add(&b, digits + nint, (size_t)minor);
	}
	if (style != MONEY_EN && sym != NULL) {
		buf_adds(&b, NBSP);
		buf_adds(&b, sym);
	}
	money_copy(out, outlen, b.data, b.len);
	buf_free(&b);
	free(digits);
	free(code);
	return 0;
}
