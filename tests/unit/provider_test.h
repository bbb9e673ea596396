/*
 * provider_test.h: what the provider tests share. Sample messages (Greek
 * e-mail, Polish SMS), a fake response header table, a runner for tables
 * of answers to classify, and decoders that take a built request apart
 * again (form-urlencoded pairs, multipart/form-data parts, headers).
 */
#ifndef NUDGE_PROVIDER_TEST_H
#define NUDGE_PROVIDER_TEST_H

#include <ctype.h>
#include <stdint.h>

#include "unit.h"
#include "config.h"
#include "provider.h"

#define GREEK_SUBJECT	"Η παραγγελία σας #1001 στάλθηκε"
#define GREEK_TEXT	"Γεια σου Άννα,\nξέχασες κάτι στο καλάθι σου."
#define GREEK_HTML	"<p>Γεια σου <b>Άννα</b> &amp; καλή συνέχεια</p>"
#define POLISH_SMS	"Cześć Łukasz! Twoje zamówienie #1001 czeka: 49,90 zł."
#define NOW_MS		1700000000000LL

/* name, value, name, value, ..., NULL; looked up case-insensitively. */
static inline const char *
pt_header(void *hctx, const char *name)
{
	const char *const *h = hctx;
	size_t i;

	for (i = 0; h[i] != NULL; i += 2) {
		if (strcasecmp(h[i], name) == 0)
			return h[i + 1];
	}
	return NULL;
}

static inline struct message
pt_email(void)
{
	struct message m;

	memset(&m, 0, sizeof m);
	m.id = "4f1c2a9be07d5e3a6b8c0d12";
	m.shop = "demo.myshopify.com";
	m.flow = "abandoned_cart";
	m.step = "reminder_1";
	m.template = "abandoned_cart/reminder_1";
	m.channel = CHANNEL_EMAIL;
	m.promotional = 1;
	m.locale = "el";
	m.to = "anna@example.gr";
	m.to_name = "Άννα Παπαδοπούλου";
	m.from = "shop@example.com";
	m.from_name = "Demo \"Shop\", Αθήνα";
	m.subject = GREEK_SUBJECT;
	m.text = GREEK_TEXT;
	m.html = GREEK_HTML;
	m.unsubscribe_url = "https://nudge.example.com/u/abc?s=1";
	return m;
}

static inline struct message
pt_sms(void)
{
	struct message m;

	memset(&m, 0, sizeof m);
	m.id = "9a8b7c6d5e4f3a2b1c0d9e8f";
	m.shop = "sklep.example.pl";
	m.flow = "order_followup";
	m.step = "sms_1";
	m.template = "order_followup/sms_1";
	m.channel = CHANNEL_SMS;
	m.locale = "pl";
	m.to = "+48500100200";
	m.to_name = "Łukasz Żółć";
	m.from = "Sklep";
	m.text = POLISH_SMS;
	return m;
}

/* Builds m with p; fails the test when the build fails. */
static inline void
pt_build(const struct provider *p, const struct config *cfg,
    const struct message *m, struct provider_req *req)
{
	char *cause = NULL;

	provider_req_init(req);
	if (p->build(cfg, m, req, &cause) != 0)
		fail_msg("%s build: %s", p->name, cause);
}

/* Expects the build to fail with exactly cause. */
static inline void
pt_refused(const struct provider *p, const struct config *cfg,
    const struct message *m, const char *want)
{
	struct provider_req req;
	char *cause = NULL;

	provider_req_init(&req);
	if (p->build(cfg, m, &req, &cause) != -1)
		fail_msg("%s: build succeeded, wanted \"%s\"", p->name, want);
	if (cause == NULL || strcmp(cause, want) != 0)
		fail_msg("%s: cause \"%s\", wanted \"%s\"", p->name,
		    cause ? cause : "(null)", want);
	free(cause);
	provider_req_free(&req);
}

/* The value of header name in req ("Name: value"), or NULL. */
static inline const char *
pt_req_header(const struct provider_req *req, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < req->nheaders; i++) {
		if (strncasecmp(req->headers[i], name, n) == 0 &&
		    req->headers[i][n] == ':' && req->headers[i][n + 1] == ' ')
			return req->headers[i] + n + 2;
	}
	return NULL;
}

/* Decoded name/value pairs of a form or multipart body, in order. */
struct pt_fields {
	char	*name[32];
	char	*value[32];
	size_t	 n;
};

static inline void
pt_fields_free(struct pt_fields *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->name[i]);
		free(f->value[i]);
	}
	f->n = 0;
}

/* The nth (0-based) value of name, or NULL. */
static inline const char *
pt_field(const struct pt_fields *f, const char *name, int nth)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		if (strcmp(f->name[i], name) == 0 && nth-- == 0)
			return f->value[i];
	}
	return NULL;
}

