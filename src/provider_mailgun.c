/*
 * provider_mailgun: Mailgun's POST /v3/{domain}/messages (HTTP Basic
 * api:<key>) with a multipart/form-data body, the encoding its OpenAPI
 * file specifies. Our message id travels as the user variable v:nudge_id,
 * which comes back in events as user-variables; the provider id is the
 * answer's "id" without its angle brackets (the form events carry).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "provider.h"

#define MAILGUN_DEFAULT_URL	"https://api.mailgun.net"

struct mailgun_field {
	const char	*name;
	char		*value;		/* owned */
};

#define MAILGUN_FIELDS_MAX	16

struct mailgun_form {
	struct mailgun_field	 f[MAILGUN_FIELDS_MAX];
	size_t			 n;
};

static void
mailgun_add(struct mailgun_form *form, const char *name, char *value)
{
	form->f[form->n].name = name;
	form->f[form->n].value = value;
	form->n++;
}

static void
mailgun_add_str(struct mailgun_form *form, const char *name, const char *value)
{
	if (value != NULL && *value != '\0')
		mailgun_add(form, name, xstrdup(value));
}

/*
 * A boundary that occurs in no value: random, and checked anyway (a part
 * containing "--boundary" would end the form early).
 */
static void
mailgun_boundary(const struct mailgun_form *form, char out[48])
{
	unsigned char rnd[12];
	char hex[25];
	size_t i;

	for (;;) {
		util_random(rnd, sizeof rnd);
		util_hex(rnd, sizeof rnd, hex);
		snprintf(out, 48, "nudge-%s", hex);
		for (i = 0; i < form->n; i++) {
			if (strstr(form->f[i].value, out) != NULL)
				break;
		}
		if (i == form->n)
			return;
	}
}

static int
mailgun_domain_ok(const char *d)
{
	for (; *d != '\0'; d++) {
		if (!isalnum((unsigned char)*d) && *d != '.' && *d != '-')
			return 0;
	}
	return 1;
}

static int
mailgun_build(const struct config *cfg, const struct message *m,
    struct provider_req *req, char **cause)
{
	struct mailgun_form form;
	char boundary[48];
	size_t i;

	if (provider_need("MAILGUN_API_KEY", cfg->mailgun_api_key, cause) != 0 ||
	    provider_need("MAILGUN_DOMAIN", cfg->mailgun_domain, cause) != 0)
		return -1;
	if (!mailgun_domain_ok(cfg->mailgun_domain)) {
		*cause = xstrdup("MAILGUN_DOMAIN is not a domain name");
		return -1;
	}
	if (provider_check_email("mailgun", m, cause) != 0)
		return -1;

	/* Mailgun puts these in mail headers: names and subject are cleaned. */
	memset(&form, 0, sizeof form);
	mailgun_add(&form, "from", provider_addr(m->from_name, m->from));
	mailgun_add(&form, "to", provider_addr(m->to_name, m->to));
	mailgun_add(&form, "subject", provider_clean(m->subject));
	mailgun_add_str(&form, "text", m->text);
	mailgun_add_str(&form, "html", m->html);
	mailgun_add_str(&form, "o:tag", m->step);
	mailgun_add_str(&form, "v:nudge_id", m->id);
	mailgun_add_str(&form, "v:shop", m->shop);
	mailgun_add_str(&form, "v:flow", m->flow);
	mailgun_add_str(&form, "v:step", m->step);
	if (m->unsubscribe_url != NULL && *m->unsubscribe_url != '\0') {
		mailgun_add(&form, "h:List-Unsubscribe",
		    xasprintf("<%s>", m->unsubscribe_url));
		mailgun_add_str(&form, "h:List-Unsubscribe-Post",
		    "List-Unsubscribe=One-Click");
	}
	for (i = 0; i < form.n; i++) {
		if (!provider_utf8_valid(form.f[i].value)) {
			*cause = xasprintf("mailgun: %s is not valid UTF-8", form.f[i].name);
			break;
		}
	}
	if (i == form.n) {
		mailgun_boundary(&form, boundary);
		for (i = 0; i < form.n; i++) {
			buf_printf(&req->body, "--%s\r\nContent-Disposition: form-data; "
			    "name=\"%s\"\r\n\r\n", boundary, form.f[i].name);
			buf_adds(&req->body, form.f[i].value);
			buf_adds(&req->body, "\r\n");
		}
		buf_printf(&req->body, "--%s--\r\n", boundary);
		req->method = "POST";
		req->url = provider_url(cfg->mailgun_url, MAILGUN_DEFAULT_URL,
		    "/v3/%s/messages", cfg->mailgun_domain);
		req->userpwd = xasprintf("api:%s", cfg->mailgun_api_key);
		provider_req_header(req, "Content-Type: multipart/form-data; boundary=%s",
		    boundary);
	}
	for (i = 0; i < form.n; i++)
		free(form.f[i].value);
	return req->url != NULL ? 0 : -1;
}

/* "... try again after 120 seconds" -> 120; 0 when absent. */
static int64_t
mailgun_try_after(const char *msg)
{
	const char *p;
	int64_t secs = 0;

	if (msg == NULL || (p = strstr(msg, "try again after ")) == NULL)
		return 0;
	for (p += strlen("try again after "); isdigit((unsigned char)*p); p++) {
		if (secs < 1000000)
			secs = secs * 10 + (*p - '0');
	}
	return strncmp(p, " second", 7) == 0 ? secs : 0;
}

static void
mailgun_classify(const struct provider_resp *resp, struct provider_result *res)
{
	const char *id, *msg = NULL;
	size_t n;
	json_t *root;

	provider_classify_http(resp, res);
	if (resp->transport_error != 0 || resp->status == 0)
		return;
	root = provider_resp_json(resp);
	if (root != NULL)
		msg = json_string_value(json_object_get(root, "message"));
	if (res->outcome == SEND_OK) {
		id = root != NULL ? json_string_value(json_object_get(root, "id")) : NULL;
		if (id != NULL) {
			if (*id == '<')
				id++;
			n = strlen(id);
			if (n > 0 && id[n - 1] == '>')
				n--;
			snprintf(res->provider_id, sizeof res->provider_id, "%.*s",
			    (int)n, id);
		}
	} else {
		if (resp->status == 429 && res->retry_after_ms == 0)
			provider_retry_secs(res, mailgun_try_after(msg));
		provider_error(res, resp, NULL, msg);
	}
	json_decref(root);
}

const struct provider provider_mailgun = {
	.name = "mailgun",
	.channel = CHANNEL_EMAIL,
	.build = mailgun_build,
	.classify = mailgun_classify,
};
