/*
 * log: JSON lines. One write(2) per line so lines from several processes
 * sharing a pipe do not interleave.
 */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"

int log_min_level = LOG_INFO;
static const char *log_prog = "nudge";
static const char *log_names[] = { "debug", "info", "warn", "error" };

void
log_init(const char *prog, int min_level)
{
	log_prog = prog;
	log_min_level = min_level;
}

int
log_level_parse(const char *s)
{
	int i;

	for (i = 0; i < 4; i++)
		if (strcmp(s, log_names[i]) == 0)
			return i;
	return -1;
}

void
log_write(int level, const char *id, const char *fields, const char *fmt, ...)
{
	struct buf line, msg;
	struct timeval tv;
	struct tm tm;
	char ts[40];
	va_list ap;

	if (level < LOG_DEBUG || level > LOG_ERROR)
		level = LOG_ERROR;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	buf_init(&line);
	buf_init(&msg);
	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	buf_printf(&line, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"prog\":\"%s\"",
	    ts, (long)tv.tv_usec / 1000, log_names[level], log_prog);
	if (id != NULL) {
		buf_adds(&line, ",\"id\":");
		buf_add_json_str(&line, id);
	}
	buf_adds(&line, ",\"msg\":");
	buf_add_json_strn(&line, msg.data ? msg.data : "", msg.len);
	if (fields != NULL && *fields != '\0') {
		buf_addc(&line, ',');
		buf_adds(&line, fields);
	}
	buf_adds(&line, "}\n");
	if (write(STDERR_FILENO, line.data, line.len) < 0) {
		/* nowhere left to report it */
	}
	buf_free(&line);
	buf_free(&msg);
}

void
log_mask_addr(const char *addr, char *out, size_t outlen)
{
	const char *at;
	size_t n, keep, i, o = 0;

	if (outlen == 0)
		return;
	if (addr == NULL || *addr == '\0') {
		snprintf(out, outlen, "-");
		return;
	}
	n = strlen(addr);
	if ((at = strchr(addr, '@')) != NULL) {
		keep = (size_t)(at - addr) > 2 ? 2 : 1;
		for (i = 0; i < keep && o + 1 < outlen; i++)
			out[o++] = addr[i];
		for (i = 0; i < 3 && o + 1 < outlen; i++)
			out[o++] = '*';
		snprintf(out + o, outlen - o, "%s", at);
		return;
	}
	/* a phone number: keep the first three and last two characters */
	for (i = 0; i < n && o + 1 < outlen; i++)
		out[o++] = (i < 3 || i + 2 >= n) ? addr[i] : '*';
	out[o] = '\0';
}

static void
log_libevent_cb(int severity, const char *msg)
{
	int level = LOG_DEBUG;

	if (severity == EVENT_LOG_MSG)
		level = LOG_INFO;
	else if (severity == EVENT_LOG_WARN)
		level = LOG_WARN;
	else if (severity == EVENT_LOG_ERR)
		level = LOG_ERROR;
	log_at(level, NULL, "\"src\":\"libevent\"", "%s", msg);
}

void
log_hook_libevent(void)
{
	event_set_log_callback(log_libevent_cb);
}
