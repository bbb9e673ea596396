/*
 * templates: the message templates on disk, loaded once at start.
 *
 * Layout: <dir>/<locale>/<template>.<part>, part one of subject, html, txt,
 * sms. Every file is parsed when loaded, so a broken template stops the
 * daemon at start instead of failing messages later, and the worker renders
 * from the parsed form instead of parsing each message's templates again.
 * Other files (README, editor backups) and hidden entries are skipped;
 * hidden entries include the "..data" links of a Kubernetes ConfigMap
 * mount, whose files are reached through the visible symlinks instead.
 *
 * The set is a sorted array searched by (locale, template, part): a few
 * hundred entries, read-only after load, so it is shared by all threads
 * without locking.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "render.h"

/* Longest locale kept, e.g. "zh-Hant-TW" fits; longer ones never match. */
#define TEMPLATES_LOCALE_MAX 36

static const char *templates_parts[] = { "subject", "html", "txt", "sms" };

struct templates_entry {
	char		*locale;	/* directory name as written: *used */
	char		*key;		/* normalized locale: "pt-br" */
	char		*name;
	const char	*part;		/* one of templates_parts */
	char		*text;
	size_t		 len;
	struct render_tpl *tpl;		/* text, parsed once */
};

struct templates {
	struct templates_entry	*v;
	size_t			 n;
	size_t			 cap;
};

/*
 * Normalizes a locale for comparison: lower case, '_' as '-', without an
 * encoding or modifier ("en_US.UTF-8" -> "en-us"). 0, or -1 when empty or
 * too long to be one we hold.
 */
static int
templates_norm(const char *in, char *out)
{
	size_t i;

	if (in == NULL)
		return -1;
	for (i = 0; in[i] != '\0' && in[i] != '.' && in[i] != '@'; i++) {
		if (i == TEMPLATES_LOCALE_MAX - 1)
			return -1;
		if (in[i] == '_')
			out[i] = '-';
		else if (in[i] >= 'A' && in[i] <= 'Z')
			out[i] = (char)(in[i] - 'A' + 'a');
		else
			out[i] = in[i];
	}
	out[i] = '\0';
	return i == 0 ? -1 : 0;
}

static int
templates_cmp3(const char *k1, const char *n1, const char *p1, const char *k2,
    const char *n2, const char *p2)
{
	int c;

	if ((c = strcmp(k1, k2)) != 0)
		return c;
	if ((c = strcmp(n1, n2)) != 0)
		return c;
	return strcmp(p1, p2);
}

static int
templates_cmp(const void *a, const void *b)
{
	const struct templates_entry *x = a, *y = b;

	return templates_cmp3(x->key, x->name, x->part, y->key, y->name, y->part);
}

static const struct templates_entry *
templates_find(const struct templates *t, const char *key, const char *name,
    const char *part)
{
	size_t lo = 0, hi = t->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = templates_cmp3(key, name, part, t->v[mid].key, t->v[mid].name,
		    t->v[mid].part);
		if (c == 0)
			return &t->v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static const char *
templates_part(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof templates_parts / sizeof templates_parts[0]; i++) {
		if (strcmp(s, templates_parts[i]) == 0)
			return templates_parts[i];
	}
	return NULL;
}

/* Letters, digits, '-' and '_': the names we accept for locales and templates. */
static int
templates_valid_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

static int
templates_is_dir(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/*
 * Reads and checks one file into a new entry. A subject or SMS is one line
 * however the file ends, so trailing blanks and newlines an editor added are
 * dropped; a leading UTF-8 byte order mark is dropped from every part.
 */
static int
templates_add_file(struct templates *t, const char *path, const char *locale,
    const char *key, const char *name, size_t nlen, const char *part,
    char **cause)
{
	struct templates_entry *e;
	struct render_tpl *tpl;
	char *text, *why = NULL;
	size_t len;

	if ((text = util_read_file(path, &len, cause)) == NULL)
		return -1;
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		memmove(text, text + 3, len - 3);
		len -= 3;
		text[len] = '\0';
	}
	if (strcmp(part, "subject") == 0 || strcmp(part, "sms") == 0) {
		while (len > 0 && strchr(" \t\r\n", text[len - 1]) != NULL)
			text[--len] = '\0';
	}
	if ((tpl = render_compile(text, len, &why)) == NULL) {
		*cause = xasprintf("%s: %s", path, why);
		free(why);
		free(text);
		return -1;
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->v = xrealloc(t->v, t->cap * sizeof *t->v);
	}
	e = &t->v[t->n++];
	e->locale = xstrdup(locale);
	e->key = xstrdup(key);
	e->name = xstrndup(name, nlen);
	e->part = part;
	e->text = text;
	e->len = len;
	e->tpl = tpl;
	return 0;
}

