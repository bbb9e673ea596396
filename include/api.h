/*
 * api: nudge-server's endpoints for people rather than platforms:
 *   GET/POST /u/<token>      one-click unsubscribe (RFC 8058) and its page
 *   GET /v1/timeline?shop=&email=   a customer's timeline (admin bearer token)
 */
#ifndef NUDGE_API_H
#define NUDGE_API_H

struct evhttp_request;
struct config;
struct shops;
struct sched;
struct api;

struct api	*api_new(const struct config *, const struct shops *, struct sched *);
/* 1 when path belongs to the API (the request is then answered), else 0. */
int		 api_handle(struct api *, struct evhttp_request *, const char *path);
void		 api_free(struct api *);

#endif
