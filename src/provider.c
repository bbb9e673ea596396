/*
 * provider: what every provider shares. The table of providers by name,
 * the request struct's lifetime, Retry-After parsing and the default HTTP
 * classification that each provider's classify() starts from and then
 * refines (provider id, provider-specific error text, rate-limit headers).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "provider.h"

/* The longest delay a provider may ask for; beyond it we trust our backoff. */
#define PROVIDER_RETRY_MAX_MS	(24LL * 3600 * 1000)

/* One line per provider; the worker looks them up by NUDGE_*_PROVIDER. */
static const struct provider *const provider_table[] = {
	&provider_sendgrid,
	&provider_postmark,
	&provider_mailgun,
	&provider_smtp,
	&provider_twilio,
	&provider_vonage,
	&provider_webhook,
	&provider_log,
};

const struct provider *
provider_find(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < sizeof provider_table / sizeof provider_table[0]; i++) {
		if (strcmp(provider_table[i]->name, name) == 0)
			return provider_table[i];
	}
	return NULL;
}

void
provider_req_init(struct provider_req *req)
{
	memset(req, 0, sizeof *req);
	req->method = "POST";
	buf_init(&req->body);
}

/* Frees what req owns and leaves it initialized (not req itself). */
void
provider_req_free(struct provider_req *req)
{
	size_t i;

	free(req->url);
	for (i = 0; i < req->nheaders; i++)
		free(req->headers[i]);
	buf_free(&req->body);
	free(req->userpwd);
	free(req->mail_from);
	free(req->mail_rcpt);
	free(req->ref);
	provider_req_init(req);
}

/*
 * The header array is fixed; a provider needing more than 15 headers is a
 * programming error, caught on the first test run, so abort like xmalloc.
 */
void
provider_req_header(struct provider_req *req, const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	if (req->nheaders + 1 >= sizeof req->headers / sizeof req->headers[0]) {
		fprintf(stderr, "provider_req_header: too many headers\n");
		abort();
	}
	buf_init(&b);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	req->headers[req->nheaders++] = buf_detach(&b);
	req->headers[req->nheaders] = NULL;
}

const char *
provider_resp_header(const struct provider_resp *resp, const char *name)
{
	if (resp->header == NULL)
		return NULL;
	return resp->header(resp->hctx, name);
}

size_t
provider_sanitize(char *out, size_t outlen, const char *in, size_t inlen)
{
	size_t i, n = 0;
	int space = 0;

	if (outlen == 0)
		return 0;
	for (i = 0; i < inlen && n + 1 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '\0')
			break;
		/* Runs of whitespace and control bytes become one space. */
		if (c < 0x20 || c == 0x7f || c == ' ') {
			space = n > 0;
			continue;
		}
		if (space) {
			if (n + 2 >= outlen)
				break;
			out[n++] = ' ';
			space = 0;
		}
		/* Non-ASCII becomes '?': a byte cut could split a UTF-8 sequence. */
		out[n++] = c < 0x80 ? (char)c : '?';
	}
	out[n] = '\0';
	return n;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's). */
static int64_t
provider_days(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
provider_digits(const char **sp, int n, int *out)
{
	const char *s = *sp;
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*sp = s + n;
	*out = v;
	return 0;
}

/*
 * IMF-fixdate only ("Sun, 06 Nov 1994 08:49:37 GMT"), the form RFC 9110
 * requires senders to use; strptime is locale-dependent, so parse by hand.
 * Epoch seconds, or -1.
 */
static int64_t
provider_http_date(const char *s)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int day, mon, year, hh, mm, ss;
	const char *p;

	if (strlen(s) < 29 || s[3] != ',' || s[4] != ' ')
		return -1;
	s += 5;
	if (provider_digits(&s, 2, &day) != 0 || *s++ != ' ')
		return -1;
	for (mon = 0; mon < 12; mon++) {
		if (strncmp(s, months + 3 * mon, 3) == 0)
			break;
	}
	if (mon == 12 || s[3] != ' ')
		return -1;
	s += 4;
	p = s;
	if (provider_digits(&p, 4, &year) != 0 || *p++ != ' ' ||
	    provider_digits(&p, 2, &hh) != 0 || *p++ != ':' ||
	    provider_digits(&p, 2, &mm) != 0 || *p++ != ':' ||
	    provider_digits(&p, 2, &ss) != 0 || strncmp(p, " GMT", 4) != 0)
		return -1;
	if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60)
		return -1;
	return provider_days(year, mon + 1, day) * 86400 + hh * 3600 + mm * 60 + ss;
}

