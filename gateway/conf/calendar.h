/*
 * calendar.h -- working days, holidays, time zones and deadline arithmetic.
 *
 * Pure: no clock reads, no file I/O beyond the system's zone database.
 * Dates are civil days counted from 1970-01-01 (day 0), independent of any
 * zone; instants are accord_time_t (UTC seconds).
 *
 * Deadline rules (DESIGN.md section 4): counting starts on the local date of
 * receipt, the receipt day not counted; N working days end at 23:59:59 local
 * on the N-th working day after it; N calendar days end at 23:59:59 local on
 * the N-th local date after it, rolled to the end of the next working day
 * when the period ends on a non-working day and the agreement says so.
 */
#ifndef ACCORD_CALENDAR_H
#define ACCORD_CALENDAR_H

#include <stdint.h>
#include "util/clock.h"

/* A civil date: days since 1970-01-01. */
typedef int32_t cal_day_t;

#define CAL_ZONE_MAX 64

/* One state's calendar, as configured. */
struct calendar {
	char		 zone[CAL_ZONE_MAX];	/* IANA zone name */
	unsigned	 weekend;	/* bit d set: weekday d is a rest day
					 * (0 = Sunday ... 6 = Saturday) */
	cal_day_t	*holidays;	/* sorted, unique */
	int		 nholidays;
	cal_day_t	*extra_working;	/* sorted, unique: rest days worked */
	int		 nextra_working;
	cal_day_t	 data_from;	/* first date the data covers */
	cal_day_t	 data_until;	/* last date the data covers */
};

/* Civil date conversion (proleptic Gregorian). */
cal_day_t calendar_day_from_ymd(int y, int m, int d);
void calendar_ymd_from_day(cal_day_t day, int *y, int *m, int *d);
/* 0 = Sunday ... 6 = Saturday */
int calendar_weekday(cal_day_t day);
/* Parse "YYYY-MM-DD". @return 0, or -1 if malformed or not a real date. */
int calendar_parse_date(const char *s, cal_day_t *out);
/* Format as "YYYY-MM-DD" into buf (>= 11 bytes). @return buf. */
char *calendar_format_date(cal_day_t day, char *buf, unsigned long len);

/* 1 if zone names a zone in the system's zone database, else 0. */
int calendar_zone_valid(const char *zone);

/* Free the arrays owned by cal (not cal itself). */
void calendar_clear(struct calendar *cal);
/* Deep copy. @return 0, -1 on allocation failure. */
int calendar_copy(struct calendar *dst, const struct calendar *src);

/* Sort and deduplicate the holiday and extra-working arrays. */
void calendar_normalize(struct calendar *cal);

/* Local date of instant t in cal's zone.  The last few days found are
 * remembered (the instants that read them), so that asking again within
 * a day reads no zone file. */
cal_day_t calendar_local_day(const struct calendar *cal, accord_time_t t);

/* Forget the days remembered (a zone's file changed: tests). */
void calendar_forget_days(void);

/* The instant of local time hh:mm:ss on day in cal's zone.  A local time
 * that falls in a DST gap is taken as the first instant after the gap. */
accord_time_t calendar_local_instant(const struct calendar *cal,
    cal_day_t day, int hh, int mm, int ss);

/* UTC offset in seconds of cal's zone at instant t. */
long calendar_utc_offset(const struct calendar *cal, accord_time_t t);

/* 1 if day is a working day in cal, else 0. */
int calendar_is_working_day(const struct calendar *cal, cal_day_t day);

/* Due instant of "n working days after the local date of receipt". */
accord_time_t calendar_due_working_days(const struct calendar *cal,
    accord_time_t receipt, int n);

/* Due instant of "n calendar days after the local date of receipt";
 * roll != 0 moves an end on a non-working day to the next working day. */
accord_time_t calendar_due_calendar_days(const struct calendar *cal,
    accord_time_t receipt, int n, int roll);

/* Extend a running deadline (an instant at 23:59:59 local) by n calendar
 * days, rolling as above.  The rule of fsm version 1 only: DESIGN.md
 * section 4 makes an extended period N + M days from the same receipt
 * date (calendar_due_calendar_days() with n = N + M). */
accord_time_t calendar_extend_days(const struct calendar *cal,
    accord_time_t due, int n, int roll);

/*
 * Added by the calendar module (issue 5); the declarations above are
 * unchanged.
 */

/* day plus n months (n may be negative), the day of month clamped to the
 * target month's length (2026-08-31 + 6 months = 2027-02-28). */
cal_day_t calendar_add_months(cal_day_t day, int n);

/* 1 if day lies inside [data_from, data_until], or if the calendar sets
 * no range (data_until < data_from); else 0.  Outside the range only the
 * weekend rule is known. */
int calendar_covers(const struct calendar *cal, cal_day_t day);

/* The first working day on or after day. */
cal_day_t calendar_next_working_day(const struct calendar *cal,
    cal_day_t day);

/* The n-th working day after day (day itself not counted); day for n <= 0. */
cal_day_t calendar_add_working_days(const struct calendar *cal,
    cal_day_t day, int n);

/* The number of working days after from up to and including to; 0 when
 * to <= from. */
int calendar_count_working_days(const struct calendar *cal, cal_day_t from,
    cal_day_t to);

/* t as local time in cal's zone, "2026-03-16 23:59:59+01:00", into buf
 * (>= 26 bytes).  @return buf. */
char *calendar_format_local(const struct calendar *cal, accord_time_t t,
    char *buf, unsigned long len);

#endif
