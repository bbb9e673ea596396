/*
 * provider_log and provider_mime: the exact message for a simple e-mail,
 * RFC 2047 subjects and names, quoted-printable fallback, and deliver()
 * writing into a temporary outbox and reading the files back.
 */
#include <sys/stat.h>

#include <ftw.h>

#include "unit.h"
#include "config.h"
#include "provider.h"

#define GREEK_SUBJECT	"Η παραγγελία σας #1001 στάλθηκε — ευχαριστούμε πολύ!"

static struct message
sample_message(void)
{
	struct message m;

	memset(&m, 0, sizeof m);
	m.id = "msg-1";
	m.shop = "demo.myshopify.com";
	m.flow = "order_followup";
	m.step = "thanks";
	m.channel = CHANNEL_EMAIL;
	m.locale = "en";
	m.to = "anna@example.gr";
	m.to_name = "Anna";
	m.from = "shop@example.com";
	m.from_name = "Demo Shop";
	m.subject = "Thanks for your order";
	m.text = "Hi Anna,\nthanks.";
	m.html = "<p>Hi Anna</p>";
	return m;
}

/* 2026-11-23 12:00:00 UTC, a Monday. */
#define NOW_MS	1795435200000LL

static void
test_mime_exact(void **state)
{
	static const char want[] =
	    "Message-ID: <msg-1@nudge>\r\n"
	    "Date: Mon, 23 Nov 2026 12:00:00 +0000\r\n"
	    "From: Demo Shop <shop@example.com>\r\n"
	    "To: Anna <anna@example.gr>\r\n"
	    "Subject: Thanks for your order\r\n"
	    "MIME-Version: 1.0\r\n"
	    "X-Nudge-Shop: demo.myshopify.com\r\n"
	    "X-Nudge-Flow: order_followup\r\n"
	    "X-Nudge-Step: thanks\r\n"
	    "X-Nudge-Locale: en\r\n"
	    "List-Unsubscribe: <https://n.example/u/1>\r\n"
	    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
	    "Content-Type: multipart/alternative; boundary=\"=_nudge_msg-1\"\r\n"
	    "\r\n"
	    "--=_nudge_msg-1\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "\r\n"
	    "Hi Anna,\r\n"
	    "thanks.\r\n"
	    "--=_nudge_msg-1\r\n"
	    "Content-Type: text/html; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "\r\n"
	    "<p>Hi Anna</p>\r\n"
	    "--=_nudge_msg-1--\r\n";
	struct message m = sample_message();
	struct buf b;

	(void)state;
	m.unsubscribe_url = "https://n.example/u/1";
	buf_init(&b);
	provider_mime(&m, NOW_MS, &b);
	assert_string_equal(b.data, want);
	buf_free(&b);
}

static int
b64val(char c)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = strchr(tab, c);

	return c != '\0' && p != NULL ? (int)(p - tab) : -1;
}

/*
 * Decodes a header value made of =?UTF-8?B?..?= words separated by folding
 * whitespace; fails the test on anything else or a word longer than 75.
 */
static char *
decode_words(const char *v)
{
	struct buf out;
	const char *end;
	unsigned acc;
	int bits, x;

	buf_init(&out);
	buf_reserve(&out, 0);
	while (*v != '\0') {
		while (*v == '\r' || *v == '\n' || *v == ' ')
			v++;
		if (*v == '\0')
			break;
		if (strncmp(v, "=?UTF-8?B?", 10) != 0)
			fail_msg("not an encoded-word: %s", v);
		end = strstr(v + 10, "?=");
		assert_non_null(end);
		assert_true(end + 2 - v <= 75);
		acc = bits = 0;
		for (v += 10; v < end; v++) {
			if (*v == '=')
				continue;
			if ((x = b64val(*v)) < 0)
				fail_msg("bad base64 %c", *v);
			acc = ((acc << 6) | (unsigned)x) & 0xffffff;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				buf_addc(&out, (char)((acc >> bits) & 0xff));
			}
		}
		v = end + 2;
	}
	return buf_detach(&out);
}

/* The value of header name (unfolded lines included), or NULL. Caller frees. */
static char *
header_value(const char *msg, const char *name)
{
	const char *p = msg, *start, *end;
	size_t n = strlen(name);

	while (p != NULL && strncmp(p, "\r\n", 2) != 0) {
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			start = p + n + 1;
			while (*start == ' ')
				start++;
			end = start;
			while ((end = strstr(end, "\r\n")) != NULL && end[2] == ' ')
				end += 2;
			assert_non_null(end);
			return xstrndup(start, (size_t)(end - start));
		}
		p = strstr(p, "\r\n");
		if (p != NULL)
			p += 2;
	}
	return NULL;
}

