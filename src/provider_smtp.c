/*
 * provider_smtp: plain SMTP through libcurl, to any relay given as
 * NUDGE_SMTP_URL=smtp[s]://user:pass@host:port[/ehlo-name]. The message is
 * the RFC 5322 text provider_mime builds (the same bytes the log provider
 * writes), with a Message-ID of ours: SMTP returns no id of its own, so
 * that Message-ID is the provider id, and bounces can be matched by it.
 *
 * Credentials leave the URL for CURLOPT_USERPWD (so they never show up in
 * an error text). smtps:// is TLS from the first byte; smtp:// upgrades
 * with STARTTLS when the server offers it, and must upgrade when there are
 * credentials to send: a relay that takes a password in clear text, or a
 * network that strips STARTTLS, fails instead of leaking it.
 *
 * The transfer itself runs on dispatch's SMTP lane (its own thread), since
 * libcurl 7.88 blocks while it waits for the reply to the message data;
 * see dispatch.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "config.h"
#include "provider.h"

/* Percent-decodes s[0..n) into a new string; NULL on a bad escape or a NUL. */
static char *
smtp_unescape(const char *s, size_t n)
{
	char *out = xmalloc(n + 1), hex[3];
	size_t i, o = 0;
	unsigned long v;

	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		if (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) ||
		    !isxdigit((unsigned char)s[i + 2])) {
			free(out);
			return NULL;
		}
		hex[0] = s[i + 1];
		hex[1] = s[i + 2];
		hex[2] = '\0';
		v = strtoul(hex, NULL, 16);
		if (v == 0) {
			free(out);
			return NULL;
		}
		out[o++] = (char)v;
		i += 2;
	}
	out[o] = '\0';
	return out;
}

/*
 * Splits url into the URL without credentials (*bare) and "user:pass"
 * (*userpwd, NULL when the URL has none). 0, or -1 with *cause.
 */
static int
smtp_parse_url(const char *url, char **bare, char **userpwd, int *tls_required,
    char **cause)
{
	const char *auth, *end, *at, *colon;
	char *user = NULL, *pass = NULL;
	size_t slen;

	*bare = *userpwd = NULL;
	if (strncasecmp(url, "smtp://", 7) == 0)
		slen = 7;
	else if (strncasecmp(url, "smtps://", 8) == 0)
		slen = 8;
	else {
		*cause = xstrdup("NUDGE_SMTP_URL must start with smtp:// or smtps://");
		return -1;
	}
	auth = url + slen;
	end = auth + strcspn(auth, "/?#");
	/* The last '@' of the authority: a password may contain '@' unescaped. */
	for (at = NULL, colon = auth; colon < end; colon++) {
		if (*colon == '@')
			at = colon;
	}
	if (at == NULL) {
		*bare = xstrdup(url);
		*tls_required = 0;
		return 0;
	}
	colon = memchr(auth, ':', (size_t)(at - auth));
	user = smtp_unescape(auth, (size_t)((colon != NULL ? colon : at) - auth));
	pass = colon != NULL ? smtp_unescape(colon + 1, (size_t)(at - colon - 1)) :
	    xstrdup("");
	if (user == NULL || pass == NULL || strchr(user, ':') != NULL ||
	    !provider_header_safe(user) || !provider_header_safe(pass)) {
		free(user);
		free(pass);
		*cause = xstrdup("NUDGE_SMTP_URL: user name or password is not valid");
		return -1;
	}
	*bare = xasprintf("%.*s%s", (int)slen, url, at + 1);
	*userpwd = xasprintf("%s:%s", user, pass);
	*tls_required = slen == 7 && *user != '\0';
	free(user);
	free(pass);
	return 0;
}

static int
smtp_build(const struct config *cfg, const struct message *m,
    struct provider_req *req, char **cause)
{
	int tls_required;

	if (provider_need("NUDGE_SMTP_URL", cfg->smtp_url, cause) != 0 ||
	    provider_check_email("smtp", m, cause) != 0)
		return -1;
	if (smtp_parse_url(cfg->smtp_url, &req->url, &req->userpwd, &tls_required,
	    cause) != 0)
		return -1;
	req->method = "POST";
	req->smtp_require_tls = tls_required;
	req->mail_from = xasprintf("<%s>", m->from);
	req->mail_rcpt = xasprintf("<%s>", m->to);
	req->ref = provider_message_id(m->id);
	provider_mime(m, clock_now_ms(), &req->body);
	return 0;
}

/*
 * resp->status is the last SMTP reply code (libcurl reports it for failed
 * transfers too): 5xx is a permanent refusal (unknown user, rejected
 * content, failed login), 4xx a temporary one (greylisting, throttling).
 * Without a reply code the transfer failed on its way and is retried.
 */
static void
smtp_classify(const struct provider_resp *resp, struct provider_result *res)
{
	long st = resp->status;

	memset(res, 0, sizeof *res);
	if (st >= 400 && st <= 599) {
		res->outcome = st >= 500 ? SEND_PERMANENT : SEND_RETRY;
		snprintf(res->error, sizeof res->error, "SMTP %ld%s%s", st,
		    resp->error != NULL ? ": " : "",
		    resp->error != NULL ? resp->error : "");
		return;
	}
	if (resp->transport_error != 0 || st == 0) {
		provider_classify_http(resp, res);
		return;
	}
	res->outcome = SEND_OK;
	snprintf(res->provider_id, sizeof res->provider_id, "%s",
	    resp->ref != NULL ? resp->ref : "");
}

const struct provider provider_smtp = {
	.name = "smtp",
	.channel = CHANNEL_EMAIL,
	.build = smtp_build,
	.classify = smtp_classify,
};
