/*
 * test_calendar.c -- civil dates, zones and deadline arithmetic.
 *
 * Calendars are built here, not read from conf/.  Every deadline is
 * asserted as an exact UTC instant; the zone rules come from the system's
 * tzdata (Asia/Almaty is UTC+5 from 2024-03-01).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* mkdtemp, setenv */
#endif

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf/calendar.h"

#define SAT	(1u << 6)
#define SUN	(1u << 0)

/* UTC instant of a UTC wall time (calendar_day_from_ymd is tested on its
 * own against fixed numbers below). */
static accord_time_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	return (accord_time_t)calendar_day_from_ymd(y, mo, d) * 86400 +
	    h * 3600 + mi * 60 + s;
}

static cal_day_t
ymd(int y, int m, int d)
{
	return calendar_day_from_ymd(y, m, d);
}

static void
cal_make(struct calendar *cal, const char *zone, const cal_day_t *hol,
    int nhol, const cal_day_t *extra, int nextra)
{
	memset(cal, 0, sizeof(*cal));
	snprintf(cal->zone, sizeof(cal->zone), "%s", zone);
	cal->weekend = SAT | SUN;
	if (nhol > 0) {
		cal->holidays = calloc(nhol, sizeof(cal_day_t));
		assert_non_null(cal->holidays);
		memcpy(cal->holidays, hol, nhol * sizeof(cal_day_t));
		cal->nholidays = nhol;
	}
	if (nextra > 0) {
		cal->extra_working = calloc(nextra, sizeof(cal_day_t));
		assert_non_null(cal->extra_working);
		memcpy(cal->extra_working, extra, nextra * sizeof(cal_day_t));
		cal->nextra_working = nextra;
	}
	cal->data_from = ymd(2026, 1, 1);
	cal->data_until = ymd(2027, 12, 31);
	calendar_normalize(cal);
}

/* France, 2026-2027 public holidays (Easter 2026 is 5 April). */
static void
cal_paris(struct calendar *cal)
{
	cal_day_t h[] = {
		ymd(2026, 1, 1), ymd(2026, 4, 6), ymd(2026, 5, 1),
		ymd(2026, 5, 8), ymd(2026, 5, 14), ymd(2026, 5, 25),
		ymd(2026, 7, 14), ymd(2026, 8, 15), ymd(2026, 11, 1),
		ymd(2026, 11, 11), ymd(2026, 12, 25), ymd(2027, 1, 1),
	};

	cal_make(cal, "Europe/Paris", h, sizeof(h) / sizeof(h[0]), NULL, 0);
}

/* Korea, a few 2026 holidays. */
static void
cal_seoul(struct calendar *cal)
{
	cal_day_t h[] = {
		ymd(2026, 1, 1), ymd(2026, 3, 2), ymd(2026, 5, 5),
		ymd(2026, 5, 25), ymd(2026, 8, 17), ymd(2026, 10, 5),
		ymd(2026, 10, 9), ymd(2026, 12, 25), ymd(2027, 1, 1),
	};

	cal_make(cal, "Asia/Seoul", h, sizeof(h) / sizeof(h[0]), NULL, 0);
}

/* Kazakhstan, with a Saturday worked (test data, not the real decree). */
static void
cal_almaty(struct calendar *cal)
{
	cal_day_t h[] = {
		ymd(2026, 1, 2), ymd(2026, 1, 1), ymd(2026, 1, 7),
		ymd(2026, 3, 9), ymd(2026, 3, 21), ymd(2026, 3, 22),
		ymd(2026, 3, 23), ymd(2026, 5, 1), ymd(2026, 5, 7),
		ymd(2026, 12, 16), ymd(2027, 1, 1), ymd(2027, 1, 2),
		ymd(2026, 1, 1),	/* duplicate: normalize drops it */
	};
	cal_day_t x[] = { ymd(2026, 11, 14) };

	cal_make(cal, "Asia/Almaty", h, sizeof(h) / sizeof(h[0]), x, 1);
}

