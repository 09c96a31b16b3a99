/*
 * calendar.c -- working days, holidays, time zones and deadline arithmetic.
 *
 * Civil dates are plain day numbers; only the conversions between a local
 * date and an instant look at a time zone.  Those go through the C
 * library's zone database by switching TZ for the duration of one public
 * call and restoring it afterwards.  A nested call that finds TZ already
 * set to the zone it wants does not switch again, so one deadline
 * computation costs one tzset() pair however many dates it converts.
 * Not thread-safe: the engine calls this from the loop thread only (the
 * memo of local days below has a lock of its own).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* struct tm's tm_gmtoff */
#endif

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf/calendar.h"

#define CAL_SECS_PER_DAY	86400
#define CAL_TZIF_MAGIC		"TZif"

/* What zone_enter() changed, for zone_leave() to undo. */
struct zone_saved {
	int	 switched;	/* 0: TZ was already the zone we wanted */
	int	 had_tz;	/* TZ was set before */
	char	 old[256];	/* its value */
};

static int	cal_cmp_day(const void *, const void *);
static int	cal_in(const cal_day_t *, int, cal_day_t);
static const char *cal_zone_name(const struct calendar *);
static void	zone_enter(const char *, struct zone_saved *);
static void	zone_leave(struct zone_saved *);
static long	zone_offset(accord_time_t);
static accord_time_t zone_instant(int64_t);

/*
 * Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar.
 * Years are shifted to start in March so that the leap day is the last
 * day of the shifted year; eras are the 400-year cycles of 146097 days.
 */
cal_day_t
calendar_day_from_ymd(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	if (m <= 2)
		y -= 1;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (cal_day_t)(era * 146097 + doe - 719468);
}

void
calendar_ymd_from_day(cal_day_t day, int *y, int *m, int *d)
{
	int64_t z, era, doe, yoe, doy, mp, yy;

	z = (int64_t)day + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(*m <= 2 ? yy + 1 : yy);
}

int
calendar_weekday(cal_day_t day)
{
	int w;

	/* 1970-01-01 was a Thursday (4). */
	w = (int)(((int64_t)day + 4) % 7);
	return w < 0 ? w + 7 : w;
}

static int
cal_days_in_month(int y, int m)
{
	static const int mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return mdays[m - 1];
}

int
calendar_parse_date(const char *s, cal_day_t *out)
{
	int i, y, m, d;

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (i = 0; i < 10; i++) {
		if (i == 4 || i == 7)
			continue;
		if (s[i] < '0' || s[i] > '9')
			return -1;
	}
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	    (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > cal_days_in_month(y, m))
		return -1;
	*out = calendar_day_from_ymd(y, m, d);
	return 0;
}

char *
calendar_format_date(cal_day_t day, char *buf, unsigned long len)
{
	int y, m, d;

	calendar_ymd_from_day(day, &y, &m, &d);
	if (len > 0) {
		/* A year outside 0..9999 cannot be written in 10 bytes. */
		if (y < 0 || y > 9999)
			snprintf(buf, len, "%s", "invalid");
		else
			snprintf(buf, len, "%04d-%02d-%02d", y, m, d);
	}
	return buf;
}

cal_day_t
calendar_add_months(cal_day_t day, int n)
{
	int y, m, d, mi, dim;

	calendar_ymd_from_day(day, &y, &m, &d);
	mi = y * 12 + (m - 1) + n;
	y = mi >= 0 ? mi / 12 : (mi - 11) / 12;
	m = mi - y * 12 + 1;
	dim = cal_days_in_month(y, m);
	if (d > dim)
		d = dim;
	return calendar_day_from_ymd(y, m, d);
}

/*
 * A zone name is looked up as a file under TZDIR (or the system's
 * directory): it must be relative, without "..", made of the characters
 * IANA names use, and the file must start with the TZif magic.
 */
int
calendar_zone_valid(const char *zone)
{
	const char *dir, *p;
	char path[1024], magic[4];
	int fd, n;
	ssize_t r;

	if (zone == NULL || zone[0] == '\0' || zone[0] == '/' ||
	    strlen(zone) >= CAL_ZONE_MAX || strstr(zone, "..") != NULL)
		return 0;
	for (p = zone; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '/' || *p == '_' ||
		    *p == '-' || *p == '+')
			continue;
		return 0;
	}
	dir = getenv("TZDIR");
	if (dir == NULL || dir[0] == '\0')
		dir = "/usr/share/zoneinfo";
	n = snprintf(path, sizeof(path), "%s/%s", dir, zone);
	if (n < 0 || (size_t)n >= sizeof(path))
		return 0;
	do {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	} while (fd == -1 && errno == EINTR);
	if (fd == -1) {
		/* zoneinfo trees commonly hold symlinks (e.g. UTC). */
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd == -1)
			return 0;
	}
	r = read(fd, magic, sizeof(magic));
	close(fd);
	if (r != (ssize_t)sizeof(magic) ||
	    memcmp(magic, CAL_TZIF_MAGIC, sizeof(magic)) != 0)
		return 0;
	return 1;
}

