/*
 * clock.h -- the one interface through which Accord reads the time.
 *
 * Nothing else in the code calls time(), gettimeofday() or clock_gettime()
 * for wall-clock purposes.  The real clock reads CLOCK_REALTIME; the test
 * clock holds a value that tests (and, in builds configured with
 * --enable-test-clock, an admin command) set and advance.
 */
#ifndef ACCORD_CLOCK_H
#define ACCORD_CLOCK_H

#include <stdint.h>

/* Seconds since the epoch, UTC. */
typedef int64_t accord_time_t;

/* Current time, from whichever clock is in force. */
accord_time_t clock_now(void);

/* Switch to the test clock, starting at t. */
void clock_test_set(accord_time_t t);

/* Move the test clock forward (or back, with a negative delta).
 * @return 0, or -1 if the test clock is not in force. */
int clock_test_advance(int64_t seconds);

/* on != 0: the test clock keeps moving with real time from where it was
 * set (the daemon's admin command: timers and retries go on); 0: it
 * stands still until set or advanced (unit tests). */
void clock_test_running(int on);

/* Back to the real clock. */
void clock_use_real(void);

/* 1 if the test clock is in force. */
int clock_is_test(void);

/* Format t as an ISO 8601 UTC timestamp "YYYY-MM-DDTHH:MM:SSZ" into buf
 * (at least 21 bytes).  @return buf. */
char *clock_format_utc(accord_time_t t, char *buf, unsigned long len);

/* Parse "YYYY-MM-DDTHH:MM:SSZ" (also accepts a "+HH:MM" offset).
 * @return 0 on success, -1 on a malformed value. */
int clock_parse_utc(const char *s, accord_time_t *out);

#endif