static void
test_mime_encoded(void **state)
{
	struct message m = sample_message();
	char *v, *d;
	struct buf b;

	(void)state;
	m.subject = GREEK_SUBJECT;
	m.to_name = "Άννα Παπαδοπούλου";
	m.from_name = "Shop, \"the\" best";
	buf_init(&b);
	provider_mime(&m, NOW_MS, &b);

	v = header_value(b.data, "Subject");
	assert_non_null(v);
	assert_non_null(strstr(v, "\r\n "));	/* long: folded into several words */
	d = decode_words(v);
	assert_string_equal(d, GREEK_SUBJECT);
	free(d);
	free(v);

	v = header_value(b.data, "To");
	assert_non_null(v);
	assert_non_null(strstr(v, " <anna@example.gr>"));
	*strstr(v, " <anna@example.gr>") = '\0';
	d = decode_words(v);
	assert_string_equal(d, "Άννα Παπαδοπούλου");
	free(d);
	free(v);

	v = header_value(b.data, "From");
	assert_string_equal(v, "\"Shop, \\\"the\\\" best\" <shop@example.com>");
	free(v);
	/* Nothing but ASCII in the header block. */
	for (v = b.data; strncmp(v, "\r\n\r\n", 4) != 0; v++)
		assert_true((unsigned char)*v < 0x80);
	buf_free(&b);
}

/* Header injection: CR/LF in a value cannot start a new header. */
static void
test_mime_injection(void **state)
{
	struct message m = sample_message();
	struct buf b;

	(void)state;
	m.subject = "Hello\r\nBcc: victim@example.com";
	m.to = "anna@example.gr>\r\nBcc: x@y";
	buf_init(&b);
	provider_mime(&m, NOW_MS, &b);
	assert_null(strstr(b.data, "\r\nBcc:"));
	assert_non_null(strstr(b.data, "\r\nSubject: Hello  Bcc: victim@example.com\r\n"));
	buf_free(&b);
}

/* Over-long lines and a body containing the boundary go quoted-printable. */
static void
test_mime_qp(void **state)
{
	struct message m = sample_message();
	struct buf text, b;
	const char *p, *line;
	int i;

	(void)state;
	buf_init(&text);
	for (i = 0; i < 1200; i++)
		buf_addc(&text, (char)('a' + i % 26));
	buf_adds(&text, " = é \nend ");
	m.text = text.data;
	m.html = "<p>--=_nudge_msg-1</p>";
	buf_init(&b);
	provider_mime(&m, NOW_MS, &b);
	assert_non_null(strstr(b.data, "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\nabcdefghij"));
	assert_non_null(strstr(b.data, " =3D =C3=A9=20\r\nend=20\r\n"));
	assert_non_null(strstr(b.data, "Content-Transfer-Encoding: quoted-printable"
	    "\r\n\r\n<p>--=3D_nudge_msg-1</p>\r\n"));
	/* Every line fits (76 with the soft break), and no bare LF. */
	for (line = b.data; (p = strstr(line, "\r\n")) != NULL; line = p + 2)
		assert_true(p - line <= 998);
	for (p = b.data; *p; p++) {
		if (*p == '\n')
			assert_true(p > b.data && p[-1] == '\r');
	}
	buf_free(&b);
	buf_free(&text);
}

static char *outbox_top;

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
setup_outbox(void **state)
{
	char tmpl[] = "/tmp/nudge-outbox-XXXXXX";

	(void)state;
	if (mkdtemp(tmpl) == NULL)
		return -1;
	outbox_top = xstrdup(tmpl);
	return 0;
}

