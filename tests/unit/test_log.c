/*
 * test_log.c -- repeated errors are limited per call site (issue 12: a
 * full disk wrote 57,875 identical lines in 100 s): a burst goes out,
 * the rest is counted; another call site is not silenced by the first.
 * Where a detached daemon logs (issue 17): stderr under systemd and when
 * there is no syslog socket, saying so once; syslog otherwise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
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

/* No /dev/log (a container): stderr, and one line saying so. */
static void
test_no_syslog_socket_logs_to_stderr(void **state)
{
	(void)state;
	unsetenv("JOURNAL_STREAM");
	log_set_syslog_path("/nonexistent/accord-test/dev-log");
	assert_int_equal(log_daemon_dest(), LOG_DEST_NOSYSLOG);
	log_capture(buf, sizeof(buf));
	log_init("test_log", 0, LOG_LVL_INFO);
	log_info("test", "a line after the start");
	log_capture(NULL, 0);
	assert_int_equal(log_to_stderr(), 1);
	assert_int_equal(lines(buf, "no syslog socket at "
	    "/nonexistent/accord-test/dev-log: logging to stderr"), 1);
	assert_int_equal(lines(buf, "a line after the start"), 1);
	log_init("test_log", 1, LOG_LVL_INFO);
}

/* Under systemd stderr is the journal, even with a syslog socket. */
static void
test_journal_stream_logs_to_stderr(void **state)
{
	(void)state;
	setenv("JOURNAL_STREAM", "8:12345", 1);
	log_set_syslog_path("/");	/* exists: a socket is there */
	assert_int_equal(log_daemon_dest(), LOG_DEST_JOURNAL);
	log_capture(buf, sizeof(buf));
	log_init("test_log", 0, LOG_LVL_INFO);
	log_capture(NULL, 0);
	assert_int_equal(log_to_stderr(), 1);
	assert_int_equal(lines(buf, "no syslog socket"), 0);
	unsetenv("JOURNAL_STREAM");
	log_init("test_log", 1, LOG_LVL_INFO);
}

/* A syslog socket and no journal: syslog, as before. */
static void
test_syslog_when_present(void **state)
{
	(void)state;
	unsetenv("JOURNAL_STREAM");
	log_set_syslog_path("/");
	assert_int_equal(log_daemon_dest(), LOG_DEST_SYSLOG);
	log_capture(buf, sizeof(buf));
	log_init("test_log", 0, LOG_LVL_INFO);
	log_capture(NULL, 0);
	assert_int_equal(log_to_stderr(), 0);
	assert_int_equal(lines(buf, "no syslog socket"), 0);
	/* foreground: stderr whatever is there */
	log_init("test_log", 1, LOG_LVL_INFO);
	assert_int_equal(log_to_stderr(), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repeated_errors_are_limited),
		cmocka_unit_test(test_no_syslog_socket_logs_to_stderr),
		cmocka_unit_test(test_journal_stream_logs_to_stderr),
		cmocka_unit_test(test_syslog_when_present),
	};

	log_init("test_log", 1, LOG_LVL_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
