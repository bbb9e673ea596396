/*
 * shops: the tenant list, loaded once at startup from a JSON file and
 * read-only afterwards (so it is shared by every request without locks).
 *
 * The parsed JSON document is kept alive for the life of struct shops:
 * each shop's `raw` borrows its object, which lets other modules read
 * settings of their own (provider keys, flow overrides) without this
 * module knowing about them.
 *
 * Lookup by domain is on every webhook, and a merchant may run hundreds of
 * shops, so domains are kept in a sorted array and found with bsearch.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shops.h"
#include "sig.h"
#include "util.h"

struct shops {
	json_t		 *root;		/* owned: the parsed file */
	struct shop	 *v;		/* in file order */
	size_t		  n;
	struct shop	**sorted;	/* by domain, for bsearch */
};

/* Where a load error is, for messages that name the shop and field. */
struct shops_where {
	const char	*label;		/* "shops file <path>" or "shops" */
	size_t		 index;		/* counts from 1, as people do */
	const char	*domain;	/* NULL until known */
};

static const char *shops_platform_names[] = {
	[PLATFORM_SHOPIFY] = "shopify",
	[PLATFORM_WOOCOMMERCE] = "woocommerce",
	[PLATFORM_GENERIC] = "generic",
};

const char *
shops_platform_name(enum platform_kind kind)
{
	if ((size_t)kind >= sizeof shops_platform_names / sizeof shops_platform_names[0])
		return "unknown";
	return shops_platform_names[kind];
}

/*
 * Writes the normalized form of in to out (at most outlen - 1 bytes and a
 * NUL) and returns its full length, so callers can tell truncation.
 */
static size_t
shops_normalize(const char *in, char *out, size_t outlen)
{
	const char *s = in;
	size_t n = 0;

	while (*s != '\0' && isspace((unsigned char)*s))
		s++;
	if (strncasecmp(s, "https://", 8) == 0)
		s += 8;
	else if (strncasecmp(s, "http://", 7) == 0)
		s += 7;
	for (; *s != '\0'; s++, n++) {
		if (*s == '/' || *s == '?' || *s == '#' ||
		    isspace((unsigned char)*s))
			break;
		if (n + 1 < outlen)
			out[n] = (char)tolower((unsigned char)*s);
	}
	if (outlen > 0)
		out[n < outlen ? n : outlen - 1] = '\0';
	return n;
}

void
shops_normalize_domain(const char *in, char *out, size_t outlen)
{
	shops_normalize(in != NULL ? in : "", out, outlen);
}

static uint32_t
shops_fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

int
shops_partition(const char *domain, long partitions)
{
	char norm[SHOPS_DOMAIN_MAX];

	if (partitions <= 0)
		return 0;
	shops_normalize_domain(domain, norm, sizeof norm);
	return (int)(shops_fnv1a(norm) % (unsigned long)partitions);
}

static void
shops_error(char **cause, const struct shops_where *w, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
shops_error(char **cause, const struct shops_where *w, const char *fmt, ...)
{
	struct buf b;
	va_list ap;

	buf_init(&b);
	if (w->index == 0)
		buf_printf(&b, "%s: ", w->label);
	else if (w->domain != NULL)
		buf_printf(&b, "%s: shop %zu (%s): ", w->label, w->index, w->domain);
	else
		buf_printf(&b, "%s: shop %zu: ", w->label, w->index);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	*cause = buf_detach(&b);
}

/*
 * An optional string field: absent, null and "" all mean "use the
 * default" (NULL in *out). -1 when it is there but not a string.
 */
static int
shops_opt_str(json_t *obj, const char *field, char **out, char **cause,
    const struct shops_where *w)
{
	json_t *v = json_object_get(obj, field);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		shops_error(cause, w, "\"%s\" must be a string", field);
		return -1;
	}
	if (json_string_length(v) > 0)
		*out = xstrdup(json_string_value(v));
	return 0;
}

static void
shops_free_shop(struct shop *shop)
{
	free(shop->domain);
	free(shop->secret);
	free(shop->previous_secret);
	free(shop->timezone);
	free(shop->locale);
	free(shop->from_email);
	free(shop->from_name);
	free(shop->name);
}

