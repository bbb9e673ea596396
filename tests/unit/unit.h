/*
 * unit.h: what every C unit test includes. cmocka, plus helpers to find
 * files of the source tree and of ../shared (tests that need ../shared skip
 * with a clear message when it is absent).
 */
#ifndef NUDGE_UNIT_H
#define NUDGE_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "util.h"

/* Path of a file relative to the source tree (NUDGE_SOURCE_DIR or "."). Caller frees. */
static inline char *
unit_path(const char *rel)
{
	const char *top = getenv("NUDGE_SOURCE_DIR");

	return xasprintf("%s/%s", top ? top : ".", rel);
}

/* Path under ../shared, or NULL (after a note) when it is absent. Caller frees. */
static inline char *
unit_shared(const char *rel)
{
	char *p = unit_path("../shared");
	char *full;

	if (access(p, R_OK) != 0) {
		fprintf(stderr, "note: ../shared is absent: skipping what needs %s\n", rel);
		free(p);
		return NULL;
	}
	full = xasprintf("%s/%s", p, rel);
	free(p);
	return full;
}

/* Reads a test file; fails the test when it cannot. Caller frees. */
static inline char *
unit_slurp(const char *path, size_t *len)
{
	char *cause = NULL;
	char *s = util_read_file(path, len, &cause);

	if (s == NULL)
		fail_msg("%s", cause);
	return s;
}

#endif
