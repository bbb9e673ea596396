/*
 * jtree: a JSON text to a jansson value, read with yajl's parser. For the
 * contexts the worker loads from Redis on every claim (JSON nudge wrote
 * itself with json_dumps; yajl checks the UTF-8, a little more leniently
 * than jansson, see jstrict.h): jansson's own reader spends most
 * of its time in its lexer, yajl's is several times faster (see
 * docs/parsing.md), and the value built is the same (json_equal).
 */
#ifndef NUDGE_JTREE_H
#define NUDGE_JTREE_H

#include <stddef.h>

#include <jansson.h>

/* The value of buf[0..len), or NULL when it is not one JSON value. */
json_t	*jtree_load(const char *buf, size_t len);

#endif
