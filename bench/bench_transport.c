/*
 * bench_transport.c -- exchanges per second between two real gateways
 * on this machine, beside the bound measured in the same run
 * (DESIGN.md section 6).
 *
 *	bench_transport [-ekl] [-c CONNS] [-n EXCHANGES] [-t SECONDS]
 *	    [-u USER] PKI_DIR
 *
 * An exchange is one business message delivered and its receipt taken:
 * two XML signatures and two verifications.  The program prepares a
 * work directory under $ACCORD_BUILDDIR/bench/tmp (a copy of
 * $ACCORD_SRCDIR/conf with only the Kazakhstan-France agreement, PKI_DIR
 * made by certs/mkpki.sh with KZ and FR, free loopback ports, and France
 * signing with its RSA-2048 key so that both sides sign RSA-2048), starts
 * $ACCORD_BUILDDIR/gateway/accordd for Kazakhstan and for France, writes
 * EXCHANGES (default 2000) ReadmissionRequests of ~4 KB to France's
 * control socket on one connection, pipelined, and polls France's
 * `queues` until nothing is outstanding, then counts in its `metrics` the
 * outbound messages RECEIPTED: the time from the first submit to the last
 * receipt gives exchanges/s.
 *
 * Each gateway's CPU by stage (accord_stage_cpu_seconds_total in its
 * `metrics`, issue 20) is read before the first submit and after the
 * last receipt: per exchange and per side, the microseconds and the share
 * of that side's CPU in each stage.
 *
 * The bound is measured first, in-process, with the xmlsig module on the
 * same message: (copy+sign + verify + copy+sign + verify) per exchange on
 * one core, times the online cores.  -t caps the exchange phase (default
 * 40 s); -k keeps the work directory; -c sets <limits
 * connections-per-partner=> in both configurations (France's is the one
 * that counts: the messages it may have in flight to Kazakhstan).  -u runs both gateways with
 * privilege separation (issue 16): <user name="USER"/> in both
 * configurations, so that each is a root parent, a signer holding the
 * signing key and an engine as USER; it needs root.  -e runs both with
 * encryption at rest (issue 19): <keys master=> and a master key each,
 * so every business message is sealed under its case's key in both
 * journals.  -l then runs a second phase on the same gateways (issue
 * 20's latency target): EXCHANGES more submits, one every 1/R seconds
 * where R is half the exchange rate just measured, while a second
 * connection follows France's `monitor`; a message's latency runs from
 * its submit line written to the record of its receipt (RECEIPT_GOT,
 * committed) read from the monitor; it prints p50, p90, p99 and the
 * maximum.  The gateways' CPU is
 * the whole tree's (the parent reaps its children).  A bench reports: it
 * exits 0 when it ran, whatever the figures, and 2 when it could not run.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libxml/tree.h>

#include "conf/agreement.h"
#include "util/clock.h"
#include "conf/conffile.h"
#include "conf/config.h"
#include "msg/envelope.h"
#include "util/errcode.h"
#include "util/log.h"
#include "util/stage.h"
#include "util/xmalloc.h"
#include "msg/xmlsig.h"

#include "benchlib.h"

#define POLL_MS		50	/* queues polling period */
#define REFERENCE_TPS	110.0	/* published figure, 2 x 32-core servers */

static double	bound_seconds = 0.7;

struct bound {
	double	sign, verify, parse_verify;	/* per core, per second */
	size_t	signed_size;
};

/* RSA-2048 copy+sign and pinned-key verify with the xmlsig module. */
static int
bench_bound(const char *pki, xmlDocPtr base, struct bound *b)
{
	struct conf_diag d = { 0 };
	struct xmlsig_signer *s;
	struct xmlsig_result res;
	struct envelope_error err;
	struct signing_cert *sc;
	struct agreement a;
	xmlDocPtr doc, got;
	char keyf[1100], certf[1100], *buf;
	size_t len;
	double t0, t;
	long n;

	snprintf(keyf, sizeof(keyf), "%s/fr/sign-rsa.key", pki);
	snprintf(certf, sizeof(certf), "%s/fr/sign-rsa.pem", pki);
	if ((s = xmlsig_signer_load(keyf, certf)) == NULL)
		return -1;
	t0 = bench_now();
	for (n = 0; (t = bench_now() - t0) < bound_seconds; n++) {
		doc = xmlCopyDoc(base, 1);
		if (doc == NULL || xmlsig_sign(s, doc) == -1)
			return -1;
		xmlFreeDoc(doc);
	}
	b->sign = (double)n / t;

	doc = xmlCopyDoc(base, 1);
	if (doc == NULL || xmlsig_sign(s, doc) == -1 ||
	    envelope_serialize(doc, &buf, &len) == -1)
		return -1;
	xmlFreeDoc(doc);
	b->signed_size = len;

	memset(&a, 0, sizeof(a));
	snprintf(a.country, sizeof(a.country), "FR");
	sc = &a.signing[a.nsigning++];
	sc->path = strdup(certf);
	if ((sc->cert = conf_load_cert(certf, "bench", 0, &d)) == NULL)
		return -1;
	conf_cert_sha256(sc->cert, sc->sha256);
	conf_cert_times(sc->cert, &sc->not_before, &sc->not_after);
	if (xmlsig_partner_keys_load(&a) == -1)
		return -1;

	if (envelope_parse(buf, len, NULL, &got, &err) == -1)
		return -1;
	t0 = bench_now();
	for (n = 0; (t = bench_now() - t0) < bound_seconds; n++)
		if (xmlsig_verify(got, &a, clock_now(), &res) == -1) {
			fprintf(stderr, "verify: %s\n", res.text);
			return -1;
		}
	b->verify = (double)n / t;
	xmlFreeDoc(got);

	t0 = bench_now();
	for (n = 0; (t = bench_now() - t0) < bound_seconds; n++) {
		if (envelope_parse(buf, len, NULL, &got, &err) == -1 ||
		    xmlsig_verify(got, &a, clock_now(), &res) == -1)
			return -1;
		xmlFreeDoc(got);
	}
	b->parse_verify = (double)n / t;

	free(buf);
	agreement_clear(&a);
	conf_diag_free(&d);
	xmlsig_signer_free(s);
	return 0;
}

