/*
 * pnorm: small helpers the platform normalizers share (WooCommerce,
 * CartFlows, generic): reading optional JSON members, building the
 * template contexts with every id as a string and empty values left out,
 * the canonical e-mail, amounts, times, and the JSON body itself.
 */
#ifndef NUDGE_PNORM_H
#define NUDGE_PNORM_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "platform.h"

/* Room for "YYYY-MM-DDTHH:MM:SSZ" and then some. */
#define PNORM_TIME_MAX 32

/* A string member, or NULL when absent, null, another type or "". */
const char	*pnorm_str(const json_t *obj, const char *key);
/* xstrdup, or NULL for NULL. */
char		*pnorm_dup(const char *);
/* Adds key: s to obj unless s is NULL or "". */
void		 pnorm_set_str(json_t *obj, const char *key, const char *s);
/* Adds key: "<id>" (always a string) when v is an id (nevent_json_id). */
void		 pnorm_set_id(json_t *obj, const char *key, const json_t *v);
/*
 * An amount as text: a string as is, an integer exactly, a real with two
 * decimals. NULL for anything else. Caller frees.
 */
char		*pnorm_amount(const json_t *v);
/* Adds key: pnorm_amount(v) unless that is NULL. */
void		 pnorm_set_amount(json_t *obj, const char *key, const json_t *v);
/* The address trimmed and lower-cased, or NULL when nothing is left. */
char		*pnorm_email(const char *s);
/* ms since the epoch as "YYYY-MM-DDTHH:MM:SSZ" (UTC, seconds). */
void		 pnorm_iso_time(int64_t ms, char out[PNORM_TIME_MAX]);
/* The first n (<= 64) hex digits of SHA-256 of the raw body, NUL-terminated. */
void		 pnorm_body_hash(const struct platform_req *, char *out, size_t n);
/*
 * Parses the raw body as a JSON object, integers kept exact. NULL, with res
 * set to PLATFORM_INVALID, when it is not one. Caller decrefs.
 */
json_t		*pnorm_body_object(const struct platform_req *, struct platform_result *);

#endif
