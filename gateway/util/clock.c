/*
 * clock.c -- the real clock and the test clock.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"

static int		clock_test_mode;
static int		clock_test_runs;	/* moves on with real time */
static accord_time_t	clock_test_value;
static accord_time_t	clock_test_since;	/* real time of the last set */

static accord_time_t
clock_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (accord_time_t)ts.tv_sec;
}

accord_time_t
clock_now(void)
{
	if (clock_test_mode && clock_test_runs)
		return clock_test_value + (clock_real() - clock_test_since);
	if (clock_test_mode)
		return clock_test_value;
	return clock_real();
}

void
clock_test_set(accord_time_t t)
{
	clock_test_mode = 1;
	clock_test_value = t;
	clock_test_since = clock_real();
}

int
clock_test_advance(int64_t seconds)
{
	if (!clock_test_mode)
		return -1;
	clock_test_set(clock_now() + seconds);
	return 0;
}

void
clock_test_running(int on)
{
	if (clock_test_mode)
		clock_test_set(clock_now());
	clock_test_runs = on;
}

void
clock_use_real(void)
{
	clock_test_mode = 0;
}

int
clock_is_test(void)
{
	return clock_test_mode;
}

char *
clock_format_utc(accord_time_t t, char *buf, unsigned long len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		if (len > 0)
			buf[0] = '\0';
	}
	return buf;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t
clock_days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
clock_digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
clock_parse_utc(const char *s, accord_time_t *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	const char *p;

	if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	if (clock_digits(s, 4, &y) || clock_digits(s + 5, 2, &mo) ||
	    clock_digits(s + 8, 2, &d) || clock_digits(s + 11, 2, &h) ||
	    clock_digits(s + 14, 2, &mi) || clock_digits(s + 17, 2, &sec))
		return -1;
	p = s + 19;
	if (*p == '.') {		/* fractional seconds are dropped */
		p++;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (strcmp(p, "Z") == 0)
		sign = 0;
	else if ((p[0] == '+' || p[0] == '-') && strlen(p) == 6 &&
	    p[3] == ':' && clock_digits(p + 1, 2, &oh) == 0 &&
	    clock_digits(p + 4, 2, &om) == 0 && oh < 24 && om < 60)
		sign = p[0] == '+' ? 1 : -1;
	else
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 ||
	    y % 400 == 0)))
		return -1;
	*out = clock_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
	    sec - sign * (oh * 3600 + om * 60);
	return 0;
}
