/*
 * util: allocation that aborts on out-of-memory (the policy of tmux and
 * redis: a daemon that cannot allocate a few bytes cannot do anything useful),
 * and a growable byte buffer used everywhere a string is built.
 */
#ifndef NUDGE_UTIL_H
#define NUDGE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

/* A growable buffer; data is always NUL-terminated after the first add. */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

void	 buf_init(struct buf *);
void	 buf_reserve(struct buf *, size_t);
void	 buf_add(struct buf *, const void *, size_t);
void	 buf_adds(struct buf *, const char *);
void	 buf_addc(struct buf *, char);
void	 buf_printf(struct buf *, const char *, ...) __attribute__((format(printf, 2, 3)));
void	 buf_vprintf(struct buf *, const char *, va_list);
/* Appends s as a JSON string literal, quotes included. */
void	 buf_add_json_str(struct buf *, const char *s);
void	 buf_add_json_strn(struct buf *, const char *s, size_t n);
/* Appends s percent-encoded for application/x-www-form-urlencoded. */
void	 buf_add_urlenc(struct buf *, const char *s);
void	 buf_reset(struct buf *);
char	*buf_detach(struct buf *);	/* caller frees; buf is reset */
void	 buf_free(struct buf *);

/* Case-insensitive ASCII compare helpers. */
int	 util_strcaseeq(const char *, const char *);
/* Parses a base-10 int64 from s (entire string). 0 on success, -1 otherwise. */
int	 util_parse_i64(const char *s, int64_t *out);
/* Lowercases ASCII in place; returns s. */
char	*util_lower(char *s);
/* Reads a whole file. Returns NULL and sets *cause (caller frees) on error. */
char	*util_read_file(const char *path, size_t *len, char **cause);
/* Writes a file atomically (temp + rename). 0 / -1 with *cause. */
int	 util_write_file(const char *path, const void *data, size_t len, char **cause);
/* Random bytes from the OS (getrandom). Aborts on failure. */
void	 util_random(void *out, size_t len);
/* Hex-encodes n bytes into out (2n+1 bytes). */
void	 util_hex(const unsigned char *in, size_t n, char *out);

#endif
