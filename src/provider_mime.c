/*
 * provider_mime: the RFC 5322 message of an e-mail, for the smtp and log
 * providers: headers (RFC 2047 encoded words where needed, no header
 * injection), our Message-ID, multipart/alternative text and HTML, in 8bit
 * or quoted-printable, and the List-Unsubscribe headers of promotional mail.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider.h"
#include "util.h"

static void
provider_b64(struct buf *out, const unsigned char *in, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char q[4];
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		q[0] = tab[in[i] >> 2];
		q[1] = tab[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		q[2] = tab[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
		q[3] = tab[in[i + 2] & 63];
		buf_add(out, q, 4);
	}
	if (i < n) {
		q[0] = tab[in[i] >> 2];
		if (i + 1 < n) {
			q[1] = tab[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
			q[2] = tab[(in[i + 1] & 15) << 2];
		} else {
			q[1] = tab[(in[i] & 3) << 4];
			q[2] = '=';
		}
		q[3] = '=';
		buf_add(out, q, 4);
	}
}

char *
provider_clean(const char *s)
{
	char *c = xstrdup(s != NULL ? s : ""), *p;

	for (p = c; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	}
	return c;
}

/* Short ASCII goes in a header as is; anything else is encoded. */
static int
provider_mime_plain(const char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++) {
		if ((unsigned char)s[n] >= 0x80)
			return 0;
	}
	return n <= 900;
}

/*
 * Encoded-words of at most 45 input bytes (60 base64 characters, 75 with
 * the =?UTF-8?B?..?= wrapper, the RFC 2047 limit), never splitting a UTF-8
 * sequence (each word must decode on its own), folded one per line.
 */
static void
provider_mime_words(struct buf *out, const char *s)
{
	size_t len = strlen(s), off = 0, n;

	while (off < len) {
		n = len - off > 45 ? 45 : len - off;
		while (off + n < len && n > 1 &&
		    ((unsigned char)s[off + n] & 0xc0) == 0x80)
			n--;
		if (off > 0)
			buf_adds(out, "\r\n ");
		buf_adds(out, "=?UTF-8?B?");
		provider_b64(out, (const unsigned char *)s + off, n);
		buf_adds(out, "?=");
		off += n;
	}
}

static void
provider_mime_text(struct buf *out, const char *name, const char *value)
{
	char *c = provider_clean(value);

	buf_printf(out, "%s: ", name);
	if (provider_mime_plain(c))
		buf_adds(out, c);
	else
		provider_mime_words(out, c);
	buf_adds(out, "\r\n");
	free(c);
}

/* "Name <addr>": a display name is an atom phrase, a quoted string or encoded. */
static void
provider_mime_addr(struct buf *out, const char *hdr, const char *name,
    const char *addr)
{
	static const char atext[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789!#$%&'*+-/=?^_`{|}~ ";
	char *c, *p;

	buf_printf(out, "%s: ", hdr);
	if (name != NULL && *name != '\0') {
		c = provider_clean(name);
		if (!provider_mime_plain(c))
			provider_mime_words(out, c);
		else if (c[strspn(c, atext)] == '\0')
			buf_adds(out, c);
		else {
			buf_addc(out, '"');
			for (p = c; *p; p++) {
				if (*p == '"' || *p == '\\')
					buf_addc(out, '\\');
				buf_addc(out, *p);
			}
			buf_addc(out, '"');
		}
		buf_addc(out, ' ');
		free(c);
	}
	c = provider_clean(addr);
	buf_addc(out, '<');
	for (p = c; *p; p++) {
		if (*p != '<' && *p != '>' && *p != ' ')
			buf_addc(out, *p);
	}
	buf_adds(out, ">\r\n");
	free(c);
}

/*
 * 8bit keeps the file readable; quoted-printable is needed when a line is
 * longer than RFC 5322 allows, a lone CR would be mangled, or the body
 * happens to contain the boundary (QP never produces "=_").
 */
static int
provider_mime_need_qp(const char *s, const char *boundary)
{
	size_t col = 0;

	if (strstr(s, boundary) != NULL)
		return 1;
	for (; *s; s++) {
		if (*s == '\n')
			col = 0;
		else if (*s == '\r' && s[1] != '\n')
			return 1;
		else if (++col > 998)
			return 1;
	}
	return 0;
}

static void
provider_mime_qp(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0, n;
	unsigned char c;
	char e[3];

	for (; *s; s++) {
		c = (unsigned char)*s;
		if (c == '\r' && s[1] == '\n')
			continue;
		if (c == '\n') {
			buf_adds(out, "\r\n");
			col = 0;
			continue;
		}
		if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') &&
		    s[1] != '\0' && s[1] != '\n' && s[1] != '\r')) {
			e[0] = (char)c;
			n = 1;
		} else {
			e[0] = '=';
			e[1] = hex[c >> 4];
			e[2] = hex[c & 15];
			n = 3;
		}
		if (col + n > 75) {
			buf_adds(out, "=\r\n");
			col = 0;
		}
		buf_add(out, e, n);
		col += n;
	}
}

