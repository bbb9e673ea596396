/*
 * jstrict: the checks that make a yajl parse refuse what json_loadb
 * refuses (see src/jstrict.c for the list).
 */
#ifndef NUDGE_JSTRICT_H
#define NUDGE_JSTRICT_H

#include <stddef.h>

/*
 * NULL when nothing in the len bytes of p is refused by json_loadb and
 * taken by yajl, else a short reason: "invalid UTF-8", "control
 * character" or "invalid \u escape".
 */
const char	*jstrict_check(const unsigned char *p, size_t len);

#endif
