/*
 * test_log.c -- repeated errors are limited per call site (issue 12: a
 * full disk wrote 57,875 identical lines in 100 s): a burst goes out,
 * the rest is counted; another call site is not silenced by the first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/log.h"

static char buf[1 << 16];

static int
lines(const char *s, const char *what)
{
	int n = 0;

	while ((s = strstr(s, what)) != NULL) {
		n++;
		s += strlen(what);
	}
	return n;
}

static void
test_repeated_errors_are_limited(void **state)
{
	int i;

	(void)state;
	log_capture(buf, sizeof(buf));
	for (i = 0; i < 1000; i++)
		log_errx("test", "disk full while writing batch %d", i);
	log_warnx("test", "another call site still speaks");
	for (i = 0; i < 5; i++)
		log_info("test", "info line %d is never limited", i);
	log_capture(NULL, 0);
	/* the burst, not the thousand */
	assert_int_equal(lines(buf, "disk full while writing batch"), 20);
	assert_int_equal(lines(buf, "another call site still speaks"), 1);
	assert_int_equal(lines(buf, "is never limited"), 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repeated_errors_are_limited),
	};

	log_init("test_log", 1, LOG_LVL_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
