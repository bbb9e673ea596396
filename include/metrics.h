/*
 * metrics: counters, gauges and histograms rendered in the Prometheus text
 * format (GET /metrics). One registry per process, shared by its threads
 * (a mutex: one update per webhook or message is far below contention).
 * A series is a family name plus a label string ("platform=\"shopify\"").
 */
#ifndef NUDGE_METRICS_H
#define NUDGE_METRICS_H

#include "util.h"

enum metric_type {
	METRIC_COUNTER,
	METRIC_GAUGE,
	METRIC_HISTOGRAM,
};

struct metrics;

struct metrics	*metrics_new(void);
void		 metrics_free(struct metrics *);
/* Declares a family; buckets (seconds, ascending, ending with 0) for histograms. */
void		 metrics_family(struct metrics *, const char *name, enum metric_type,
		     const char *help, const double *buckets);
void		 metrics_add(struct metrics *, const char *name, const char *labels, double v);
void		 metrics_set(struct metrics *, const char *name, const char *labels, double v);
void		 metrics_observe(struct metrics *, const char *name, const char *labels, double v);
/* Appends the text exposition of every family to out. */
void		 metrics_render(struct metrics *, struct buf *out);
/* Appends `key="value"` (escaped) to a label string, with a comma when needed. */
void		 metrics_label(struct buf *labels, const char *key, const char *value);
/* The latency buckets every histogram of nudge uses (seconds). */
extern const double metrics_latency_buckets[];

#endif
