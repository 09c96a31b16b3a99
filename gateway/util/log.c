/*
 * log.c -- logging to stderr or syslog.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "util/log.h"

static const char	*log_progname = "accord";
static int		 log_stderr = 1;
static enum log_level	 log_level = LOG_LVL_INFO;
static char		*log_capbuf;
static unsigned long	 log_caplen;
static const char	*log_syslog_path = "/dev/log";

static void log_emit(enum log_level, const char *, const char *);

void
log_set_syslog_path(const char *path)
{
	log_syslog_path = path;
}

/*
 * Where a detached daemon's lines go.  Under systemd (JOURNAL_STREAM set)
 * stderr is the journal, with the unit's name and priority kept.  Without
 * a syslog socket (a container, a minimal system), syslog(3) drops every
 * line without a word: the daemon would run blind, so stderr it is.
 */
enum log_dest
log_daemon_dest(void)
{
	const char *js = getenv("JOURNAL_STREAM");

	if (js != NULL && *js != '\0')
		return LOG_DEST_JOURNAL;
	if (access(log_syslog_path, F_OK) == -1)
		return LOG_DEST_NOSYSLOG;
	return LOG_DEST_SYSLOG;
}

void
log_init(const char *progname, int to_stderr, enum log_level level)
{
	enum log_dest dest = LOG_DEST_STDERR;
	char msg[256];

	log_progname = progname;
	log_level = level;
	if (!to_stderr)
		dest = log_daemon_dest();
	log_stderr = dest != LOG_DEST_SYSLOG;
	if (dest == LOG_DEST_SYSLOG)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (dest == LOG_DEST_NOSYSLOG) {
		/* said once, at the start: it is where the lines went */
		snprintf(msg, sizeof(msg), "no syslog socket at %s: logging "
		    "to stderr", log_syslog_path);
		log_emit(LOG_LVL_WARN, "log", msg);
	}
}

int
log_to_stderr(void)
{
	return log_stderr;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

void
log_capture(char *buf, unsigned long len)
{
	log_capbuf = buf;
	log_caplen = len;
	if (buf != NULL && len > 0)
		buf[0] = '\0';
}

/*
 * Repeated errors and warnings: a full disk made one call site write
 * 57,875 lines in 100 s.  Each call site (its format string) may write
 * LOG_BURST lines per LOG_WINDOW seconds (a site is its format and tag); the rest are counted and the
 * count is written when the window ends (log_flush_suppressed(), called
 * from the daemon's timers, or the call site's next line).
 */
#define LOG_WINDOW	10
#define LOG_BURST	20
#define LOG_SITES	32

struct log_site {
	const char	*fmt;		/* the call site */
	const char	*tag;
	time_t		 start;		/* of its window (monotonic) */
	unsigned	 lines;		/* written in the window */
	unsigned long	 dropped;	/* suppressed in the window */
	enum log_level	 lvl;
};
static struct log_site	 log_sites[LOG_SITES];
/* the loop and the threads that log (readers, signing pool, checkpoints) */
static pthread_mutex_t	 log_sites_mu = PTHREAD_MUTEX_INITIALIZER;

static time_t
log_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void
log_site_report(struct log_site *ls)
{
	char msg[256];

	if (ls->dropped == 0)
		return;
	snprintf(msg, sizeof(msg), "%lu more like \"%.120s\" in the last "
	    "%lds (suppressed)", ls->dropped, ls->fmt,
	    (long)(log_mono() - ls->start));
	ls->dropped = 0;
	log_emit(ls->lvl, ls->tag, msg);
}

/* @return 1 if this line is to be suppressed. */
static int
log_site_limit(enum log_level lvl, const char *tag, const char *fmt)
{
	struct log_site *ls, *oldest = &log_sites[0];
	time_t now = log_mono();
	int i, drop = 1;

	pthread_mutex_lock(&log_sites_mu);
	for (i = 0; i < LOG_SITES; i++) {
		ls = &log_sites[i];
		if (ls->fmt == fmt && ls->tag == tag)
			break;
		if (ls->start < oldest->start)
			oldest = ls;
	}
	if (i == LOG_SITES) {
		ls = oldest;
		log_site_report(ls);
		ls->fmt = fmt;
		ls->tag = tag;
		ls->lvl = lvl;
		ls->start = now;
		ls->lines = 0;
	}
	if (now - ls->start >= LOG_WINDOW) {
		log_site_report(ls);
		ls->start = now;
		ls->lines = 0;
	}
	if (ls->lines < LOG_BURST) {
		ls->lines++;
		drop = 0;
	} else
		ls->dropped++;
	pthread_mutex_unlock(&log_sites_mu);
	return drop;
}

void
log_flush_suppressed(void)
{
	time_t now = log_mono();
	int i;

	pthread_mutex_lock(&log_sites_mu);
	for (i = 0; i < LOG_SITES; i++)
		if (log_sites[i].dropped > 0 &&
		    now - log_sites[i].start >= LOG_WINDOW) {
			log_site_report(&log_sites[i]);
			log_sites[i].start = now;
			log_sites[i].lines = 0;
		}
	pthread_mutex_unlock(&log_sites_mu);
}

static void
log_vwrite(enum log_level lvl, const char *tag, const char *fmt, va_list ap,
    int with_errno)
{
	char msg[2048];
	int saved = errno;
	size_t n;

	if (lvl > log_level)
		return;
	if (lvl <= LOG_LVL_WARN && log_site_limit(lvl, tag, fmt)) {
		errno = saved;
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	}
	log_emit(lvl, tag, msg);
	errno = saved;
}

static void
log_emit(enum log_level lvl, const char *tag, const char *msg)
{
	static const char *names[] = { "error", "warning", "info", "debug" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	size_t n;

	if (log_capbuf != NULL) {
		n = strlen(log_capbuf);
		if (n < log_caplen)
			snprintf(log_capbuf + n, log_caplen - n, "%s: %s: %s\n",
			    names[lvl], tag, msg);
		return;
	}
	if (log_stderr)
		fprintf(stderr, "%s: %s: %s: %s\n", log_progname, names[lvl],
		    tag, msg);
	else
		syslog(prio[lvl], "%s: %s", tag, msg);
}

#define LOG_FN(fname, lvl, witherr)					\
void									\
fname(const char *tag, const char *fmt, ...)				\
{									\
	va_list ap;							\
	va_start(ap, fmt);						\
	log_vwrite(lvl, tag, fmt, ap, witherr);				\
	va_end(ap);							\
}

LOG_FN(log_errx, LOG_LVL_ERR, 0)
LOG_FN(log_err, LOG_LVL_ERR, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_debug, LOG_LVL_DEBUG, 0)

void
log_openssl(const char *tag, const char *what)
{
	unsigned long e;
	char buf[256];
	int any = 0;

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		log_errx(tag, "%s: %s", what, buf);
		any = 1;
	}
	if (!any)
		log_errx(tag, "%s", what);
}