static void
test_civil(void **state)
{
	cal_day_t d;
	int y, m, dd;
	char buf[16];

	(void)state;
	assert_int_equal(calendar_day_from_ymd(1970, 1, 1), 0);
	assert_int_equal(calendar_day_from_ymd(1969, 12, 31), -1);
	assert_int_equal(calendar_day_from_ymd(2000, 3, 1), 11017);
	assert_int_equal(calendar_day_from_ymd(2026, 1, 1), 20454);
	assert_int_equal(calendar_day_from_ymd(1900, 3, 1), -25508);
	for (d = -800000; d < 800000; d += 37) {
		calendar_ymd_from_day(d, &y, &m, &dd);
		assert_int_equal(calendar_day_from_ymd(y, m, dd), d);
	}
	calendar_ymd_from_day(ymd(2024, 2, 29), &y, &m, &dd);
	assert_int_equal(y * 10000 + m * 100 + dd, 20240229);
	assert_int_equal(calendar_weekday(0), 4);		/* Thursday */
	assert_int_equal(calendar_weekday(-1), 3);
	assert_int_equal(calendar_weekday(ymd(2026, 3, 29)), 0);
	assert_int_equal(calendar_weekday(ymd(2026, 11, 14)), 6);

	assert_int_equal(calendar_parse_date("2024-02-29", &d), 0);
	assert_int_equal(d, ymd(2024, 2, 29));
	assert_int_equal(calendar_parse_date("2026-02-29", &d), -1);
	assert_int_equal(calendar_parse_date("2100-02-29", &d), -1);
	assert_int_equal(calendar_parse_date("2000-02-29", &d), 0);
	assert_int_equal(calendar_parse_date("2026-13-01", &d), -1);
	assert_int_equal(calendar_parse_date("2026-04-31", &d), -1);
	assert_int_equal(calendar_parse_date("2026-4-30", &d), -1);
	assert_int_equal(calendar_parse_date("2026-04-300", &d), -1);
	assert_int_equal(calendar_parse_date("2026/04/30", &d), -1);
	assert_int_equal(calendar_parse_date("2026-0a-30", &d), -1);
	assert_int_equal(calendar_parse_date("", &d), -1);
	assert_string_equal(calendar_format_date(ymd(2026, 3, 9), buf,
	    sizeof(buf)), "2026-03-09");
	assert_string_equal(calendar_format_date(-1, buf, sizeof(buf)),
	    "1969-12-31");

	assert_int_equal(calendar_add_months(ymd(2026, 8, 31), 6),
	    ymd(2027, 2, 28));
	assert_int_equal(calendar_add_months(ymd(2026, 1, 15), 6),
	    ymd(2026, 7, 15));
	assert_int_equal(calendar_add_months(ymd(2026, 1, 31), -2),
	    ymd(2025, 11, 30));
	assert_int_equal(calendar_add_months(ymd(2027, 11, 30), 3),
	    ymd(2028, 2, 29));
}

static void
test_zone_valid(void **state)
{
	(void)state;
	assert_int_equal(calendar_zone_valid("Europe/Paris"), 1);
	assert_int_equal(calendar_zone_valid("Asia/Almaty"), 1);
	assert_int_equal(calendar_zone_valid("Asia/Seoul"), 1);
	assert_int_equal(calendar_zone_valid("UTC"), 1);
	assert_int_equal(calendar_zone_valid("Nowhere/Atlantis"), 0);
	assert_int_equal(calendar_zone_valid(""), 0);
	assert_int_equal(calendar_zone_valid(NULL), 0);
	assert_int_equal(calendar_zone_valid("/etc/localtime"), 0);
	assert_int_equal(calendar_zone_valid("../zoneinfo/UTC"), 0);
	assert_int_equal(calendar_zone_valid("Europe/../UTC"), 0);
	assert_int_equal(calendar_zone_valid("Europe/Paris extra"), 0);
	/* present in the tree, but not a TZif file */
	assert_int_equal(calendar_zone_valid("zone.tab"), 0);
	/* a directory */
	assert_int_equal(calendar_zone_valid("Europe"), 0);
}

static void
test_zone_tzdir(void **state)
{
	char dir[] = "/tmp/accord-tzdirXXXXXX";
	char path[128];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/Test", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("TZif2 and nothing else", f);
	fclose(f);
	setenv("TZDIR", dir, 1);
	assert_int_equal(calendar_zone_valid("Test"), 1);
	assert_int_equal(calendar_zone_valid("Europe/Paris"), 0);
	unsetenv("TZDIR");
	assert_int_equal(calendar_zone_valid("Test"), 0);
	unlink(path);
	rmdir(dir);
}