void
calendar_clear(struct calendar *cal)
{
	free(cal->holidays);
	free(cal->extra_working);
	cal->holidays = NULL;
	cal->nholidays = 0;
	cal->extra_working = NULL;
	cal->nextra_working = 0;
}

int
calendar_copy(struct calendar *dst, const struct calendar *src)
{
	struct calendar tmp;

	tmp = *src;
	tmp.holidays = NULL;
	tmp.extra_working = NULL;
	if (src->nholidays > 0) {
		tmp.holidays = calloc(src->nholidays, sizeof(cal_day_t));
		if (tmp.holidays == NULL)
			return -1;
		memcpy(tmp.holidays, src->holidays,
		    src->nholidays * sizeof(cal_day_t));
	}
	if (src->nextra_working > 0) {
		tmp.extra_working = calloc(src->nextra_working,
		    sizeof(cal_day_t));
		if (tmp.extra_working == NULL) {
			free(tmp.holidays);
			return -1;
		}
		memcpy(tmp.extra_working, src->extra_working,
		    src->nextra_working * sizeof(cal_day_t));
	}
	*dst = tmp;
	return 0;
}

static int
cal_cmp_day(const void *a, const void *b)
{
	cal_day_t x = *(const cal_day_t *)a, y = *(const cal_day_t *)b;

	return x < y ? -1 : x > y;
}

static int
cal_uniq(cal_day_t *v, int n)
{
	int i, k;

	if (v == NULL || n <= 0)
		return 0;
	qsort(v, n, sizeof(*v), cal_cmp_day);
	for (i = 1, k = 1; i < n; i++)
		if (v[i] != v[k - 1])
			v[k++] = v[i];
	return k;
}

void
calendar_normalize(struct calendar *cal)
{
	cal->nholidays = cal_uniq(cal->holidays, cal->nholidays);
	cal->nextra_working = cal_uniq(cal->extra_working,
	    cal->nextra_working);
}

static int
cal_in(const cal_day_t *v, int n, cal_day_t day)
{
	if (v == NULL || n <= 0)
		return 0;
	return bsearch(&day, v, n, sizeof(*v), cal_cmp_day) != NULL;
}

static const char *
cal_zone_name(const struct calendar *cal)
{
	if (cal == NULL || cal->zone[0] == '\0')
		return "UTC";
	return cal->zone;
}

/*
 * The zone our last tzset() loaded.  TZ in the environment alone proves
 * nothing: localtime_r() need not call tzset(), so the library keeps
 * whatever the last tzset() loaded, whoever changed TZ since.
 */
static char	zone_loaded[CAL_ZONE_MAX];

static void
zone_enter(const char *zone, struct zone_saved *sv)
{
	const char *cur;

	sv->switched = 0;
	cur = getenv("TZ");
	if (cur != NULL && strcmp(cur, zone) == 0 &&
	    strcmp(zone_loaded, zone) == 0)
		return;
	sv->switched = 1;
	sv->had_tz = cur != NULL;
	sv->old[0] = '\0';
	if (cur != NULL && strlen(cur) < sizeof(sv->old))
		memcpy(sv->old, cur, strlen(cur) + 1);
	setenv("TZ", zone, 1);
	tzset();
	snprintf(zone_loaded, sizeof(zone_loaded), "%s", zone);
}

static void
zone_leave(struct zone_saved *sv)
{
	if (!sv->switched)
		return;
	if (sv->had_tz)
		setenv("TZ", sv->old, 1);
	else
		unsetenv("TZ");
	tzset();
	zone_loaded[0] = '\0';
}

/* UTC offset at t in the zone in force. */
static long
zone_offset(accord_time_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (localtime_r(&tt, &tm) == NULL)
		return 0;
	return tm.tm_gmtoff;
}

