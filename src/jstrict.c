/*
 * jstrict: what json_loadb refuses in a body that yajl's parser takes,
 * checked over the raw bytes. With it, a yajl parse accepts exactly the
 * bodies jansson accepts (shopify_stream relies on that):
 *  - UTF-8 as RFC 3629 has it, as jansson checks it: no overlong forms,
 *    surrogates or code points past U+10FFFF (yajl only counts
 *    continuation bytes);
 *  - no control byte but tab, LF and CR (yajl takes \v and \f for white
 *    space; inside strings both refuse them). A NUL byte is refused
 *    wherever it is; jansson's reader happens to skip one that follows a
 *    number or a literal, which no sender relies on;
 *  - no \u0000 (jansson keeps no NUL in a string or key) and no lone or
 *    mismatched surrogate escape (yajl turns them into '?' or into another
 *    character).
 * Escapes and bytes that yajl refuses anyway are left for it to report.
 */
#include <stdint.h>
#include <string.h>

#include "jstrict.h"

static int
jstrict_hex4(const unsigned char *p, unsigned *v)
{
	unsigned i, c;

	*v = 0;
	for (i = 0; i < 4; i++) {
		c = p[i];
		if (c >= '0' && c <= '9')
			c -= '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			c = (c | 0x20) - 'a' + 10;
		else
			return -1;
		*v = *v << 4 | c;
	}
	return 0;
}

/*
 * The length of the UTF-8 sequence at p, or 0 when it is not one that
 * jansson takes (utf8_check_first and utf8_check_full): no overlong forms,
 * no surrogates, nothing past U+10FFFF.
 */
static size_t
jstrict_utf8(const unsigned char *p, size_t left)
{
	unsigned c = p[0], cp;
	size_t n, i;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
	    (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
		return 0;
	return n;
}

/*
 * The escape at p (a '\\'): how many bytes it takes, or 0 when jansson
 * refuses it as yajl would not (\u0000, a lone or mismatched surrogate).
 * Escapes yajl refuses anyway are passed over for it to report.
 */
static size_t
jstrict_escape(const unsigned char *p, size_t left)
{
	unsigned v, lo;

	if (left < 2)
		return 1;
	if (p[1] != 'u')
		return strchr("\"\\/bfnrt", p[1]) != NULL && p[1] != '\0' ? 2 : 1;
	if (left < 6 || jstrict_hex4(p + 2, &v) != 0)
		return 2;
	if (v == 0 || (v >= 0xdc00 && v <= 0xdfff))
		return 0;
	if (v < 0xd800 || v > 0xdbff)
		return 6;
	if (left < 12 || p[6] != '\\' || p[7] != 'u' ||
	    jstrict_hex4(p + 8, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
		return 0;
	return 12;
}

/* Eight plain bytes (0x20-0x7f, no '\\') at a time: bodies are mostly ASCII. */
const char *
jstrict_check(const unsigned char *p, size_t len)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	uint64_t w, bs;
	size_t i = 0, n;
	unsigned c;

	while (i < len) {
		if (len - i >= 8) {
			memcpy(&w, p + i, 8);
			bs = w ^ (ones * '\\');
			if (((w | ((w - ones * 0x20) & ~w) | ((bs - ones) & ~bs)) &
			    highs) == 0) {
				i += 8;
				continue;
			}
		}
		c = p[i];
		if (c == '\\') {
			if ((n = jstrict_escape(p + i, len - i)) == 0)
				return "invalid \\u escape";
			i += n;
		} else if (c >= 0x80) {
			if ((n = jstrict_utf8(p + i, len - i)) == 0)
				return "invalid UTF-8";
			i += n;
		} else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
			return "control character";
		else
			i++;
	}
	return NULL;
}
