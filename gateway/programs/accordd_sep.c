/*
 * accordd_sep.c -- privilege separation (README, "Process model").
 *
 * When accordd starts as root with a <user> configured, it becomes four
 * processes:
 *
 *   parent  stays root and does nothing but supervise: it forwards
 *           SIGTERM, SIGINT and SIGHUP to the engine, and when the engine
 *           or the signer ends, ends the other and exits with the
 *           engine's status (non-zero when either failed), for the
 *           service manager to restart the tree; it pings the engine and
 *           tells systemd what comes back (accordd_notify.c);
 *   signer  reads the signing key and opens its log (state/signer.log,
 *           appended to, root's and mode 0600: the engine can neither
 *           write nor read it) as root, drops to <user signer=> (else
 *           <user>), makes itself undumpable (so that the engine, were it
 *           the same uid, could neither ptrace it nor read its memory) and
 *           signs what the engine asks (msg/signer.c), logging each
 *           signature;
 *   engine  everything else, as <user> from its first instruction: the
 *           parent binds the listening sockets (accordd_listen.c), makes
 *           the control socket's directory, gives it and the state
 *           directory (but the signer's log) to <user> and reads the TLS
 *           keys (accordd_keys.c) before it forks the engine, which
 *           inherits them all.  It never holds the signing key;
 *   parser  parses, validates and verifies partner XML as <user parser=>
 *           under seccomp, and is restarted in place when it dies
 *           (accordd_parse.c).
 *
 * Every child dies with the parent (PR_SET_PDEATHSIG).
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

#include "accord-build.h"
#include "conf/config.h"
#include "conf/conffile.h"
#include "faces/control.h"
#include "msg/signer.h"
#include "msg/signpool.h"
#include "msg/xmlsig.h"
#include "programs/accordd_keys.h"
#include "programs/accordd_listen.h"
#include "programs/accordd_notify.h"
#include "programs/accordd_parse.h"
#include "programs/accordd_sep.h"
#include "util/frame.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define PTAG	"accordd"

static volatile sig_atomic_t sep_signal;	/* to forward */
static volatile sig_atomic_t sep_alarm;		/* the signer is late */
static pid_t sep_engine_pid, sep_signer_pid;
static const struct config *sep_conf;	/* for the parsers it restarts */

static pid_t sep_parent;		/* a child's, accordd_sep_pdeath()'s */

int
accordd_sep_pdeath(pid_t parent)
{
	sep_parent = parent;
	return prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 ||
	    getppid() != parent ? -1 : 0;
}

