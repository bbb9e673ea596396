/*
 * fuzz_jtree: jtree_load (the worker's reader of claimed contexts) on
 * arbitrary bytes, with json_loadb as the oracle: when both take the
 * input, they must build the same value (json_equal, for which an integer
 * never equals a real).
 * jtree may refuse what jansson takes (nesting past 64 levels) and take
 * what jansson refuses (yajl's laxer UTF-8 and white space, jstrict.h):
 * its input is JSON nudge wrote itself.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "jtree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *got = jtree_load((const char *)data, size);
	json_t *want = json_loadb((const char *)data, size, 0, NULL);

	if (got != NULL && want != NULL && !json_equal(got, want)) {
		fprintf(stderr, "fuzz_jtree: jtree and json_loadb built different values\n");
		abort();
	}
	json_decref(got);
	json_decref(want);
	return 0;
}
