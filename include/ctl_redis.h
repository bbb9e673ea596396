/*
 * ctl_redis: nudgectl's synchronous Redis access (a CLI runs one command
 * and exits; no event loop). Settings come from the same environment
 * variables as the daemons.
 */
#ifndef NUDGE_CTL_REDIS_H
#define NUDGE_CTL_REDIS_H

#include <hiredis/hiredis.h>

#include "config.h"
#include "store.h"

struct ctl {
	struct config	 cfg;
	redisContext	*c;
};

/* Loads the settings and connects. 0, or -1 after printing why. */
int		 ctl_open(struct ctl *);
void		 ctl_close(struct ctl *);
/* A command; NULL (after printing the error) on failure. Caller frees. */
redisReply	*ctl_cmd(struct ctl *, const char *fmt, ...);
/* Runs a script with keys and args (EVAL). NULL after printing on failure. */
/* A message by id, as the inspect script lists its fields; NULL when gone. */
redisReply	*ctl_message(struct ctl *, const char *prefix, const char *id);
/* One field of a ctl_message() reply, or NULL. */
const char	*ctl_message_field(const redisReply *, const char *name);
redisReply	*ctl_script(struct ctl *, enum store_script, int nkeys, int argc,
		     const char **argv);

#endif
