/*
 * accordd_parse.c -- the parser process (README, "Process model").
 *
 * The parent forks it before the signer and the engine, with one end of
 * a socketpair; the engine inherits the other end.  The parser reloads
 * the configuration as root (the agreements: certificates and CRLs, never
 * a private key), preloads the partners' public keys, becomes <user
 * parser=>, NoNewPrivs, undumpable, and installs a system-call filter
 * that lets it open no file and no socket: from then on it only turns
 * partner bytes into verified message models (msg/parser.c) for the
 * engine.  It holds no key and has no channel but its socketpair.
 *
 * When it dies (a parser bug, a hostile message), the parent answers for
 * it: whatever the engine wrote that it did not read is drained, a
 * PARSER_DIED frame goes back (the engine answers the partner 503), the
 * death is logged and counted, and a new parser starts on the same
 * socketpair.  A parser that ends cleanly (the engine reloaded its
 * configuration and asked for a fresh one) is started again without a
 * word to the engine: a request written meanwhile waits for the new one.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <seccomp.h>

#include "accord-build.h"
#include "conf/config.h"
#include "conf/conffile.h"
#include "faces/opscmd.h"
#include "msg/parser.h"
#include "msg/xmlsig.h"
#include "programs/accordd_notify.h"
#include "programs/accordd_parse.h"
#include "programs/accordd_sep.h"
#include "util/clock.h"
#include "util/frame.h"
#include "util/log.h"

#define PPTAG	"parser"

static const char *parse_conf_file;	/* re-read by each new parser */
static int parse_fd = -1;		/* the parser's end, kept */
static pid_t parse_pid = -1;
static time_t parse_started;
static unsigned long parse_deaths;

/* ---- the parser ------------------------------------------------------------ */

/*
 * What the parser may do once it serves: what the signer may
 * (accordd_sep_sandbox), and in test builds sleep, for the hook that
 * keeps a parser busy to be killed.
 */
static int
parse_sandbox(void)
{
#ifdef ACCORD_TEST_CLOCK
	static const int extra[] = {
		SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep)
	};

	return accordd_sep_sandbox(PPTAG, extra,
	    sizeof(extra) / sizeof(extra[0]));
#else
	return accordd_sep_sandbox(PPTAG, NULL, 0);
#endif
}

/* Become the parser's user for good. */
static int
parse_drop(const struct config *c)
{
	const char *who = c->parser_user[0] != '\0' ? c->parser_user :
	    c->user;

	if (accordd_sep_become(c->parser_uid, c->parser_gid, who,
	    NULL) == -1)
		return -1;
	return prctl(PR_SET_DUMPABLE, 0) == -1 ? -1 : 0;
}

/*
 * Test builds (ACCORD_TEST_PARSER_PROBE set): what a compromised parser
 * would try, logged -- read the signing key, reach the signer (it has no
 * channel to it and can open no socket to make one); tests/shell/parser.sh
 * expects both to fail, and lists its descriptors from /proc.
 */
