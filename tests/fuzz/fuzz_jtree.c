/*
 * fuzz_jtree: jtree_load (the worker's reader of claimed contexts) on
 * arbitrary bytes, with json_loadb as the oracle: when both take the
 * input, they must build the same value, kind by kind (integer or real).
 * jtree may refuse what jansson takes (nesting past 64 levels) and take
 * what jansson refuses (yajl's laxer UTF-8 and white space, jstrict.h):
 * its input is JSON nudge wrote itself.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "jtree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
same(json_t *a, json_t *b)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_typeof(a) != json_typeof(b))
		return 0;
	if (json_is_object(a)) {
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach(a, k, v)
			if (json_object_get(b, k) == NULL || !same(v, json_object_get(b, k)))
				return 0;
		return 1;
	}
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return 0;
		json_array_foreach(a, i, v)
			if (!same(v, json_array_get(b, i)))
				return 0;
		return 1;
	}
	return json_equal(a, b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *got = jtree_load((const char *)data, size);
	json_t *want = json_loadb((const char *)data, size, 0, NULL);

	if (got != NULL && want != NULL && !same(got, want)) {
		fprintf(stderr, "fuzz_jtree: jtree and json_loadb built different values\n");
		abort();
	}
	json_decref(got);
	json_decref(want);
	return 0;
}