/* The child ends when the parent does; a parent already gone ends it. */
static void
sep_child(pid_t parent)
{
	sigset_t none;

	if (accordd_sep_pdeath(parent) == -1)
		_exit(1);
	signal(SIGHUP, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	/* the parent waits with its signals blocked (accordd_notify.c) */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

int
accordd_sep_become(uid_t uid, gid_t gid, const char *name,
    const gid_t *extra)
{
	if (setgroups(extra != NULL ? 1 : 0, extra) == -1 ||
	    setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		log_err(PTAG, "cannot become user %s", name);
		return -1;
	}
	if (setuid(0) != -1 || geteuid() == 0) {
		log_errx(PTAG, "could become root again after dropping to %s",
		    name);
		return -1;
	}
	/* nothing it executes could gain privileges either */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		log_err(PTAG, "PR_SET_NO_NEW_PRIVS");
		return -1;
	}
	/* the new uid cleared the parent-death signal: set it again */
	if (accordd_sep_pdeath(sep_parent) == -1) {
		log_errx(PTAG, "the parent is gone");
		return -1;
	}
	return 0;
}

int
accordd_sep_drop(const struct config *c)
{
	/* the control group stays its, to give the control socket it */
	return accordd_sep_become(c->user_uid, c->user_gid, c->user,
	    c->control_gid_exists && c->control_gid != c->user_gid ?
	    &c->control_gid : NULL);
}

int
accordd_sep_reach(const struct config *c)
{
	char *s, *p;
	int rc = 0;

	if (access(c->state_dir, R_OK | W_OK | X_OK) == 0)
		return 0;
	/* the first directory on the way that <user> cannot pass */
	s = xstrdup(c->state_dir);
	for (p = s + 1; *p != '\0' && rc == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (access(s, X_OK) == -1) {
			log_errx(PTAG, "the state directory %s is out of the "
			    "reach of user %s: it cannot pass through %s (%s); "
			    "give that directory o+x (as /var/lib has) or move "
			    "the state directory", c->state_dir, c->user, s,
			    strerror(errno));
			rc = -1;
		}
		*p = '/';
	}
	if (rc == 0)
		log_errx(PTAG, "the state directory %s is out of the reach of "
		    "user %s: %s", c->state_dir, c->user, strerror(errno));
	free(s);
	return -1;
}

/* The signer's user: <user signer=>, else <user name=>. */
static const char *
sep_signer_user(const struct config *c)
{
	return c->signer_user[0] != '\0' ? c->signer_user : c->user;
}

/* ---- the signer ---------------------------------------------------------- */

/*
 * The system calls of a process that only serves its socketpair (the
 * signer, once it holds its key; a parser, once it has loaded what it
 * reads): reading and writing its socketpair and its log, memory, time,
 * randomness, signals and exit, and the "extra" calls its caller names.
 * It binds every thread the process has (TSYNC).  Nothing opens a file, a
 * socket or a process; any other call fails with EACCES (logged by
 * whoever made it).  Sets PR_SET_NO_NEW_PRIVS first.
 */
int
accordd_sep_sandbox(const char *tag, const int *extra, size_t nextra)
{
	static const int allow[] = {
		SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv),
		SCMP_SYS(writev), SCMP_SYS(sendto), SCMP_SYS(close),
		SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(lseek),
		SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap),
		SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(mprotect),
		SCMP_SYS(futex), SCMP_SYS(getrandom), SCMP_SYS(getpid),
		SCMP_SYS(gettid), SCMP_SYS(clock_gettime),
		SCMP_SYS(gettimeofday), SCMP_SYS(time),
		SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
		SCMP_SYS(exit), SCMP_SYS(exit_group)
	};
	/* what a sanitizer build still refuses: files, sockets, programs */
	static const int deny[] = {
		SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(socket),
		SCMP_SYS(connect), SCMP_SYS(execve), SCMP_SYS(execveat)
	};
	scmp_filter_ctx ctx;
	size_t i;
	int rc = -1;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		log_err(tag, "PR_SET_NO_NEW_PRIVS");
		return -1;
	}
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	/* the sanitizers' runtime makes calls of its own (reports, stack
	 * maps): allowed, and logged by the kernel's audit, all but deny[] */
	if ((ctx = seccomp_init(SCMP_ACT_LOG)) == NULL) {
		log_errx(tag, "seccomp_init failed");
		return -1;
	}
	for (i = 0; i < sizeof(deny) / sizeof(deny[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), deny[i],
		    0) != 0)
			goto done;
	(void)allow;
	(void)extra;
	(void)nextra;
	log_warnx(tag, "sanitizer build: the system-call filter only "
	    "refuses files, sockets and programs");
#else
	(void)deny;
	if ((ctx = seccomp_init(SCMP_ACT_ERRNO(EACCES))) == NULL) {
		log_errx(tag, "seccomp_init failed");
		return -1;
	}
	for (i = 0; i < sizeof(allow) / sizeof(allow[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allow[i], 0) != 0)
			goto done;
	for (i = 0; i < nextra; i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, extra[i], 0) != 0)
			goto done;
#endif
	/* every thread of the process at once (the signer's lanes) */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) != 0 ||
	    seccomp_load(ctx) != 0)
		goto done;
	rc = 0;
done:
	if (rc == -1)
		log_errx(tag, "cannot install the system-call filter");
	seccomp_release(ctx);
	return rc;
}

/* Test builds: the engine's probe asks the signer to open a file, which
 * its filter must forbid; the answer says what came of it. */
static void
sep_signer_test_open(int fd)
{
	char ans[128];
	int f;

	if ((f = open("/etc/passwd", O_RDONLY | O_CLOEXEC)) == -1)
		snprintf(ans, sizeof(ans), "open: %s", strerror(errno));
	else {
		snprintf(ans, sizeof(ans), "open: allowed");
		close(f);
	}
	log_info("signer", "probe: %s", ans);
	frame_write(fd, SIGNER_OK, ans, strlen(ans));
}