int64_t
provider_retry_after_ms(const char *value, int64_t now_ms)
{
	int64_t secs, ms;
	const char *p;

	if (value == NULL)
		return 0;
	while (*value == ' ' || *value == '\t')
		value++;
	if (isdigit((unsigned char)*value)) {
		secs = 0;
		for (p = value; isdigit((unsigned char)*p); p++) {
			if (secs <= PROVIDER_RETRY_MAX_MS / 1000)
				secs = secs * 10 + (*p - '0');
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '\0')
			return 0;
		ms = secs * 1000;
	} else {
		if ((secs = provider_http_date(value)) < 0)
			return 0;
		ms = secs * 1000 - now_ms;
	}
	if (ms < 0)
		return 0;
	return ms > PROVIDER_RETRY_MAX_MS ? PROVIDER_RETRY_MAX_MS : ms;
}

/*
 * 2xx is accepted. 408, 429 and 5xx are the server's trouble, not the
 * message's, so they are retried (429 after Retry-After when given); so is
 * anything that never got an HTTP answer. Every other status means this
 * request will never work. Providers refine the error text afterwards.
 */
void
provider_classify_http(const struct provider_resp *resp, struct provider_result *res)
{
	char text[201];
	long st = resp->status;

	memset(res, 0, sizeof *res);
	if (resp->transport_error != 0 || st == 0) {
		res->outcome = SEND_RETRY;
		snprintf(res->error, sizeof res->error, "%s%s",
		    resp->timed_out ? "timed out: " : "transport: ",
		    resp->error != NULL ? resp->error :
		    resp->timed_out ? "no answer" : "no HTTP status");
		return;
	}
	if (st >= 200 && st <= 299) {
		res->outcome = SEND_OK;
		return;
	}
	if (st == 429) {
		res->outcome = SEND_RETRY;
		res->retry_after_ms = provider_retry_after_ms(
		    provider_resp_header(resp, "Retry-After"), resp->now_ms);
	} else if (st == 408 || (st >= 500 && st <= 599))
		res->outcome = SEND_RETRY;
	else
		res->outcome = SEND_PERMANENT;
	if (resp->body == NULL ||
	    provider_sanitize(text, sizeof text, resp->body, resp->body_len) == 0)
		snprintf(res->error, sizeof res->error, "HTTP %ld", st);
	else
		snprintf(res->error, sizeof res->error, "HTTP %ld: %s", st, text);
}

/*
 * Request builders' helpers. What a builder refuses is refused for good
 * (the caller marks the message permanent), so these only reject what no
 * retry could fix: a missing setting, an address that is not one, text
 * that is not UTF-8.
 */
char *
provider_url(const char *base, const char *def, const char *fmt, ...)
{
	struct buf b;
	va_list ap;
	size_t n;

	if (base == NULL || *base == '\0')
		base = def;
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	buf_init(&b);
	buf_add(&b, base, n);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return buf_detach(&b);
}

int
provider_utf8_next(const char **sp, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)*sp;
	uint32_t c, min;
	int n, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		*sp += 1;
		return 0;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 1;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 2;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 3;
		c = s[0] & 0x07;
		min = 0x10000;
	} else
		return -1;
	for (i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)	/* also stops at the NUL */
			return -1;
		c = (c << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and beyond U+10FFFF are not UTF-8. */
	if (c < min || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return -1;
	*cp = c;
	*sp += n + 1;
	return 0;
}

int
provider_utf8_valid(const char *s)
{
	uint32_t cp;

	if (s == NULL)
		return 1;
	while (*s != '\0') {
		if (provider_utf8_next(&s, &cp) != 0)
			return 0;
	}
	return 1;
}

int
provider_header_safe(const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	}
	return 1;
}

int
provider_addr_valid(const char *addr)
{
	const char *at;
	size_t n;

	if (addr == NULL || (n = strlen(addr)) < 3 || n > 254 ||
	    !provider_utf8_valid(addr) || !provider_header_safe(addr))
		return 0;
	if (addr[strcspn(addr, " <>()[],;:\\\"")] != '\0')
		return 0;
	at = strrchr(addr, '@');
	return at != NULL && at != addr && at[1] != '\0';
}

char *
provider_addr(const char *name, const char *addr)
{
	struct buf b;
	char *c, *p;

	if (name == NULL || *name == '\0')
		return xstrdup(addr);
	/* Always quoted: a bare name with a ',' would be a second recipient. */
	c = provider_clean(name);
	buf_init(&b);
	buf_addc(&b, '"');
	for (p = c; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_addc(&b, '\\');
		buf_addc(&b, *p);
	}
	buf_printf(&b, "\" <%s>", addr);
	free(c);
	return buf_detach(&b);
}

