/*
 * accordd_notify.h -- accordd and the service manager (accordd_notify.c):
 * sd_notify's READY, RELOADING, STOPPING, WATCHDOG and STATUS, sent by
 * the process systemd knows as the main one.
 *
 * One process (no <user>, or not root): it tells systemd itself.  With
 * privilege separation the root parent tells it, and only what the
 * engine has shown: READY once the engine answered the parent's first
 * ping (its loop runs, the control socket is served), WATCHDOG=1 each
 * time it answers a later one, READY again once it says a reload is
 * done.  Without NOTIFY_SOCKET nothing is sent and nothing is periodic.
 */
#ifndef ACCORD_ACCORDD_NOTIFY_H
#define ACCORD_ACCORDD_NOTIFY_H

#include <sys/types.h>

#include <stddef.h>

struct config;
struct store;

/* ---- the channel between the parent and the engine (privsep) ------ */

/* Its frames (util/frame.h).  The parent reads the engine's as untrusted. */
enum notify_frame {
	NOTIFY_PING = 1,	/* parent: are you there? */
	NOTIFY_PONG,		/* engine: yes, and its status line */
	NOTIFY_RELOADING,	/* engine: a reload starts */
	NOTIFY_RELOADED		/* engine: done ("1"/"0" ok, then status) */
};

/* The socketpair, made just before the engine is forked.  @return 0/-1. */
int accordd_notify_pair(void);

/* In the engine after the fork: keep its end, speak through it. */
void accordd_notify_engine(void);

/* In the parent after the fork: keep its end and ping the engine (its
 * answer, once its loop runs, makes the service READY). */
void accordd_notify_parent(void);

/*
 * The parent's waitpid(-1, status, 0): waits for a child while it serves
 * the engine's channel and pings it on time.  The signals the parent
 * handles (SIGTERM, SIGINT, SIGHUP, SIGALRM, SIGCHLD) are blocked but
 * while it waits, so that one that arrives is never lost between the
 * caller's look at its flags and the wait: it returns -1 with errno
 * EINTR for the caller to look again (also on its first call).
 */
pid_t accordd_notify_waitpid(int *status);

/* The parent caught sig (before forwarding it): STOPPING=1 for SIGTERM
 * and SIGINT. */
void accordd_notify_signal(int sig);

/* ---- in the engine, or the single process ------------------------- */

/* The engine's end of the channel, for its event loop; -1 when there is
 * none (one process). */
int accordd_notify_fd(void);

/* In a child that is neither the parent nor the engine: close what is
 * left of the channel. */
void accordd_notify_forget(void);

/* The channel is readable: answer the parent's ping with the status.
 * @return 0, or -1 when the parent is gone or the channel broke. */
int accordd_notify_answer(const struct config *c, struct store *st);

/* The loop is about to run: READY=1 (one process; the parent's ping
 * does it under privilege separation). */
void accordd_notify_ready(const struct config *c, struct store *st);

/* A reload starts (RELOADING=1), or ended (READY=1 and the status; ok 0:
 * refused, the configuration in force stays). */
void accordd_notify_reloading(void);
void accordd_notify_reloaded(const struct config *c, struct store *st,
    int ok);

/* SIGTERM or SIGINT in the single process: STOPPING=1. */
void accordd_notify_stopping(void);

/* One process: how often (microseconds) its loop should call
 * accordd_notify_alive(): half the watchdog's interval, a minute for the
 * STATUS line alone; 0: never (no NOTIFY_SOCKET, or the engine). */
unsigned long long accordd_notify_period(void);

/* The loop turned: WATCHDOG=1 (when the watchdog is on) and STATUS. */
void accordd_notify_alive(const struct config *c, struct store *st);

/* "serving N partners, M cases open" into buf. */
void accordd_notify_status(const struct config *c, struct store *st,
    char *buf, size_t len);

/* What the parent passes on of a status line the engine sent: printable
 * ASCII, no newline (one line could otherwise set any other sd_notify
 * variable, MAINPID among them), at most len - 1 bytes. */
void accordd_notify_clean(const char *in, char *out, size_t len);

#endif
