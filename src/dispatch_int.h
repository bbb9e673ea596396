/*
 * dispatch_int.h: what dispatch.c (libcurl multi on the caller's loop) and
 * dispatch_smtp.c (SMTP on threads of its own) share. Private to the
 * dispatch module: nothing outside src/dispatch*.c includes it.
 */
#ifndef NUDGE_DISPATCH_INT_H
#define NUDGE_DISPATCH_INT_H

#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#include "clock.h"
#include "dispatch.h"


#define DISPATCH_BODY_MAX	(64 * 1024)	/* response body kept */
#define DISPATCH_HDR_MAX	48		/* response headers kept */
#define DISPATCH_HDR_BYTES	(16 * 1024)
#define DISPATCH_CONNECT_MAX_MS	5000L
#define DISPATCH_SMTP_THREADS		4		/* SMTP threads, made on demand */
#define DISPATCH_CONNS_MIN	256L		/* idle connections kept, at least */
#define DISPATCH_SPARE_MAX	4096		/* finished requests kept for reuse, at most */

struct dispatch_smtp;

/* A socket curl asked us to watch. */
struct dispatch_sock {
	struct event		 ev;
	curl_socket_t		 fd;
	LIST_ENTRY(dispatch_sock) entry;	/* on socks, or dead once dropped */
};

/* One request in flight. */
struct dispatch_req {
	CURL			*easy;
	struct provider_req	*req;		/* owned */
	struct curl_slist	*headers;
	struct curl_slist	*rcpt;
	dispatch_done_cb	*cb;
	void			*arg;
	unsigned long		 gen;		/* dispatch_abort_all's cut-off */

	struct buf		 body;		/* first DISPATCH_BODY_MAX bytes */
	struct buf		 hdrs;		/* "name\0value\0..." of the final response */
	size_t			 hname[DISPATCH_HDR_MAX];	/* offsets into hdrs */
	size_t			 hval[DISPATCH_HDR_MAX];
	size_t			 nh;
	size_t			 upload_off;	/* SMTP: bytes of req->body read */
	char			 errbuf[CURL_ERROR_SIZE];

	TAILQ_ENTRY(dispatch_req) entry;
};

struct dispatch {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	long			 timeout_ms;
	size_t			 inflight;
	unsigned long		 gen;
	int			 depth;		/* entry points on the stack */
	int			 dying;		/* dispatch_free called */
	int			 inline_smtp;	/* an SMTP thread's own: SMTP runs here */
	struct dispatch_smtp	*smtp[DISPATCH_SMTP_THREADS];
	TAILQ_HEAD(, dispatch_job) jobs;	/* on SMTP threads, not yet reported */

	TAILQ_HEAD(, dispatch_req) reqs;
	/*
	 * Finished requests kept with their easy handle (reset) and buffers:
	 * a steady stream of sends allocates nothing here. At most peak of
	 * them, the most requests ever in flight at once, which also sizes
	 * curl's connection cache (maxconnects).
	 */
	TAILQ_HEAD(, dispatch_req) spare;
	size_t			 nspare;
	size_t			 peak;
	long			 maxconnects;
	LIST_HEAD(, dispatch_sock) socks;
	LIST_HEAD(, dispatch_sock) dead;	/* dropped by curl, still on the stack */
	LIST_HEAD(, dispatch_sock) spare_socks;	/* dropped, for the next socket */
};

/* One SMTP request handed to a thread (see dispatch_smtp.c). */
struct dispatch_job {
	struct provider_req	*req;		/* until the thread starts it */
	dispatch_done_cb	*cb;
	void			*arg;
	unsigned long		 gen;
	struct dispatch_smtp	*thr;
	char			*ref;		/* copy of req->ref for the answer */
	int			 reported;	/* caller's loop: cb already called */
	int			 cancel;	/* lock: the caller gave up on it */

	/* The answer, copied on the thread. */
	long			 status;
	int			 terr;
	int			 timed_out;
	char			*error;
	struct buf		 body;
	int64_t			 now_ms;

	TAILQ_ENTRY(dispatch_job) entry;	/* caller's loop: d->jobs */
	TAILQ_ENTRY(dispatch_job) qentry;	/* inbox, running, outbox */
};

void	dispatch_enter(struct dispatch *);
/* Leaves an entry point; d may be gone afterwards. */
void	dispatch_leave(struct dispatch *);
void	dispatch_finish(struct dispatch *, struct dispatch_req *, CURLcode);
int	dispatch_smtp_send(struct dispatch *, struct provider_req *, dispatch_done_cb *, void *);
void	dispatch_smtp_abort(struct dispatch *, struct dispatch_job *);
void	dispatch_smtp_stop(struct dispatch_smtp *);

#endif