struct sep_lane {
	pthread_t		 thr;
	int			 fd;
	struct signer_identity	 id;
	pthread_barrier_t	*ready;
	pthread_barrier_t	*go;
};

/* A lane of the signer: once running (glibc has registered its rseq and
 * robust list, calls the filter refuses), waits until the filter binds
 * every thread, then serves; a broken lane ends the signer (the engine
 * then ends too). */
static void *
sep_signer_lane(void *arg)
{
	struct sep_lane *l = arg;

	pthread_barrier_wait(l->ready);
	pthread_barrier_wait(l->go);
	if (signer_serve(l->fd, &l->id) == -1)
		_exit(1);
	return NULL;
}

static void __attribute__((noreturn))
sep_signer(const struct config *c, const int *fds, int n)
{
	struct sep_lane lane[1 + SIGNPOOL_MAX];
	struct signer_identity id;
	struct conf_diag d = { 0 };
	pthread_barrier_t ready, go;
	char *logf;
	int rc, i;

	memset(&id, 0, sizeof(id));
	id.xml = xmlsig_signer_load(c->sign_key, c->sign_cert);
	id.key = conf_load_key(c->sign_key, c->file, 0, &d);
	conf_diag_free(&d);
	/* the signer's log: the auditor compares it with the journal */
	logf = conf_path(c->state_dir, SIGNER_LOG_FILE);
	id.log_fd = open(logf, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (id.log_fd == -1)
		log_err("signer", "%s", logf);
	free(logf);
	id.has_log = id.log_fd != -1;
	/* the lanes' own xmlsec signers (as the pool's threads in one
	 * process), loaded while the key is readable */
	for (i = 1; i < n; i++)
		if ((lane[i].id.xml = xmlsig_signer_load(c->sign_key,
		    c->sign_cert)) == NULL)
			id.xml = NULL;
	if (id.xml == NULL || id.key == NULL || !id.has_log ||
	    accordd_sep_become(c->signer_uid, c->signer_gid, sep_signer_user(c),
	    NULL) == -1 ||
	    prctl(PR_SET_DUMPABLE, 0) == -1) {
		log_errx("signer", "cannot start");
		_exit(1);
	}
	id.country = c->country;
	id.authority = c->authority;
#ifdef ACCORD_TEST_CLOCK
	id.test_hook = sep_signer_test_open;
#endif
	signal(SIGTERM, SIG_IGN);	/* it ends when the engine does */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	/*
	 * The pool's lanes share the log (one write(2) a line).  Their
	 * threads exist before the filter, which binds them all (TSYNC), and
	 * serve only once it does.
	 */
	if (pthread_barrier_init(&ready, NULL, (unsigned)n) != 0 ||
	    pthread_barrier_init(&go, NULL, (unsigned)n) != 0) {
		log_errx("signer", "cannot start");
		_exit(1);
	}
	for (i = 1; i < n; i++) {
		struct xmlsig_signer *xml = lane[i].id.xml;

		lane[i].fd = fds[i];
		lane[i].id = id;
		lane[i].id.xml = xml;
		lane[i].ready = &ready;
		lane[i].go = &go;
		if (pthread_create(&lane[i].thr, NULL, sep_signer_lane,
		    &lane[i]) != 0) {
			log_errx("signer", "cannot start lane %d", i);
			_exit(1);
		}
	}
	log_info("signer", "signing for %s/%s as %s, pid %ld, %d lanes",
	    c->country, c->authority, sep_signer_user(c), (long)getpid(), n);
	pthread_barrier_wait(&ready);
	if (accordd_sep_sandbox("signer", NULL, 0) == -1)
		_exit(1);
	pthread_barrier_wait(&go);
	rc = signer_serve(fds[0], &id);
	_exit(rc == 0 ? 0 : 1);
}

/* ---- the parent ---------------------------------------------------------- */

static void
sep_close_all(const int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		close(fds[i]);
}

static void
sep_forward(int sig)
{
	if (sig == SIGALRM)
		sep_alarm = 1;
	else
		sep_signal = sig;
}

/* Wait for the children; forward signals to the engine; restart a
 * parser that ends while the engine runs.  Never returns. */
static void __attribute__((noreturn))
sep_supervise(void)
{
	struct sigaction sa;
	int status, estatus = 1, engine_done = 0, signer_done = 0;
	int signer_failed = 0;
	pid_t pid;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sep_forward;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	while (!engine_done || !signer_done || accordd_parse_pid() != -1) {
		pid = accordd_notify_waitpid(&status);
		if (pid == -1 && errno == EINTR) {
			accordd_notify_signal(sep_signal);
			if (sep_signal != 0 && !engine_done)
				kill(sep_engine_pid, sep_signal);
			sep_signal = 0;
			if (sep_alarm && !signer_done) {
				log_warnx(PTAG, "the signer did not end with the "
				    "engine: killing it");
				kill(sep_signer_pid, SIGKILL);
			}
			sep_alarm = 0;
			continue;
		}
		if (pid == -1)
			break;
		if (pid == accordd_parse_pid()) {
			if (engine_done)
				accordd_parse_reaped();
			else if (accordd_parse_ended(sep_conf, status) == -1) {
				log_errx(PTAG, "no parser: stopping the "
				    "engine");
				kill(sep_engine_pid, SIGTERM);
			}
			continue;
		}
		if (pid == sep_engine_pid) {
			engine_done = 1;
			estatus = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
			if (estatus != 0)
				log_errx(PTAG, "the engine (pid %ld) ended "
				    "abnormally (%s %d)", (long)pid,
				    WIFEXITED(status) ? "status" : "signal",
				    WIFEXITED(status) ? WEXITSTATUS(status) :
				    WTERMSIG(status));
			if (!signer_done)	/* it sees the end of its pipe */
				alarm(30);
			if (accordd_parse_pid() != -1)	/* not restarted */
				kill(accordd_parse_pid(), SIGKILL);
		} else if (pid == sep_signer_pid) {
			signer_done = 1;
			/* status 0: the engine closed the channel, it is
			 * stopping; anything else is a failure */
			if (!engine_done && (!WIFEXITED(status) ||
			    WEXITSTATUS(status) != 0)) {
				log_errx(PTAG, "the signer (pid %ld) ended: "
				    "stopping the engine", (long)pid);
				signer_failed = 1;
				kill(sep_engine_pid, SIGTERM);
			}
		}
	}
	_exit(engine_done && signer_done && !signer_failed ? estatus : 1);
}

/* ---- start ----------------------------------------------------------------- */

/* The directory part of the control socket's path into buf. */
static const char *
sep_control_dir(const struct config *c, char *buf, size_t len)
{
	char *slash;

	snprintf(buf, len, "%s", c->control_socket);
	if ((slash = strrchr(buf, '/')) == NULL)
		snprintf(buf, len, ".");
	else if (slash == buf)
		buf[1] = '\0';
	else
		*slash = '\0';
	return buf;
}

/*
 * What the engine would need root for, done here before it is forked:
 * the control socket's directory made, the state directory (every file
 * in it) and that directory given to <user>, the TLS keys read into c.
 * @return 0, or -1 (logged).
 */
static int
sep_engine_ready(struct config *c)
{
	char dir[PATH_MAX];

	if (control_socket_dir(c) == -1 ||
	    accordd_sep_give(c, sep_control_dir(c, dir, sizeof(dir))) == -1 ||
	    accordd_keys_give(c) == -1)
		return -1;
	return 0;
}

int
accordd_sep_start(struct config *c, const char *conf_file,
    struct signer_client **signer, int *parser_fd,
    struct accordd_listen *listen)
{
	pid_t parent = getpid();
	int ours[1 + SIGNPOOL_MAX], its[1 + SIGNPOOL_MAX];
	int sp[2], pfd, i;
	/* the signer's lanes (msg/signer.h): the loop's, and one per thread
	 * of the engine's signing pool, as many as in one process */
	int n = 1 + signpool_threads();

	sep_conf = c;
	/* the parser first: it must never hold an end of the signer's
	 * socketpairs */
	if (accordd_parse_start(c, conf_file, &pfd) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
		    sp) == -1) {
			log_err(PTAG, "socketpair");
			return -1;
		}
		ours[i] = sp[0];
		its[i] = sp[1];
	}
	switch ((sep_signer_pid = fork())) {
	case -1:
		log_err(PTAG, "fork");
		return -1;
	case 0:
		sep_child(parent);
		sep_close_all(ours, n);
		close(pfd);
		accordd_parse_forget();
		sep_signer(c, its, n);
	default:
		break;
	}
	sep_close_all(its, n);
	/* bound here, as root: the engine needs no capability for a port
	 * below 1024, and the parser and the signer never hold them */
	if (accordd_listen_open(c, listen) == -1 ||
	    sep_engine_ready(c) == -1) {
		kill(sep_signer_pid, SIGKILL);
		return -1;
	}
	if (accordd_notify_pair() == -1) {
		kill(sep_signer_pid, SIGKILL);
		return -1;
	}
	switch ((sep_engine_pid = fork())) {
	case -1:
		log_err(PTAG, "fork");
		kill(sep_signer_pid, SIGKILL);
		return -1;
	case 0:
		sep_child(parent);
		accordd_notify_engine();
		conf_keys_elsewhere = 1;
		accordd_parse_forget();
		/* at once: the engine is never root (README, "Process
		 * model") */
		if (accordd_sep_drop(c) == -1)
			_exit(1);
		*signer = signer_client_new(ours[0]);
		for (i = 1; i < n; i++)
			signer_client_add_lane(*signer,
			    signer_client_new(ours[i]));
		*parser_fd = pfd;
		return 0;
	default:
		break;
	}
	sep_close_all(ours, n);
	close(pfd);
	accordd_listen_close(listen);	/* the engine's now */
	accordd_keys_forget(c);		/* the same */
	accordd_keys_serve(conf_file);	/* its TLS keys on a reload */
	accordd_notify_parent();
	log_info(PTAG, "privilege separation: engine pid %ld, signer pid %ld, "
	    "as %s and %s; parser pid %ld as %s", (long)sep_engine_pid,
	    (long)sep_signer_pid, c->user, sep_signer_user(c),
	    (long)accordd_parse_pid(), c->parser_user[0] != '\0' ?
	    c->parser_user : c->user);
	sep_supervise();
}

