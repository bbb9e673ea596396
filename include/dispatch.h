/*
 * dispatch: runs provider requests on libcurl multi, driven by the
 * worker's libevent loop (socket and timer callbacks, the way hiredis's
 * libevent adapter is written). Connections are reused across requests;
 * HTTP/2 is used where the server offers it. A request belongs to dispatch
 * from dispatch_send() until its done callback returns.
 */
#ifndef NUDGE_DISPATCH_H
#define NUDGE_DISPATCH_H

#include <stddef.h>

#include "provider.h"

struct event_base;
struct dispatch;

/* Called once per request, from the loop; resp is valid only during the call. */
typedef void dispatch_done_cb(void *arg, const struct provider_resp *resp);

struct dispatch *dispatch_new(struct event_base *, long timeout_ms);
/*
 * Starts req (ownership passes to dispatch, which frees it). 0, or -1 when
 * the request could not be started (cb is then not called).
 * req must come from malloc: it is freed with provider_req_free + free, on
 * -1 too. cb runs from the loop, never from within dispatch_send.
 */
int	dispatch_send(struct dispatch *, struct provider_req *req,
	    dispatch_done_cb *cb, void *arg);
size_t	dispatch_inflight(const struct dispatch *);
/* Aborts every request in flight (their callbacks are called with a transport error). */
void	dispatch_abort_all(struct dispatch *);
/*
 * Aborts what is still in flight (each callback is called with a transport
 * error, as by dispatch_abort_all), then frees. Safe from a done callback:
 * the memory goes once the callback has returned.
 */
void	dispatch_free(struct dispatch *);

#endif