static int
templates_load_locale(struct templates *t, const char *dir, const char *locale,
    char **cause)
{
	char key[TEMPLATES_LOCALE_MAX], *path;
	struct dirent *de;
	const char *dot, *part;
	struct stat sb;
	DIR *d;
	int rc = 0;

	if (!templates_valid_name(locale, strlen(locale)) ||
	    templates_norm(locale, key) != 0) {
		*cause = xasprintf("%s/%s: not a locale name", dir, locale);
		return -1;
	}
	path = xasprintf("%s/%s", dir, locale);
	if ((d = opendir(path)) == NULL) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((dot = strrchr(de->d_name, '.')) == NULL ||
		    (part = templates_part(dot + 1)) == NULL ||
		    !templates_valid_name(de->d_name, (size_t)(dot - de->d_name)))
			continue;
		path = xasprintf("%s/%s/%s", dir, locale, de->d_name);
		if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
			rc = templates_add_file(t, path, locale, key, de->d_name,
			    (size_t)(dot - de->d_name), part, cause);
		free(path);
	}
	closedir(d);
	return rc;
}

int
templates_load(const char *dir, struct templates **out, char **cause)
{
	struct templates *t = xcalloc(1, sizeof *t);
	const struct templates_entry *a, *b;
	struct dirent *de;
	char *path;
	DIR *d;
	size_t i;
	int rc = 0;

	if ((d = opendir(dir)) == NULL) {
		*cause = xasprintf("%s: %s", dir, strerror(errno));
		free(t);
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		if (templates_is_dir(path))
			rc = templates_load_locale(t, dir, de->d_name, cause);
		free(path);
	}
	closedir(d);
	if (rc != 0) {
		templates_free(t);
		return -1;
	}

	if (t->n > 0)
		qsort(t->v, t->n, sizeof *t->v, templates_cmp);
	/* "pt-BR" and "pt_br" would be one locale: refuse to guess which wins. */
	for (i = 1; i < t->n; i++) {
		a = &t->v[i - 1];
		b = &t->v[i];
		if (templates_cmp(a, b) == 0) {
			*cause = xasprintf("%s: template %s.%s is in both %s and %s",
			    dir, a->name, a->part, a->locale, b->locale);
			templates_free(t);
			return -1;
		}
	}
	*out = t;
	return 0;
}

void
templates_free(struct templates *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++) {
		free(t->v[i].locale);
		free(t->v[i].key);
		free(t->v[i].name);
		free(t->v[i].text);
		render_tpl_free(t->v[i].tpl);
	}
	free(t->v);
	free(t);
}

size_t
templates_count(const struct templates *t)
{
	return t->n;
}

/* The entry templates_get describes, or NULL. */
static const struct templates_entry *
templates_lookup(const struct templates *t, const char *name, const char *part,
    const char *locale, const char *shop_locale)
{
	char cand[5][TEMPLATES_LOCALE_MAX];
	const struct templates_entry *e;
	char *dash;
	int i, n = 0;

	/* The order of render.h: locale, its language, shop's, its language, en. */
	if (templates_norm(locale, cand[n]) == 0) {
		n++;
		if ((dash = strchr(cand[n - 1], '-')) != NULL && dash != cand[n - 1]) {
			memcpy(cand[n], cand[n - 1], (size_t)(dash - cand[n - 1]));
			cand[n][dash - cand[n - 1]] = '\0';
			n++;
		}
	}
	if (templates_norm(shop_locale, cand[n]) == 0) {
		n++;
		if ((dash = strchr(cand[n - 1], '-')) != NULL && dash != cand[n - 1]) {
			memcpy(cand[n], cand[n - 1], (size_t)(dash - cand[n - 1]));
			cand[n][dash - cand[n - 1]] = '\0';
			n++;
		}
	}
	strcpy(cand[n++], "en");

	for (i = 0; i < n; i++) {
		if ((e = templates_find(t, cand[i], name, part)) != NULL)
			return e;
	}
	return NULL;
}

const char *
templates_get(const struct templates *t, const char *name, const char *part,
    const char *locale, const char *shop_locale, const char **used, size_t *len)
{
	const struct templates_entry *e = templates_lookup(t, name, part, locale, shop_locale);

	if (e == NULL)
		return NULL;
	if (used != NULL)
		*used = e->locale;
	if (len != NULL)
		*len = e->len;
	return e->text;
}

const struct render_tpl *
templates_get_compiled(const struct templates *t, const char *name, const char *part,
    const char *locale, const char *shop_locale, const char **used)
{
	const struct templates_entry *e = templates_lookup(t, name, part, locale, shop_locale);

	if (e == NULL)
		return NULL;
	if (used != NULL)
		*used = e->locale;
	return e->tpl;
}

int
templates_has(const struct templates *t, const char *name, const char *part)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (strcmp(t->v[i].name, name) == 0 && strcmp(t->v[i].part, part) == 0)
			return 1;
	}
	return 0;
}

int
templates_check_all(const struct templates *t, char **cause)
{
	const struct templates_entry *e;
	size_t i;

	for (i = 0; i < t->n; i++) {
		e = &t->v[i];
		if (templates_find(t, "en", e->name, e->part) == NULL) {
			*cause = xasprintf("%s/%s.%s: no en/%s.%s to fall back to",
			    e->locale, e->name, e->part, e->name, e->part);
			return -1;
		}
		if ((strcmp(e->part, "html") == 0 || strcmp(e->part, "txt") == 0) &&
		    templates_find(t, e->key, e->name, "subject") == NULL) {
			*cause = xasprintf("%s/%s.%s: no %s/%s.subject beside it",
			    e->locale, e->name, e->part, e->locale, e->name);
			return -1;
		}
	}
	return 0;
}
