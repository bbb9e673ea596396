/*
 * server: nudge-server's HTTP side on one event loop: routing, limits,
 * the webhook ingest path (verify -> normalize -> plan -> apply), health
 * and readiness. Several servers (one per loop and thread) may share one
 * listening port through SO_REUSEPORT; they share only read-only state.
 */
#ifndef NUDGE_SERVER_H
#define NUDGE_SERVER_H

struct event_base;
struct config;
struct shops;
struct flows;
struct server;

/*
 * Creates a server on base accepting on the listening socket fd, with its
 * own Redis connection. NULL with *cause.
 */
struct metrics;

struct server	*server_new(struct event_base *, int fd, const struct config *,
		     const struct shops *, const struct flows *, struct metrics *, char **cause);
/* Declares the server's metric families in a registry (once per process). */
void		 server_metrics(struct metrics *);
/* Stops accepting new connections (graceful shutdown). */
void		 server_stop_accepting(struct server *);
/* Requests still waiting for Redis. */
unsigned	 server_pending(const struct server *);
void		 server_free(struct server *);

#endif
