/*
 * log: one JSON object per line on stderr:
 *   {"ts":"2026-11-23T12:00:00.123Z","level":"info","prog":"nudge-server",
 *    "id":"<request or message id>","msg":"...", <extra fields>}
 * The level is checked before anything is formatted. Never pass secrets;
 * mask customer addresses with log_mask_addr().
 */
#ifndef NUDGE_LOG_H
#define NUDGE_LOG_H

#include "util.h"

enum log_level {
	LOG_DEBUG,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR,
};

extern int log_min_level;

void	 log_init(const char *prog, int min_level);
/* Parses "debug", "info", "warn", "error". -1 when unknown. */
int	 log_level_parse(const char *);
/*
 * Writes one line. id may be NULL. fields, when not NULL, is a JSON
 * object body fragment without braces ("\"status\":200,...") appended as is.
 */
void	 log_write(int level, const char *id, const char *fields,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Masks an e-mail or phone for logs: "an***@example.gr", "+30******12". */
void	 log_mask_addr(const char *addr, char *out, size_t outlen);
/* Routes libevent's internal log messages into ours. */
void	 log_hook_libevent(void);

#define log_at(lvl, id, fields, ...) do {				\
	if ((lvl) >= log_min_level)					\
		log_write((lvl), (id), (fields), __VA_ARGS__);		\
} while (0)
#define log_debug(id, ...)	log_at(LOG_DEBUG, id, NULL, __VA_ARGS__)
#define log_info(id, ...)	log_at(LOG_INFO, id, NULL, __VA_ARGS__)
#define log_warn(id, ...)	log_at(LOG_WARN, id, NULL, __VA_ARGS__)
#define log_error(id, ...)	log_at(LOG_ERROR, id, NULL, __VA_ARGS__)

#endif
