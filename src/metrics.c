/*
 * metrics: a small Prometheus registry. Families are few and fixed; series
 * per family are found by a linear scan of their label strings, which is
 * cheap at the cardinalities nudge has (platform x topic x result, flow x
 * step x outcome: tens to a few hundred).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "util.h"

const double metrics_latency_buckets[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 0
};

struct series {
	char		*labels;
	double		 value;		/* counter, gauge; histogram sum */
	unsigned long	 count;		/* histogram */
	unsigned long	*buckets;	/* histogram, cumulative at render */
};

struct family {
	char		*name;
	char		*help;
	enum metric_type type;
	const double	*bounds;
	size_t		 nbounds;
	struct series	*v;
	size_t		 n, cap;
};

struct metrics {
	pthread_mutex_t	 lock;
	struct family	*f;
	size_t		 n;
};

struct metrics *
metrics_new(void)
{
	struct metrics *m = xcalloc(1, sizeof *m);

	pthread_mutex_init(&m->lock, NULL);
	return m;
}

void
metrics_free(struct metrics *m)
{
	size_t i, j;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++) {
		for (j = 0; j < m->f[i].n; j++) {
			free(m->f[i].v[j].labels);
			free(m->f[i].v[j].buckets);
		}
		free(m->f[i].v);
		free(m->f[i].name);
		free(m->f[i].help);
	}
	free(m->f);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void
metrics_family(struct metrics *m, const char *name, enum metric_type type, const char *help,
    const double *buckets)
{
	struct family *f;

	pthread_mutex_lock(&m->lock);
	m->f = xrealloc(m->f, (m->n + 1) * sizeof *m->f);
	f = &m->f[m->n++];
	memset(f, 0, sizeof *f);
	f->name = xstrdup(name);
	f->help = xstrdup(help);
	f->type = type;
	if (type == METRIC_HISTOGRAM) {
		f->bounds = buckets ? buckets : metrics_latency_buckets;
		while (f->bounds[f->nbounds] != 0)
			f->nbounds++;
	}
	pthread_mutex_unlock(&m->lock);
}

/* The series of name with labels, created on first use; NULL for an unknown family. */
static struct series *
metrics_series(struct metrics *m, const char *name, const char *labels)
{
	struct family *f = NULL;
	struct series *s;
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->f[i].name, name) == 0) {
			f = &m->f[i];
			break;
		}
	if (f == NULL)
		return NULL;
	if (labels == NULL)
		labels = "";
	for (i = 0; i < f->n; i++)
		if (strcmp(f->v[i].labels, labels) == 0)
			return &f->v[i];
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->v = xrealloc(f->v, f->cap * sizeof *f->v);
	}
	s = &f->v[f->n++];
	memset(s, 0, sizeof *s);
	s->labels = xstrdup(labels);
	if (f->type == METRIC_HISTOGRAM)
		s->buckets = xcalloc(f->nbounds, sizeof *s->buckets);
	return s;
}

void
metrics_add(struct metrics *m, const char *name, const char *labels, double v)
{
	struct series *s;

	pthread_mutex_lock(&m->lock);
	if ((s = metrics_series(m, name, labels)) != NULL)
		s->value += v;
	pthread_mutex_unlock(&m->lock);
}

void
metrics_set(struct metrics *m, const char *name, const char *labels, double v)
{
	struct series *s;

	pthread_mutex_lock(&m->lock);
	if ((s = metrics_series(m, name, labels)) != NULL)
		s->value = v;
	pthread_mutex_unlock(&m->lock);
}

void
metrics_observe(struct metrics *m, const char *name, const char *labels, double v)
{
	struct family *f;
	struct series *s;
	size_t i;

	pthread_mutex_lock(&m->lock);
	if ((s = metrics_series(m, name, labels)) != NULL) {
		f = NULL;
		for (i = 0; i < m->n; i++)
			if (strcmp(m->f[i].name, name) == 0)
				f = &m->f[i];
		s->value += v;
		s->count++;
		for (i = 0; f != NULL && i < f->nbounds; i++)
			if (v <= f->bounds[i]) {
				s->buckets[i]++;
				break;
			}
	}
	pthread_mutex_unlock(&m->lock);
}

void
metrics_label(struct buf *b, const char *key, const char *value)
{
	if (b->len > 0)
		buf_addc(b, ',');
	buf_printf(b, "%s=\"", key);
	for (; value && *value; value++) {
		if (*value == '\\' || *value == '"')
			buf_addc(b, '\\');
		if (*value == '\n') {
			buf_adds(b, "\\n");
			continue;
		}
		buf_addc(b, *value);
	}
	buf_addc(b, '"');
}

static void
metrics_line(struct buf *out, const char *name, const char *suffix, const char *labels,
    const char *extra, double v)
{
	int has = labels && *labels, ext = extra && *extra;

	buf_printf(out, "%s%s", name, suffix);
	if (has || ext)
		buf_printf(out, "{%s%s%s}", has ? labels : "", has && ext ? "," : "", ext ? extra : "");
	buf_printf(out, " %.17g\n", v);
}

void
metrics_render(struct metrics *m, struct buf *out)
{
	static const char *types[] = { "counter", "gauge", "histogram" };
	size_t i, j, k;
	char le[64];

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < m->n; i++) {
		struct family *f = &m->f[i];

		buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
		    types[f->type]);
		for (j = 0; j < f->n; j++) {
			struct series *s = &f->v[j];
			unsigned long cum = 0;

			if (f->type != METRIC_HISTOGRAM) {
				metrics_line(out, f->name, "", s->labels, NULL, s->value);
				continue;
			}
			for (k = 0; k < f->nbounds; k++) {
				cum += s->buckets[k];
				snprintf(le, sizeof le, "le=\"%g\"", f->bounds[k]);
				metrics_line(out, f->name, "_bucket", s->labels, le, (double)cum);
			}
			metrics_line(out, f->name, "_bucket", s->labels, "le=\"+Inf\"", (double)s->count);
			metrics_line(out, f->name, "_sum", s->labels, NULL, s->value);
			metrics_line(out, f->name, "_count", s->labels, NULL, (double)s->count);
		}
	}
	pthread_mutex_unlock(&m->lock);
}