static inline char *
pt_urldecode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1), hex[3] = { 0, 0, 0 };
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '+')
			out[o++] = ' ';
		else if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			hex[0] = s[i + 1];
			hex[1] = s[i + 2];
			out[o++] = (char)strtoul(hex, NULL, 16);
			i += 2;
		} else {
			/* Only unreserved characters may appear as they are. */
			if (!isalnum((unsigned char)s[i]) && strchr("-._~", s[i]) == NULL)
				fail_msg("form: '%c' not encoded", s[i]);
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

/* application/x-www-form-urlencoded -> fields. */
static inline void
pt_form(const char *body, struct pt_fields *f)
{
	const char *p = body, *amp, *eq;

	memset(f, 0, sizeof *f);
	while (*p != '\0') {
		amp = strchr(p, '&');
		if (amp == NULL)
			amp = p + strlen(p);
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq == NULL)
			fail_msg("form: pair without '=': %.*s", (int)(amp - p), p);
		assert_true(f->n < 32);
		f->name[f->n] = pt_urldecode(p, (size_t)(eq - p));
		f->value[f->n] = pt_urldecode(eq + 1, (size_t)(amp - eq - 1));
		f->n++;
		p = *amp != '\0' ? amp + 1 : amp;
	}
}

/*
 * multipart/form-data with boundary -> fields. Every part must have exactly
 * a Content-Disposition: form-data; name="..." header; the body must end
 * with the closing delimiter.
 */
static inline void
pt_multipart(const char *body, size_t len, const char *boundary, struct pt_fields *f)
{
	char *delim = xasprintf("--%s\r\n", boundary);
	char *sep = xasprintf("\r\n--%s", boundary);
	const char *p = body, *end = body + len, *hend, *next, *q;
	static const char cd[] = "Content-Disposition: form-data; name=\"";

	memset(f, 0, sizeof *f);
	if (strncmp(p, delim, strlen(delim)) != 0)
		fail_msg("multipart: does not start with the boundary");
	p += strlen(delim);
	for (;;) {
		if (strncmp(p, cd, strlen(cd)) != 0)
			fail_msg("multipart: part without form-data disposition: %.40s", p);
		q = p + strlen(cd);
		hend = strstr(q, "\"\r\n\r\n");
		if (hend == NULL)
			fail_msg("multipart: bad part header");
		next = memmem(hend + 5, (size_t)(end - hend - 5), sep, strlen(sep));
		if (next == NULL)
			fail_msg("multipart: unterminated part");
		assert_true(f->n < 32);
		f->name[f->n] = xstrndup(q, (size_t)(hend - q));
		f->value[f->n] = xstrndup(hend + 5, (size_t)(next - hend - 5));
		f->n++;
		p = next + strlen(sep);
		if (strncmp(p, "--\r\n", 4) == 0) {
			if (p + 4 != end)
				fail_msg("multipart: bytes after the closing delimiter");
			break;
		}
		if (strncmp(p, "\r\n", 2) != 0)
			fail_msg("multipart: boundary not followed by CRLF");
		p += 2;
	}
	free(delim);
	free(sep);
}

/* One answer to classify and what it must give. */
struct pt_answer {
	long		 status;
	int		 transport_error;
	const char	*error;
	int		 timed_out;
	const char	*hdrs[8];
	const char	*body;
	const char	*ref;
	enum send_outcome outcome;
	int64_t		 retry_after_ms;
	const char	*provider_id;
	const char	*text;
};

static inline void
pt_classify(const struct provider *p, const struct pt_answer *t, size_t n)
{
	struct provider_result res;
	struct provider_resp resp;
	size_t i;

	for (i = 0; i < n; i++) {
		memset(&resp, 0, sizeof resp);
		resp.status = t[i].status;
		resp.transport_error = t[i].transport_error;
		resp.error = t[i].error;
		resp.timed_out = t[i].timed_out;
		resp.body = t[i].body;
		resp.body_len = t[i].body != NULL ? strlen(t[i].body) : 0;
		resp.header = pt_header;
		resp.hctx = (void *)t[i].hdrs;
		resp.now_ms = NOW_MS;
		resp.ref = t[i].ref;
		memset(&res, 0xa5, sizeof res);
		p->classify(&resp, &res);
		if (res.outcome != t[i].outcome ||
		    res.retry_after_ms != t[i].retry_after_ms ||
		    strcmp(res.provider_id, t[i].provider_id) != 0 ||
		    strcmp(res.error, t[i].text) != 0)
			fail_msg("%s case %zu (status %ld): outcome %d retry %lld id \"%s\" "
			    "error \"%s\"", p->name, i, t[i].status, (int)res.outcome,
			    (long long)res.retry_after_ms, res.provider_id, res.error);
	}
}

#endif