static void
test_tz_restored(void **state)
{
	struct calendar cal;

	(void)state;
	cal_paris(&cal);
	setenv("TZ", "America/New_York", 1);
	assert_int_equal(calendar_utc_offset(&cal, utc(2026, 1, 15, 12, 0,
	    0)), 3600);
	assert_string_equal(getenv("TZ"), "America/New_York");
	unsetenv("TZ");
	assert_int_equal(calendar_local_day(&cal, utc(2026, 1, 18, 23, 30,
	    0)), ymd(2026, 1, 19));
	assert_null(getenv("TZ"));
	/* already in force: used as is */
	setenv("TZ", "Europe/Paris", 1);
	assert_int_equal(calendar_utc_offset(&cal, utc(2026, 7, 1, 0, 0, 0)),
	    7200);
	assert_string_equal(getenv("TZ"), "Europe/Paris");
	unsetenv("TZ");
	calendar_clear(&cal);
}

/* The local day from the offset alone (no memo involved). */
static cal_day_t
day_by_offset(const struct calendar *cal, accord_time_t t)
{
	int64_t wall = t + calendar_utc_offset(cal, t);

	return (cal_day_t)(wall >= 0 ? wall / 86400 :
	    -((-wall + 86400 - 1) / 86400));
}

/*
 * Issue 20: the days calendar_local_day() remembers give the day the
 * offset gives, every 7 minutes across the transitions of 2026: Paris
 * (at 01:00 UTC), Santiago (its clocks go back from 24:00 to 23:00 of
 * the day before, and forward at 24:00), Almaty (none).
 */
static void
test_local_day_memo(void **state)
{
	static const struct {
		const char *zone;
		int y, m, d;
	} w[] = {
		{ "Europe/Paris", 2026, 3, 28 },
		{ "Europe/Paris", 2026, 10, 24 },
		{ "America/Santiago", 2026, 4, 3 },
		{ "America/Santiago", 2026, 9, 4 },
		{ "Asia/Almaty", 2026, 6, 1 },
	};
	struct calendar cal;
	accord_time_t t, t0;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		cal_make(&cal, w[i].zone, NULL, 0, NULL, 0);
		calendar_forget_days();
		t0 = utc(w[i].y, w[i].m, w[i].d, 0, 0, 0);
		for (t = t0; t < t0 + 4 * 86400; t += 7 * 60)
			assert_int_equal(calendar_local_day(&cal, t),
			    day_by_offset(&cal, t));
		/* and again, now from the memo where it has the day */
		for (t = t0 + 3600; t < t0 + 4 * 86400; t += 11 * 60)
			assert_int_equal(calendar_local_day(&cal, t),
			    day_by_offset(&cal, t));
		calendar_clear(&cal);
	}
}

/*
 * Asked again within a day, calendar_local_day() reads no zone file: with
 * the zone database gone (TZDIR an empty directory: the C library falls
 * back to UTC), Paris's day after 23:00 UTC is still the next one.
 */
static void
test_local_day_no_reload(void **state)
{
	char dir[] = "/tmp/accord-tzdirXXXXXX";
	struct calendar cal;
	cal_day_t day;

	(void)state;
	cal_paris(&cal);
	calendar_forget_days();
	assert_int_equal(calendar_local_day(&cal, utc(2026, 1, 18, 23, 10,
	    0)), ymd(2026, 1, 19));
	assert_non_null(mkdtemp(dir));
	setenv("TZDIR", dir, 1);
	day = calendar_local_day(&cal, utc(2026, 1, 18, 23, 30, 0));
	/* the database back before asserting: the other tests need it */
	unsetenv("TZDIR");
	rmdir(dir);
	calendar_forget_days();
	calendar_clear(&cal);
	assert_int_equal(day, ymd(2026, 1, 19));
}

static void
test_offsets(void **state)
{
	struct calendar p, s, a;

	(void)state;
	cal_paris(&p);
	cal_seoul(&s);
	cal_almaty(&a);
	assert_int_equal(calendar_utc_offset(&p, utc(2026, 1, 15, 0, 0, 0)),
	    3600);
	assert_int_equal(calendar_utc_offset(&p, utc(2026, 7, 15, 0, 0, 0)),
	    7200);
	assert_int_equal(calendar_utc_offset(&s, utc(2026, 7, 15, 0, 0, 0)),
	    9 * 3600);
	assert_int_equal(calendar_utc_offset(&a, utc(2026, 1, 15, 0, 0, 0)),
	    5 * 3600);
	assert_int_equal(calendar_utc_offset(&a, utc(2024, 2, 15, 0, 0, 0)),
	    6 * 3600);
	calendar_clear(&p);
	calendar_clear(&s);
	calendar_clear(&a);
}

