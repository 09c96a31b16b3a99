/*
 * accordd_notify.c -- accordd and the service manager (accordd_notify.h).
 *
 * Under privilege separation systemd's main process is the root parent
 * (NotifyAccess=main): it alone may speak, and it knows nothing of the
 * engine's health but what the engine shows it.  So the parent pings the
 * engine over a socketpair of its own (util/frame.c) and says READY, or
 * WATCHDOG=1, only when an answer came back from the engine's event loop
 * -- a hung loop stops the watchdog and systemd restarts the tree.  The
 * engine also tells the parent when a reload starts and ends.  What the
 * engine sends is untrusted: the parent knows four frame types, reads
 * each with a time limit and passes on a status line only cleaned
 * (accordd_notify_clean).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "conf/config.h"
#include "fsm/fsm.h"
#include "persist/store.h"
#include "programs/accordd_notify.h"
#include "util/frame.h"
#include "util/log.h"

#define NTAG	"accordd"

#define NOTIFY_STATUS_MAX	256	/* a status line, and a frame */
#define NOTIFY_STATUS_EVERY	(60ULL * 1000000)	/* without watchdog */
#define NOTIFY_READ_SECONDS	2	/* a frame that is cut off */

enum notify_role {
	NOTIFY_ALONE,		/* one process: it tells systemd */
	NOTIFY_PARENT,		/* tells systemd what the engine shows */
	NOTIFY_ENGINE		/* tells the parent */
};

static enum notify_role notify_role = NOTIFY_ALONE;
static int notify_sp[2] = { -1, -1 };
static int notify_fd_ = -1;		/* this process's end */

/* the parent's view of the engine */
static int notify_ready;		/* READY=1 sent */
static int notify_waiting;		/* a ping not answered yet */
static int notify_late;			/* ... past its time (logged) */
static unsigned long long notify_next;	/* the next ping, monotonic us */

static unsigned long long
notify_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000 +
	    (unsigned long long)ts.tv_nsec / 1000;
}

static int
notify_enabled(void)
{
	return getenv("NOTIFY_SOCKET") != NULL;
}

