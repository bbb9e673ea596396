/*
 * provider: one small const vtable per sending service. A provider only
 * builds the request for a rendered message and classifies the answer;
 * running the request (libcurl multi), retries and leases belong to
 * dispatch and worker. Providers with no network request (log) implement
 * deliver() instead of build()/classify().
 */
#ifndef NUDGE_PROVIDER_H
#define NUDGE_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct config;

enum channel {
	CHANNEL_EMAIL,
	CHANNEL_SMS,
	CHANNEL_WEBHOOK,
};

/* A rendered message, ready to go. All strings borrowed from the caller. */
struct message {
	const char	*id;		/* nudge message id (deterministic) */
	const char	*shop;		/* shop domain */
	const char	*flow;
	const char	*step;
	const char	*template;
	enum channel	 channel;
	int		 promotional;	/* 1: marketing step */
	const char	*locale;	/* locale the template was rendered in */
	const char	*to;		/* e-mail address or E.164 phone */
	const char	*to_name;	/* may be NULL */
	const char	*from;		/* sender address / number / id */
	const char	*from_name;	/* may be NULL */
	const char	*subject;	/* e-mail */
	const char	*html;		/* e-mail */
	const char	*text;		/* e-mail plain text, or the SMS text */
	const char	*unsubscribe_url; /* promotional e-mail, else NULL */
};

/* The request a provider wants sent. Owned by whoever built it. */
struct provider_req {
	const char	*method;	/* "POST", ... (static string) */
	char		*url;
	char		*headers[16];	/* "Name: value", NULL-terminated */
	size_t		 nheaders;
	struct buf	 body;
	char		*userpwd;	/* HTTP Basic "user:pass", or NULL */
	/* SMTP (url smtp:// or smtps://): envelope sender and recipient */
	char		*mail_from;
	char		*mail_rcpt;
	int		 smtp_require_tls; /* smtp://: 1 fails without STARTTLS */
	char		*ref;		/* echoed as provider_resp.ref, or NULL */
};

/* The answer, as dispatch saw it. */
struct provider_resp {
	long		 status;	/* HTTP status or SMTP reply code; 0 if none */
	int		 transport_error; /* 0, or a CURLcode */
	const char	*error;		/* transport error text, or NULL */
	int		 timed_out;
	const char	*body;
	size_t		 body_len;
	/* Case-insensitive response header lookup; NULL when absent. */
	const char	*(*header)(void *hctx, const char *name);
	void		*hctx;
	int64_t		 now_ms;	/* wall clock when the answer came */
	/*
	 * The request's ref: what classify needs to know of the request and
	 * cannot read in the answer (SMTP: our Message-ID; webhook: the
	 * message id when the receiver sends none back). NULL if none.
	 */
	const char	*ref;
};

enum send_outcome {
	SEND_OK,		/* accepted by the provider */
	SEND_RETRY,		/* try again later (5xx, timeout, 429, ...) */
	SEND_PERMANENT,		/* will never work (4xx, invalid recipient) */
};

struct provider_result {
	enum send_outcome outcome;
	int64_t		 retry_after_ms; /* >0: provider asked for this delay */
	char		 provider_id[128];
	char		 error[256];
};

struct provider {
	const char	*name;
	enum channel	 channel;
	/* Builds req for m. 0, or -1 with *cause (the message is permanent). */
	int		(*build)(const struct config *, const struct message *m,
			    struct provider_req *req, char **cause);
	void		(*classify)(const struct provider_resp *, struct provider_result *);
	/* For providers without a network request; NULL otherwise. */
	void		(*deliver)(const struct config *, const struct message *m,
			    struct provider_result *);
};

extern const struct provider provider_sendgrid;
extern const struct provider provider_postmark;
extern const struct provider provider_mailgun;
extern const struct provider provider_smtp;
extern const struct provider provider_twilio;
extern const struct provider provider_vonage;
extern const struct provider provider_webhook;
extern const struct provider provider_log;

