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
	int	 missing;	/* template variables not found */
};

/*
 * Renders m. 0; -1 with *cause when it can never be sent as it is (no
 * recipient, no template in any locale): the caller dead-letters it; -2
 * with *cause when the subject's context has not arrived yet (a shipment
 * webhook came before its order): the caller tries again later.
 */
int	compose_message(const struct templates *, const struct config *, const struct shop *,
	    const struct sched_msg *m, struct composed *out, char **cause);
/* The context templates see (documented in docs/templates.md). Caller decrefs. */
json_t	*compose_context(const struct config *, const struct shop *, const struct sched_msg *m);
void	compose_free(struct composed *);

#endif
