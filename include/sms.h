/*
 * sms: how an SMS text is encoded and how many parts it costs (3GPP TS
 * 23.038 / 23.040). Text that fits the GSM-7 default alphabet goes out in
 * 7-bit septets, the characters of the extension table costing two
 * (escape + character); one character outside both forces UCS-2 for the
 * whole message, counted in UTF-16 code units (a character outside the BMP,
 * such as an emoji, is a surrogate pair: two). A single SMS holds 160
 * septets or 70 units; a concatenated one loses room to its header: 153 or
 * 67 per part, and a part never splits an escape pair or a surrogate pair.
 */
#ifndef NUDGE_SMS_H
#define NUDGE_SMS_H

#include <stddef.h>

#define SMS_GSM7_SINGLE	160
#define SMS_GSM7_PART	153
#define SMS_UCS2_SINGLE	70
#define SMS_UCS2_PART	67

enum sms_coding {
	SMS_GSM7,		/* GSM 03.38 default alphabet (+ extension table) */
	SMS_UCS2,		/* UTF-16 */
};

struct sms_count {
	enum sms_coding	 coding;
	size_t		 chars;		/* Unicode code points */
	size_t		 units;		/* septets (GSM-7) or UTF-16 units (UCS-2) */
	size_t		 segments;	/* parts sent; 1 for the empty text */
};

/* Counts text (UTF-8; NULL is empty). 0, or -1 when text is not UTF-8. */
int	sms_count(const char *text, struct sms_count *out);
/* 1 when text needs UCS-2, 0 when GSM-7 will do, -1 when it is not UTF-8. */
int	sms_needs_ucs2(const char *text);
/* Septets c costs in GSM-7 (1 or 2), or 0 when GSM-7 cannot encode it. */
int	sms_gsm7_septets(unsigned long c);

#endif
