/*
 * money: a price as a shop shows it, from the decimal string the platform
 * sent ("1234.5") and the ISO 4217 code, in the customer's locale. The
 * arithmetic is done on the digits, never through a double.
 */
#ifndef NUDGE_MONEY_H
#define NUDGE_MONEY_H

#include <stddef.h>

/* Enough for any price a shop sends (up to ~40 digits). */
#define MONEY_MAX	96

/*
 * Formats amount ([+-]digits[.digits], blanks around it ignored) rounded
 * half away from zero to the currency's minor units (money_minor_units),
 * in the style of locale's language:
 *   en (and any language without its own style): "€1,234.50", "-$5.00",
 *      "£3.00", "¥1,235", and the code for the rest: "PLN 1,234.50";
 *   el: "1.234,50 €", "1.234,50 US$";
 *   pl: "1 234,50 zł", "1 234,50 €".
 * The blank before a code or a following symbol, and pl's group separator,
 * are U+00A0 NO-BREAK SPACE, so a price never breaks across lines. USD is
 * "$" in en and "US$" elsewhere, PLN "zł" in pl and "PLN" elsewhere. A
 * NULL or empty currency prints the number alone; a code not in the table
 * prints as the code (upper-cased) with 2 decimals. A zero after rounding
 * has no sign. locale may be NULL (en), "el", "pl-PL", "pt_BR"...
 *
 * 0, or -1 when amount is not such a number: out is then amount, a space
 * and currency, unchanged. out is always NUL-terminated; if outlen is too
 * small the text is cut at a character boundary.
 */
int	money_format(const char *amount, const char *currency, const char *locale,
	    char *out, size_t outlen);

/* Digits after the decimal point for an ISO 4217 code: JPY, KRW 0; else 2. */
int	money_minor_units(const char *currency);

#endif