/*
 * Test builds (ACCORD_TEST_SEP_PROBE set): the engine, once it is <user>,
 * tries what a compromised engine would -- read the signing key, have the
 * signer sign bytes that are no message of ours -- and logs what came of
 * each; tests/shell/privsep.sh expects both to fail.
 */
void
accordd_sep_probe(const struct config *c, struct signer_client *sc)
{
#ifdef ACCORD_TEST_CLOCK
	static const char forged[] = "<Message>not one of ours</Message>";
	char *out = NULL;
	size_t outlen;
	int fd;

	if (getenv("ACCORD_TEST_SEP_PROBE") == NULL)
		return;
	if ((fd = open(c->sign_key, O_RDONLY | O_CLOEXEC)) == -1)
		log_info(PTAG, "probe: the engine cannot open the signing key: "
		    "%s", strerror(errno));
	else {
		log_warnx(PTAG, "probe: the engine opened the signing key");
		close(fd);
	}
	if (signer_client_sign_message(sc, forged, sizeof(forged) - 1, &out,
	    &outlen, NULL, 0) == -1)
		log_info(PTAG, "probe: the signer refused to sign arbitrary "
		    "bytes");
	else
		log_warnx(PTAG, "probe: the signer signed arbitrary bytes");
	free(out);
	if (signer_client_test(sc, &out) == 0) {
		log_info(PTAG, "probe: the signer tried to open a file: %s",
		    out);
		free(out);
	}
#else
	(void)c;
	(void)sc;
#endif
}

/* nftw's callback: give one file to the user. */
static uid_t sep_uid;
static gid_t sep_gid;

static int
sep_chown_one(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	/* the signer's log stays root's: the engine must not rewrite it */
	if (ftw->level == 1 && strcmp(path + ftw->base, SIGNER_LOG_FILE) == 0)
		return 0;
	if (lchown(path, sep_uid, sep_gid) == -1) {
		log_err(PTAG, "chown %s", path);
		return -1;
	}
	return 0;
}

int
accordd_sep_give(const struct config *c, const char *control_dir)
{
	sep_uid = c->user_uid;
	sep_gid = c->user_gid;
	if (nftw(c->state_dir, sep_chown_one, 16, FTW_PHYS) == -1)
		return -1;
	/* the control socket itself keeps its group: only its directory,
	 * where a restart makes it again */
	if (control_dir != NULL && lchown(control_dir, c->user_uid,
	    (gid_t)-1) == -1) {
		log_err(PTAG, "chown %s", control_dir);
		return -1;
	}
	return 0;
}
