/*
 * metric.c -- in-memory counters and histograms, and the Prometheus text
 * exposition format (version 0.0.4).
 *
 * One lock for every family: counting is a few series a message on the
 * loop, printing is one scrape now and then on another thread; neither
 * is worth finer locking.  Series are kept in a plain array and found by
 * comparing label values: a family has at most a few hundred (partners
 * times message types).
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/metric.h"

struct metric_series {
	char		 values[METRIC_LABELS_MAX][METRIC_VALUE_MAX];
	double		 v;		/* counter, gauge; histogram: sum */
	uint64_t	 count;		/* histogram: observations */
	uint64_t	*buckets;	/* histogram: per bound, not
					 * cumulative; [nbounds] is +Inf */
};

static pthread_mutex_t metric_mu = PTHREAD_MUTEX_INITIALIZER;
static struct metric_family *metric_families;

static int
metric_nlabels(const struct metric_family *f)
{
	int n = 0;

	while (n < METRIC_LABELS_MAX && f->labels[n] != NULL)
		n++;
	return n;
}

/* Locked. */
static void
metric_register_locked(struct metric_family *f)
{
	if (f->registered)
		return;
	f->registered = 1;
	f->next = metric_families;
	metric_families = f;
}

void
metric_register(struct metric_family *f)
{
	pthread_mutex_lock(&metric_mu);
	metric_register_locked(f);
	pthread_mutex_unlock(&metric_mu);
}

/* The series of values, made when create is set.  Locked.  NULL when
 * absent, or out of memory. */
static struct metric_series *
metric_find(struct metric_family *f, const char *const *values, int create)
{
	struct metric_series *s, *ns;
	char key[METRIC_LABELS_MAX][METRIC_VALUE_MAX];
	int i, j, nl = metric_nlabels(f), ncap;

	memset(key, 0, sizeof(key));
	for (j = 0; j < nl; j++)
		snprintf(key[j], sizeof(key[j]), "%s", values != NULL &&
		    values[j] != NULL ? values[j] : "");
	for (i = 0; i < f->nseries; i++)
		if (memcmp(f->series[i].values, key, sizeof(key)) == 0)
			return &f->series[i];
	if (!create)
		return NULL;
	if (f->nseries == f->cap) {
		ncap = f->cap ? f->cap * 2 : 8;
		ns = reallocarray(f->series, (size_t)ncap, sizeof(*ns));
		if (ns == NULL)
			return NULL;
		f->series = ns;
		f->cap = ncap;
	}
	s = &f->series[f->nseries];
	memset(s, 0, sizeof(*s));
	memcpy(s->values, key, sizeof(key));
	if (f->type == METRIC_HISTOGRAM && (s->buckets = calloc(
	    (size_t)f->nbounds + 1, sizeof(*s->buckets))) == NULL)
		return NULL;
	f->nseries++;
	metric_register_locked(f);
	return s;
}

void
metric_add(struct metric_family *f, double v, const char *const *values)
{
	struct metric_series *s;

	/* a counter only goes up: a negative or NaN add is a caller's bug
	 * that must not break the series' monotony */
	if (f->type == METRIC_COUNTER && !(v >= 0))
		return;
	pthread_mutex_lock(&metric_mu);
	if ((s = metric_find(f, values, 1)) != NULL)
		s->v += v;
	pthread_mutex_unlock(&metric_mu);
}

void
metric_set(struct metric_family *f, double v, const char *const *values)
{
	struct metric_series *s;

	pthread_mutex_lock(&metric_mu);
	if ((s = metric_find(f, values, 1)) != NULL)
		s->v = v;
	pthread_mutex_unlock(&metric_mu);
}

void
metric_observe(struct metric_family *f, double v, const char *const *values)
{
	struct metric_series *s;
	int i;

	if (isnan(v))
		return;
	pthread_mutex_lock(&metric_mu);
	if ((s = metric_find(f, values, 1)) != NULL) {
		for (i = 0; i < f->nbounds && v > f->bounds[i]; i++)
			;
		s->buckets[i]++;
		s->count++;
		s->v += v;
	}
	pthread_mutex_unlock(&metric_mu);
}

double
metric_value(struct metric_family *f, const char *const *values)
{
	struct metric_series *s;
	double v = 0;

	pthread_mutex_lock(&metric_mu);
	if ((s = metric_find(f, values, 0)) != NULL)
		v = f->type == METRIC_HISTOGRAM ? (double)s->count : s->v;
	pthread_mutex_unlock(&metric_mu);
	return v;
}

void
metric_reset(struct metric_family *f)
{
	int i;

	pthread_mutex_lock(&metric_mu);
	for (i = 0; i < f->nseries; i++)
		free(f->series[i].buckets);
	free(f->series);
	f->series = NULL;
	f->nseries = f->cap = 0;
	pthread_mutex_unlock(&metric_mu);
}

/* ---- the exposition format ------------------------------------------- */

/* A number as Prometheus reads it: integers without a fraction (counts
 * stay exact up to 2^53), +Inf, -Inf and NaN by name. */
static void
metric_number(FILE *fp, double v)
{
	char buf[40];
	int prec;

	if (isnan(v))
		fputs("NaN", fp);
	else if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", fp);
	else if (v > -9007199254740992.0 && v < 9007199254740992.0 &&
	    v == (double)(int64_t)v)
		fprintf(fp, "%lld", (long long)v);
	else {
		/* the shortest form that reads back as v (0.1, not
		 * 0.10000000000000001) */
		for (prec = 15; prec < 17; prec++) {
			snprintf(buf, sizeof(buf), "%.*g", prec, v);
			if (strtod(buf, NULL) == v)
				break;
		}
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		fputs(buf, fp);
	}
}

