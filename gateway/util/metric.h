/*
 * metric.h -- counters and histograms kept in memory, and the Prometheus
 * text exposition format (version 0.0.4) they and the reports' gauges
 * are printed in.
 *
 * A family is a static struct metric_family of the module that counts
 * (its name, help, type, label names and, for a histogram, its bucket
 * bounds); a series is made the first time a set of label values is
 * counted.  Everything is in memory: a restart starts every counter at
 * zero again, which Prometheus takes as a counter reset.  Thread-safe:
 * the event loop counts, the threads that answer a scrape print.
 */
#ifndef ACCORD_METRIC_H
#define ACCORD_METRIC_H

#include <stdio.h>

#define METRIC_LABELS_MAX	3
#define METRIC_VALUE_MAX	64	/* a label value's size, with the NUL */
#define METRIC_BOUNDS_MAX	24	/* a histogram's buckets, but +Inf */

enum metric_type {
	METRIC_COUNTER = 0,
	METRIC_GAUGE,
	METRIC_HISTOGRAM
};

struct metric_series;

struct metric_family {
	const char		*name;	/* counters end in _total */
	const char		*help;
	enum metric_type	 type;
	const char		*labels[METRIC_LABELS_MAX]; /* NULL after the
							 * last */
	const double		*bounds;	/* histogram: ascending upper
						 * bounds, +Inf implied */
	int			 nbounds;
	/* metric.c's */
	struct metric_series	*series;
	int			 nseries;
	int			 cap;
	int			 registered;
	struct metric_family	*next;
};

/*
 * Make f part of metric_expose() (its # HELP and # TYPE are printed even
 * before anything was counted).  Counting registers it too.
 */
void metric_register(struct metric_family *f);

/*
 * Add v (>= 0) to a counter, or set a gauge to v, for the label values
 * given (as many as f has labels; a longer value is cut).  A value that
 * cannot be kept (out of memory) is dropped, never fatal.
 */
void metric_add(struct metric_family *f, double v,
    const char *const *values);
void metric_set(struct metric_family *f, double v,
    const char *const *values);

/* One observation of a histogram. */
void metric_observe(struct metric_family *f, double v,
    const char *const *values);

/* A counter's or gauge's value, a histogram's count (0 when the series
 * was never counted); for tests. */
double metric_value(struct metric_family *f, const char *const *values);

/* Forget f's series (tests). */
void metric_reset(struct metric_family *f);

/* Every registered family, by name, in the exposition format. */
void metric_expose(FILE *fp);

/* One family (its # HELP, # TYPE and samples). */
void metric_expose_family(struct metric_family *f, FILE *fp);

/*
 * For the gauges the reports compute at each scrape: the # HELP and
 * # TYPE lines, then metric_sample() for each sample.  values may be
 * NULL for a family without labels; names lists the label names (NULL
 * after the last, or NULL).
 */
void metric_head(FILE *fp, const char *name, enum metric_type type,
    const char *help);
void metric_sample(FILE *fp, const char *name, const char *const *names,
    const char *const *values, double v);

/* The Content-Type of the exposition, for an HTTP answer. */
#define METRIC_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

#endif