static int
teardown_outbox(void **state)
{
	(void)state;
	nftw(outbox_top, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(outbox_top);
	return 0;
}

static void
test_deliver_email(void **state)
{
	struct message m = sample_message();
	struct provider_result res;
	struct config cfg;
	struct stat sb;
	char *dir, *path, *data, *v, *d;
	mode_t mask;
	size_t len;

	(void)state;
	memset(&cfg, 0, sizeof cfg);
	dir = xasprintf("%s/var/outbox", outbox_top);	/* created on demand */
	cfg.outbox_dir = dir;
	m.subject = GREEK_SUBJECT;
	m.unsubscribe_url = "https://n.example/u/1";
	memset(&res, 0xa5, sizeof res);
	provider_log.deliver(&cfg, &m, &res);
	assert_int_equal(res.outcome, SEND_OK);
	assert_int_equal(res.retry_after_ms, 0);
	assert_string_equal(res.error, "");
	path = xasprintf("%s/msg-1.eml", dir);
	assert_string_equal(res.provider_id, path);

	mask = umask(0);
	umask(mask);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0750 & ~mask);

	data = unit_slurp(path, &len);
	assert_int_equal(strlen(data), len);
	assert_int_equal(strncmp(data, "Message-ID: <msg-1@nudge>\r\nDate: ", 33), 0);
	assert_non_null(strstr(data, "\r\nFrom: Demo Shop <shop@example.com>\r\n"));
	assert_non_null(strstr(data, "\r\nTo: Anna <anna@example.gr>\r\n"));
	assert_non_null(strstr(data, "\r\nX-Nudge-Shop: demo.myshopify.com\r\n"));
	assert_non_null(strstr(data, "\r\nX-Nudge-Flow: order_followup\r\n"));
	assert_non_null(strstr(data, "\r\nX-Nudge-Step: thanks\r\n"));
	assert_non_null(strstr(data, "\r\nX-Nudge-Locale: en\r\n"));
	assert_non_null(strstr(data, "\r\nList-Unsubscribe: <https://n.example/u/1>\r\n"
	    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
	assert_non_null(strstr(data, "\r\n\r\nHi Anna,\r\nthanks.\r\n--=_nudge_msg-1\r\n"));
	assert_non_null(strstr(data, "\r\n\r\n<p>Hi Anna</p>\r\n--=_nudge_msg-1--\r\n"));
	v = header_value(data, "Subject");
	d = decode_words(v);
	assert_string_equal(d, GREEK_SUBJECT);
	free(d);
	free(v);
	free(data);

	/* The same id again replaces the file: no second copy, no temp left. */
	m.subject = "second";
	provider_log.deliver(&cfg, &m, &res);
	assert_int_equal(res.outcome, SEND_OK);
	data = unit_slurp(path, &len);
	assert_non_null(strstr(data, "\r\nSubject: second\r\n"));
	free(data);
	free(path);
	free(dir);
}

static void
test_deliver_sms(void **state)
{
	struct message m = sample_message();
	struct provider_result res;
	struct config cfg;
	char *path, *data;
	size_t len;

	(void)state;
	memset(&cfg, 0, sizeof cfg);
	cfg.outbox_dir = outbox_top;
	m.channel = CHANNEL_SMS;
	m.id = "sms-9";
	m.to = "+306912345678";
	m.text = "Γεια σου Άννα, το καλάθι σου σε περιμένει";
	provider_log.deliver(&cfg, &m, &res);
	assert_int_equal(res.outcome, SEND_OK);
	path = xasprintf("%s/sms-9.sms.txt", outbox_top);
	assert_string_equal(res.provider_id, path);
	data = unit_slurp(path, &len);
	assert_string_equal(data,
	    "To: +306912345678\n\nΓεια σου Άννα, το καλάθι σου σε περιμένει\n");
	free(data);
	free(path);
}

/* An id cannot name a file outside the outbox. */
static void
test_deliver_unsafe_id(void **state)
{
	struct message m = sample_message();
	struct provider_result res;
	struct config cfg;
	char *path, *data;

	(void)state;
	memset(&cfg, 0, sizeof cfg);
	cfg.outbox_dir = outbox_top;
	m.id = "../../etc/x";
	provider_log.deliver(&cfg, &m, &res);
	assert_int_equal(res.outcome, SEND_OK);
	path = xasprintf("%s/_._.._etc_x.eml", outbox_top);
	assert_string_equal(res.provider_id, path);
	data = unit_slurp(path, NULL);
	free(data);
	free(path);
}

static void
test_deliver_failures(void **state)
{
	struct message m = sample_message();
	struct provider_result res;
	struct config cfg;
	char *file, *dir, *cause = NULL;

	(void)state;
	memset(&cfg, 0, sizeof cfg);
	/* The outbox path runs through a regular file: retry, with the reason. */
	file = xasprintf("%s/plain-file", outbox_top);
	assert_int_equal(util_write_file(file, "x", 1, &cause), 0);
	dir = xasprintf("%s/sub", file);
	cfg.outbox_dir = dir;
	provider_log.deliver(&cfg, &m, &res);
	assert_int_equal(res.outcome, SEND_RETRY);
	assert_int_equal(strncmp(res.error, "outbox: mkdir ", 14), 0);
	assert_non_null(strstr(res.error, "Not a directory"));
	assert_string_equal(res.provider_id, "");

	cfg.outbox_dir = file;
	provider_log.deliver(&cfg, &m, &res);
	assert_int_equal(res.outcome, SEND_RETRY);
	assert_non_null(strstr(res.error, "not a directory"));

	cfg.outbox_dir = outbox_top;
	m.channel = CHANNEL_WEBHOOK;
	provider_log.deliver(&cfg, &m, &res);
	assert_int_equal(res.outcome, SEND_PERMANENT);
	free(dir);
	free(file);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mime_exact),
		cmocka_unit_test(test_mime_encoded),
		cmocka_unit_test(test_mime_injection),
		cmocka_unit_test(test_mime_qp),
		cmocka_unit_test(test_deliver_email),
		cmocka_unit_test(test_deliver_sms),
		cmocka_unit_test(test_deliver_unsafe_id),
		cmocka_unit_test(test_deliver_failures),
	};

	return cmocka_run_group_tests(tests, setup_outbox, teardown_outbox);
}