static void
provider_mime_part(struct buf *out, const char *boundary, const char *type,
    const char *body)
{
	int qp = provider_mime_need_qp(body, boundary);
	const char *s;

	buf_printf(out, "--%s\r\nContent-Type: %s; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: %s\r\n\r\n", boundary, type,
	    qp ? "quoted-printable" : "8bit");
	if (qp)
		provider_mime_qp(out, body);
	else {
		for (s = body; *s; s++) {
			if (*s == '\n' && (s == body || s[-1] != '\r'))
				buf_addc(out, '\r');
			buf_addc(out, *s);
		}
	}
	if (out->len < 2 || memcmp(out->data + out->len - 2, "\r\n", 2) != 0)
		buf_adds(out, "\r\n");
}

char *
provider_message_id(const char *id)
{
	char *c = provider_clean(id), *p, *mid;

	for (p = c; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
			*p = '_';
	}
	mid = xasprintf("<%s@nudge>", c);
	free(c);
	return mid;
}

void
provider_mime(const struct message *m, int64_t now_ms, struct buf *out)
{
	static const char days[] = "ThuFriSatSunMonTueWed";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int64_t secs = now_ms / 1000, day = secs / 86400, rem = secs % 86400;
	int64_t z, era, doe, yoe, doy, mp, y, d, mo;
	char *id, *p, boundary[64];
	size_t idlen;
	int parts = 0;

	/* Civil date from days since the epoch (inverse of provider_days). */
	z = day + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	mo = mp < 10 ? mp + 3 : mp - 9;
	y = yoe + era * 400 + (mo <= 2);

	/* Ids are ours and simple; still, keep Message-ID and boundary safe. */
	id = provider_message_id(m->id);
	idlen = strlen(id) - strlen("<@nudge>");
	snprintf(boundary, sizeof boundary, "=_nudge_%.*s",
	    (int)(idlen > 40 ? 40 : idlen), id + 1);

	buf_printf(out, "Message-ID: %s\r\n", id);
	buf_printf(out, "Date: %.3s, %02d %.3s %04d %02d:%02d:%02d +0000\r\n",
	    days + 3 * (int)(((day % 7) + 7) % 7), (int)d, months + 3 * (mo - 1),
	    (int)y, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
	provider_mime_addr(out, "From", m->from_name, m->from);
	provider_mime_addr(out, "To", m->to_name, m->to);
	provider_mime_text(out, "Subject", m->subject);
	buf_adds(out, "MIME-Version: 1.0\r\n");
	if (m->shop != NULL)
		provider_mime_text(out, "X-Nudge-Shop", m->shop);
	if (m->flow != NULL)
		provider_mime_text(out, "X-Nudge-Flow", m->flow);
	if (m->step != NULL)
		provider_mime_text(out, "X-Nudge-Step", m->step);
	if (m->locale != NULL)
		provider_mime_text(out, "X-Nudge-Locale", m->locale);
	if (m->unsubscribe_url != NULL && *m->unsubscribe_url != '\0') {
		p = provider_clean(m->unsubscribe_url);
		buf_printf(out, "List-Unsubscribe: <%s>\r\n", p);
		buf_adds(out, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
		free(p);
	}
	buf_printf(out, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n",
	    boundary);
	if (m->text != NULL && *m->text != '\0') {
		provider_mime_part(out, boundary, "text/plain", m->text);
		parts++;
	}
	if (m->html != NULL && *m->html != '\0') {
		provider_mime_part(out, boundary, "text/html", m->html);
		parts++;
	}
	if (parts == 0)
		provider_mime_part(out, boundary, "text/plain", "");
	buf_printf(out, "--%s--\r\n", boundary);
	free(id);
}
