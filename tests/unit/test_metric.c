/*
 * test_metric.c -- the Prometheus text exposition (version 0.0.4) of the
 * in-memory counters and histograms (util/metric.c): # HELP and # TYPE,
 * label values escaped, counts printed exactly, a histogram's buckets
 * cumulative with +Inf, _sum and _count; families in name order; a
 * counter that never goes down.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/metric.h"

/* f's exposition (every family's when NULL), in a buffer of its own. */
static char out[1 << 16];

static char *
expose(struct metric_family *f)
{
	FILE *fp = fmemopen(out, sizeof(out), "w");

	assert_non_null(fp);
	if (f != NULL)
		metric_expose_family(f, fp);
	else
		metric_expose(fp);
	assert_true(ftell(fp) < (long)sizeof(out) - 1);
	fclose(fp);
	return out;
}

static struct metric_family counter = {
	.name = "test_messages_total",
	.help = "Messages, by partner and type.",
	.type = METRIC_COUNTER,
	.labels = { "partner", "type" },
};

static void
test_counter(void **state)
{
	char *s;

	(void)state;
	metric_reset(&counter);
	s = expose(&counter);
	/* registered before anything was counted: the header alone */
	assert_string_equal(s, "# HELP test_messages_total Messages, by "
	    "partner and type.\n# TYPE test_messages_total counter\n");
	metric_add(&counter, 1, (const char *[]){ "FR", "ReadmissionRequest" });
	metric_add(&counter, 1, (const char *[]){ "FR", "ReadmissionRequest" });
	metric_add(&counter, 1, (const char *[]){ "KR", "TransferNotice" });
	/* a counter never goes down: a negative add is dropped */
	metric_add(&counter, -5, (const char *[]){ "KR", "TransferNotice" });
	/* exact beyond 2^32, no exponent */
	metric_add(&counter, 5000000000.0, (const char *[]){ "DE", "Big" });
	s = expose(&counter);
	assert_string_equal(s, "# HELP test_messages_total Messages, by "
	    "partner and type.\n# TYPE test_messages_total counter\n"
	    "test_messages_total{partner=\"FR\",type=\"ReadmissionRequest\"} 2\n"
	    "test_messages_total{partner=\"KR\",type=\"TransferNotice\"} 1\n"
	    "test_messages_total{partner=\"DE\",type=\"Big\"} 5000000000\n");
	assert_true(metric_value(&counter, (const char *[]){ "FR",
	    "ReadmissionRequest" }) == 2);
	assert_true(metric_value(&counter, (const char *[]){ "XX", "none" })
	    == 0);
}

static struct metric_family escaped = {
	.name = "test_escaped",
	.help = "A help with a \\ and a\nnewline.",
	.type = METRIC_GAUGE,
	.labels = { "v" },
};

static void
test_escaping(void **state)
{
	char *s;

	(void)state;
	metric_reset(&escaped);
	metric_set(&escaped, 1.5, (const char *[]){ "a\"b\\c\nd" });
	metric_set(&escaped, -2, (const char *[]){ "" });
	s = expose(&escaped);
	assert_string_equal(s, "# HELP test_escaped A help with a \\\\ and "
	    "a\\nnewline.\n# TYPE test_escaped gauge\n"
	    "test_escaped{v=\"a\\\"b\\\\c\\nd\"} 1.5\n"
	    "test_escaped{v=\"\"} -2\n");
}

static const double bounds[] = { 0.005, 0.1, 1, 60 };
static struct metric_family hist = {
	.name = "test_latency_seconds",
	.help = "Latency.",
	.type = METRIC_HISTOGRAM,
	.labels = { "partner" },
	.bounds = bounds,
	.nbounds = 4,
};
static struct metric_family hist0 = {
	.name = "test_plain_seconds",
	.help = "No labels.",
	.type = METRIC_HISTOGRAM,
	.bounds = bounds,
	.nbounds = 4,
};

static void
test_histogram(void **state)
{
	char *s;

	(void)state;
	metric_reset(&hist);
	/* a value on a bound counts in that bucket (le: less or equal) */
	metric_observe(&hist, 0.005, (const char *[]){ "FR" });
	metric_observe(&hist, 0.5, (const char *[]){ "FR" });
	metric_observe(&hist, 1, (const char *[]){ "FR" });
	metric_observe(&hist, 3600, (const char *[]){ "FR" });
	s = expose(&hist);
	assert_string_equal(s, "# HELP test_latency_seconds Latency.\n"
	    "# TYPE test_latency_seconds histogram\n"
	    "test_latency_seconds_bucket{partner=\"FR\",le=\"0.005\"} 1\n"
	    "test_latency_seconds_bucket{partner=\"FR\",le=\"0.1\"} 1\n"
	    "test_latency_seconds_bucket{partner=\"FR\",le=\"1\"} 3\n"
	    "test_latency_seconds_bucket{partner=\"FR\",le=\"60\"} 3\n"
	    "test_latency_seconds_bucket{partner=\"FR\",le=\"+Inf\"} 4\n"
	    "test_latency_seconds_sum{partner=\"FR\"} 3601.505\n"
	    "test_latency_seconds_count{partner=\"FR\"} 4\n");
	assert_true(metric_value(&hist, (const char *[]){ "FR" }) == 4);

	metric_reset(&hist0);
	metric_observe(&hist0, 2, NULL);
	s = expose(&hist0);
	assert_string_equal(s, "# HELP test_plain_seconds No labels.\n"
	    "# TYPE test_plain_seconds histogram\n"
	    "test_plain_seconds_bucket{le=\"0.005\"} 0\n"
	    "test_plain_seconds_bucket{le=\"0.1\"} 0\n"
	    "test_plain_seconds_bucket{le=\"1\"} 0\n"
	    "test_plain_seconds_bucket{le=\"60\"} 1\n"
	    "test_plain_seconds_bucket{le=\"+Inf\"} 1\n"
	    "test_plain_seconds_sum 2\n"
	    "test_plain_seconds_count 1\n");
}

/* The gauges the reports print at each scrape, with the same helpers. */
static void
test_head_and_sample(void **state)
{
	static const char *const names[] = { "partner", NULL };
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	(void)state;
	metric_head(fp, "test_up", METRIC_GAUGE, "1 when up.");
	metric_sample(fp, "test_up", names, (const char *[]){ "FR" }, 1);
	metric_sample(fp, "test_size_bytes", NULL, NULL, 40945);
	fclose(fp);
	assert_string_equal(buf, "# HELP test_up 1 when up.\n"
	    "# TYPE test_up gauge\ntest_up{partner=\"FR\"} 1\n"
	    "test_size_bytes 40945\n");
	free(buf);
}

/* Every registered family, by name: a scrape compares line by line with
 * the one before. */
static void
test_expose_in_name_order(void **state)
{
	char *s, *a, *b, *c;

	(void)state;
	metric_register(&counter);
	metric_register(&escaped);
	metric_register(&hist);
	s = expose(NULL);
	a = strstr(s, "# TYPE test_escaped gauge");
	b = strstr(s, "# TYPE test_latency_seconds histogram");
	c = strstr(s, "# TYPE test_messages_total counter");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_true(a < b && b < c);
	/* each family once, though registered again */
	assert_null(strstr(c + 1, "# TYPE test_messages_total counter"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_head_and_sample),
		cmocka_unit_test(test_expose_in_name_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
