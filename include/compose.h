/*
 * compose: from a claimed message and its subject's context to the
 * rendered parts a provider sends: recipient, locale, subject, HTML, text
 * (or SMS text). Pure: no I/O, so it is table-tested.
 */
#ifndef NUDGE_COMPOSE_H
#define NUDGE_COMPOSE_H

#include <jansson.h>

struct templates;
struct shop;
struct config;
struct sched_msg;

struct composed {
	char	*to;		/* e-mail address or phone */
	char	*to_name;	/* first name, or NULL */
	char	*locale;	/* the locale the templates came from */
	char	*subject;	/* e-mail only */
	char	*html;		/* e-mail only */
	char	*text;		/* plain text, or the SMS body */
	char	*unsubscribe_url; /* promotional messages: the signed one-click link */
	int	 missing;	/* template variables not found */
};

enum compose_status {
	COMPOSE_OK = 0,
	COMPOSE_BROKEN = -1,	/* can never be sent as configured (no template): dead letter */
	COMPOSE_LATER = -2,	/* the subject's context has not arrived yet: try again later */
	COMPOSE_SKIP = -3,	/* nothing to send to (no phone for an SMS step): skip */
};

/* Renders m. COMPOSE_OK, or another status with *cause. */
int	compose_message(const struct templates *, const struct config *, const struct shop *,
	    const struct sched_msg *m, struct composed *out, char **cause);
/*
 * The context templates see (documented in docs/templates.md), with money
 * and dates formatted for locale. Caller decrefs.
 */
json_t	*compose_context(const struct config *, const struct shop *, const struct sched_msg *m,
	    const char *locale);
/*
 * Frees the rendered parts (subject, html, text) and keeps the rest: once
 * a provider's request is built, a send needs no more than the recipient.
 */
void	compose_free_parts(struct composed *);
void	compose_free(struct composed *);

#endif
