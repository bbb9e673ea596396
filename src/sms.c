/*
 * sms: GSM-7 / UCS-2 detection and segment counting; see include/sms.h.
 * The tables are the GSM 03.38 default alphabet and its extension table as
 * Unicode code points (the mapping of the Unicode consortium's GSM0338.TXT).
 */
#include <stdint.h>
#include <stdlib.h>

#include "provider.h"
#include "sms.h"

/* Default alphabet beyond the ASCII it shares (one septet each). */
static const uint16_t sms_basic[] = {
	0x00a1, 0x00a3, 0x00a4, 0x00a5, 0x00a7, 0x00bf, 0x00c4, 0x00c5,	/* ¡£¤¥§¿ÄÅ */
	0x00c6, 0x00c7, 0x00c9, 0x00d1, 0x00d6, 0x00d8, 0x00dc, 0x00df,	/* ÆÇÉÑÖØÜß */
	0x00e0, 0x00e4, 0x00e5, 0x00e6, 0x00e8, 0x00e9, 0x00ec, 0x00f1,	/* àäåæèéìñ */
	0x00f2, 0x00f6, 0x00f8, 0x00f9, 0x00fc,				/* òöøùü */
	0x0393, 0x0394, 0x0398, 0x039b, 0x039e, 0x03a0, 0x03a3, 0x03a6,	/* ΓΔΘΛΞΠΣΦ */
	0x03a8, 0x03a9,							/* ΨΩ */
};

int
sms_gsm7_septets(unsigned long c)
{
	size_t i;

	if (c == '\n' || c == '\r')
		return 1;
	if (c == '\f' || c == 0x20ac)		/* form feed, € */
		return 2;
	if (c >= 0x20 && c < 0x7f) {
		switch (c) {
		case '^': case '{': case '}': case '\\':
		case '[': case '~': case ']': case '|':
			return 2;
		case '`':
			return 0;
		default:
			return 1;
		}
	}
	for (i = 0; i < sizeof sms_basic / sizeof sms_basic[0]; i++) {
		if (sms_basic[i] == c)
			return 1;
	}
	return 0;
}

/*
 * Parts needed for units in pieces of cost 1 or 2 that must not be split:
 * greedy filling is exact, since a piece that does not fit in what is left
 * of a part can only go to the next one.
 */
static size_t
sms_parts(const char *text, enum sms_coding coding)
{
	size_t cap = coding == SMS_GSM7 ? SMS_GSM7_PART : SMS_UCS2_PART;
	size_t parts = 1, used = 0, cost;
	const char *s = text;
	uint32_t cp;

	while (*s != '\0' && provider_utf8_next(&s, &cp) == 0) {
		if (coding == SMS_GSM7)
			cost = (size_t)sms_gsm7_septets(cp);
		else
			cost = cp > 0xffff ? 2 : 1;
		if (used + cost > cap) {
			parts++;
			used = 0;
		}
		used += cost;
	}
	return parts;
}

int
sms_count(const char *text, struct sms_count *out)
{
	size_t septets = 0, utf16 = 0, chars = 0;
	const char *s = text != NULL ? text : "";
	int ucs2 = 0, n;
	uint32_t cp;

	while (*s != '\0') {
		if (provider_utf8_next(&s, &cp) != 0)
			return -1;
		chars++;
		utf16 += cp > 0xffff ? 2 : 1;
		if ((n = sms_gsm7_septets(cp)) == 0)
			ucs2 = 1;
		septets += (size_t)n;
	}
	out->coding = ucs2 ? SMS_UCS2 : SMS_GSM7;
	out->chars = chars;
	out->units = ucs2 ? utf16 : septets;
	if (out->units <= (ucs2 ? SMS_UCS2_SINGLE : SMS_GSM7_SINGLE))
		out->segments = 1;
	else
		out->segments = sms_parts(text, out->coding);
	return 0;
}

int
sms_needs_ucs2(const char *text)
{
	struct sms_count c;

	if (sms_count(text, &c) != 0)
		return -1;
	return c.coding == SMS_UCS2;
}