int
provider_e164(const char *to, char *out, size_t outlen)
{
	size_t n = 0;

	if (to == NULL)
		return -1;
	while (*to == ' ')
		to++;
	/* "+30...", "0030..." or bare international digits; never national "069..." */
	if (*to == '+')
		to++;
	else if (to[0] == '0' && to[1] == '0')
		to += 2;
	for (; *to != '\0'; to++) {
		if (*to >= '0' && *to <= '9') {
			if (n + 1 >= outlen || n == 15)
				return -1;
			out[n++] = *to;
		} else if (strchr(" -.()", *to) == NULL)
			return -1;	/* letters, a second '+', an extension */
	}
	out[n] = '\0';
	return n >= 7 && out[0] != '0' ? 0 : -1;
}

int
provider_need(const char *var, const char *value, char **cause)
{
	if (value == NULL || *value == '\0') {
		*cause = xasprintf("%s is empty", var);
		return -1;
	}
	if (!provider_header_safe(value)) {
		*cause = xasprintf("%s contains a control character", var);
		return -1;
	}
	return 0;
}

int
provider_check_email(const char *name, const struct message *m, char **cause)
{
	const char *bad = NULL;

	if (!provider_addr_valid(m->to))
		*cause = xasprintf("%s: recipient address is not valid", name);
	else if (!provider_addr_valid(m->from))
		*cause = xasprintf("%s: sender address is not valid", name);
	else if ((m->text == NULL || *m->text == '\0') &&
	    (m->html == NULL || *m->html == '\0'))
		*cause = xasprintf("%s: message has neither text nor html", name);
	else {
		if (!provider_utf8_valid(m->subject))
			bad = "subject";
		else if (!provider_utf8_valid(m->text))
			bad = "text";
		else if (!provider_utf8_valid(m->html))
			bad = "html";
		else if (!provider_utf8_valid(m->to_name))
			bad = "to_name";
		else if (!provider_utf8_valid(m->from_name))
			bad = "from_name";
		else if (!provider_utf8_valid(m->unsubscribe_url) ||
		    !provider_header_safe(m->unsubscribe_url))
			bad = "unsubscribe_url";
		if (bad == NULL)
			return 0;
		*cause = xasprintf("%s: %s is not valid UTF-8 text", name, bad);
	}
	return -1;
}

int
provider_check_sms(const char *name, const struct message *m, char to[16], char **cause)
{
	if (provider_e164(m->to, to, 16) != 0)
		*cause = xasprintf("%s: recipient is not an E.164 number", name);
	else if (m->text == NULL || *m->text == '\0')
		*cause = xasprintf("%s: message has no text", name);
	else if (!provider_utf8_valid(m->text))
		*cause = xasprintf("%s: text is not valid UTF-8", name);
	else
		return 0;
	return -1;
}

void
provider_form_add(struct buf *b, const char *name, const char *value)
{
	if (b->len > 0)
		buf_addc(b, '&');
	buf_add_urlenc(b, name);
	buf_addc(b, '=');
	buf_add_urlenc(b, value != NULL ? value : "");
}

json_t *
provider_resp_json(const struct provider_resp *resp)
{
	json_error_t jerr;
	json_t *root;

	if (resp->body == NULL || resp->body_len == 0)
		return NULL;
	root = json_loadb(resp->body, resp->body_len, 0, &jerr);
	if (root != NULL && !json_is_object(root)) {
		json_decref(root);
		root = NULL;
	}
	return root;
}

void
provider_error(struct provider_result *res, const struct provider_resp *resp,
    const char *code, const char *text)
{
	char t[201], c[41];

	if (text == NULL || *text == '\0')
		return;
	provider_sanitize(t, sizeof t, text, strlen(text));
	if (code != NULL && *code != '\0') {
		provider_sanitize(c, sizeof c, code, strlen(code));
		snprintf(res->error, sizeof res->error, "HTTP %ld: %s: %s",
		    resp->status, c, t);
	} else
		snprintf(res->error, sizeof res->error, "HTTP %ld: %s", resp->status, t);
}

void
provider_retry_secs(struct provider_result *res, int64_t secs)
{
	if (secs <= 0)
		return;
	res->retry_after_ms = secs > PROVIDER_RETRY_MAX_MS / 1000 ?
	    PROVIDER_RETRY_MAX_MS : secs * 1000;
}
