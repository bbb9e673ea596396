/*
 * pnorm: helpers shared by the WooCommerce, CartFlows and generic
 * normalizers. Contexts follow one rule everywhere: a key is present only
 * with a useful value (no nulls, no empty strings), and ids are strings of
 * exact digits, never doubles.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>

#include "nevent.h"
#include "pnorm.h"
#include "util.h"

const char *
pnorm_str(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v) || json_string_length(v) == 0)
		return NULL;
	return json_string_value(v);
}

char *
pnorm_dup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

void
pnorm_set_str(json_t *obj, const char *key, const char *s)
{
	if (s != NULL && *s != '\0')
		json_object_set_new(obj, key, json_string(s));
}

void
pnorm_set_id(json_t *obj, const char *key, const json_t *v)
{
	char *s = nevent_json_id(v);

	if (s != NULL) {
		json_object_set_new(obj, key, json_string(s));
		free(s);
	}
}

char *
pnorm_amount(const json_t *v)
{
	if (json_is_string(v) && json_string_length(v) > 0)
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xasprintf("%lld", (long long)json_integer_value(v));
	if (json_is_real(v))
		return xasprintf("%.2f", json_real_value(v));
	return NULL;
}

void
pnorm_set_amount(json_t *obj, const char *key, const json_t *v)
{
	char *s = pnorm_amount(v);

	if (s != NULL) {
		json_object_set_new(obj, key, json_string(s));
		free(s);
	}
}

char *
pnorm_email(const char *s)
{
	const char *e;

	if (s == NULL)
		return NULL;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	if (e == s)
		return NULL;
	return util_lower(xstrndup(s, (size_t)(e - s)));
}

void
pnorm_iso_time(int64_t ms, char out[PNORM_TIME_MAX])
{
	time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, PNORM_TIME_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		out[0] = '\0';
}

void
pnorm_body_hash(const struct platform_req *req, char *out, size_t n)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hex[2 * SHA256_DIGEST_LENGTH + 1];

	SHA256((const unsigned char *)(req->body ? req->body : ""), req->body_len, md);
	util_hex(md, sizeof md, hex);
	if (n > 2 * SHA256_DIGEST_LENGTH)
		n = 2 * SHA256_DIGEST_LENGTH;
	memcpy(out, hex, n);
	out[n] = '\0';
}

json_t *
pnorm_body_object(const struct platform_req *req, struct platform_result *res)
{
	json_error_t err;
	json_t *body;

	/* No JSON_DECODE_INT_AS_REAL: integers stay exact json_int_t. */
	body = json_loadb(req->body ? req->body : "", req->body_len, 0, &err);
	if (body == NULL) {
		platform_result_set(res, PLATFORM_INVALID,
		    "body is not a JSON object: %s", err.text);
		return NULL;
	}
	if (!json_is_object(body)) {
		platform_result_set(res, PLATFORM_INVALID,
		    "body is not a JSON object");
		json_decref(body);
		return NULL;
	}
	return body;
}