/* France's count of outbound business messages RECEIPTED, or -1. */
static long
ctl_receipted(struct linebuf *lb)
{
	static const char req[] = "{\"cmd\":\"metrics\"}\n";
	static const char key[] =
	    "accord_messages{direction=\"out\",state=\"RECEIPTED\"} ";
	json_t *resp;
	const char *text, *p;
	size_t used;
	char *l;
	long n = -1;

	if (write(lb->fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1 ||
	    (l = lb_line(lb, &used)) == NULL)
		return -1;
	resp = json_loads(l, 0, NULL);
	lb_consume(lb, used);
	if (resp == NULL)
		return -1;
	text = json_string_value(json_object_get(json_object_get(resp,
	    "result"), "text"));
	if (text != NULL)
		n = (p = strstr(text, key)) != NULL ?
		    strtol(p + sizeof(key) - 1, NULL, 10) : 0;
	json_decref(resp);
	return n;
}

/*
 * France's outbox depth for KZ plus its UNDELIVERED or DISPUTED messages
 * (`queues`, a few ms; `metrics` scans every case and costs ~165 ms at
 * 1,500 cases, which would load the gateway being measured), or -1.
 */
static long
ctl_outstanding(struct linebuf *lb)
{
	static const char req[] =
	    "{\"cmd\":\"queues\",\"args\":{\"partner\":\"KZ\"}}\n";
	json_t *resp, *p;
	size_t used;
	char *l;
	long n = -1;

	if (write(lb->fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1 ||
	    (l = lb_line(lb, &used)) == NULL)
		return -1;
	resp = json_loads(l, 0, NULL);
	lb_consume(lb, used);
	if (resp == NULL)
		return -1;
	p = json_array_get(json_object_get(json_object_get(resp, "result"),
	    "partners"), 0);
	if (json_is_integer(json_object_get(p, "queued")))
		n = (long)json_integer_value(json_object_get(p, "queued")) +
		    (long)json_integer_value(json_object_get(p,
		    "undelivered_or_disputed"));
	json_decref(resp);
	return n;
}

/* A gateway's CPU seconds by stage (util/stage.h), TLS handshakes and
 * delivery attempts, from its metrics. */
struct stages {
	double	 s[STAGE_COUNT];
	double	 hs_in, hs_out;		/* accord_tls_handshakes_total */
	double	 attempts;		/* accord_delivery_attempts_total */
	int	 ok;
};

/* The value of the sample named key (its labels included) in text. */
static double
sample(const char *text, const char *key)
{
	const char *p = text;
	size_t n = strlen(key);

	/* a sample starts a line */
	while ((p = strstr(p, key)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return 0;
}

/*
 * The stage counters of the gateway at sock, on a connection of their
 * own.  `metrics` prints them first, before its queries over every case
 * add to them.  @return 0, or -1.
 */
static int
ctl_stages(const char *sock, struct stages *st)
{
	static const char req[] = "{\"cmd\":\"metrics\"}\n";
	struct linebuf lb;
	json_t *resp;
	const char *text, *p;
	char key[100];
	size_t used;
	char *l;
	int i, found = 0;

	memset(st, 0, sizeof(*st));
	if (ctl_open(sock, &lb) == -1)
		return -1;
	if (write(lb.fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1 ||
	    (l = lb_line(&lb, &used)) == NULL) {
		ctl_close(&lb);
		return -1;
	}
	resp = json_loads(l, 0, NULL);
	lb_consume(&lb, used);
	ctl_close(&lb);
	text = json_string_value(json_object_get(json_object_get(resp,
	    "result"), "text"));
	for (i = 0; text != NULL && i < STAGE_COUNT; i++) {
		snprintf(key, sizeof(key), "accord_stage_cpu_seconds_total"
		    "{stage=\"%s\"} ", stage_name(i));
		if ((p = strstr(text, key)) != NULL) {
			st->s[i] = strtod(p + strlen(key), NULL);
			found++;
		}
	}
	if (text != NULL) {
		st->hs_in = sample(text, "accord_tls_handshakes_total"
		    "{direction=\"inbound\"}");
		st->hs_out = sample(text, "accord_tls_handshakes_total"
		    "{direction=\"outbound\"}");
		st->attempts = sample(text, "accord_delivery_attempts_total"
		    "{partner=\"KZ\"}");
	}
	json_decref(resp);
	st->ok = found == STAGE_COUNT;
	return st->ok ? 0 : -1;
}

/* The stage table: per exchange, per side, what each stage cost. */
static void
print_stages(const struct stages *kz0, const struct stages *kz1,
    const struct stages *fr0, const struct stages *fr1, long exchanges)
{
	static const char *const label[STAGE_COUNT] = {
		[STAGE_PARSE] = "parse+schema",
		[STAGE_VERIFY] = "verify",
		[STAGE_SIGN] = "sign",
		[STAGE_JOURNAL] = "journal append",
		[STAGE_FSYNC] = "fdatasync (writer thread)",
		[STAGE_STORE] = "store apply",
		[STAGE_HTTP] = "HTTP/TLS, event loop",
		[STAGE_OTHER] = "other",
	};
	double dfr[STAGE_COUNT], dkz[STAGE_COUNT], tfr = 0, tkz = 0;
	int i;

	if (!kz0->ok || !kz1->ok || !fr0->ok || !fr1->ok || exchanges < 1) {
		printf("\nCPU by stage: not read from both gateways\n");
		return;
	}
	for (i = 0; i < STAGE_COUNT; i++) {
		dfr[i] = fr1->s[i] - fr0->s[i];
		dkz[i] = kz1->s[i] - kz0->s[i];
		tfr += dfr[i];
		tkz += dkz[i];
	}
	printf("\nCPU by stage per exchange, first submit to last receipt "
	    "(accord_stage_cpu_seconds_total)\n");
	printf("%-28s %21s %21s\n", "", "France (sender)",
	    "Kazakhstan (receiver)");
	printf("%-28s %10s %10s %10s %10s\n", "stage", "us/exch", "% CPU",
	    "us/exch", "% CPU");
	for (i = 0; i < STAGE_COUNT; i++)
		printf("%-28s %10.0f %9.1f%% %10.0f %9.1f%%\n", label[i],
		    1e6 * dfr[i] / (double)exchanges,
		    tfr > 0 ? 100.0 * dfr[i] / tfr : 0,
		    1e6 * dkz[i] / (double)exchanges,
		    tkz > 0 ? 100.0 * dkz[i] / tkz : 0);
	printf("%-28s %10.0f %9.1f%% %10.0f %9.1f%%\n", "total",
	    1e6 * tfr / (double)exchanges, 100.0, 1e6 * tkz /
	    (double)exchanges, 100.0);
	printf("\nFrance's delivery attempts: %.0f for %ld receipted; TLS "
	    "handshakes: France made %.0f connections, Kazakhstan accepted "
	    "%.0f\n", fr1->attempts - fr0->attempts, exchanges,
	    fr1->hs_out - fr0->hs_out, kz1->hs_in - kz0->hs_in);
}

struct run {
	long	 n;		/* exchanges asked */
	long	 accepted;	/* submits answered ok */
	long	 refused;	/* submits answered with an error */
	long	 answered;	/* submits answered */
	long	 receipted;	/* RECEIPTED at the end (-1: unknown) */
	double	 t_submitted;	/* all submit answers read, from t0 */
	double	 t_done;	/* last receipt seen, from t0 */
	char	 first_error[256];
};

/*
 * The monitoring connection, opened when first used: one opened with the
 * submitting one would sit without a request until every submit is
 * answered, and the daemon closes a connection idle for 30 s (IDLE), as
 * submitting 2,000 on a loaded machine can take.  @return 0, or -1.
 */
static int
ctl_mon(const char *sock, struct linebuf *mon)
{
	if (mon->fd != -1)
		return 0;
	if (ctl_open(sock, mon) == -1) {
		perror(sock);
		mon->fd = -1;
		return -1;
	}
	return 0;
}

/* One read into lb, non-blocking.  @return bytes read, 0 at EOF, -1 when
 * nothing was there or on an error. */
static ssize_t
lb_fill(struct linebuf *lb)
{
	ssize_t w;

	if (lb->cap - lb->len < 4096) {
		lb->cap = lb->cap ? lb->cap * 2 : 65536;
		if ((lb->buf = realloc(lb->buf, lb->cap)) == NULL)
			exit(2);
	}
	w = read(lb->fd, lb->buf + lb->len, lb->cap - lb->len);
	if (w > 0)
		lb->len += (size_t)w;
	return w;
}

/* The next complete line already in lb (NUL-terminated), or NULL. */
static char *
lb_next(struct linebuf *lb, size_t *used)
{
	char *l;

	if (lb->len == 0 || (l = memchr(lb->buf, '\n', lb->len)) == NULL)
		return NULL;
	*l = '\0';
	*used = (size_t)(l - lb->buf) + 1;
	return lb->buf;
}

/* France's submit of body to Kazakhstan as one control line, its \n
 * included (*len bytes, malloc'd), or NULL. */
static char *
submit_line(const char *body, size_t *len)
{
	json_t *req;
	char *l, *line;

	req = json_pack("{s:s, s:{s:[s], s:s}}", "cmd", "submit", "args",
	    "argv", "KZ", "document", body);
	if (req == NULL || (l = json_dumps(req, JSON_COMPACT)) == NULL) {
		json_decref(req);
		return NULL;
	}
	json_decref(req);
	*len = strlen(l) + 1;
	line = xmalloc(*len);
	memcpy(line, l, *len - 1);
	line[*len - 1] = '\n';
	free(l);
	return line;
}

/*
 * Write n submit lines on one connection, pipelined, reading the answers
 * as they come; then poll queues on a second connection until France has
 * nothing outstanding or the time limit passes.
 */
static int
bench_exchanges(const char *sock, const char *body, long n, double limit,
    struct run *r)
{
	struct linebuf sub, mon;
	struct pollfd pfd;
	json_t *resp, *err;
	char *line, *l;
	size_t linelen, off = 0, used;
	long sent = 0, answered = 0, got;
	double t0, t, next_poll;
	ssize_t w;
	int flags;

	memset(r, 0, sizeof(*r));
	r->n = n;
	if ((line = submit_line(body, &linelen)) == NULL)
		return -1;

	mon.fd = -1;
	mon.buf = NULL;
	if (ctl_open(sock, &sub) == -1) {
		perror(sock);
		free(line);
		return -1;
	}
	flags = fcntl(sub.fd, F_GETFL);
	fcntl(sub.fd, F_SETFL, flags | O_NONBLOCK);

	t0 = bench_now();
	next_poll = t0;
	for (;;) {
		t = bench_now();
		if (t - t0 > limit)
			break;
		if (answered < n) {
			pfd.fd = sub.fd;
			pfd.events = POLLIN | (sent < n ? POLLOUT : 0);
			pfd.revents = 0;
			if (poll(&pfd, 1, POLL_MS) == -1 && errno != EINTR)
				break;
			while (sent < n && (pfd.revents & POLLOUT)) {
				w = write(sub.fd, line + off, linelen - off);
				if (w == -1) {
					if (errno == EAGAIN || errno == EINTR)
						break;
					perror("submit");
					goto out;
				}
				off += (size_t)w;
				if (off == linelen) {
					off = 0;
					sent++;
				}
			}
			if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
				while ((w = lb_fill(&sub)) > 0)
					;
				if (w == 0) {
					fprintf(stderr, "bench_transport: "
					    "France closed the control "
					    "connection\n");
					goto out;
				}
				while ((l = lb_next(&sub, &used)) != NULL) {
					resp = json_loads(l, 0, NULL);
					if (resp != NULL && json_is_true(
					    json_object_get(resp, "ok")))
						r->accepted++;
					else {
						r->refused++;
						err = resp ? json_object_get(
						    resp, "error") : NULL;
						if (r->first_error[0] == '\0')
							snprintf(
							    r->first_error,
							    sizeof(
							    r->first_error),
							    "%s: %s",
							    json_string_value(
							    json_object_get(
							    err, "code")),
							    json_string_value(
							    json_object_get(
							    err, "text")));
					}
					json_decref(resp);
					lb_consume(&sub, used);
					if (++answered == n)
						r->t_submitted =
						    bench_now() - t0;
				}
			}
		} else
			bench_sleep_ms(POLL_MS / 4);
		/* poll only once every submit is answered: less load */
		if (answered == n && (t = bench_now()) >= next_poll) {
			next_poll = t + POLL_MS / 1000.0;
			if (ctl_mon(sock, &mon) == -1 ||
			    (got = ctl_outstanding(&mon)) == -1) {
				fprintf(stderr, "bench_transport: queues "
				    "failed\n");
				break;
			}
			if (got == 0) {
				r->t_done = bench_now() - t0;
				break;
			}
		}
	}
out:
	if (r->t_done == 0)
		r->t_done = bench_now() - t0;
	/* the exact count, after the clock stopped */
	r->receipted = ctl_mon(sock, &mon) == 0 ? ctl_receipted(&mon) : -1;
	r->answered = answered;
	free(line);
	ctl_close(&sub);
	ctl_close(&mon);
	return 0;
}

/*
 * Privilege separation for both gateways, as tests/shell/privsep.sh turns
 * it on: <user name="USER"/> after <state-directory>; and a work directory
 * USER may enter (mkdtemp made it 0700), for the CA files and CRLs the
 * engine reads after it dropped root.  @return 0, or -1.
 */
static int
bench_privsep(const char *work, const char *user)
{
	static const char script[] =
	    "set -e\n"
	    "cd \"$W\"\n"
	    "chmod 755 .\n"
	    "for f in conf/accordd.xml conf/demo-fr/accordd.xml; do\n"
	    "  sed -i \"s|</state-directory>|</state-directory>\\n"
	    "  <user name=\\\"$SEP_USER\\\"/>|\" \"$f\"\n"
	    "  grep -q \"<user name=\\\"$SEP_USER\\\"/>\" \"$f\"\n"
	    "done\n";

	if (setenv("W", work, 1) == -1 || setenv("SEP_USER", user, 1) == -1)
		return -1;
	return system(script) == 0 ? 0 : -1;
}

/* connections-per-partner="conns" in both configurations' <limits>.
 * @return 0, or -1. */
static int
bench_conns(const char *work, int conns)
{
	char n[16];

	snprintf(n, sizeof(n), "%d", conns);
	if (setenv("W", work, 1) == -1 || setenv("CONNS", n, 1) == -1)
		return -1;
	return system("set -e\n"
	    "cd \"$W\"\n"
	    "for f in conf/accordd.xml conf/demo-fr/accordd.xml; do\n"
	    "  sed -i \"s|<limits |<limits connections-per-partner="
	    "\\\"$CONNS\\\" |\" \"$f\"\n"
	    "  grep -q \"connections-per-partner=\\\"$CONNS\\\"\" \"$f\"\n"
	    "done\n") == 0 ? 0 : -1;
}

/*
 * Encryption at rest for both gateways: a master key file (mode 0600)
 * beside each configuration, named by <keys master=> before <limits>.
 * @return 0, or -1.
 */
static int
bench_at_rest(const char *work)
{
	static const char script[] =
	    "set -e\n"
	    "cd \"$W\"\n"
	    "for d in conf conf/demo-fr; do\n"
	    "  (umask 077; od -An -N32 -tx1 /dev/urandom | tr -d ' \\n' "
	    ">\"$d/master.key\")\n"
	    "  sed -i 's|^\\(  <limits \\)|  <keys master=\"master.key\"/>\\n"
	    "\\1|' \"$d/accordd.xml\"\n"
	    "  grep -q '<keys master=' \"$d/accordd.xml\"\n"
	    "done\n";

	if (setenv("W", work, 1) == -1)
		return -1;
	return system(script) == 0 ? 0 : -1;
}

/* 1 if g's log says it split into a root parent, a signer and an engine. */
static int
bench_is_split(const struct gateway *g)
{
	char *log;
	int split;

	if ((log = bench_slurp(g->log, NULL)) == NULL)
		return 0;
	split = strstr(log, "privilege separation: engine pid") != NULL;
	free(log);
	return split;
}

/* ---- submit to receipt, at a set rate (-l) ---------------------------- */

struct latency {
	double	 rate;		/* submits/s asked */
	long	 sent, answered, receipted;
	double	 p50, p90, p99, max;	/* ms, submit sent to receipt seen */
};

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * Submit n requests at rate a second (one every 1/rate s, not pipelined
 * ahead), and follow France's `monitor`: a message's latency runs from the
 * moment its submit line was written to the moment the record of
 * Kazakhstan's receipt for it (RECEIPT_GOT, committed) reached the
 * monitor.  Stops when every accepted submit has its receipt or after
 * limit seconds.  @return 0, or -1.
 */
static int
bench_latency(const char *sock, const char *body, long n, double rate,
    double limit, struct latency *lat)
{
	static const char follow[] = "{\"cmd\":\"monitor\"}\n";
	struct linebuf sub, mon;
	struct pollfd pfd[2];
	json_t *resp, *data;
	char *line, *l, (*ids)[64], (*got)[64];
	const char *text, *re;
	double *t_sent, *t_got, *ms, t0, t, next;
	size_t linelen, used;
	long i, j, ngot = 0, nms = 0;
	int timeout, rv = -1;

	memset(lat, 0, sizeof(*lat));
	lat->rate = rate;
	if ((line = submit_line(body, &linelen)) == NULL)
		return -1;
	ids = xcalloc((size_t)n, sizeof(*ids));
	got = xcalloc((size_t)n, sizeof(*got));
	t_sent = xcalloc((size_t)n, sizeof(*t_sent));
	t_got = xcalloc((size_t)n, sizeof(*t_got));
	ms = xcalloc((size_t)n, sizeof(*ms));
	sub.buf = mon.buf = NULL;
	if (ctl_open(sock, &mon) == -1) {
		perror(sock);
		goto out0;
	}
	if (ctl_open(sock, &sub) == -1) {
		perror(sock);
		ctl_close(&mon);
		goto out0;
	}
	/* following before the first submit: its answer comes first */
	if (write(mon.fd, follow, sizeof(follow) - 1) !=
	    (ssize_t)sizeof(follow) - 1 || (l = lb_line(&mon, &used)) ==
	    NULL || strstr(l, "\"following\"") == NULL) {
		fprintf(stderr, "bench_transport: monitor refused\n");
		goto out;
	}
	lb_consume(&mon, used);
	fcntl(mon.fd, F_SETFL, fcntl(mon.fd, F_GETFL) | O_NONBLOCK);
	fcntl(sub.fd, F_SETFL, fcntl(sub.fd, F_GETFL) | O_NONBLOCK);

	t0 = next = bench_now();
	while ((t = bench_now()) - t0 < limit) {
		if (lat->sent < n && t >= next) {
			/* one line of some KB: the socket takes it whole,
			 * or the rest is written blocking */
			fcntl(sub.fd, F_SETFL, fcntl(sub.fd, F_GETFL) &
			    ~O_NONBLOCK);
			t_sent[lat->sent] = bench_now();
			if (write(sub.fd, line, linelen) != (ssize_t)linelen) {
				perror("submit");
				goto out;
			}
			fcntl(sub.fd, F_SETFL, fcntl(sub.fd, F_GETFL) |
			    O_NONBLOCK);
			lat->sent++;
			next += 1.0 / rate;
			continue;
		}
		if (lat->answered == n && ngot >= lat->answered)
			break;
		timeout = lat->sent < n ? (int)((next - t) * 1000) : 50;
		pfd[0].fd = sub.fd;
		pfd[1].fd = mon.fd;
		pfd[0].events = pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, timeout > 0 ? timeout : 0) == -1 &&
		    errno != EINTR)
			goto out;
		if ((pfd[0].revents & (POLLIN | POLLHUP)) &&
		    lb_fill(&sub) == 0) {
			fprintf(stderr, "bench_transport: France closed the "
			    "control connection\n");
			goto out;
		}
		while ((l = lb_next(&sub, &used)) != NULL) {
			resp = json_loads(l, 0, NULL);
			if (json_is_true(json_object_get(resp, "ok")) &&
			    lat->answered < n)
				snprintf(ids[lat->answered], sizeof(ids[0]),
				    "%s", json_string_value(json_object_get(
				    json_object_get(resp, "result"),
				    "message_id")) ?: "");
			json_decref(resp);
			lb_consume(&sub, used);
			lat->answered++;
		}
		if ((pfd[1].revents & (POLLIN | POLLHUP)) &&
		    lb_fill(&mon) == 0) {
			fprintf(stderr, "bench_transport: France closed the "
			    "monitor\n");
			goto out;
		}
		t = bench_now();
		while ((l = lb_next(&mon, &used)) != NULL) {
			resp = json_loads(l, 0, NULL);
			data = json_object_get(resp, "data");
			text = json_string_value(json_object_get(data, "text"));
			if (ngot < n && json_string_value(json_object_get(data,
			    "record")) != NULL && strcmp(json_string_value(
			    json_object_get(data, "record")), "RECEIPT_GOT") ==
			    0 && text != NULL && (re = strstr(text, " re ")) !=
			    NULL) {
				snprintf(got[ngot], sizeof(got[0]), "%s",
				    re + 4);
				t_got[ngot++] = t;
			}
			json_decref(resp);
			lb_consume(&mon, used);
		}
	}
	/* each receipt to its submit (the answers came in submit order) */
	for (j = 0; j < ngot; j++)
		for (i = 0; i < lat->answered && i < n; i++)
			if (ids[i][0] != '\0' && strcmp(ids[i], got[j]) == 0) {
				ms[nms++] = 1000.0 * (t_got[j] - t_sent[i]);
				ids[i][0] = '\0';
				break;
			}
	lat->receipted = nms;
	if (nms > 0) {
		qsort(ms, (size_t)nms, sizeof(ms[0]), cmp_double);
		lat->p50 = ms[(nms - 1) * 50 / 100];
		lat->p90 = ms[(nms - 1) * 90 / 100];
		lat->p99 = ms[(nms - 1) * 99 / 100];
		lat->max = ms[nms - 1];
	}
	rv = 0;
out:
	ctl_close(&sub);
	ctl_close(&mon);
out0:
	free(line);
	free(ids);
	free(got);
	free(t_sent);
	free(t_got);
	free(ms);
	return rv;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_transport [-ekl] [-c CONNS] "
	    "[-n EXCHANGES] [-t SECONDS] [-u USER] PKI_DIR\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct gateway kz = { .name = "Kazakhstan", .pid = -1 };
	struct gateway fr = { .name = "France", .pid = -1 };
	const char *src = getenv("ACCORD_SRCDIR");
	const char *bld = getenv("ACCORD_BUILDDIR");
	char proto[2048], work[900], daemon[1024], pki[1024], cmd[1200];
	struct bound b;
	struct run r;
	struct stages kz0, kz1, fr0, fr1;
	xmlDocPtr base;
	double per_core, bound, bound_parse, rate;
	long ncpu, n = 2000;
	double limit = 40;
	size_t size;
	char *body = NULL;
	const char *user = NULL;
	int c, port, keep = 0, ran = 0, stop_kz, stop_fr, conns = 0;
	int at_rest = 0, latency = 0, lat_ran = 0;
	struct latency lat;

	while ((c = getopt(argc, argv, "c:ekln:t:u:")) != -1)
		switch (c) {
		case 'c':
			if ((conns = atoi(optarg)) < 1 || conns > 32)
				usage();
			break;
		case 'e':
			at_rest = 1;
			break;
		case 'k':
			keep = 1;
			break;
		case 'l':
			latency = 1;
			break;
		case 'n':
			if ((n = atol(optarg)) < 1)
				usage();
			break;
		case 't':
			if ((limit = atof(optarg)) <= 0)
				usage();
			break;
		case 'u':
			user = optarg;
			break;
		default:
			usage();
		}
	if (argc - optind != 1)
		usage();
	if (user != NULL && geteuid() != 0) {
		fprintf(stderr, "bench_transport: -u needs root (accordd "
		    "separates privileges only when started as root)\n");
		return 2;
	}
	if (src == NULL)
		src = ".";
	if (bld == NULL)
		bld = ".";
	if (realpath(argv[optind], pki) == NULL) {
		perror(argv[optind]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	log_init("bench_transport", 1, LOG_LVL_WARN);
	if ((ncpu = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		ncpu = 1;

	/* the bound, first: nothing else of ours runs yet */
	snprintf(proto, sizeof(proto), "%s/protocols", src);
	if (envelope_init(proto) == -1 || xmlsig_init() == -1)
		return 2;
	if ((base = bench_request(src, &size, &body)) == NULL)
		return 2;
	if (bench_bound(pki, base, &b) == -1) {
		fprintf(stderr, "bench_transport: cannot measure the bound\n");
		return 2;
	}
	xmlFreeDoc(base);
	xmlsig_shutdown();
	envelope_shutdown();
	/* sign + verify + sign + verify on one core, for each core */
	per_core = 1.0 / (2.0 / b.sign + 2.0 / b.verify);
	bound = per_core * (double)ncpu;
	bound_parse = (double)ncpu / (2.0 / b.sign + 2.0 / b.parse_verify);

	/* the two gateways */
	snprintf(work, sizeof(work), "%s/bench/tmp", bld);
	mkdir(work, 0755);
	snprintf(work, sizeof(work), "%s/bench/tmp/transport.XXXXXX", bld);
	if (mkdtemp(work) == NULL) {
		perror(work);
		return 2;
	}
	snprintf(daemon, sizeof(daemon), "%s/gateway/accordd", bld);
	if ((port = bench_ports()) == -1 ||
	    bench_prepare(work, src, pki, port) == -1) {
		fprintf(stderr, "bench_transport: cannot prepare %s\n", work);
		return 2;
	}
	if (conns > 0 && bench_conns(work, conns) == -1) {
		fprintf(stderr, "bench_transport: cannot set %s's connections "
		    "per partner\n", work);
		return 2;
	}
	if (user != NULL && bench_privsep(work, user) == -1) {
		fprintf(stderr, "bench_transport: cannot give %s's gateways "
		    "the user %s\n", work, user);
		return 2;
	}
	if (at_rest && bench_at_rest(work) == -1) {
		fprintf(stderr, "bench_transport: cannot give %s's gateways "
		    "encryption at rest\n", work);
		return 2;
	}
	snprintf(kz.conf, sizeof(kz.conf), "%s/conf/accordd.xml", work);
	snprintf(kz.sock, sizeof(kz.sock), "%s/run/kz/control.sock", work);
	snprintf(kz.log, sizeof(kz.log), "%s/kz.log", work);
	snprintf(fr.conf, sizeof(fr.conf), "%s/conf/demo-fr/accordd.xml",
	    work);
	snprintf(fr.sock, sizeof(fr.sock), "%s/run/fr/control.sock", work);
	snprintf(fr.log, sizeof(fr.log), "%s/fr.log", work);

	if (gw_start(daemon, &kz) == -1 || gw_start(daemon, &fr) == -1) {
		fprintf(stderr, "bench_transport: a gateway did not start\n");
		gw_tail(&kz);
		gw_tail(&fr);
		gw_stop(&kz);
		gw_stop(&fr);
		return 2;
	}
	if (user != NULL && (!bench_is_split(&kz) || !bench_is_split(&fr))) {
		fprintf(stderr, "bench_transport: a gateway runs as one "
		    "process despite <user name=\"%s\"/>\n", user);
		gw_tail(&kz);
		gw_tail(&fr);
		gw_stop(&kz);
		gw_stop(&fr);
		return 2;
	}
	if (ctl_stages(kz.sock, &kz0) == -1 || ctl_stages(fr.sock, &fr0) == -1)
		fprintf(stderr, "bench_transport: no CPU by stage before the "
		    "run\n");
	if (bench_exchanges(fr.sock, body, n, limit, &r) == 0)
		ran = 1;
	if (ctl_stages(kz.sock, &kz1) == -1 || ctl_stages(fr.sock, &fr1) == -1)
		fprintf(stderr, "bench_transport: no CPU by stage after the "
		    "run\n");
	/* -l: at half the rate just measured, the same number of messages */
	if (ran && latency && r.t_done > 0 && r.receipted > 0) {
		if (bench_latency(fr.sock, body, n, 0.5 * (double)r.receipted /
		    r.t_done, limit, &lat) == 0)
			lat_ran = 1;
		else
			fprintf(stderr, "bench_transport: the latency run "
			    "failed\n");
	}
	stop_fr = gw_stop(&fr);
	stop_kz = gw_stop(&kz);
	free(body);

	if (!ran) {
		gw_tail(&kz);
		gw_tail(&fr);
		return 2;
	}
	if (r.receipted < 0) {
		fprintf(stderr, "bench_transport: no receipt count from "
		    "France\n");
		r.receipted = 0;
	}
	rate = r.t_done > 0 ? (double)r.receipted / r.t_done : 0;

	printf("Two gateways (Kazakhstan <- France) on loopback, mutual TLS, "
	    "RSA-2048 signatures on both sides, %ld cores\n", ncpu);
	if (user != NULL)
		printf("Privilege separation on both: a root parent, a signer "
		    "and an engine as %s\n", user);
	else
		printf("One process per gateway (no <user>)\n");
	printf("%s\n", at_rest ? "Encryption at rest on both: business "
	    "messages sealed under per-case keys (<keys master=>)" :
	    "No encryption at rest (no <keys>)");
	printf("%ld ReadmissionRequests of %zu bytes (%zu signed) submitted "
	    "pipelined on one control connection\n", n, size,
	    b.signed_size);
	if (conns > 0)
		printf("connections-per-partner=\"%d\"\n", conns);
	else
		printf("connections per partner: the default, %d\n",
		    CONFIG_CONNECTIONS_PER_PARTNER);
	printf("\n");
	printf("%-40s %10s\n", "per core, xmlsig module, this run", "/s");
	printf("%-40s %10.0f\n", "RSA sign (copy+sign)", b.sign);
	printf("%-40s %10.0f\n", "RSA verify (pinned key)", b.verify);
	printf("%-40s %10.0f\n", "RSA parse+schema+verify", b.parse_verify);
	printf("\n%-40s %10s %10s %7s\n", "", "exch/s", "bound/s", "ratio");
	printf("%-40s %10.0f %10.0f %7.2f\n",
	    "exchanges (sign+verify, x2)", rate, bound, rate / bound);
	printf("%-40s %10.0f %10.0f %7.2f\n",
	    "  bound counting parse+schema", rate, bound_parse,
	    rate / bound_parse);
	printf("%-40s %10.0f %10s %7s\n",
	    "published: 2 x 32-core servers", REFERENCE_TPS, "", "");
	if (r.answered == n)
		printf("\nsubmitted %ld: %ld accepted, %ld refused; all "
		    "answered in %.2f s (%.0f submits/s)\n", n, r.accepted,
		    r.refused, r.t_submitted, r.t_submitted > 0 ?
		    (double)r.answered / r.t_submitted : 0);
	else
		printf("\nsubmitted %ld: only %ld answered (%ld accepted, %ld "
		    "refused) within %.0f s\n", n, r.answered, r.accepted,
		    r.refused, limit);
	printf("receipted %ld of %ld in %.2f s from the first submit "
	    "(polled every %d ms)%s\n", r.receipted, r.accepted, r.t_done,
	    POLL_MS, r.receipted < r.accepted ? ": TIME LIMIT reached" : "");
	if (r.first_error[0] != '\0')
		printf("first refusal: %s\n", r.first_error);
	printf("gateway CPU, start to stop: Kazakhstan %.2f s, France %.2f s "
	    "(%.0f%% of %ld cores over the %.2f s of the exchanges)\n",
	    kz.cpu, fr.cpu, 100.0 * (kz.cpu + fr.cpu) /
	    ((double)ncpu * r.t_done), ncpu, r.t_done);
	if (r.receipted > 0)
		printf("gateway CPU per exchange, both sides, start to stop: "
		    "%.2f ms\n", 1000.0 * (kz.cpu + fr.cpu) /
		    (double)r.receipted);
	if (r.receipted > 0)
		print_stages(&kz0, &kz1, &fr0, &fr1, r.receipted);
	if (lat_ran)
		printf("\nlatency, submit written to receipt committed "
		    "(France's monitor), at %.0f submits/s (half the rate "
		    "above): %ld submitted, %ld answered, %ld receipted; p50 "
		    "%.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		    lat.rate, lat.sent, lat.answered, lat.receipted, lat.p50,
		    lat.p90, lat.p99, lat.max);
	printf("gateways stopped: Kazakhstan %s, France %s\n",
	    stop_kz == 0 ? "exit 0" : "NOT CLEANLY",
	    stop_fr == 0 ? "exit 0" : "NOT CLEANLY");
	if (stop_kz != 0 || stop_fr != 0 || r.refused > 0 ||
	    r.receipted < r.accepted || (latency && (!lat_ran ||
	    lat.receipted < lat.sent))) {
		gw_tail(&kz);
		gw_tail(&fr);
		keep = 1;
	}
	if (keep)
		printf("work directory kept: %s\n", work);
	else {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_transport: cannot remove %s\n",
			    work);
		snprintf(cmd, sizeof(cmd), "%s/bench/tmp", bld);
		rmdir(cmd);
	}
	/* a bench reports; it does not fail on a busy machine */
	return 0;
}
