/*
 * http: what every HTTP listener of nudge shares (nudge-server's webhooks
 * and API, nudge-worker's metrics): listening sockets (SO_REUSEPORT, so
 * several loops can share a port), request ids, JSON answers, header
 * lookup in the shape platform and provider code expect.
 */
#ifndef NUDGE_HTTP_H
#define NUDGE_HTTP_H

#include <stddef.h>

struct evhttp_request;

#define HTTP_RID_LEN 16

/* A listening, non-blocking TCP socket on "host:port". -1 with *cause. */
int	 http_listen(const char *hostport, int reuseport, char **cause);
/* The port a socket is bound to (for ":0" listeners). */
int	 http_bound_port(int fd);
/* A fresh request id (HTTP_RID_LEN hex characters). */
void	 http_request_id(char out[HTTP_RID_LEN + 1]);
/*
 * Answers req with status code and a JSON object body. body_fields is the
 * inside of the object ("\"result\":\"ok\""); "request_id" is appended.
 */
void	 http_reply_json(struct evhttp_request *, int code, const char *rid,
	     const char *body_fields);
/* Answers with a JSON error: {"error": code_name, "reason": ..., "request_id": ...}. */
void	 http_reply_error(struct evhttp_request *, int code, const char *rid,
	     const char *error, const char *reason);
/* Case-insensitive request header lookup; hctx is the evhttp_request. */
const char *http_header(void *hctx, const char *name);
const char *http_method_name(int evhttp_cmd);

#endif