static int
shops_parse_one(json_t *obj, long partitions, struct shop *shop, char **cause,
    struct shops_where *w)
{
	char norm[SHOPS_DOMAIN_MAX];
	const char *platform;
	json_t *v;
	size_t i;

	if (!json_is_object(obj)) {
		shops_error(cause, w, "must be an object");
		return -1;
	}
	shop->raw = obj;

	v = json_object_get(obj, "domain");
	if (!json_is_string(v) || json_string_length(v) == 0) {
		shops_error(cause, w, "\"domain\" must be a non-empty string");
		return -1;
	}
	if (shops_normalize(json_string_value(v), norm, sizeof norm) >= sizeof norm ||
	    norm[0] == '\0') {
		shops_error(cause, w, "\"domain\" is not a domain");
		return -1;
	}
	shop->domain = xstrdup(norm);
	w->domain = shop->domain;
	shop->partition = shops_partition(norm, partitions);

	v = json_object_get(obj, "platform");
	platform = json_is_string(v) ? json_string_value(v) : "";
	for (i = 0; i < sizeof shops_platform_names / sizeof shops_platform_names[0]; i++) {
		if (strcmp(platform, shops_platform_names[i]) == 0)
			break;
	}
	if (i == sizeof shops_platform_names / sizeof shops_platform_names[0]) {
		shops_error(cause, w, "\"platform\" must be \"shopify\", "
		    "\"woocommerce\" or \"generic\"");
		return -1;
	}
	shop->platform = (enum platform_kind)i;

	v = json_object_get(obj, "secret");
	if (!json_is_string(v) || json_string_length(v) == 0) {
		shops_error(cause, w, "\"secret\" must be a non-empty string");
		return -1;
	}
	shop->secret = xstrdup(json_string_value(v));

	/*
	 * An empty previous_secret is treated as none: accepting the empty
	 * key would accept anything signed by a default-configured sender.
	 */
	if (shops_opt_str(obj, "previous_secret", &shop->previous_secret, cause, w) != 0 ||
	    shops_opt_str(obj, "timezone", &shop->timezone, cause, w) != 0 ||
	    shops_opt_str(obj, "locale", &shop->locale, cause, w) != 0 ||
	    shops_opt_str(obj, "from_email", &shop->from_email, cause, w) != 0 ||
	    shops_opt_str(obj, "from_name", &shop->from_name, cause, w) != 0 ||
	    shops_opt_str(obj, "name", &shop->name, cause, w) != 0)
		return -1;

	if (shop->timezone == NULL)
		shop->timezone = xstrdup("UTC");
	if (shop->locale == NULL)
		shop->locale = xstrdup("en");
	if (shop->from_email == NULL)
		shop->from_email = xasprintf("no-reply@%s", shop->domain);
	if (shop->from_name == NULL)
		shop->from_name = xstrdup(shop->name ? shop->name : shop->domain);
	if (shop->name == NULL)
		shop->name = xstrdup(shop->from_name);
	return 0;
}

static int
shops_cmp_sorted(const void *a, const void *b)
{
	const struct shop *sa = *(const struct shop *const *)a;
	const struct shop *sb = *(const struct shop *const *)b;

	return strcmp(sa->domain, sb->domain);
}

static int
shops_cmp_key(const void *key, const void *elem)
{
	const struct shop *s = *(const struct shop *const *)elem;

	return strcmp(key, s->domain);
}