static void
test_working_days(void **state)
{
	struct calendar a, c;

	(void)state;
	cal_almaty(&a);
	assert_int_equal(a.nholidays, 12);	/* duplicate dropped */
	assert_int_equal(calendar_is_working_day(&a, ymd(2026, 11, 13)), 1);
	assert_int_equal(calendar_is_working_day(&a, ymd(2026, 11, 14)), 1);
	assert_int_equal(calendar_is_working_day(&a, ymd(2026, 11, 15)), 0);
	assert_int_equal(calendar_is_working_day(&a, ymd(2026, 3, 23)), 0);
	assert_int_equal(calendar_is_working_day(&a, ymd(2026, 3, 24)), 1);
	assert_int_equal(calendar_next_working_day(&a, ymd(2026, 3, 21)),
	    ymd(2026, 3, 24));
	assert_int_equal(calendar_add_working_days(&a, ymd(2026, 11, 13), 2),
	    ymd(2026, 11, 16));
	assert_int_equal(calendar_add_working_days(&a, ymd(2026, 11, 13), 0),
	    ymd(2026, 11, 13));
	assert_int_equal(calendar_covers(&a, ymd(2026, 6, 1)), 1);
	assert_int_equal(calendar_covers(&a, ymd(2028, 1, 1)), 0);

	/* copy is deep */
	assert_int_equal(calendar_copy(&c, &a), 0);
	assert_ptr_not_equal(c.holidays, a.holidays);
	assert_int_equal(c.nholidays, a.nholidays);
	assert_int_equal(c.holidays[3], a.holidays[3]);
	assert_int_equal(c.extra_working[0], ymd(2026, 11, 14));
	calendar_clear(&a);
	assert_int_equal(calendar_is_working_day(&c, ymd(2026, 11, 14)), 1);
	calendar_clear(&c);
	assert_null(c.holidays);

	/* a Friday-Saturday weekend */
	memset(&c, 0, sizeof(c));
	snprintf(c.zone, sizeof(c.zone), "UTC");
	c.weekend = (1u << 5) | SAT;
	assert_int_equal(calendar_is_working_day(&c, ymd(2026, 1, 18)), 1);
	assert_int_equal(calendar_is_working_day(&c, ymd(2026, 1, 16)), 0);
}

/* Friday-evening urgent receipts: two working days are Monday and
 * Tuesday, ending 23:59:59 local on Tuesday. */
static void
test_urgent_friday_evening(void **state)
{
	struct calendar p, s, a;

	(void)state;
	cal_paris(&p);
	cal_seoul(&s);
	cal_almaty(&a);
	/* Paris Fri 2026-01-16 18:30 CET */
	assert_int_equal(calendar_due_working_days(&p,
	    utc(2026, 1, 16, 17, 30, 0), 2), utc(2026, 1, 20, 22, 59, 59));
	/* Seoul Fri 2026-01-16 20:00 KST */
	assert_int_equal(calendar_due_working_days(&s,
	    utc(2026, 1, 16, 11, 0, 0), 2), utc(2026, 1, 20, 14, 59, 59));
	/* Almaty Fri 2026-01-16 19:00 +05 */
	assert_int_equal(calendar_due_working_days(&a,
	    utc(2026, 1, 16, 14, 0, 0), 2), utc(2026, 1, 20, 18, 59, 59));
	/* Seoul Fri 23:30 KST is still Friday there (14:30 UTC) */
	assert_int_equal(calendar_due_working_days(&s,
	    utc(2026, 1, 16, 14, 30, 0), 2), utc(2026, 1, 20, 14, 59, 59));
	/* ... and Saturday 00:30 KST counts from Saturday: still Tuesday */
	assert_int_equal(calendar_due_working_days(&s,
	    utc(2026, 1, 16, 15, 30, 0), 2), utc(2026, 1, 20, 14, 59, 59));
	calendar_clear(&p);
	calendar_clear(&s);
	calendar_clear(&a);
}

