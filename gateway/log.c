/*
 * log.c -- logging to stderr or syslog.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <openssl/err.h>

#include "log.h"

static const char	*log_progname = "accord";
static int		 log_stderr = 1;
static enum log_level	 log_level = LOG_LVL_INFO;
static char		*log_capbuf;
static unsigned long	 log_caplen;

void
log_init(const char *progname, int to_stderr, enum log_level level)
{
	log_progname = progname;
	log_stderr = to_stderr;
	log_level = level;
	if (!to_stderr)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
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

static void
log_vwrite(enum log_level lvl, const char *tag, const char *fmt, va_list ap,
    int with_errno)
{
	static const char *names[] = { "error", "warning", "info", "debug" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[2048];
	int saved = errno;
	size_t n;

	if (lvl > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	}
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
	errno = saved;
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