/* Whatever went wrong is said once: systemd may simply not listen. */
static void
notify_send(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static void
notify_send(const char *fmt, ...)
{
	static int failed;
	char buf[NOTIFY_STATUS_MAX + 128];
	va_list ap;
	int rc;

	if (!notify_enabled())
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if ((rc = sd_notify(0, buf)) < 0 && !failed) {
		failed = 1;
		log_warnx(NTAG, "cannot notify the service manager at %s: %s",
		    getenv("NOTIFY_SOCKET"), strerror(-rc));
	} else if (rc > 0)
		log_debug(NTAG, "notify: %s", buf);
}

unsigned long long
accordd_notify_period(void)
{
	uint64_t usec;

	if (notify_role == NOTIFY_ENGINE || !notify_enabled())
		return 0;
	if (sd_watchdog_enabled(0, &usec) > 0 && usec >= 2)
		return usec / 2;
	return NOTIFY_STATUS_EVERY;
}

static int
notify_watchdog(void)
{
	uint64_t usec;

	return sd_watchdog_enabled(0, &usec) > 0;
}

void
accordd_notify_clean(const char *in, char *out, size_t len)
{
	size_t i;

	if (len == 0)
		return;
	for (i = 0; in[i] != '\0' && i < len - 1; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : ' ';
	out[i] = '\0';
}

/* ---- the status line ------------------------------------------------- */

static int
notify_count_open(void *arg, const char *partner, const char *state,
    long long n)
{
	long long *open = arg;
	int s;

	(void)partner;
	if (state != NULL && (s = fsm_state_from_name(state)) != -1 &&
	    !fsm_state_final((enum fsm_state)s))
		*open += n;
	return 0;
}

void
accordd_notify_status(const struct config *c, struct store *st, char *buf,
    size_t len)
{
	long long open = 0;

	/* the loop's read-only connection never waits: a busy store leaves
	 * the cases out this time */
	if (st != NULL && store_gauge(st, STORE_GAUGE_CASES, 0,
	    notify_count_open, &open) == 0)
		snprintf(buf, len, "serving %d partner%s, %lld case%s open",
		    c->npartners, c->npartners == 1 ? "" : "s", open,
		    open == 1 ? "" : "s");
	else
		snprintf(buf, len, "serving %d partner%s", c->npartners,
		    c->npartners == 1 ? "" : "s");
}

/* ---- the engine's side, or the one process --------------------------- */

void
accordd_notify_engine(void)
{
	notify_role = NOTIFY_ENGINE;
	close(notify_sp[0]);
	notify_sp[0] = -1;
	notify_fd_ = notify_sp[1];
}

/* A child that is neither side (a parser the parent starts again) keeps
 * no end of the channel: it could otherwise speak to the engine as its
 * parent. */
void
accordd_notify_forget(void)
{
	if (notify_role != NOTIFY_ALONE) {
		/* its own end, unless it gave up on the channel already */
		if (notify_fd_ != -1)
			close(notify_fd_);
	} else {
		if (notify_sp[0] != -1)
			close(notify_sp[0]);
		if (notify_sp[1] != -1)
			close(notify_sp[1]);
	}
	notify_sp[0] = notify_sp[1] = notify_fd_ = -1;
}

int
accordd_notify_fd(void)
{
	return notify_role == NOTIFY_ENGINE ? notify_fd_ : -1;
}

/* A frame to the parent; a failure is logged once (the parent is gone or
 * broke the channel: it sees to the rest). */
static void
notify_to_parent(enum notify_frame type, const char *buf)
{
	static int failed;

	if (notify_fd_ == -1)
		return;
	if (frame_write(notify_fd_, type, buf, strlen(buf)) == -1 &&
	    !failed) {
		failed = 1;
		log_err(NTAG, "cannot write to the parent");
	}
}

int
accordd_notify_answer(const struct config *c, struct store *st)
{
	char status[NOTIFY_STATUS_MAX], *buf;
	uint32_t type;
	size_t len;
	int rc;

	if ((rc = frame_read(notify_fd_, &type, &buf, &len,
	    NOTIFY_STATUS_MAX)) != 1) {
		if (rc == -1)
			log_err(NTAG, "the parent's channel");
		return -1;
	}
	free(buf);
	if (type != NOTIFY_PING) {
		log_warnx(NTAG, "unknown frame %u from the parent",
		    (unsigned)type);
		return 0;
	}
	accordd_notify_status(c, st, status, sizeof(status));
	notify_to_parent(NOTIFY_PONG, status);
	return 0;
}

void
accordd_notify_ready(const struct config *c, struct store *st)
{
	char status[NOTIFY_STATUS_MAX];

	if (notify_role != NOTIFY_ALONE || !notify_enabled())
		return;
	accordd_notify_status(c, st, status, sizeof(status));
	notify_send("READY=1\nSTATUS=%s", status);
	log_info(NTAG, "ready (told the service manager): %s", status);
}

static void
notify_reloading_now(void)
{
	notify_send("RELOADING=1\nMONOTONIC_USEC=%llu\n"
	    "STATUS=reloading the configuration", notify_now());
}

void
accordd_notify_reloading(void)
{
	if (notify_role == NOTIFY_ENGINE)
		notify_to_parent(NOTIFY_RELOADING, "");
	else
		notify_reloading_now();
}

void
accordd_notify_reloaded(const struct config *c, struct store *st, int ok)
{
	char status[NOTIFY_STATUS_MAX], line[NOTIFY_STATUS_MAX + 2];

	accordd_notify_status(c, st, status, sizeof(status));
	if (notify_role == NOTIFY_ENGINE) {
		/* its first byte says whether the reload was refused */
		snprintf(line, sizeof(line), "%c%s", ok ? '1' : '0', status);
		notify_to_parent(NOTIFY_RELOADED, line);
	} else
		notify_send("READY=1\nSTATUS=%s%s", ok ? "" : "reload refused, "
		    "see the log; ", status);
}

void
accordd_notify_stopping(void)
{
	if (notify_role == NOTIFY_ALONE)
		notify_send("STOPPING=1\nSTATUS=stopping");
}

void
accordd_notify_alive(const struct config *c, struct store *st)
{
	char status[NOTIFY_STATUS_MAX];

	accordd_notify_status(c, st, status, sizeof(status));
	if (notify_watchdog())
		notify_send("WATCHDOG=1\nSTATUS=%s", status);
	else
		notify_send("STATUS=%s", status);
}

/* ---- the parent ------------------------------------------------------ */

int
accordd_notify_pair(void)
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    notify_sp) == -1) {
		log_err(NTAG, "socketpair");
		return -1;
	}
	return 0;
}

static void
notify_ping(void)
{
	if (notify_fd_ == -1)
		return;
	if (frame_write(notify_fd_, NOTIFY_PING, "", 0) == -1) {
		log_err(NTAG, "cannot ping the engine");
		close(notify_fd_);
		notify_fd_ = -1;
		return;
	}
	notify_waiting = 1;
}

void
accordd_notify_parent(void)
{
	struct timeval tv = { NOTIFY_READ_SECONDS, 0 };

	notify_role = NOTIFY_PARENT;
	close(notify_sp[1]);
	notify_sp[1] = -1;
	notify_fd_ = notify_sp[0];
	/* an engine that sends half a frame, or reads none, cannot hold
	 * the parent: it gives up on the channel instead */
	if (setsockopt(notify_fd_, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)) == -1 || setsockopt(notify_fd_, SOL_SOCKET,
	    SO_SNDTIMEO, &tv, sizeof(tv)) == -1)
		log_err(NTAG, "the engine's channel: timeouts");
	notify_ping();
	notify_next = notify_now() + accordd_notify_period();
}

