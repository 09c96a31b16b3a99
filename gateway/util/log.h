/*
 * log.h -- logging to stderr (foreground) or syslog (daemon).
 *
 * Every message carries the module's tag: log_warnx("config", "...").
 * Library errors (libxml2, xmlsec, OpenSSL) are routed here by the modules
 * that call those libraries.
 */
#ifndef ACCORD_LOG_H
#define ACCORD_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG
};

/* Start logging; to_stderr != 0 logs to stderr, else to syslog. */
void log_init(const char *progname, int to_stderr, enum log_level level);
void log_set_level(enum log_level level);

void log_errx(const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* As log_errx, with ": strerror(errno)" appended. */
void log_err(const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_warnx(const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_info(const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_debug(const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Drain OpenSSL's error queue into the log at error level. */
void log_openssl(const char *tag, const char *what);

/*
 * Errors and warnings are limited per call site: a burst of 20 lines per
 * 10 s, then a count.  Write the counts of windows that ended; daemons
 * call this from a timer so that a burst that stopped is still reported.
 */
void log_flush_suppressed(void);

/* Tests: capture log lines into a buffer instead of writing them. */
void log_capture(char *buf, unsigned long len);

#endif
