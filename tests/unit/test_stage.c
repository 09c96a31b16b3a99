/*
 * test_stage.c -- CPU time by stage (util/stage.c, issue 20): a stage
 * counts its own CPU, not that of the stages nested in it nor of
 * STAGE_OTHER; threads add up; "other" is the process's CPU less the
 * stages and never goes down; the exposition names every stage.
 */
#include <sys/resource.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "testutil.h"
#include "util/stage.h"

static double
process_cpu(void)
{
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void
test_nested_stages_are_exclusive(void **state)
{
	double http0 = stage_seconds(STAGE_HTTP);
	double sign0 = stage_seconds(STAGE_SIGN);
	double verify0 = stage_seconds(STAGE_VERIFY);
	double http, sign, verify;

	(void)state;
	stage_begin(STAGE_HTTP);
	test_burn(0.05);
	stage_begin(STAGE_SIGN);
	test_burn(0.10);
	stage_end(STAGE_SIGN);
	/* work of no stage inside HTTP: charged to neither */
	stage_begin(STAGE_OTHER);
	test_burn(0.05);
	stage_begin(STAGE_VERIFY);
	test_burn(0.03);
	stage_end(STAGE_VERIFY);
	stage_end(STAGE_OTHER);
	test_burn(0.05);
	stage_end(STAGE_HTTP);
	/* nothing open: nothing charged */
	test_burn(0.02);
	/* an end without a begin is harmless */
	stage_end(STAGE_HTTP);

	http = stage_seconds(STAGE_HTTP) - http0;
	sign = stage_seconds(STAGE_SIGN) - sign0;
	verify = stage_seconds(STAGE_VERIFY) - verify0;
	assert_true(http >= 0.10 && http < 0.12);
	assert_true(sign >= 0.10 && sign < 0.11);
	assert_true(verify >= 0.03 && verify < 0.04);
}

static void *
signer_thread(void *arg)
{
	(void)arg;
	stage_begin(STAGE_SIGN);
	test_burn(0.05);
	stage_end(STAGE_SIGN);
	return NULL;
}

static void
test_threads_add_up(void **state)
{
	pthread_t t[2];
	double sign0 = stage_seconds(STAGE_SIGN), sign;
	int i;

	(void)state;
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, signer_thread,
		    NULL), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	sign = stage_seconds(STAGE_SIGN) - sign0;
	assert_true(sign >= 0.10 && sign < 0.12);
}

static void
test_other_is_the_rest(void **state)
{
	double sum = 0, other, other2, total;
	int i;

	(void)state;
	test_burn(0.03);
	for (i = 0; i < STAGE_COUNT; i++)
		if (i != STAGE_OTHER)
			sum += stage_seconds(i);
	other = stage_seconds(STAGE_OTHER);
	total = process_cpu();
	/* the stages and other make up the process, within the clocks'
	 * granularity (getrusage: microseconds; a tick on some kernels) */
	assert_true(sum + other <= total + 0.005);
	assert_true(sum + other >= total - 0.02);
	/* unbracketed work is other's */
	test_burn(0.03);
	other2 = stage_seconds(STAGE_OTHER);
	assert_true(other2 - other >= 0.025);
	/* and it never goes down */
	assert_true(stage_seconds(STAGE_OTHER) >= other2);
}

static void
test_exposition(void **state)
{
	static char out[4096];
	FILE *fp = fmemopen(out, sizeof(out), "w");
	const char *names[] = { "parse", "verify", "sign", "journal", "fsync",
	    "store", "http", "other" };
	char key[100];
	size_t i;

	(void)state;
	assert_non_null(fp);
	stage_expose(fp);
	fclose(fp);
	assert_non_null(strstr(out, "# TYPE accord_stage_cpu_seconds_total "
	    "counter\n"));
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(key, sizeof(key), "\naccord_stage_cpu_seconds_total"
		    "{stage=\"%s\"} ", names[i]);
		assert_non_null(strstr(out, key));
		assert_string_equal(stage_name(i), names[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nested_stages_are_exclusive),
		cmocka_unit_test(test_threads_add_up),
		cmocka_unit_test(test_other_is_the_rest),
		cmocka_unit_test(test_exposition),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