/* One frame from the engine.  @return 0, or -1: the channel is done. */
static int
notify_from_engine(void)
{
	char *buf, status[NOTIFY_STATUS_MAX];
	uint32_t type;
	size_t len;
	int rc;

	if ((rc = frame_read(notify_fd_, &type, &buf, &len,
	    NOTIFY_STATUS_MAX)) != 1) {
		if (rc == -1)
			log_err(NTAG, "the engine's channel");
		return -1;
	}
	switch (type) {
	case NOTIFY_PONG:
		if (!notify_waiting) {
			/* only an answer counts, not a keep-alive of its own */
			log_warnx(NTAG, "the engine answered no ping: ignored");
			break;
		}
		accordd_notify_clean(buf, status, sizeof(status));
		notify_waiting = 0;
		if (notify_late) {
			log_info(NTAG, "the engine answers again");
			notify_late = 0;
		}
		if (!notify_ready) {
			notify_ready = 1;
			notify_send("READY=1\nSTATUS=%s", status);
			if (notify_enabled())
				log_info(NTAG, "ready (told the service "
				    "manager): %s", status);
		} else if (notify_watchdog())
			notify_send("WATCHDOG=1\nSTATUS=%s", status);
		else
			notify_send("STATUS=%s", status);
		break;
	case NOTIFY_RELOADING:
		notify_reloading_now();
		break;
	case NOTIFY_RELOADED:
		accordd_notify_clean(len > 0 ? buf + 1 : "", status,
		    sizeof(status));
		notify_send("READY=1\nSTATUS=%s%s", len > 0 && buf[0] == '1' ?
		    "" : "reload refused, see the log; ", status);
		break;
	default:
		log_warnx(NTAG, "unknown frame %u from the engine: ignored",
		    (unsigned)type);
		break;
	}
	free(buf);
	return 0;
}

/* Time for the next ping: one at a time; an engine that has not answered
 * the last one gets no other, and no WATCHDOG=1 goes out for it. */
static void
notify_tick(unsigned long long period)
{
	/* an engine still starting is for TimeoutStartSec= to watch:
	 * systemd's watchdog begins with READY=1 */
	if (notify_waiting && notify_ready) {
		if (!notify_late)
			log_warnx(NTAG, "the engine has not answered the "
			    "parent's ping within %llu ms: no watchdog "
			    "keep-alive until it does", period / 1000);
		notify_late = 1;
		notify_send("STATUS=the engine is not answering");
	} else if (!notify_waiting)
		notify_ping();
	notify_next = notify_now() + period;
}

static void
notify_sigchld(int sig)
{
	(void)sig;	/* only to end ppoll() */
}

pid_t
accordd_notify_waitpid(int *status)
{
	static sigset_t waitmask;
	static int started;
	struct sigaction sa;
	struct pollfd pfd;
	struct timespec ts;
	unsigned long long period, now;
	sigset_t block;
	pid_t pid;
	int n;

	if (!started) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = notify_sigchld;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGCHLD, &sa, NULL);
		sigemptyset(&block);
		sigaddset(&block, SIGTERM);
		sigaddset(&block, SIGINT);
		sigaddset(&block, SIGHUP);
		sigaddset(&block, SIGALRM);
		sigaddset(&block, SIGCHLD);
		sigprocmask(SIG_BLOCK, &block, &waitmask);
		sigdelset(&waitmask, SIGTERM);
		sigdelset(&waitmask, SIGINT);
		sigdelset(&waitmask, SIGHUP);
		sigdelset(&waitmask, SIGALRM);
		sigdelset(&waitmask, SIGCHLD);
		started = 1;
		/* what came before the signals were blocked */
		errno = EINTR;
		return -1;
	}
	for (;;) {
		if ((pid = waitpid(-1, status, WNOHANG)) != 0)
			return pid;
		period = accordd_notify_period();
		now = notify_now();
		if (period != 0 && now >= notify_next) {
			notify_tick(period);
			now = notify_now();
		}
		if (period != 0) {
			ts.tv_sec = (time_t)((notify_next - now) / 1000000);
			ts.tv_nsec = (long)((notify_next - now) % 1000000) *
			    1000;
		}
		pfd.fd = notify_fd_;
		pfd.events = POLLIN;
		pfd.revents = 0;
		n = ppoll(&pfd, notify_fd_ != -1 ? 1 : 0,
		    period != 0 ? &ts : NULL, &waitmask);
		if (n == -1 && errno == EINTR)
			return -1;
		if (n == -1) {
			log_err(NTAG, "ppoll");
			return -1;
		}
		if (n > 0 && notify_fd_ != -1 && notify_from_engine() == -1) {
			/* the engine is gone (waitpid says so next) or
			 * broke the channel: no more READY or WATCHDOG */
			close(notify_fd_);
			notify_fd_ = -1;
		}
	}
}

void
accordd_notify_signal(int sig)
{
	if (sig == SIGTERM || sig == SIGINT)
		notify_send("STOPPING=1\nSTATUS=stopping");
}