/* A label value between double quotes: backslash, quote and newline
 * escaped, as the format requires. */
static void
metric_label_value(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\\\", fp);
		else if (*s == '"')
			fputs("\\\"", fp);
		else if (*s == '\n')
			fputs("\\n", fp);
		else
			fputc(*s, fp);
	}
	fputc('"', fp);
}

/* {a="x",b="y"[,le="..."]}: nothing when there is no label at all. */
static void
metric_labels(FILE *fp, const char *const *names, const char *const *values,
    int n, const char *le)
{
	int i;

	if (n == 0 && le == NULL)
		return;
	fputc('{', fp);
	for (i = 0; i < n; i++) {
		fprintf(fp, "%s%s=", i > 0 ? "," : "", names[i]);
		metric_label_value(fp, values != NULL && values[i] != NULL ?
		    values[i] : "");
	}
	if (le != NULL)
		fprintf(fp, "%sle=\"%s\"", n > 0 ? "," : "", le);
	fputc('}', fp);
}

void
metric_head(FILE *fp, const char *name, enum metric_type type,
    const char *help)
{
	static const char *const types[] = {
		[METRIC_COUNTER] = "counter",
		[METRIC_GAUGE] = "gauge",
		[METRIC_HISTOGRAM] = "histogram",
	};
	const char *p;

	/* HELP escapes backslash and newline (not quotes) */
	fprintf(fp, "# HELP %s ", name);
	for (p = help; *p != '\0'; p++) {
		if (*p == '\\')
			fputs("\\\\", fp);
		else if (*p == '\n')
			fputs("\\n", fp);
		else
			fputc(*p, fp);
	}
	fprintf(fp, "\n# TYPE %s %s\n", name, types[type]);
}

void
metric_sample(FILE *fp, const char *name, const char *const *names,
    const char *const *values, double v)
{
	int n = 0;

	while (names != NULL && n < METRIC_LABELS_MAX && names[n] != NULL)
		n++;
	fputs(name, fp);
	metric_labels(fp, names, values, n, NULL);
	fputc(' ', fp);
	metric_number(fp, v);
	fputc('\n', fp);
}

/* A histogram's series: cumulative buckets, then _sum and _count. */
static void
metric_expose_histogram(struct metric_family *f, struct metric_series *s,
    const char *const *values, int nl, FILE *fp)
{
	uint64_t cum = 0;
	char le[40];
	int i;

	for (i = 0; i <= f->nbounds; i++) {
		cum += s->buckets[i];
		if (i < f->nbounds) {
			/* the bounds are short decimals: %g keeps them so
			 * (0.1, not 0.10000000000000001) */
			snprintf(le, sizeof(le), "%g", f->bounds[i]);
		} else
			snprintf(le, sizeof(le), "+Inf");
		fprintf(fp, "%s_bucket", f->name);
		metric_labels(fp, f->labels, values, nl, le);
		fprintf(fp, " %llu\n", (unsigned long long)cum);
	}
	fprintf(fp, "%s_sum", f->name);
	metric_labels(fp, f->labels, values, nl, NULL);
	fputc(' ', fp);
	metric_number(fp, s->v);
	fprintf(fp, "\n%s_count", f->name);
	metric_labels(fp, f->labels, values, nl, NULL);
	fprintf(fp, " %llu\n", (unsigned long long)s->count);
}

/* Locked. */
static void
metric_expose_locked(struct metric_family *f, FILE *fp)
{
	const char *values[METRIC_LABELS_MAX];
	int i, j, nl = metric_nlabels(f);

	metric_head(fp, f->name, f->type, f->help);
	for (i = 0; i < f->nseries; i++) {
		for (j = 0; j < nl; j++)
			values[j] = f->series[i].values[j];
		if (f->type == METRIC_HISTOGRAM)
			metric_expose_histogram(f, &f->series[i], values, nl,
			    fp);
		else
			metric_sample(fp, f->name, f->labels, values,
			    f->series[i].v);
	}
}

void
metric_expose_family(struct metric_family *f, FILE *fp)
{
	pthread_mutex_lock(&metric_mu);
	metric_expose_locked(f, fp);
	pthread_mutex_unlock(&metric_mu);
}

static int
metric_family_cmp(const void *a, const void *b)
{
	const struct metric_family *fa = *(struct metric_family *const *)a;
	const struct metric_family *fb = *(struct metric_family *const *)b;

	return strcmp(fa->name, fb->name);
}

void
metric_expose(FILE *fp)
{
	struct metric_family *f, **tab;
	size_t n = 0, i;

	pthread_mutex_lock(&metric_mu);
	for (f = metric_families; f != NULL; f = f->next)
		n++;
	if ((tab = calloc(n + 1, sizeof(*tab))) != NULL) {
		for (n = 0, f = metric_families; f != NULL; f = f->next)
			tab[n++] = f;
		/* a stable order, so that two scrapes compare line by line */
		qsort(tab, n, sizeof(*tab), metric_family_cmp);
		for (i = 0; i < n; i++)
			metric_expose_locked(tab[i], fp);
		free(tab);
	}
	pthread_mutex_unlock(&metric_mu);
}
