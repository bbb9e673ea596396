/*
 * form: application/x-www-form-urlencoded parsing (request bodies and URL
 * query strings), as PHP's http_build_query writes it: pairs joined by '&',
 * '+' for a space, %XX for any other byte.
 */
#ifndef NUDGE_FORM_H
#define NUDGE_FORM_H

#include <stddef.h>

struct form_field {
	char	*name;		/* decoded */
	char	*value;		/* decoded; "" when the pair has no '=' */
};

struct form {
	struct form_field *v;	/* in the order received */
	size_t		 n;
};

/*
 * Parses len bytes of s into f (which the caller releases with form_free,
 * whatever the result). Empty pairs ("a=1&&b=2") are skipped. -1, with
 * *cause (caller frees), on a '%' not followed by two hex digits, on a
 * decoded NUL, or when a decoded name or value is not valid UTF-8: those
 * values end up in JSON and in messages, where neither can be carried.
 */
int		 form_parse(const char *s, size_t len, struct form *f, char **cause);
/* The value of the first field called name, or NULL. */
const char	*form_get(const struct form *, const char *name);
void		 form_free(struct form *);
/* 1 when the n bytes at s are valid UTF-8 (no overlongs, no surrogates). */
int		 form_utf8_valid(const char *s, size_t n);

#endif