/*
 * The instant whose local wall-clock reading, counted in seconds from
 * 1970-01-01 00:00 local, is wall.  Every offset in force within two days
 * of wall is a candidate; the earliest instant that reads wall wins (a
 * repeated hour takes its first pass).  When none does, wall falls in a
 * gap and the first instant after the gap is found by bisection: the
 * reading t + offset(t) only jumps forward across the gap.
 */
static accord_time_t
zone_instant(int64_t wall)
{
	long offs[5];
	accord_time_t best = 0, lo, hi, mid, t;
	int i, found = 0;
	long omin, omax;

	offs[0] = zone_offset(wall);
	offs[1] = zone_offset(wall - offs[0]);
	offs[2] = zone_offset(wall - 2 * CAL_SECS_PER_DAY);
	offs[3] = zone_offset(wall + 2 * CAL_SECS_PER_DAY);
	offs[4] = zone_offset(wall - offs[1]);
	omin = omax = offs[0];
	for (i = 0; i < 5; i++) {
		if (offs[i] < omin)
			omin = offs[i];
		if (offs[i] > omax)
			omax = offs[i];
		t = wall - offs[i];
		if (t + zone_offset(t) == wall && (!found || t < best)) {
			best = t;
			found = 1;
		}
	}
	if (found)
		return best;
	lo = wall - omax;
	hi = wall - omin;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (mid + zone_offset(mid) >= wall)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/*
 * The local days calendar_local_day() found last, per zone: the instants
 * [lo, hi) that read that day.  A receipt's deadline checks ask for the
 * day of "now" several times a message, and each answer cost two tzset()
 * calls, each reading the zone's file again (issue 20: 7 % of the
 * sender's CPU).  Only a day of 86,400 seconds with one offset at both
 * ends is kept (no transition in it: tzdata has no zone changing twice
 * in a day), so that every instant inside reads that day.  A mutex, as
 * the reports' worker thread converts dates too.
 */
#define DAYMEMO_N	4

struct daymemo {
	char		 zone[CAL_ZONE_MAX];
	accord_time_t	 lo, hi;
	cal_day_t	 day;
};

static struct daymemo	daymemo[DAYMEMO_N];
static unsigned		daymemo_next;
static pthread_mutex_t	daymemo_mu = PTHREAD_MUTEX_INITIALIZER;

static int
daymemo_find(const char *zone, accord_time_t t, cal_day_t *day)
{
	int i, found = 0;

	pthread_mutex_lock(&daymemo_mu);
	for (i = 0; i < DAYMEMO_N && !found; i++)
		if (daymemo[i].hi > daymemo[i].lo && t >= daymemo[i].lo &&
		    t < daymemo[i].hi && strcmp(daymemo[i].zone, zone) == 0) {
			*day = daymemo[i].day;
			found = 1;
		}
	pthread_mutex_unlock(&daymemo_mu);
	return found;
}

/* With the zone in force: remember day if it is a plain one. */
static void
daymemo_add(const char *zone, cal_day_t day)
{
	accord_time_t lo, hi;
	struct daymemo *m;

	lo = zone_instant((int64_t)day * CAL_SECS_PER_DAY);
	hi = zone_instant((int64_t)(day + 1) * CAL_SECS_PER_DAY);
	if (hi - lo != CAL_SECS_PER_DAY || zone_offset(lo) !=
	    zone_offset(hi - 1) || strlen(zone) >= CAL_ZONE_MAX)
		return;
	pthread_mutex_lock(&daymemo_mu);
	m = &daymemo[daymemo_next++ % DAYMEMO_N];
	snprintf(m->zone, sizeof(m->zone), "%s", zone);
	m->lo = lo;
	m->hi = hi;
	m->day = day;
	pthread_mutex_unlock(&daymemo_mu);
}

/* Forget the days remembered (tests: a zone's file changed). */
void
calendar_forget_days(void)
{
	pthread_mutex_lock(&daymemo_mu);
	memset(daymemo, 0, sizeof(daymemo));
	pthread_mutex_unlock(&daymemo_mu);
}

cal_day_t
calendar_local_day(const struct calendar *cal, accord_time_t t)
{
	struct zone_saved sv;
	const char *zone = cal_zone_name(cal);
	int64_t wall;
	cal_day_t day;

	if (daymemo_find(zone, t, &day))
		return day;
	zone_enter(zone, &sv);
	wall = t + zone_offset(t);
	day = (cal_day_t)(wall >= 0 ? wall / CAL_SECS_PER_DAY :
	    -((-wall + CAL_SECS_PER_DAY - 1) / CAL_SECS_PER_DAY));
	daymemo_add(zone, day);
	zone_leave(&sv);
	return day;
}

accord_time_t
calendar_local_instant(const struct calendar *cal, cal_day_t day, int hh,
    int mm, int ss)
{
	struct zone_saved sv;
	accord_time_t t;
	int64_t wall;

	wall = (int64_t)day * CAL_SECS_PER_DAY + hh * 3600 + mm * 60 + ss;
	zone_enter(cal_zone_name(cal), &sv);
	t = zone_instant(wall);
	zone_leave(&sv);
	return t;
}

long
calendar_utc_offset(const struct calendar *cal, accord_time_t t)
{
	struct zone_saved sv;
	long off;

	zone_enter(cal_zone_name(cal), &sv);
	off = zone_offset(t);
	zone_leave(&sv);
	return off;
}

int
calendar_is_working_day(const struct calendar *cal, cal_day_t day)
{
	if (cal_in(cal->extra_working, cal->nextra_working, day))
		return 1;
	if (cal->weekend & (1u << calendar_weekday(day)))
		return 0;
	if (cal_in(cal->holidays, cal->nholidays, day))
		return 0;
	return 1;
}

int
calendar_covers(const struct calendar *cal, cal_day_t day)
{
	if (cal->data_until < cal->data_from)
		return 1;
	return day >= cal->data_from && day <= cal->data_until;
}

cal_day_t
calendar_next_working_day(const struct calendar *cal, cal_day_t day)
{
	int guard;

	/* A calendar with no working day at all is a configuration
	 * error; do not loop forever on it. */
	for (guard = 0; guard < 3660; guard++) {
		if (calendar_is_working_day(cal, day))
			return day;
		day++;
	}
	return day;
}

cal_day_t
calendar_add_working_days(const struct calendar *cal, cal_day_t day, int n)
{
	int count = 0;

	while (count < n) {
		day = calendar_next_working_day(cal, day + 1);
		count++;
	}
	return day;
}

int
calendar_count_working_days(const struct calendar *cal, cal_day_t from,
    cal_day_t to)
{
	int n = 0;

	while (from < to) {
		from++;
		n += calendar_is_working_day(cal, from);
	}
	return n;
}

/* End of a local day: 23:59:59, the last second the day owns. */
static accord_time_t
cal_end_of_day(const struct calendar *cal, cal_day_t day)
{
	return calendar_local_instant(cal, day, 23, 59, 59);
}

accord_time_t
calendar_due_working_days(const struct calendar *cal, accord_time_t receipt,
    int n)
{
	struct zone_saved sv;
	accord_time_t due;
	cal_day_t day;

	zone_enter(cal_zone_name(cal), &sv);
	day = calendar_local_day(cal, receipt);
	due = cal_end_of_day(cal, calendar_add_working_days(cal, day, n));
	zone_leave(&sv);
	return due;
}

accord_time_t
calendar_due_calendar_days(const struct calendar *cal, accord_time_t receipt,
    int n, int roll)
{
	struct zone_saved sv;
	accord_time_t end;
	cal_day_t day;

	zone_enter(cal_zone_name(cal), &sv);
	day = calendar_local_day(cal, receipt) + n;
	if (roll)
		day = calendar_next_working_day(cal, day);
	end = cal_end_of_day(cal, day);
	zone_leave(&sv);
	return end;
}

accord_time_t
calendar_extend_days(const struct calendar *cal, accord_time_t due, int n,
    int roll)
{
	struct zone_saved sv;
	accord_time_t end;
	cal_day_t day;

	zone_enter(cal_zone_name(cal), &sv);
	day = calendar_local_day(cal, due) + n;
	if (roll)
		day = calendar_next_working_day(cal, day);
	end = cal_end_of_day(cal, day);
	zone_leave(&sv);
	return end;
}

char *
calendar_format_local(const struct calendar *cal, accord_time_t t, char *buf,
    unsigned long len)
{
	long off = calendar_utc_offset(cal, t);
	time_t lt = (time_t)(t + off);
	struct tm tm;
	char date[32];
	long a = off < 0 ? -off : off;

	if (gmtime_r(&lt, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm) == 0) {
		if (len > 0)
			buf[0] = '\0';
		return buf;
	}
	snprintf(buf, len, "%s%c%02ld:%02ld", date, off < 0 ? '-' : '+',
	    a / 3600, (a % 3600) / 60);
	return buf;
}
