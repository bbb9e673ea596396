/*
 * fuzz_render: the template engine on arbitrary templates: render_check,
 * and render_string against a fixed context shaped like the worker's
 * (docs/templates.md), with and without HTML escaping, appended to a
 * buffer that already holds text.
 *
 * Oracles, beyond "no crash, no leak, no UB, no hang":
 *  - render_string fails on syntax exactly when render_check does, and
 *    otherwise only on its documented limits;
 *  - a failed render leaves the buffer as it was; a successful one only
 *    appends, and never more than RENDER_MAX_OUTPUT (plus one token);
 *  - without tags (no "{{"), the output is the template itself.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *ctx;

static const char *ctx_json =
    "{\"shop\":{\"name\":\"Demo & <\\\"Shop\\\">\",\"url\":\"https://demo.example/?a=1&b='2'\","
    "  \"domain\":\"demo.myshopify.com\",\"review_url\":\"\",\"loyalty_url\":null},"
    " \"customer\":{\"first_name\":\"Μαρία\",\"email\":\"m@example.gr\",\"orders\":3},"
    " \"order\":{\"name\":\"#1001\",\"total\":\"59,90 €\",\"subtotal\":\"50,00 €\","
    "  \"status_url\":\"https://x.example/s\",\"id\":820982911946154508,"
    "  \"items\":[{\"title\":\"Mug\",\"variant\":\"Blue\",\"quantity\":2,\"price\":\"9,95 €\","
    "              \"image\":\"https://cdn.example/m.png\"},"
    "             {\"title\":\"Bag\",\"variant\":null,\"quantity\":1,\"price\":1.5e300},"
    "             {\"title\":\"Socks\",\"quantity\":-9223372036854775807,\"price\":0.1}],"
    "  \"shipping_address\":{\"city\":\"Αθήνα\",\"country\":\"GR\"}},"
    " \"ship\":{\"tracking_number\":\"1Z\",\"tracking_url\":\"\",\"items\":[]},"
    " \"cart\":{\"url\":\"https://c.example\",\"items\":[{\"title\":\"a\"},{\"title\":\"b\"},"
    "  {\"title\":\"c\"},{\"title\":\"d\"}]},"
    " \"discount\":{\"code\":\"WELCOME10\",\"percent\":10,\"expires_at\":\"1 June\"},"
    " \"cross_sell\":[[1,2,[3,[4]]],{\"title\":\"x\"},\"s\",true,false,0,0.0,null,[]],"
    " \"unsubscribe_url\":\"https://u.example/u?t=a.b\","
    " \"t\":true,\"f\":false,\"n\":null,\"zero\":0,\"empty\":\"\",\"list\":[1,2,3],"
    " \"a\":{\"b\":{\"c\":{\"d\":\"deep\"}}},\"\":\"empty key\",\"dot.ted\":\"no\"}";

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	json_error_t err;

	(void)argc;
	(void)argv;
	if ((ctx = json_loads(ctx_json, 0, &err)) == NULL) {
		fprintf(stderr, "fuzz_render: context: %s\n", err.text);
		abort();
	}
	return 0;
}

static int
is_limit(const char *cause)
{
	return cause != NULL && (strcmp(cause, "template too expensive to render") == 0 ||
	    strcmp(cause, "template output too large") == 0);
}

static void
render_one(const char *tpl, size_t len, json_t *c, int flags, int checked)
{
	static const char prefix[] = "prefix:";
	struct render_stats st = { 0 };
	struct buf out;
	char *cause = NULL;
	int rc;

	buf_init(&out);
	buf_adds(&out, prefix);
	rc = render_string(tpl, len, c, flags, &out, &st, &cause);
	if (out.len < sizeof prefix - 1 || memcmp(out.data, prefix, sizeof prefix - 1) != 0 ||
	    out.data[out.len] != '\0')
		abort();	/* the buffer's head or terminator was lost */
	if (rc != 0) {
		if (cause == NULL || out.len != sizeof prefix - 1)
			abort();	/* no cause, or a failed render left output */
		if (checked == 0 && !is_limit(cause)) {
			fprintf(stderr, "render_check passed, render_string: %s\n", cause);
			abort();
		}
		free(cause);
	} else {
		if (checked != 0)
			abort();	/* rendered what render_check refuses */
		if (out.len - (sizeof prefix - 1) > RENDER_MAX_OUTPUT + len + 64)
			abort();
		if (memmem(tpl, len, "{{", 2) == NULL &&
		    (out.len - (sizeof prefix - 1) != len ||
		    memcmp(out.data + sizeof prefix - 1, tpl, len) != 0))
			abort();	/* plain text must come out as it went in */
	}
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tpl, *cause = NULL;
	int checked;

	/* An exact-size copy: any read past len is an ASan report. */
	tpl = xmalloc(size ? size : 1);
	memcpy(tpl, data, size);

	checked = render_check(tpl, size, &cause);
	if (checked != 0) {
		if (cause == NULL)
			abort();
		free(cause);
	}
	if (render_check(tpl, size, NULL) != checked)
		abort();
	render_one(tpl, size, ctx, RENDER_ESCAPE_HTML, checked);
	render_one(tpl, size, ctx, 0, checked);
	render_one(tpl, size, NULL, RENDER_ESCAPE_HTML, checked);
	free(tpl);
	return 0;
}