static void
parse_probe(const struct config *c)
{
#ifdef ACCORD_TEST_CLOCK
	int f, s;

	if (getenv("ACCORD_TEST_PARSER_PROBE") == NULL)
		return;
	if ((f = open(c->sign_key, O_RDONLY | O_CLOEXEC)) == -1)
		log_info(PPTAG, "probe: the parser cannot open the signing "
		    "key: %s", strerror(errno));
	else {
		log_warnx(PPTAG, "probe: the parser opened the signing key");
		close(f);
	}
	if ((s = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		log_info(PPTAG, "probe: the parser cannot open a socket to "
		    "ask the signer: %s", strerror(errno));
	else {
		log_warnx(PPTAG, "probe: the parser opened a socket");
		close(s);
	}
#else
	(void)c;
#endif
}

/* Test builds (ACCORD_TEST_PARSER_SLEEP set): a message carrying the
 * marker keeps the parser busy long enough to be killed mid-request. */
static void
parse_test_sleep(const char *bytes, size_t len)
{
#ifdef ACCORD_TEST_CLOCK
	static const char marker[] = "accord-test-parser-sleep";
	struct timespec ts = { 60, 0 };

	/* the first parser only: the one started after its death does
	 * not sleep, so that the partner's retry goes through */
	if (getenv("ACCORD_TEST_PARSER_SLEEP") == NULL || parse_deaths > 0 ||
	    memmem(bytes, len, marker, sizeof(marker) - 1) == NULL)
		return;
	log_info(PPTAG, "test: sleeping on the marker, pid %ld",
	    (long)getpid());
	nanosleep(&ts, NULL);
#else
	(void)bytes;
	(void)len;
#endif
}

/* Answer one frame with seq first. */
static int
parse_answer(int fd, uint32_t type, uint32_t seq, const char *p, size_t len)
{
	char *buf;
	int rc;

	if ((buf = malloc(sizeof(seq) + len)) == NULL)
		return -1;
	memcpy(buf, &seq, sizeof(seq));
	memcpy(buf + sizeof(seq), p, len);
	rc = frame_write(fd, type, buf, sizeof(seq) + len);
	free(buf);
	return rc;
}

/*
 * The body of a stored partner message as an operator may see it, masked
 * unless reveal.  The one call of the masking code: whichever function
 * masks personal data (today opscmd_document's list of elements) is
 * called here only.
 */
static char *
parse_view_document(const char *bytes, size_t len, int reveal)
{
	return opscmd_document(bytes, len, reveal);
}

/* One PARSER_VIEW request into its answer. */
static int
parse_view(int fd, uint32_t seq, const char *in, size_t len)
{
	uint32_t reveal;
	char *doc;
	int rc;

	if (len < sizeof(reveal))
		return parse_answer(fd, PARSER_FAILED, seq, "short request",
		    13);
	memcpy(&reveal, in, sizeof(reveal));
	if ((doc = parse_view_document(in + sizeof(reveal),
	    len - sizeof(reveal), reveal != 0)) == NULL)
		return parse_answer(fd, PARSER_FAILED, seq, "unreadable", 10);
	rc = parse_answer(fd, PARSER_VIEWED, seq, doc, strlen(doc));
	free(doc);
	return rc;
}

/* One PARSER_READ request into its answer. */
static int
parse_read(const struct config *c, int fd, uint32_t seq, const char *in,
    size_t len)
{
	struct parser_request rq;
	struct envelope_limits lim;
	const struct agreement *a;
	struct model m;
	char *out;
	size_t outlen;
	int rc;

	if (len < sizeof(rq))
		return parse_answer(fd, PARSER_FAILED, seq, "short request",
		    13);
	memcpy(&rq, in, sizeof(rq));
	rq.partner[sizeof(rq.partner) - 1] = '\0';
	if ((a = config_partner(c, rq.partner)) == NULL)
		return parse_answer(fd, PARSER_FAILED, seq, "no such partner",
		    15);
	lim.max_size = rq.max_size;
	lim.max_depth = rq.max_depth;
	parse_test_sleep(in + sizeof(rq), len - sizeof(rq));
	parser_read(in + sizeof(rq), len - sizeof(rq), &lim, a, rq.now, &m);
	if (model_encode(&m, &out, &outlen) == -1) {
		model_clear(&m);
		return parse_answer(fd, PARSER_FAILED, seq, "out of memory",
		    13);
	}
	model_clear(&m);
	rc = parse_answer(fd, PARSER_MODEL, seq, out, outlen);
	free(out);
	return rc;
}

static int
parse_serve(const struct config *c, int fd)
{
	uint32_t type, seq;
	char *in;
	size_t len;
	int n, rc;

	for (;;) {
		if ((n = frame_read(fd, &type, &in, &len, FRAME_MAX)) == 0)
			return 0;	/* the engine is gone */
		if (n == -1) {
			log_err(PPTAG, "reading a request");
			return -1;
		}
		if (len < sizeof(seq)) {
			free(in);
			log_errx(PPTAG, "a request without its number");
			return -1;
		}
		memcpy(&seq, in, sizeof(seq));
		switch (type) {
		case PARSER_READ:
			rc = parse_read(c, fd, seq, in + sizeof(seq),
			    len - sizeof(seq));
			break;
		case PARSER_VIEW:
			rc = parse_view(fd, seq, in + sizeof(seq),
			    len - sizeof(seq));
			break;
		case PARSER_RELOAD:
			/* a new parser reads the new configuration */
			rc = parse_answer(fd, PARSER_RELOADING, seq, "", 0);
			free(in);
			return rc == -1 ? -1 : 0;
		default:
			rc = parse_answer(fd, PARSER_FAILED, seq,
			    "unknown request", 15);
			break;
		}
		free(in);
		if (rc == -1) {
			log_err(PPTAG, "answering");
			return -1;
		}
	}
}

static void __attribute__((noreturn))
parse_main(const struct config *inherited, int fd)
{
	struct conf_diag d = { 0 };
	const struct config *c = inherited;
	struct config *fresh;
	int i;

	signal(SIGHUP, SIG_IGN);	/* it ends with the engine */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	/* the configuration as it is now (a restarted parser follows a
	 * reload); the agreements only: never a private key */
	conf_keys_elsewhere = 1;
	if ((fresh = config_load(parse_conf_file, clock_now(), &d)) != NULL)
		c = fresh;
	else
		log_warnx(PPTAG, "%s does not load: the configuration of the "
		    "start", parse_conf_file);
	conf_diag_free(&d);
	for (i = 0; i < c->npartners; i++)
		if (xmlsig_partner_keys_load(&c->partners[i]) == -1)
			_exit(1);
	/* what the libraries would open on first use, opened now: the
	 * time zone (clock_format_utc) and jansson's hash seed */
	tzset();
	json_object_seed(0);
	if (parse_drop(c) == -1 || parse_sandbox() == -1) {
		log_errx(PPTAG, "cannot start");
		_exit(1);
	}
	log_info(PPTAG, "reading partner messages as %s, pid %ld",
	    c->parser_user[0] != '\0' ? c->parser_user : c->user,
	    (long)getpid());
	parse_probe(c);
	_exit(parse_serve(c, fd) == 0 ? 0 : 1);
}

/* ---- the parent's side ----------------------------------------------------- */

static int
parse_fork(const struct config *c, pid_t parent, int close_fd)
{
	sigset_t none;
	pid_t pid;

	switch ((pid = fork())) {
	case -1:
		log_err(PPTAG, "fork");
		return -1;
	case 0:
		if (accordd_sep_pdeath(parent) == -1)
			_exit(1);
		if (close_fd != -1)
			close(close_fd);
		/* started again from the supervising loop: the parent's end
		 * of the engine's channel and its blocked signals stay
		 * behind */
		accordd_notify_forget();
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		parse_main(c, parse_fd);
	default:
		break;
	}
	parse_pid = pid;
	parse_started = time(NULL);
	return 0;
}

int
accordd_parse_start(const struct config *c, const char *conf_file,
    int *engine_fd)
{
	int sp[2];

	parse_conf_file = conf_file;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		log_err(PPTAG, "socketpair");
		return -1;
	}
	parse_fd = sp[1];
	if (parse_fork(c, getpid(), sp[0]) == -1) {
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	*engine_fd = sp[0];
	return 0;
}

pid_t
accordd_parse_pid(void)
{
	return parse_pid;
}

void
accordd_parse_reaped(void)
{
	parse_pid = -1;
}

void
accordd_parse_forget(void)
{
	if (parse_fd != -1)
		close(parse_fd);
	parse_fd = -1;
}

int
accordd_parse_ended(const struct config *c, int status)
{
	char buf[4096], died[sizeof(uint32_t) + sizeof(uint64_t)];
	uint32_t seq = 0;
	uint64_t deaths;

	parse_pid = -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_info(PPTAG, "the parser ended for a reload: starting "
		    "another");
	else {
		parse_deaths++;
		log_errx(PPTAG, "the parser died (%s %d; %lu so far): "
		    "answering for it and starting another",
		    WIFEXITED(status) ? "status" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
		    parse_deaths);
		/* the request it was reading, if any, gets PARSER_DIED,
		 * with the count for the engine's metrics */
		while (recv(parse_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			continue;
		deaths = parse_deaths;
		memcpy(died, &seq, sizeof(seq));
		memcpy(died + sizeof(seq), &deaths, sizeof(deaths));
		if (frame_write(parse_fd, PARSER_DIED, died, sizeof(died)) == -1)
			log_err(PPTAG, "telling the engine");
		/* a parser that cannot even start is not restarted in a
		 * busy loop */
		if (time(NULL) - parse_started < 1)
			sleep(1);
	}
	return parse_fork(c, getpid(), -1);
}
