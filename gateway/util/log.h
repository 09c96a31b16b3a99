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

/*
 * Where a detached daemon logs: syslog; stderr when JOURNAL_STREAM is set
 * (systemd's journal); stderr when there is no syslog socket.
 */
enum log_dest {
	LOG_DEST_STDERR,	/* asked for (foreground, tools) */
	LOG_DEST_SYSLOG,
	LOG_DEST_JOURNAL,	/* stderr, connected to systemd's journal */
	LOG_DEST_NOSYSLOG	/* stderr, for want of a syslog socket */
};

/*
 * Start logging; to_stderr != 0 logs to stderr, else where
 * log_daemon_dest() says (a missing syslog socket is logged once).
 */
void log_init(const char *progname, int to_stderr, enum log_level level);
enum log_dest log_daemon_dest(void);
/* 1 if lines go to stderr (a daemon must then keep it open). */
int log_to_stderr(void);
/* Tests: the syslog socket to look for (default /dev/log). */
void log_set_syslog_path(const char *path);
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