/* The provider called name, or NULL. */
const struct provider *provider_find(const char *name);
void	provider_req_init(struct provider_req *);
void	provider_req_free(struct provider_req *);
/* Appends a printf-formatted header line to req. */
void	provider_req_header(struct provider_req *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Parses Retry-After (delta seconds or an HTTP date) into ms; 0 if absent/bad. */
int64_t	provider_retry_after_ms(const char *value, int64_t now_ms);
/* The default HTTP classification: 2xx ok, 429/5xx/transport retry, else permanent. */
void	provider_classify_http(const struct provider_resp *, struct provider_result *);
/* resp's header called name (case-insensitive), or NULL. */
const char *provider_resp_header(const struct provider_resp *, const char *name);
/*
 * Copies in (inlen bytes, stops at NUL) to out as printable ASCII for error
 * texts: whitespace runs become one space, other bytes '?'. Returns the length.
 */
size_t	provider_sanitize(char *out, size_t outlen, const char *in, size_t inlen);
/*
 * Appends m as an RFC 5322 / MIME message (CRLF lines, RFC 2047 headers,
 * multipart/alternative text + html) dated now_ms. Used by the log
 * provider's outbox and by SMTP.
 */
void	provider_mime(const struct message *m, int64_t now_ms, struct buf *out);
/* "<id@nudge>", the Message-ID provider_mime gives m. Caller frees. */
char	*provider_message_id(const char *id);

/*
 * Helpers the request builders share. Builders refuse (-1, *cause) what
 * can never be sent: missing credentials, invalid addresses, text that is
 * not UTF-8; everything that ends up in a mail or HTTP header is kept
 * free of control bytes so no header can be injected.
 */

/*
 * base (trailing slashes dropped; def when base is NULL or empty) followed
 * by the printf-formatted path. Caller frees.
 */
char	*provider_url(const char *base, const char *def, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Decodes one code point at *s (UTF-8, strict) and advances; -1 if invalid. */
int	provider_utf8_next(const char **s, uint32_t *cp);
/* 1 when s (NULL counts as empty) is valid UTF-8. */
int	provider_utf8_valid(const char *s);
/* 1 when s has no control byte (C0 or DEL), i.e. is safe in a header line. */
int	provider_header_safe(const char *s);
/* A copy of s (NULL: "") with control bytes replaced by spaces. Caller frees. */
char	*provider_clean(const char *s);
/*
 * 1 for a plain mailbox address "local@domain": UTF-8, no white space,
 * control bytes or any of <>()[],;:\" (nothing that could add a recipient,
 * end an SMTP command or break out of a header).
 */
int	provider_addr_valid(const char *addr);
/*
 * "addr", or "\"Name\" <addr>" with the name cleaned and quoted: the
 * mailbox form JSON and form APIs take. addr must be valid. Caller frees.
 */
char	*provider_addr(const char *name, const char *addr);
/*
 * The digits of an international number into out: "+" or "00" or nothing,
 * then 7 to 15 digits, not starting with 0; spaces, '-', '.' and
 * parentheses between them are dropped. -1 when to is not one.
 */
int	provider_e164(const char *to, char *out, size_t outlen);
/*
 * The checks every e-mail builder makes of m (recipient, sender, text or
 * html, UTF-8). 0, or -1 with *cause starting with name.
 */
int	provider_check_email(const char *name, const struct message *m, char **cause);
/* The same for SMS: E.164 recipient digits into to (16 bytes), UTF-8 text. */
int	provider_check_sms(const char *name, const struct message *m, char to[16],
	    char **cause);
/* 0 when value is set and header-safe, else -1 with *cause naming var. */
int	provider_need(const char *var, const char *value, char **cause);
/* Appends "name=value" (form-urlencoded, '&' between pairs). */
void	provider_form_add(struct buf *, const char *name, const char *value);

/*
 * JSON request bodies written straight into a buffer (provider_json.c): the
 * bytes json_dumps(JSON_COMPACT) would give, without a jansson tree per
 * message. Members come out in the order written. A string value that is
 * not UTF-8 is written as null and its key remembered in bad (the builder
 * then refuses the message).
 */
#define PROVIDER_JSON_DEPTH	8
struct provider_json {
	struct buf	*out;
	const char	*bad;		/* first key whose value was not UTF-8 */
	int		 depth;		/* objects and arrays open */
	unsigned char	 more[PROVIDER_JSON_DEPTH];	/* a member written at that level */
	char		 close[PROVIDER_JSON_DEPTH];	/* '}' or ']' */
};
void	provider_json_init(struct provider_json *, struct buf *out);
/* Opens an object ('{') or array ('[') as member key (NULL: in an array, or the top). */
void	provider_json_open(struct provider_json *, const char *key, char bracket);
void	provider_json_close(struct provider_json *);
/* key: value, a string (NULL writes null). */
void	provider_json_str(struct provider_json *, const char *key, const char *value);
void	provider_json_strn(struct provider_json *, const char *key, const char *value,
	    size_t len);
void	provider_json_bool(struct provider_json *, const char *key, int value);
/*
 * Appends s (len bytes) as a JSON string literal, quotes included, escaped
 * as jansson does. -1 (nothing appended) when s is not UTF-8.
 */
int	provider_json_escape(struct buf *, const char *s, size_t len);
struct json_t;
/* The answer's body as a JSON object, or NULL. Caller json_decref's. */
struct json_t *provider_resp_json(const struct provider_resp *);
/*
 * res->error = "HTTP <status>: [code: ]text", text sanitized; text NULL or
 * empty keeps what is there (provider_classify_http's version).
 */
void	provider_error(struct provider_result *, const struct provider_resp *,
	    const char *code, const char *text);
/* res->retry_after_ms from a delay in seconds, capped like Retry-After. */
void	provider_retry_secs(struct provider_result *, int64_t secs);

#endif