static void
test_day_before_holiday(void **state)
{
	struct calendar p, s, a;

	(void)state;
	cal_paris(&p);
	cal_seoul(&s);
	cal_almaty(&a);
	/* Paris Mon 2026-07-13, Tue 14 July is a holiday: Wed, Thu */
	assert_int_equal(calendar_due_working_days(&p,
	    utc(2026, 7, 13, 9, 0, 0), 2), utc(2026, 7, 16, 21, 59, 59));
	/* Seoul Mon 2026-05-04, Children's Day Tue 5 May: Wed, Thu */
	assert_int_equal(calendar_due_working_days(&s,
	    utc(2026, 5, 4, 1, 0, 0), 2), utc(2026, 5, 7, 14, 59, 59));
	/* Almaty Fri 2026-03-20, Nauryz Sat-Mon: Tue, Wed */
	assert_int_equal(calendar_due_working_days(&a,
	    utc(2026, 3, 20, 5, 0, 0), 2), utc(2026, 3, 25, 18, 59, 59));
	calendar_clear(&p);
	calendar_clear(&s);
	calendar_clear(&a);
}

static void
test_period_ends_on_holiday(void **state)
{
	struct calendar p, s, a;
	accord_time_t r;

	(void)state;
	cal_paris(&p);
	cal_seoul(&s);
	cal_almaty(&a);
	/* Paris: Fri 2026-10-30 + 12 = Wed 11 November (holiday) */
	r = utc(2026, 10, 30, 10, 0, 0);
	assert_int_equal(calendar_due_calendar_days(&p, r, 12, 0),
	    utc(2026, 11, 11, 22, 59, 59));
	assert_int_equal(calendar_due_calendar_days(&p, r, 12, 1),
	    utc(2026, 11, 12, 22, 59, 59));
	/* Seoul: Thu 2026-04-23 + 12 = Tue 5 May (holiday) */
	r = utc(2026, 4, 23, 3, 0, 0);
	assert_int_equal(calendar_due_calendar_days(&s, r, 12, 0),
	    utc(2026, 5, 5, 14, 59, 59));
	assert_int_equal(calendar_due_calendar_days(&s, r, 12, 1),
	    utc(2026, 5, 6, 14, 59, 59));
	/* Almaty: 2026-03-09 + 12 = Sat 21 March; Sun and Mon are
	 * holidays too, so the roll runs to Tuesday 24 */
	r = utc(2026, 3, 9, 6, 0, 0);
	assert_int_equal(calendar_due_calendar_days(&a, r, 12, 0),
	    utc(2026, 3, 21, 18, 59, 59));
	assert_int_equal(calendar_due_calendar_days(&a, r, 12, 1),
	    utc(2026, 3, 24, 18, 59, 59));
	/* a period ending on a working day does not move */
	r = utc(2026, 10, 29, 10, 0, 0);
	assert_int_equal(calendar_due_calendar_days(&p, r, 12, 1),
	    utc(2026, 11, 10, 22, 59, 59));
	calendar_clear(&p);
	calendar_clear(&s);
	calendar_clear(&a);
}