/* Takes ownership of root in all cases. */
static int
shops_build(json_t *root, const char *label, long partitions, struct shops **out,
    char **cause)
{
	struct shops_where w = { label, 0, NULL };
	struct shops *ss;
	json_t *list = root;
	size_t i;

	if (json_is_object(root))
		list = json_object_get(root, "shops");
	if (!json_is_array(list)) {
		shops_error(cause, &w, "must be a JSON array of shops "
		    "(or an object with a \"shops\" array)");
		json_decref(root);
		return -1;
	}

	ss = xcalloc(1, sizeof *ss);
	ss->root = root;
	ss->n = json_array_size(list);
	ss->v = xcalloc(ss->n, sizeof *ss->v);
	ss->sorted = xcalloc(ss->n, sizeof *ss->sorted);
	for (i = 0; i < ss->n; i++) {
		w.index = i + 1;
		w.domain = NULL;
		if (shops_parse_one(json_array_get(list, i), partitions,
		    &ss->v[i], cause, &w) != 0) {
			shops_free(ss);
			return -1;
		}
		ss->sorted[i] = &ss->v[i];
	}

	qsort(ss->sorted, ss->n, sizeof *ss->sorted, shops_cmp_sorted);
	for (i = 1; i < ss->n; i++) {
		struct shop *a = ss->sorted[i - 1], *b = ss->sorted[i];

		if (strcmp(a->domain, b->domain) != 0)
			continue;
		if (a > b) {
			struct shop *t = a;

			a = b;
			b = t;
		}
		w.index = (size_t)(b - ss->v) + 1;
		w.domain = b->domain;
		shops_error(cause, &w, "duplicate domain (also shop %zu)",
		    (size_t)(a - ss->v) + 1);
		shops_free(ss);
		return -1;
	}
	*out = ss;
	return 0;
}

static int
shops_load_buf(const char *data, size_t len, const char *label, long partitions,
    struct shops **out, char **cause)
{
	struct shops_where w = { label, 0, NULL };
	json_error_t err;
	json_t *root;

	*out = NULL;
	/* A key given twice in a config file is a mistake, not a choice. */
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) {
		shops_error(cause, &w, "line %d column %d: %s", err.line,
		    err.column, err.text);
		return -1;
	}
	return shops_build(root, label, partitions, out, cause);
}

int
shops_load(const char *path, long partitions, struct shops **out, char **cause)
{
	char *data, *label, *why = NULL;
	size_t len;
	int rc;

	*out = NULL;
	if ((data = util_read_file(path, &len, &why)) == NULL) {
		*cause = xasprintf("shops file %s", why);
		free(why);
		return -1;
	}
	label = xasprintf("shops file %s", path);
	rc = shops_load_buf(data, len, label, partitions, out, cause);
	free(label);
	free(data);
	return rc;
}

int
shops_load_str(const char *json, long partitions, struct shops **out, char **cause)
{
	return shops_load_buf(json, strlen(json), "shops", partitions, out, cause);
}

void
shops_free(struct shops *ss)
{
	size_t i;

	if (ss == NULL)
		return;
	for (i = 0; i < ss->n; i++)
		shops_free_shop(&ss->v[i]);
	free(ss->v);
	free(ss->sorted);
	json_decref(ss->root);
	free(ss);
}

const struct shop *
shops_find(const struct shops *ss, const char *domain)
{
	char norm[SHOPS_DOMAIN_MAX];
	struct shop **found;

	if (ss == NULL || domain == NULL || ss->n == 0)
		return NULL;
	/* Too long to be any shop's domain: do not match a truncation. */
	if (shops_normalize(domain, norm, sizeof norm) >= sizeof norm)
		return NULL;
	found = bsearch(norm, ss->sorted, ss->n, sizeof *ss->sorted, shops_cmp_key);
	return found != NULL ? *found : NULL;
}

/*
 * Linear, and each comparison takes the same time whether the value
 * matches early or late: the field may be a secret URL token (CartFlows
 * sends no signature, so the token is all there is).
 */
const struct shop *
shops_find_by(const struct shops *ss, const char *field, const char *value)
{
	const struct shop *found = NULL;
	size_t i, len;
	json_t *v;

	if (ss == NULL || field == NULL || value == NULL)
		return NULL;
	len = strlen(value);
	for (i = 0; i < ss->n; i++) {
		v = json_object_get(ss->v[i].raw, field);
		if (!json_is_string(v) || json_string_length(v) != len)
			continue;
		if (sig_equal(json_string_value(v), value, len) && found == NULL)
			found = &ss->v[i];
	}
	return found;
}

size_t
shops_count(const struct shops *ss)
{
	return ss != NULL ? ss->n : 0;
}

const struct shop *
shops_at(const struct shops *ss, size_t i)
{
	if (ss == NULL || i >= ss->n)
		return NULL;
	return &ss->v[i];
}
