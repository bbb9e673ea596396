/*
 * fuzz.h: what the platform fuzz targets share. Each target is one
 * fuzz_<name>.c with LLVMFuzzerTestOneInput; this header only holds the
 * input framing, the fake header table and the shops/flows fixtures, as
 * static inline functions (each target uses some) so every target stays a
 * single translation unit.
 *
 * Input framing of the platform targets (tests/fuzz/README.md):
 *
 *	byte 0		selector: topic, shop and signing choices (per target)
 *	byte 1		n, the length of the header block
 *	n bytes		header lines "Name: value", separated by '\n'
 *	the rest	the raw body
 *
 * Headers from the input come first in the table, so they override the
 * defaults the target adds (shop, topic, a correct signature); lookup is
 * case-insensitive, as evhttp's is. A pseudo-header ":path" sets
 * path_tail (CartFlows' token).
 */
#ifndef NUDGE_FUZZ_H
#define NUDGE_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flows.h"
#include "nevent.h"
#include "platform.h"
#include "shops.h"
#include "util.h"

#define FUZZ_HDR_MAX	24
/* Fixed clock of every target: 2024-05-03T18:00:00Z. */
#define FUZZ_NOW_MS	1714759200000LL
#define FUZZ_NOW_S	"1714759200"

struct fuzz_hdrs {
	const char	*name[FUZZ_HDR_MAX];
	const char	*value[FUZZ_HDR_MAX];
	size_t		 n;
	char		*owned[FUZZ_HDR_MAX];	/* copies cut from the input */
	size_t		 nowned;
};

struct fuzz_input {
	uint8_t		 sel;
	struct fuzz_hdrs h;
	const char	*path;		/* the ":path" pseudo-header, or NULL */
	char		*body;		/* a heap copy: ASan sees reads past body_len */
	size_t		 body_len;
};

static inline const char *
fuzz_hdr_lookup(void *hctx, const char *name)
{
	const struct fuzz_hdrs *h = hctx;
	size_t i;

	for (i = 0; i < h->n; i++) {
		if (strcasecmp(h->name[i], name) == 0)
			return h->value[i];
	}
	return NULL;
}

static inline void
fuzz_hdr_add(struct fuzz_hdrs *h, const char *name, const char *value)
{
	if (h->n < FUZZ_HDR_MAX) {
		h->name[h->n] = name;
		h->value[h->n] = value;
		h->n++;
	}
}

/*
 * Splits data into selector, headers and body. The body is copied to an
 * exact-size allocation without a terminator, so code that treats it as a
 * C string is caught by ASan, as it would read past evhttp's buffer.
 */
static inline void
fuzz_input_parse(const uint8_t *data, size_t size, struct fuzz_input *in)
{
	size_t hlen, pos, end, colon;
	char *line, *v;

	memset(in, 0, sizeof *in);
	if (size > 0)
		in->sel = data[0];
	hlen = size > 1 ? data[1] : 0;
	pos = size > 2 ? 2 : size;
	if (hlen > size - pos)
		hlen = size - pos;
	end = pos + hlen;
	while (pos < end) {
		size_t e = pos;

		while (e < end && data[e] != '\n')
			e++;
		if (in->h.nowned < FUZZ_HDR_MAX) {
			line = xstrndup((const char *)data + pos, e - pos);
			/* A NUL inside cuts the line, as in any C header value. */
			in->h.owned[in->h.nowned++] = line;
			if ((v = strchr(line, ':')) != NULL && v != line) {
				*v++ = '\0';
				while (*v == ' ')
					v++;
				fuzz_hdr_add(&in->h, line, v);
			} else if (line[0] == ':' && (colon = strcspn(line + 1, ":")) &&
			    line[1 + colon] == ':') {
				line[1 + colon] = '\0';
				v = line + 2 + colon;
				while (*v == ' ')
					v++;
				if (strcmp(line + 1, "path") == 0)
					in->path = v;
			}
		}
		pos = e + 1;
	}
	in->body_len = size - end;
	in->body = xmalloc(in->body_len ? in->body_len : 1);
	memcpy(in->body, data + end, in->body_len);
}

static inline void
fuzz_input_free(struct fuzz_input *in)
{
	size_t i;

	for (i = 0; i < in->h.nowned; i++)
		free(in->h.owned[i]);
	free(in->body);
}

static inline void
fuzz_req(struct fuzz_input *in, struct platform_req *req)
{
	memset(req, 0, sizeof *req);
	req->request_id = "fuzz";
	req->path_tail = in->path != NULL ? in->path : "";
	req->body = in->body;
	req->body_len = in->body_len;
	req->header = fuzz_hdr_lookup;
	req->hctx = &in->h;
	req->now_ms = FUZZ_NOW_MS;
}

static inline void
fuzz_die(const char *what, const char *cause)
{
	fprintf(stderr, "fuzz setup: %s: %s\n", what, cause ? cause : "?");
	abort();
}

static inline struct shops *
fuzz_shops(const char *json)
{
	struct shops *ss = NULL;
	char *cause = NULL;

	if (shops_load_str(json, 16, &ss, &cause) != 0)
		fuzz_die("shops", cause);
	return ss;
}

/* A file of the source tree (NUDGE_SOURCE_DIR, else the working directory). */
static inline char *
fuzz_path(const char *rel)
{
	const char *top = getenv("NUDGE_SOURCE_DIR");

	return xasprintf("%s/%s", top != NULL && *top != '\0' ? top : ".", rel);
}

/* config/flows.json, the flows the normalized events are planned against. */
static inline struct flows *
fuzz_default_flows(void)
{
	struct flows *fl = NULL;
	char *cause = NULL, *path = fuzz_path("config/flows.json");

	if (flows_load(path, &fl, &cause) != 0)
		fuzz_die(path, cause);
	free(path);
	return fl;
}

/*
 * What the server does with a normalized event after the platform is done:
 * its customer key, its context serialized, and a plan (whose failure is an
 * answer, not a crash). Exercises the event the way a real request would.
 */
static inline void
fuzz_use_event(const struct flows *fl, const struct nevent *ev,
    const struct platform_result *res)
{
	struct plan p;
	char key[33], *cause = NULL, *s;

	if (res->status != PLATFORM_OK)
		return;
	if (ev->kind <= EVENT_NONE || ev->kind >= EVENT__COUNT || ev->shop == NULL) {
		fprintf(stderr, "PLATFORM_OK with kind %d, shop %p\n", (int)ev->kind,
		    (const void *)ev->shop);
		abort();
	}
	(void)nevent_customer_key(ev, key);
	(void)nevent_kind_name(ev->kind);
	if (ev->ctx != NULL) {
		s = json_dumps(ev->ctx, JSON_COMPACT | JSON_SORT_KEYS);
		free(s);
	}
	memset(&p, 0, sizeof p);
	if (flows_plan(fl, ev, FUZZ_NOW_MS, 1.0, &p, &cause) == 0)
		plan_free(&p);
	else {
		free(cause);
		plan_free(&p);
	}
}

#endif