static void
test_dst_paris(void **state)
{
	struct calendar p;
	accord_time_t r;

	(void)state;
	cal_paris(&p);
	/* spring: Sunday 29 March 2026, 02:00 CET -> 03:00 CEST */
	r = utc(2026, 3, 17, 9, 0, 0);
	assert_int_equal(calendar_due_calendar_days(&p, r, 12, 0),
	    utc(2026, 3, 29, 21, 59, 59));
	assert_int_equal(calendar_due_calendar_days(&p, r, 12, 1),
	    utc(2026, 3, 30, 21, 59, 59));
	/* urgent from Friday 27 March (CET) ends Tuesday 31 (CEST) */
	assert_int_equal(calendar_due_working_days(&p,
	    utc(2026, 3, 27, 16, 0, 0), 2), utc(2026, 3, 31, 21, 59, 59));
	/* the gap: 02:30 does not exist; the first instant after it */
	assert_int_equal(calendar_local_instant(&p, ymd(2026, 3, 29), 2, 30,
	    0), utc(2026, 3, 29, 1, 0, 0));
	assert_int_equal(calendar_local_instant(&p, ymd(2026, 3, 29), 1, 59,
	    59), utc(2026, 3, 29, 0, 59, 59));
	assert_int_equal(calendar_local_instant(&p, ymd(2026, 3, 29), 3, 0,
	    0), utc(2026, 3, 29, 1, 0, 0));
	assert_int_equal(calendar_local_day(&p, utc(2026, 3, 29, 22, 30, 0)),
	    ymd(2026, 3, 30));
	assert_int_equal(calendar_local_day(&p, utc(2026, 3, 28, 22, 30, 0)),
	    ymd(2026, 3, 28));

	/* autumn: Sunday 25 October 2026, 03:00 CEST -> 02:00 CET */
	r = utc(2026, 10, 13, 9, 0, 0);
	assert_int_equal(calendar_due_calendar_days(&p, r, 12, 0),
	    utc(2026, 10, 25, 22, 59, 59));
	assert_int_equal(calendar_due_calendar_days(&p, r, 12, 1),
	    utc(2026, 10, 26, 22, 59, 59));
	assert_int_equal(calendar_due_working_days(&p,
	    utc(2026, 10, 23, 15, 0, 0), 2), utc(2026, 10, 27, 22, 59, 59));
	/* the repeated hour: 02:30 happens twice; the first pass */
	assert_int_equal(calendar_local_instant(&p, ymd(2026, 10, 25), 2, 30,
	    0), utc(2026, 10, 25, 0, 30, 0));
	assert_int_equal(calendar_local_instant(&p, ymd(2026, 10, 25), 3, 30,
	    0), utc(2026, 10, 25, 2, 30, 0));
	calendar_clear(&p);
}

static void
test_new_year(void **state)
{
	struct calendar p, a;

	(void)state;
	cal_paris(&p);
	cal_almaty(&a);
	/* Wed 30 Dec: Thu 31, then 1 January and the weekend: Mon 4 */
	assert_int_equal(calendar_due_working_days(&p,
	    utc(2026, 12, 30, 10, 0, 0), 2), utc(2027, 1, 4, 22, 59, 59));
	assert_int_equal(calendar_due_working_days(&a,
	    utc(2026, 12, 30, 10, 0, 0), 2), utc(2027, 1, 4, 18, 59, 59));
	/* Sun 20 Dec + 12 = Fri 1 January 2027: rolled to Monday 4 */
	assert_int_equal(calendar_due_calendar_days(&p,
	    utc(2026, 12, 20, 10, 0, 0), 12, 1), utc(2027, 1, 4, 22, 59, 59));
	assert_int_equal(calendar_due_calendar_days(&p,
	    utc(2026, 12, 20, 10, 0, 0), 12, 0), utc(2027, 1, 1, 22, 59, 59));
	/* New Year's Eve 23:30 UTC is already 1 January in Almaty */
	assert_int_equal(calendar_local_day(&a, utc(2026, 12, 31, 23, 30, 0)),
	    ymd(2027, 1, 1));
	calendar_clear(&p);
	calendar_clear(&a);
}

/* 00:30 on Monday in Paris is Sunday in UTC: the receipt is Monday's. */
static void
test_local_date_differs(void **state)
{
	struct calendar p, s;

	(void)state;
	cal_paris(&p);
	cal_seoul(&s);
	/* winter: Sunday 23:30 UTC = Monday 00:30 CET */
	assert_int_equal(calendar_local_day(&p, utc(2026, 1, 18, 23, 30, 0)),
	    ymd(2026, 1, 19));
	assert_int_equal(calendar_due_working_days(&p,
	    utc(2026, 1, 18, 23, 30, 0), 2), utc(2026, 1, 21, 22, 59, 59));
	/* summer: Sunday 22:30 UTC = Monday 00:30 CEST */
	assert_int_equal(calendar_due_working_days(&p,
	    utc(2026, 6, 14, 22, 30, 0), 2), utc(2026, 6, 17, 21, 59, 59));
	/* one minute earlier is Sunday 23:29 CEST: Mon, Tue */
	assert_int_equal(calendar_due_working_days(&p,
	    utc(2026, 6, 14, 21, 29, 0), 2), utc(2026, 6, 16, 21, 59, 59));
	/* Seoul: Sunday 22:00 UTC = Monday 07:00 KST */
	assert_int_equal(calendar_due_working_days(&s,
	    utc(2026, 1, 18, 22, 0, 0), 2), utc(2026, 1, 21, 14, 59, 59));
	/* calendar days count dates, not 24-hour blocks */
	assert_int_equal(calendar_due_calendar_days(&p,
	    utc(2026, 1, 18, 23, 30, 0), 12, 0), utc(2026, 1, 31, 22, 59, 59));
	calendar_clear(&p);
	calendar_clear(&s);
}

