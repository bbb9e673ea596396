/*
 * jtree: yajl's callbacks build jansson values. A stack holds the open
 * containers and, for an object, the key waiting for its value.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "jtree.h"
#include "util.h"

#define JTREE_DEPTH 64		/* contexts are shallow; deeper is refused */

struct jtree {
	json_t	*stack[JTREE_DEPTH];
	char	*keys[JTREE_DEPTH];	/* the pending key of each open object */
	int	 depth;
	json_t	*root;
	int	 failed;
};

/* Puts v where it belongs: the root, an array, or the pending key; v's
 * reference is taken (or dropped) in every case. */
static int
jtree_add(struct jtree *t, json_t *v)
{
	json_t *top;

	if (v == NULL)
		return t->failed = 1, 0;
	if (t->depth == 0) {
		t->root = v;
		return 1;
	}
	top = t->stack[t->depth - 1];
	if (json_is_array(top))
		return json_array_append_new(top, v) == 0 ? 1 : (t->failed = 1, 0);
	if (t->keys[t->depth - 1] == NULL) {
		json_decref(v);
		return t->failed = 1, 0;
	}
	if (json_object_set_new_nocheck(top, t->keys[t->depth - 1], v) != 0)
		return t->failed = 1, 0;
	free(t->keys[t->depth - 1]);
	t->keys[t->depth - 1] = NULL;
	return 1;
}

static int
jtree_open(struct jtree *t, json_t *c)
{
	if (t->depth == JTREE_DEPTH) {
		json_decref(c);
		return t->failed = 1, 0;
	}
	json_incref(c);		/* one reference for the parent, one for the stack */
	if (!jtree_add(t, c)) {
		json_decref(c);
		return 0;
	}
	t->stack[t->depth++] = c;
	return 1;
}

static int
jtree_close(void *ctx)
{
	struct jtree *t = ctx;

	json_decref(t->stack[--t->depth]);
	return 1;
}

static int
jtree_null(void *ctx)
{
	return jtree_add(ctx, json_null());
}

static int
jtree_bool(void *ctx, int v)
{
	return jtree_add(ctx, json_boolean(v));
}

/* Numbers from their text, as jansson reads them (yajl refuses INT64_MIN). */
static int
jtree_number(void *ctx, const char *s, size_t n)
{
	struct jtree *t = ctx;
	char buf[64], *end;
	long long i;
	double d;

	if (n >= sizeof buf)
		return t->failed = 1, 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	if (strpbrk(buf, ".eE") == NULL) {
		i = strtoll(buf, &end, 10);
		if (errno != 0 || *end != '\0')
			return t->failed = 1, 0;	/* jansson: "too big integer" */
		return jtree_add(ctx, json_integer((json_int_t)i));
	}
	d = strtod(buf, &end);
	if (errno == ERANGE || *end != '\0')
		return t->failed = 1, 0;	/* jansson: "real number overflow" */
	return jtree_add(ctx, json_real(d));
}

static int
jtree_string(void *ctx, const unsigned char *s, size_t n)
{
	struct jtree *t = ctx;

	/* as json_loadb: no NUL in a string (yajl validated the UTF-8) */
	if (memchr(s, '\0', n) != NULL)
		return t->failed = 1, 0;
	return jtree_add(ctx, json_stringn_nocheck((const char *)s, n));
}

static int
jtree_map_start(void *ctx)
{
	return jtree_open(ctx, json_object());
}

static int
jtree_key(void *ctx, const unsigned char *s, size_t n)
{
	struct jtree *t = ctx;

	if (memchr(s, '\0', n) != NULL)
		return t->failed = 1, 0;
	free(t->keys[t->depth - 1]);
	t->keys[t->depth - 1] = xstrndup((const char *)s, n);
	return 1;
}

static int
jtree_array_start(void *ctx)
{
	return jtree_open(ctx, json_array());
}

static const yajl_callbacks jtree_callbacks = {
	jtree_null, jtree_bool, NULL, NULL, jtree_number, jtree_string,
	jtree_map_start, jtree_key, jtree_close, jtree_array_start, jtree_close,
};

json_t *
jtree_load(const char *buf, size_t len)
{
	struct jtree t;
	yajl_handle h;
	yajl_status st;
	int i;

	memset(&t, 0, sizeof t);
	if ((h = yajl_alloc(&jtree_callbacks, NULL, &t)) == NULL)
		return NULL;
	st = yajl_parse(h, (const unsigned char *)buf, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	yajl_free(h);
	for (i = 0; i < t.depth; i++)
		json_decref(t.stack[i]);
	for (i = 0; i < JTREE_DEPTH; i++)
		free(t.keys[i]);
	if (st != yajl_status_ok || t.failed) {
		json_decref(t.root);
		return NULL;
	}
	return t.root;
}
