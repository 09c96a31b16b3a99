/*
 * retention.c -- retention periods and their arithmetic (retention.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/calendar.h"
#include "conf/retention.h"

#define DAY	86400

void
retention_default(struct retention *r)
{
	r->after_final.n = 5;
	r->after_final.unit = RETENTION_YEARS;
	r->never_closed.n = 10;
	r->never_closed.unit = RETENTION_YEARS;
}

int
retention_parse(const char *s, struct retention_period *p)
{
	char *end;
	long n;

	/* digits only: no sign, no space, no leading zero */
	if (s == NULL || s[0] < '1' || s[0] > '9')
		return -1;
	n = strtol(s, &end, 10);
	if (end[0] == '\0' || end[1] != '\0')
		return -1;
	if (end[0] == 'y' && n <= RETENTION_MAX_YEARS) {
		p->n = (int)n;
		p->unit = RETENTION_YEARS;
		return 0;
	}
	if (end[0] == 'd' && n <= RETENTION_MAX_DAYS) {
		p->n = (int)n;
		p->unit = RETENTION_DAYS;
		return 0;
	}
	return -1;
}

char *
retention_format(const struct retention_period *p, char *buf, size_t len)
{
	snprintf(buf, len, "%d%c", p->n, p->unit == RETENTION_YEARS ? 'y' :
	    'd');
	return buf;
}

char *
retention_describe(const struct retention_period *p, char *buf, size_t len)
{
	snprintf(buf, len, "%d %s%s", p->n, p->unit == RETENTION_YEARS ?
	    "year" : "day", p->n == 1 ? "" : "s");
	return buf;
}

accord_time_t
retention_end(accord_time_t since, const struct retention_period *p)
{
	accord_time_t day, secs;
	int y, m, d;

	if (p->unit == RETENTION_DAYS)
		return since + (accord_time_t)p->n * DAY;
	/* floor division: an instant before 1970 still has its own day */
	day = since / DAY;
	secs = since % DAY;
	if (secs < 0) {
		day--;
		secs += DAY;
	}
	calendar_ymd_from_day((cal_day_t)day, &y, &m, &d);
	y += p->n;
	/* 29 February in a year without one: the period ends on 1 March,
	 * never on the 28th, before it is complete */
	if (m == 2 && d == 29 && calendar_day_from_ymd(y, 2, 29) ==
	    calendar_day_from_ymd(y, 3, 1)) {
		m = 3;
		d = 1;
	}
	return (accord_time_t)calendar_day_from_ymd(y, m, d) * DAY + secs;
}

const struct retention_period *
retention_for(const struct retention *r, int final)
{
	return final ? &r->after_final : &r->never_closed;
}