static void
test_extra_working_saturday(void **state)
{
	struct calendar a;
	accord_time_t r = utc(2026, 11, 13, 10, 0, 0);	/* Fri 15:00 +05 */

	(void)state;
	cal_almaty(&a);
	assert_int_equal(calendar_due_working_days(&a, r, 2),
	    utc(2026, 11, 16, 18, 59, 59));
	/* without the worked Saturday it would run to Tuesday */
	a.nextra_working = 0;
	assert_int_equal(calendar_due_working_days(&a, r, 2),
	    utc(2026, 11, 17, 18, 59, 59));
	a.nextra_working = 1;
	/* a period ending on it is not rolled */
	assert_int_equal(calendar_due_calendar_days(&a,
	    utc(2026, 11, 2, 10, 0, 0), 12, 1), utc(2026, 11, 14, 18, 59, 59));
	calendar_clear(&a);
}

static void
test_extend(void **state)
{
	struct calendar p;
	accord_time_t due = utc(2026, 1, 20, 22, 59, 59);	/* Tue */

	(void)state;
	cal_paris(&p);
	assert_int_equal(calendar_extend_days(&p, due, 6, 1),
	    utc(2026, 1, 26, 22, 59, 59));
	/* +4 lands on Saturday */
	assert_int_equal(calendar_extend_days(&p, due, 4, 0),
	    utc(2026, 1, 24, 22, 59, 59));
	assert_int_equal(calendar_extend_days(&p, due, 4, 1),
	    utc(2026, 1, 26, 22, 59, 59));
	/* across the spring change: the end stays 23:59:59 local */
	assert_int_equal(calendar_extend_days(&p,
	    utc(2026, 3, 20, 22, 59, 59), 12, 0), utc(2026, 4, 1, 21, 59, 59));
	calendar_clear(&p);
}

/* The working days a suspended period has left: those after one date up
 * to and including another, the inverse of calendar_add_working_days(). */
static void
test_count_working_days(void **state)
{
	struct calendar a;
	cal_day_t from, to;
	int n;

	(void)state;
	cal_almaty(&a);
	/* Fri 13 Nov to Mon 16 Nov 2026: Saturday 14 is worked */
	assert_int_equal(calendar_count_working_days(&a, ymd(2026, 11, 13),
	    ymd(2026, 11, 16)), 2);
	/* the same day, or backwards: none */
	assert_int_equal(calendar_count_working_days(&a, ymd(2026, 11, 13),
	    ymd(2026, 11, 13)), 0);
	assert_int_equal(calendar_count_working_days(&a, ymd(2026, 11, 16),
	    ymd(2026, 11, 13)), 0);
	/* Fri 20 to Tue 24 March: the weekend and the Monday holiday */
	assert_int_equal(calendar_count_working_days(&a, ymd(2026, 3, 20),
	    ymd(2026, 3, 24)), 1);
	for (from = ymd(2026, 1, 1); from < ymd(2026, 12, 1); from += 7)
		for (n = 0; n < 30; n += 3) {
			to = calendar_add_working_days(&a, from, n);
			assert_int_equal(calendar_count_working_days(&a, from,
			    to), n);
		}
	calendar_clear(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_civil),
		cmocka_unit_test(test_zone_valid),
		cmocka_unit_test(test_zone_tzdir),
		cmocka_unit_test(test_tz_restored),
		cmocka_unit_test(test_local_day_memo),
		cmocka_unit_test(test_local_day_no_reload),
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_working_days),
		cmocka_unit_test(test_urgent_friday_evening),
		cmocka_unit_test(test_day_before_holiday),
		cmocka_unit_test(test_period_ends_on_holiday),
		cmocka_unit_test(test_dst_paris),
		cmocka_unit_test(test_new_year),
		cmocka_unit_test(test_local_date_differs),
		cmocka_unit_test(test_extra_working_saturday),
		cmocka_unit_test(test_extend),
		cmocka_unit_test(test_count_working_days),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
