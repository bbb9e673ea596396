/*
 * provider_log: "sends" by writing each message to a file in the outbox
 * directory, for development, demos and black-box tests. E-mail becomes
 * <outbox>/<id>.eml (the same MIME an SMTP server would get), SMS becomes
 * <outbox>/<id>.sms.txt. The write is synchronous on the loop, like
 * logging: a small local file, written atomically so a reader never sees
 * half a message. Rewriting the same id replaces the file, so a resend
 * after a crash leaves one file, not two.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "clock.h"
#include "config.h"
#include "provider.h"

/* mkdir -p with mode for each directory created. 0, or -1 with *cause. */
static int
outbox_mkdirs(const char *dir, mode_t mode, char **cause)
{
	char *p = xstrdup(dir), *s;
	struct stat sb;

	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		if (s[-1] != '/') {
			char c = *s;

			*s = '\0';
			if (mkdir(p, mode) != 0 && errno != EEXIST) {
				*cause = xasprintf("mkdir %s: %s", p, strerror(errno));
				free(p);
				return -1;
			}
			*s = c;
		}
		if (*s == '\0')
			break;
	}
	if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		*cause = xasprintf("%s: not a directory", p);
		free(p);
		return -1;
	}
	free(p);
	return 0;
}

/*
 * The message id names the file: keep it to a safe alphabet so no id can
 * climb out of the outbox or hide as a dot file.
 */
static char *
outbox_file_name(const char *id)
{
	char *name = xstrdup(id != NULL && *id != '\0' ? id : "unnamed"), *p;

	for (p = name; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' &&
		    (*p != '.' || p == name))
			*p = '_';
	}
	return name;
}

static void
outbox_sms(const struct message *m, struct buf *out)
{
	const char *text = m->text != NULL ? m->text : "";
	size_t n = strlen(text);

	buf_printf(out, "To: %s\n\n%s", m->to != NULL ? m->to : "", text);
	if (n == 0 || text[n - 1] != '\n')
		buf_addc(out, '\n');
}

/*
 * Writes the file; SEND_OK with the path as provider id (the basename when
 * the path is too long for provider_id), else SEND_RETRY: a full disk or a
 * missing permission is the operator's to fix, not the message's fault.
 */
static void
outbox_deliver(const struct config *cfg, const struct message *m,
    struct provider_result *res)
{
	const char *dir = cfg->outbox_dir != NULL && *cfg->outbox_dir != '\0' ?
	    cfg->outbox_dir : ".";
	char *name, *path, *cause = NULL;
	const char *ext;
	struct buf b;

	memset(res, 0, sizeof *res);
	switch (m->channel) {
	case CHANNEL_EMAIL:
		ext = ".eml";
		break;
	case CHANNEL_SMS:
		ext = ".sms.txt";
		break;
	default:
		res->outcome = SEND_PERMANENT;
		snprintf(res->error, sizeof res->error,
		    "log provider: channel %d is not supported", (int)m->channel);
		return;
	}
	if (outbox_mkdirs(dir, 0750, &cause) != 0) {
		res->outcome = SEND_RETRY;
		snprintf(res->error, sizeof res->error, "outbox: %s", cause);
		free(cause);
		return;
	}
	name = outbox_file_name(m->id);
	path = xasprintf("%s%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/",
	    name, ext);

	buf_init(&b);
	if (m->channel == CHANNEL_EMAIL)
		provider_mime(m, clock_now_ms(), &b);
	else
		outbox_sms(m, &b);
	if (util_write_file(path, b.data, b.len, &cause) != 0) {
		res->outcome = SEND_RETRY;
		snprintf(res->error, sizeof res->error, "outbox: %s", cause);
		free(cause);
	} else {
		res->outcome = SEND_OK;
		if (strlen(path) < sizeof res->provider_id)
			snprintf(res->provider_id, sizeof res->provider_id, "%s", path);
		else
			snprintf(res->provider_id, sizeof res->provider_id, "%s%s",
			    name, ext);
	}
	buf_free(&b);
	free(path);
	free(name);
}

const struct provider provider_log = {
	.name = "log",
	.channel = CHANNEL_EMAIL,
	.deliver = outbox_deliver,
};
