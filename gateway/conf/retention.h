/*
 * retention.h -- how long a case's messages are kept (issue 19, item 4):
 * the periods an agreement sets, and the instant a case falls due for
 * erasure.
 *
 * Pure: no clock reads, no I/O.  A period is whole calendar years ("5y")
 * or days ("30d").  N years after an instant is the same time of day on
 * the same date N years on; from 29 February to a year without one, it is
 * 1 March: a period never ends before it is complete.  N days is N times
 * 86400 seconds.
 */
#ifndef ACCORD_RETENTION_H
#define ACCORD_RETENTION_H

#include <stddef.h>

#include "util/clock.h"

enum retention_unit {
	RETENTION_DAYS = 0,
	RETENTION_YEARS
};

struct retention_period {
	int			 n;
	enum retention_unit	 unit;
};

/* An agreement's retention: after a case reaches a final state, and for
 * a case that never does (no event for that long: EXPIRED, waiting on
 * a partner, stalled). */
struct retention {
	struct retention_period	 after_final;	/* default 5 years */
	struct retention_period	 never_closed;	/* default 10 years */
};

#define RETENTION_MAX_YEARS	100
#define RETENTION_MAX_DAYS	36500
#define RETENTION_TEXT_MAX	16

void retention_default(struct retention *r);

/* Parse "5y" or "30d" (1 to RETENTION_MAX_YEARS years, 1 to
 * RETENTION_MAX_DAYS days).  @return 0, or -1 (p untouched). */
int retention_parse(const char *s, struct retention_period *p);

/* "5y" or "30d" into buf.  @return buf. */
char *retention_format(const struct retention_period *p, char *buf,
    size_t len);

/* "5 years" or "30 days" into buf, for people.  @return buf. */
char *retention_describe(const struct retention_period *p, char *buf,
    size_t len);

/* The instant the period that starts at since ends. */
accord_time_t retention_end(accord_time_t since,
    const struct retention_period *p);

/* The period that applies to a case: after_final for a final one. */
const struct retention_period *retention_for(const struct retention *r,
    int final);

#endif
