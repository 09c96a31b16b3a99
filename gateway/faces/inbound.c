/*
 * inbound.c -- the HTTPS mutual-TLS endpoint for partner gateways.
 *
 * libevent's evhttp over bufferevent_openssl.  Traps of this stack, each
 * handled here (PITFALLS.md 1-8):
 *	- a NULL from the bevcb serves plain HTTP: the bevcb never returns
 *	  NULL, and every request handler checks the SSL object, the verify
 *	  result and the peer certificate again;
 *	- Nagle costs 44 ms a request: TCP_NODELAY on the listening socket;
 *	- TLS 1.3 resumption with client certificates needs a session id
 *	  context;
 *	- evhttp's timeout is an idle timer and 2.1 has no connection limit:
 *	  a per-connection deadline timer and a counter do both;
 *	- evhttp answers what it refuses itself (a body over the limit, a
 *	  bad request line) with an HTML page, and 2.1 has no hook before
 *	  the body is read: the page is replaced in the output buffer, by a
 *	  signed TOO_LARGE Error for a partner, else by plain text;
 *	- held (deferred) replies: the group commit answers within the same
 *	  loop iteration, and shutting down drains the replies first;
 *	- handshake failures are invisible to evhttp: verify and info
 *	  callbacks log them.
 *
 * Connections are counted through the SSL object's ex_data: its free
 * callback runs whenever libevent frees the connection, whatever the
 * path (handshake failure, idle timeout, error, close), which evhttp's
 * close callback alone does not cover.
 *
 * A connection is unauthenticated until its TLS handshake is done with a
 * certificate of exactly one partner.  Until then it has tls_handshake_secs
 * (not INBOUND_DEADLINE), one client address may hold only
 * unauth_per_address of them, and at the connection limit the oldest of
 * them is closed to make room: a flood of idle or half-open connections
 * never keeps a partner out.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "accord-build.h"
#include "conf/conffile.h"
#include "faces/inbound.h"
#include "faces/reader.h"
#include "faces/tlspeer.h"
#include "util/log.h"
#include "util/metric.h"
#include "util/stage.h"
#include "util/xmalloc.h"

#define ITAG	"inbound"

/* Seconds shutdown waits for replies being written. */
#define INBOUND_DRAIN	3

struct inbound;

/* One accepted connection (owned by its SSL object's ex_data). */
struct inbound_conn {
	struct inbound		*in;		/* NULL once the server is gone */
	struct bufferevent	*bev;
	struct event		*deadline;
	unsigned		 generation;	/* of the config matched */
	char			 partner[3];	/* matched partner, "" = none */
	int			 matched;	/* partner matching was done */
	int			 counted;	/* counts in in->nconns */
	int			 admitted;	/* the limits were applied */
	int			 authed;	/* handshake done, partner's */
	int			 handshaken;	/* counted in the metrics */
	char			 addr[INET6_ADDRSTRLEN]; /* client address */
	struct evbuffer_cb_entry *outcb;	/* evhttp's pages replaced */
	size_t			 resp_at;	/* where the response starts */
	int			 rewriting;
	TAILQ_ENTRY(inbound_conn) entry;
};

/* A request being read by the parser process (with one), then waiting
 * for the group commit. */
struct inbound_pending {
	struct inbound		*in;
	struct evhttp_request	*req;
	struct engine_answer	 ans;
	int			 engine_fault;
	uint64_t		 batch;		/* engine batch of its records */
	char			 partner[3];
	struct timespec		 started;	/* the request was read */
	struct reader_job	 job;
	TAILQ_ENTRY(inbound_pending) entry;
};

struct inbound {
	struct event_base	*base;
	const struct config	*conf;
	struct engine		*engine;
	struct evhttp		*http;
	struct evhttp_bound_socket *bound;
	SSL_CTX			*ctx;
	unsigned		 generation;	/* bumped by each reload */
	struct event		*ev_flush;
	struct event		*ev_drain;
	int			 drain_over;
	int			 stopping;
	int			 nconns;
	int			 outstanding;	/* replies not yet written */
	unsigned long		 refused_limit;
	unsigned long		 refused_address;
	unsigned long		 evicted;
	unsigned long		 timed_out;
	TAILQ_HEAD(, inbound_conn) conns;
	TAILQ_HEAD(, inbound_pending) batch;
	struct reader		*reader;	/* with a parser process */
};

static int inbound_ex_idx = -1;

/* ---- small helpers ----------------------------------------------------- */

/* The socket peer's address (into host, "?" if none) and port. */
static int
inbound_fd_addr(int fd, char host[INET6_ADDRSTRLEN])
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	snprintf(host, INET6_ADDRSTRLEN, "?");
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) == -1)
		return 0;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &sin->sin_addr, host, INET6_ADDRSTRLEN);
		return ntohs(sin->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, INET6_ADDRSTRLEN);
		return ntohs(sin6->sin6_port);
	}
	return 0;
}

/* "a.b.c.d:port" of the socket's peer, for logs. */
static void
inbound_fd_peer(int fd, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	int port;

	snprintf(buf, len, "?");
	if ((port = inbound_fd_addr(fd, host)) == 0)
		return;
	snprintf(buf, len, "%s:%d", host, port);
}

static void
inbound_req_peer(struct evhttp_request *req, char *buf, size_t len)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	char *addr = NULL;
	ev_uint16_t port = 0;

	snprintf(buf, len, "?");
	if (evcon == NULL)
		return;
	evhttp_connection_get_peer(evcon, &addr, &port);
	if (addr != NULL)
		snprintf(buf, len, "%s:%u", addr, (unsigned)port);
}

static const char *
inbound_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Entity";
	case 503:
		return "Service Unavailable";
	default:
		return status >= 500 ? "Server Error" : "Client Error";
	}
}

/* The connection record of a request, or NULL (no SSL, or gone). */
static struct inbound_conn *
inbound_req_conn(struct evhttp_request *req, SSL **sslp)
{
	struct evhttp_connection *evcon;
	struct bufferevent *bev;
	SSL *ssl = NULL;

	if ((evcon = evhttp_request_get_connection(req)) != NULL &&
	    (bev = evhttp_connection_get_bufferevent(evcon)) != NULL)
		ssl = bufferevent_openssl_get_ssl(bev);
	if (sslp != NULL)
		*sslp = ssl;
	if (ssl == NULL)
		return NULL;
	return SSL_get_ex_data(ssl, inbound_ex_idx);
}

/* INBOUND_DEADLINE; in test builds ACCORD_TEST_INBOUND_DEADLINE, so
 * that a test outlasts it in seconds. */
static int
inbound_deadline(void)
{
#ifdef ACCORD_TEST_CLOCK
	const char *s = getenv("ACCORD_TEST_INBOUND_DEADLINE");

	if (s != NULL && atoi(s) > 0)
		return atoi(s);
#endif
	return INBOUND_DEADLINE;
}

static void
inbound_arm_deadline(struct inbound_conn *conn, int seconds)
{
	struct timeval tv = { seconds, 0 };

	if (conn != NULL && conn->deadline != NULL)
		evtimer_add(conn->deadline, &tv);
}

/* ---- replies --------------------------------------------------------- */

static void
inbound_reply_done(struct evhttp_request *req, void *arg)
{
	struct inbound *in = arg;

	in->outstanding--;
	if (in->stopping && in->outstanding == 0 && in->ev_drain != NULL)
		event_active(in->ev_drain, EV_TIMEOUT, 0);
}

/*
 * Send status with body.  close asks the client to go away: refusals
 * before a partner was recognised leave nothing to keep alive for.
 */
static void
inbound_reply(struct inbound *in, struct evhttp_request *req, int status,
    const char *ctype, const char *body, size_t len, int close)
{
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	struct inbound_conn *conn = inbound_req_conn(req, NULL);

	evhttp_add_header(hdr, "Content-Type", ctype);
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	if (close)
		evhttp_add_header(hdr, "Connection", "close");
	if (len > 0)
		evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	in->outstanding++;
	evhttp_request_set_on_complete_cb(req, inbound_reply_done, in);
	/* the next request on this connection gets a fresh deadline */
	inbound_arm_deadline(conn, inbound_deadline());
	evhttp_send_reply(req, status, inbound_reason(status), NULL);
}

/* A plain-text refusal that never reaches the engine. */
static void
inbound_refuse(struct inbound *in, struct evhttp_request *req, int status,
    const char *why, int close)
{
	char peer[80], text[300];
	int n;

	inbound_req_peer(req, peer, sizeof(peer));
	log_warnx(ITAG, "%s %s from %s refused: %d %s", evhttp_request_get_command(
	    req) == EVHTTP_REQ_POST ? "POST" : "request",
	    evhttp_request_get_uri(req), peer, status, why);
	n = snprintf(text, sizeof(text), "%d %s: %s\n", status,
	    inbound_reason(status), why);
	if (n < 0 || (size_t)n >= sizeof(text))
		n = (int)sizeof(text) - 1;
	if (status == 405)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "POST");
	inbound_reply(in, req, status, "text/plain; charset=utf-8", text,
	    (size_t)n, close);
}

/* ---- group commit ----------------------------------------------------- */

/* Seconds a partner's message took from its last byte read to its
 * answer (its commit included), for the metrics. */
static const double inbound_time_bounds[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};
static struct metric_family inbound_m_time = {
	.name = "accord_inbound_processing_seconds",
	.help = "Seconds from a partner's message read whole to our answer "
	    "sent (checks, fsm, journal commit), by partner.",
	.type = METRIC_HISTOGRAM,
	.labels = { "partner" },
	.bounds = inbound_time_bounds,
	.nbounds = sizeof(inbound_time_bounds) /
	    sizeof(inbound_time_bounds[0]),
};

/* One held request's answer, now that its batch has landed. */
static void
inbound_answer(struct inbound *in, struct inbound_pending *p, int lost)
{
	const char *msg = "503 Service Unavailable: commit failed on our "
	    "side; retry later\n";
	struct timespec now;

	/* a duration: the monotonic clock, not clock_now() (which the test
	 * clock drives) */
	clock_gettime(CLOCK_MONOTONIC, &now);
	metric_observe(&inbound_m_time, (double)(now.tv_sec -
	    p->started.tv_sec) + (now.tv_nsec - p->started.tv_nsec) / 1e9,
	    (const char *[]){ p->partner });

	if (lost || p->engine_fault || p->ans.body == NULL) {
		/* our fault, or an answer without a signed body */
		if (lost || p->ans.status == 0)
			p->ans.status = 503;
		if (p->ans.status == 503)
			inbound_reply(in, p->req, 503,
			    "text/plain; charset=utf-8", msg, strlen(msg), 0);
		else if (p->ans.status == 200)
			/* a standalone Receipt, taken: a signal is never
			 * answered with a signal */
			inbound_reply(in, p->req, 200,
			    "text/plain; charset=utf-8", "200 OK\n", 7, 0);
		else
			inbound_refuse(in, p->req, p->ans.status, p->ans.text,
			    0);
	} else
		inbound_reply(in, p->req, p->ans.status,
		    "application/xml; charset=utf-8", p->ans.body, p->ans.len,
		    0);
	engine_answer_clear(&p->ans);
	free(p);
}

/* Answer every held request whose records' fate is known. */
static void
inbound_release(struct inbound *in)
{
	struct inbound_pending *p, *next;

	for (p = TAILQ_FIRST(&in->batch); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (!engine_batch_settled(in->engine, p->batch))
			continue;
		TAILQ_REMOVE(&in->batch, p, entry);
		inbound_answer(in, p, !engine_batch_committed(in->engine,
		    p->batch));
	}
}

void
inbound_committed(struct inbound *in)
{
	if (in != NULL)
		inbound_release(in);
}

/*
 * Group commit: runs once per event-loop iteration with requests held,
 * after the iteration's I/O callbacks, so every request read in it shares
 * one fsync, which runs on the journal's writer thread while the loop
 * goes on.  No answer leaves before its records are committed (DESIGN.md
 * section 3): inbound_committed() releases them when the flight lands.
 */
static void
inbound_flush(evutil_socket_t fd, short what, void *arg)
{
	struct inbound *in = arg;

	if (TAILQ_EMPTY(&in->batch))
		return;
	if (engine_flush_start(in->engine) == ENGINE_FLUSH_FAILED)
		log_errx(ITAG, "group commit failed: answering 503 to the "
		    "batch");
	inbound_release(in);
}

static void
inbound_schedule_flush(struct inbound *in)
{
	struct timeval zero = { 0, 0 };

	if (!evtimer_pending(in->ev_flush, NULL))
		evtimer_add(in->ev_flush, &zero);
}

/* ---- the reader ---------------------------------------------------------- */

/*
 * With a parser process, each request is read on a reader thread (faces/
 * reader.h) while the loop serves the other connections; the models come
 * back in the order the requests came, and the engine decides, journals
 * and answers each here (held for the group commit) in that order.
 */
static void
inbound_parsed(struct reader_job *job, void *arg)
{
	struct inbound_pending *p = arg;
	struct inbound *in = p->in;

	p->batch = engine_batch(in->engine);
	stage_begin(STAGE_OTHER);
	if (engine_receive_parsed(in->engine, &job->rx, job->bytes, job->len,
	    &p->ans) == -1)
		p->engine_fault = 1;
	stage_end(STAGE_OTHER);
	TAILQ_INSERT_TAIL(&in->batch, p, entry);
	inbound_schedule_flush(in);
}

/* Hand p (its request's body: body, len, which stays in the request's
 * input buffer while we hold the request) to the reader.  @return 0, or
 * -1 when there is no parser process or no reader (the caller reads it
 * on the loop). */
static int
inbound_reader_hand(struct inbound *in, struct inbound_pending *p,
    const unsigned char *body, size_t len)
{
	if (engine_parser(in->engine) == NULL || in->stopping)
		return -1;
	if (in->reader == NULL) {
		if ((in->reader = reader_start(in->base)) == NULL)
			return -1;
		log_info(ITAG, "partner messages are read by the parser "
		    "process off the event loop");
	}
	p->in = in;
	p->job.done = inbound_parsed;
	p->job.arg = p;
	engine_rx_prepare(in->engine, p->partner, &p->job.rx);
	return reader_hand(in->reader, &p->job, (const char *)body, len);
}

/* ---- who is calling ------------------------------------------------------ */

/*
 * The one partner cert belongs to: by pinned fingerprint, or by (that
 * partner's CA issued it, exact RFC 2253 subject).  Never by CN or country
 * alone (DESIGN.md section 5).  @return the agreement, or NULL with why.
 */
static const struct agreement *
inbound_match(const struct config *c, X509 *cert, STACK_OF(X509) *chain,
    char *why, size_t wlen)
{
	const struct agreement *a, *found = NULL;
	char hex[65], *subject = NULL;
	BIO *bio = NULL;
	long sl;
	int i, n = 0;

	/* the same fingerprint the agreement's pins are written in */
	conf_cert_sha256(cert, hex);
	if ((bio = BIO_new(BIO_s_mem())) != NULL &&
	    X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
	    XN_FLAG_RFC2253) >= 0 && (sl = BIO_get_mem_data(bio, &subject)) >= 0) {
		char *s = malloc((size_t)sl + 1);
		if (s != NULL) {
			memcpy(s, subject, (size_t)sl);
			s[sl] = '\0';
		}
		subject = s;
	} else
		subject = NULL;
	BIO_free(bio);

	for (i = 0; i < c->npartners; i++) {
		a = &c->partners[i];
		if (a->tls_pin_sha256[0] != '\0') {
			if (strcasecmp(a->tls_pin_sha256, hex) != 0)
				continue;
		} else if (a->tls_subject == NULL || a->tls_ca == NULL ||
		    subject == NULL || strcmp(a->tls_subject, subject) != 0 ||
		    !conf_cert_chains_to(a->tls_ca, cert, chain,
		    /* a partner's CA may be an intermediate: its anchor */
		    X509_V_FLAG_PARTIAL_CHAIN, X509_PURPOSE_SSL_CLIENT))
			continue;
		found = a;
		n++;
	}
	if (n != 1) {
		snprintf(why, wlen, "client certificate %s (sha256 %.16s...) "
		    "%s", subject != NULL ? subject : "?", hex, n == 0 ?
		    "matches no partner" : "matches several partners");
		found = NULL;
	} else if (agreement_revokes(found, cert)) {
		/* the handshake checked the CRL in force then; a reload
		 * may have brought a newer one since */
		snprintf(why, wlen, "client certificate %s of %s is revoked "
		    "by the partner's CRL", subject != NULL ? subject : "?",
		    found->country);
		tlspeer_refused(found->country, TLSPEER_INBOUND,
		    TLSPEER_REVOKED, cert, "a request", found->crl_path);
		found = NULL;
	}
	free(subject);
	return found;
}

/*
 * PITFALLS.md 1: whatever the bevcb did, a request is served only over
 * TLS with a verified client certificate of exactly one partner.  The
 * match is kept per connection (renegotiation is off, so the certificate
 * cannot change) until a reload.  @return 0 with partner set, or -1.
 */
static int
inbound_authenticate(struct inbound *in, struct evhttp_request *req,
    char *partner, size_t plen, char *why, size_t wlen)
{
	const struct agreement *a;
	struct inbound_conn *conn;
	SSL *ssl;
	X509 *cert;
	long vr;

	conn = inbound_req_conn(req, &ssl);
	if (ssl == NULL) {
		snprintf(why, wlen, "not a TLS connection");
		return -1;
	}
	if (conn != NULL && conn->matched && conn->generation ==
	    in->generation) {
		if (conn->partner[0] == '\0') {
			snprintf(why, wlen, "client certificate matches no "
			    "partner");
			return -1;
		}
		snprintf(partner, plen, "%s", conn->partner);
		return 0;
	}
	if ((vr = SSL_get_verify_result(ssl)) != X509_V_OK) {
		snprintf(why, wlen, "client certificate not verified: %s",
		    X509_verify_cert_error_string(vr));
		return -1;
	}
	if ((cert = SSL_get1_peer_certificate(ssl)) == NULL) {
		snprintf(why, wlen, "no client certificate");
		return -1;
	}
	a = inbound_match(in->conf, cert, SSL_get_peer_cert_chain(ssl), why,
	    wlen);
	X509_free(cert);
	if (conn != NULL) {
		conn->matched = 1;
		conn->generation = in->generation;
		snprintf(conn->partner, sizeof(conn->partner), "%s",
		    a != NULL ? a->country : "");
	}
	if (a == NULL)
		return -1;
	snprintf(partner, plen, "%s", a->country);
	return 0;
}

/* application/xml, with or without parameters. */
static int
inbound_xml_type(const char *ct)
{
	size_t n = strlen("application/xml");

	if (ct == NULL)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, "application/xml", n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* ---- requests ---------------------------------------------------------- */

static void
inbound_request(struct evhttp_request *req, void *arg)
{
	struct inbound *in = arg;
	struct inbound_conn *conn;
	struct inbound_pending *p;
	const struct evhttp_uri *uri;
	struct evbuffer *buf;
	const char *path;
	char partner[3], why[400];
	unsigned char *body;
	size_t len;

	if (in->stopping) {
		inbound_refuse(in, req, 503, "shutting down", 1);
		return;
	}
	if (inbound_authenticate(in, req, partner, sizeof(partner), why,
	    sizeof(why)) == -1) {
		inbound_refuse(in, req, 403, why, 1);
		return;
	}
	uri = evhttp_request_get_evhttp_uri(req);
	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (path == NULL || strcmp(path, INBOUND_PATH) != 0) {
		inbound_refuse(in, req, 404, "no such resource", 0);
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		inbound_refuse(in, req, 405, "only POST", 0);
		return;
	}
	if (!inbound_xml_type(evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Content-Type"))) {
		inbound_refuse(in, req, 415, "Content-Type must be "
		    "application/xml", 0);
		return;
	}
	buf = evhttp_request_get_input_buffer(req);
	len = evbuffer_get_length(buf);
	/* evhttp enforces the same limit while reading; this is the rule */
	if (len > in->conf->max_message_size) {
		inbound_refuse(in, req, 413, "message larger than the limit",
		    1);
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		inbound_refuse(in, req, 503, "out of memory", 1);
		return;
	}
	/* read whole: ours to answer, however long the parser and the
	 * commit take; the deadline starts again with the answer */
	if ((conn = inbound_req_conn(req, NULL)) != NULL &&
	    conn->deadline != NULL)
		evtimer_del(conn->deadline);
	p->req = req;
	clock_gettime(CLOCK_MONOTONIC, &p->started);
	snprintf(p->partner, sizeof(p->partner), "%s", partner);
	body = len > 0 ? evbuffer_pullup(buf, -1) : (unsigned char *)"";
	if (body == NULL)
		body = (unsigned char *)"";
	if (inbound_reader_hand(in, p, body, len) == 0)
		return;		/* inbound_parsed() goes on */
	p->batch = engine_batch(in->engine);
	/* the engine's work is its own stages', not HTTP's */
	stage_begin(STAGE_OTHER);
	if (engine_receive(in->engine, partner, (const char *)body, len,
	    &p->ans) == -1)
		p->engine_fault = 1;
	stage_end(STAGE_OTHER);
	TAILQ_INSERT_TAIL(&in->batch, p, entry);
	inbound_schedule_flush(in);
}

/* ---- connections ---------------------------------------------------------- */

/* Close a connection now: libevent sees EOF and frees it (the evhttp
 * connection is not reachable from here).  It no longer counts. */
static void
inbound_conn_close(struct inbound_conn *conn)
{
	evutil_socket_t fd = bufferevent_getfd(conn->bev);

	if (conn->counted && conn->in != NULL)
		conn->in->nconns--;
	conn->counted = 0;
	if (conn->deadline != NULL)
		evtimer_del(conn->deadline);
	if (fd != -1)
		shutdown(fd, SHUT_RDWR);
}

/* Unauthenticated connections counted from addr. */
static int
inbound_unauth_from(struct inbound *in, const char *addr)
{
	struct inbound_conn *conn;
	int n = 0;

	TAILQ_FOREACH(conn, &in->conns, entry)
		if (conn->counted && !conn->authed &&
		    strcmp(conn->addr, addr) == 0)
			n++;
	return n;
}

/* At the connection limit: close the oldest unauthenticated connection
 * (the list is in the order of accept).  @return 0, or -1: every
 * connection is a partner's. */
static int
inbound_evict(struct inbound *in)
{
	struct inbound_conn *conn;

	TAILQ_FOREACH(conn, &in->conns, entry)
		if (conn->counted && !conn->authed)
			break;
	if (conn == NULL)
		return -1;
	if (in->evicted++ % 100 == 0)
		log_warnx(ITAG, "%d connections open: closing the oldest "
		    "without a completed handshake (from %s; %lu so far)",
		    in->nconns, conn->addr, in->evicted);
	inbound_conn_close(conn);
	return 0;
}

/*
 * A new connection, its socket now attached: apply the limits.  One
 * address may hold only unauth_per_address unauthenticated connections;
 * at INBOUND_MAX_CONNS the oldest unauthenticated one makes room.
 */
static void inbound_conn_handshake(const SSL *);

static void
inbound_admit(struct inbound_conn *conn)
{
	struct inbound *in = conn->in;
	SSL *ssl;

	conn->admitted = 1;
	inbound_fd_addr(bufferevent_getfd(conn->bev), conn->addr);
	if (in == NULL || in->stopping) {
		inbound_conn_close(conn);
		return;
	}
	if (inbound_unauth_from(in, conn->addr) >=
	    in->conf->unauth_per_address) {
		if (in->refused_address++ % 100 == 0)
			log_warnx(ITAG, "%s holds %d connections without a "
			    "completed handshake: closing new ones (%lu so "
			    "far)", conn->addr, in->conf->unauth_per_address,
			    in->refused_address);
		inbound_conn_close(conn);
		return;
	}
	if (in->nconns >= INBOUND_MAX_CONNS && inbound_evict(in) == -1) {
		if (in->refused_limit++ % 100 == 0)
			log_warnx(ITAG, "%d partner connections open: closing "
			    "new ones (%lu so far)", in->nconns,
			    in->refused_limit);
		inbound_conn_close(conn);
		return;
	}
	conn->counted = 1;
	in->nconns++;
	inbound_arm_deadline(conn, in->conf->tls_handshake_secs);
	/* on a busy loop the handshake may be done before the admission
	 * ran: authenticate now, or the partner stays evictable */
	if ((ssl = bufferevent_openssl_get_ssl(conn->bev)) != NULL &&
	    SSL_is_init_finished(ssl))
		inbound_conn_handshake(ssl);
}

/* The deadline passed (or, first, the accept is done: admit it). */
static void
inbound_conn_deadline(evutil_socket_t unused, short what, void *arg)
{
	struct inbound_conn *conn = arg;
	char peer[80];

	if (!conn->admitted) {
		inbound_admit(conn);
		return;
	}
	inbound_fd_peer(bufferevent_getfd(conn->bev), peer, sizeof(peer));
	if (conn->counted && !conn->authed && conn->in != NULL) {
		if (conn->in->timed_out++ % 100 == 0)
			log_warnx(ITAG, "connection from %s: no TLS handshake "
			    "with a partner's certificate within %d s, closing "
			    "(%lu so far)", peer,
			    conn->in->conf->tls_handshake_secs,
			    conn->in->timed_out);
	}
	else if (conn->counted)
		log_warnx(ITAG, "connection from %s: no complete request "
		    "within %d s, closing", peer, inbound_deadline());
	inbound_conn_close(conn);
}

/*
 * The TLS handshake is done (info callback): with a certificate of one
 * partner the connection is authenticated, out of reach of the limits on
 * unauthenticated ones, and has INBOUND_DEADLINE for its first request.
 */
static void
inbound_conn_handshake(const SSL *ssl)
{
	struct inbound_conn *conn = SSL_get_ex_data(ssl, inbound_ex_idx);
	const struct agreement *a = NULL;
	char why[400];
	X509 *cert;

	if (conn == NULL || conn->in == NULL || conn->authed ||
	    !conn->counted)
		return;
	if (SSL_get_verify_result(ssl) != X509_V_OK ||
	    (cert = SSL_get1_peer_certificate(ssl)) == NULL)
		return;
	a = inbound_match(conn->in->conf, cert, SSL_get_peer_cert_chain(ssl),
	    why, sizeof(why));
	X509_free(cert);
	if (a == NULL)
		return;		/* refused at its request, with why */
	conn->matched = 1;
	conn->generation = conn->in->generation;
	snprintf(conn->partner, sizeof(conn->partner), "%s", a->country);
	conn->authed = 1;
	inbound_arm_deadline(conn, inbound_deadline());
}

/*
 * evhttp's error page, in the output buffer from where its status line
 * starts, becomes a plain answer: a signed TOO_LARGE Error when a partner
 * sent a body over the limit, plain text otherwise.  Never HTML.
 */
static void
inbound_replace_page(struct inbound_conn *conn, struct evbuffer *buf)
{
	struct engine_answer ans;
	struct evbuffer *before;
	const char *ctype = "text/plain; charset=utf-8", *body;
	char line[13], text[200], peer[80];
	size_t len;
	int status, n;

	memset(&ans, 0, sizeof(ans));
	memset(line, 0, sizeof(line));
	if ((before = evbuffer_new()) == NULL)
		return;
	evbuffer_remove_buffer(buf, before, conn->resp_at);
	evbuffer_copyout(buf, line, sizeof(line) - 1);
	status = atoi(line + 9);
	if (status < 400 || status > 599)
		status = 400;
	evbuffer_drain(buf, evbuffer_get_length(buf));
	evbuffer_add_buffer(buf, before);
	evbuffer_free(before);

	inbound_fd_peer(bufferevent_getfd(conn->bev), peer, sizeof(peer));
	if (status == 413 && conn->authed && conn->in != NULL &&
	    engine_refuse_unread(conn->in->engine, conn->partner,
	    AE_TOO_LARGE, "the declared body is larger than the limit",
	    &ans) == 0 && ans.body != NULL) {
		ctype = "application/xml; charset=utf-8";
		body = ans.body;
		len = ans.len;
	} else {
		n = snprintf(text, sizeof(text), "%d %s: refused before the "
		    "body was read\n", status, inbound_reason(status));
		body = text;
		len = n > 0 && (size_t)n < sizeof(text) ? (size_t)n : 0;
	}
	log_warnx(ITAG, "request from %s refused by the HTTP layer: %d %s "
	    "(%s)", peer, status, inbound_reason(status), ans.body != NULL ?
	    "signed TOO_LARGE Error" : "plain text");
	evbuffer_add_printf(buf, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n"
	    "Connection: close\r\n\r\n", status, inbound_reason(status), ctype,
	    len);
	evbuffer_add(buf, body, len);
	engine_answer_clear(&ans);
}

/*
 * Output buffer callback.  A response starts with an "HTTP/1." line
 * added to the buffer; evhttp's error page is a body added after it
 * that starts "<HTML><HEAD>" (our own answers never do).
 */
static void
inbound_out_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	static const char page[] = "<HTML><HEAD>";
	struct inbound_conn *conn = arg;
	struct evbuffer_ptr at;
	char head[sizeof(page) - 1];
	size_t n;

	if (conn->rewriting)
		return;
	if (info->n_deleted > 0)
		conn->resp_at = conn->resp_at > info->n_deleted ?
		    conn->resp_at - info->n_deleted : 0;
	if (info->n_added == 0)
		return;
	n = info->n_added < sizeof(head) ? info->n_added : sizeof(head);
	if (evbuffer_ptr_set(buf, &at, info->orig_size - info->n_deleted,
	    EVBUFFER_PTR_SET) == -1 ||
	    evbuffer_copyout_from(buf, &at, head, n) != (ev_ssize_t)n)
		return;
	if (n >= 7 && memcmp(head, "HTTP/1.", 7) == 0)
		conn->resp_at = info->orig_size - info->n_deleted;
	else if (n == sizeof(head) && memcmp(head, page, n) == 0) {
		conn->rewriting = 1;
		inbound_replace_page(conn, buf);
		conn->rewriting = 0;
	}
}

/* ex_data free callback: the SSL object, so the connection, is gone. */
static void
inbound_conn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	struct inbound_conn *conn = ptr;

	if (conn == NULL)
		return;
	if (conn->in != NULL) {
		TAILQ_REMOVE(&conn->in->conns, conn, entry);
		if (conn->counted)
			conn->in->nconns--;
	}
	/* the bufferevent frees its buffers after its SSL object */
	if (conn->outcb != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_output(conn->bev),
		    conn->outcb);
	if (conn->deadline != NULL)
		event_free(conn->deadline);
	free(conn);
}

/*
 * One new connection: a TLS bufferevent, always (PITFALLS.md 1).  The
 * limits need its address, and the socket is attached only after this
 * returns: a zero deadline admits it (inbound_admit()).
 */
static struct bufferevent *
inbound_bevcb(struct event_base *base, void *arg)
{
	struct inbound *in = arg;
	struct inbound_conn *conn = NULL;
	struct bufferevent *bev;
	SSL *ssl = NULL;

	if ((conn = calloc(1, sizeof(*conn))) == NULL ||
	    (ssl = SSL_new(in->ctx)) == NULL ||
	    (conn->deadline = evtimer_new(base, inbound_conn_deadline,
	    conn)) == NULL)
		goto fail;
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		goto fail;
	conn->bev = bev;
	conn->in = in;
	TAILQ_INSERT_TAIL(&in->conns, conn, entry);
	SSL_set_ex_data(ssl, inbound_ex_idx, conn);
	conn->outcb = evbuffer_add_cb(bufferevent_get_output(bev),
	    inbound_out_cb, conn);
	inbound_arm_deadline(conn, 0);
	return bev;
fail:
	/*
	 * Out of memory.  Returning NULL would make evhttp serve plain HTTP;
	 * a plain bufferevent is no better, but every request on it is
	 * refused by inbound_authenticate() (no SSL object).
	 */
	log_errx(ITAG, "cannot set up a TLS connection (out of memory)");
	if (ssl != NULL)
		SSL_free(ssl);
	if (conn != NULL && conn->deadline != NULL)
		event_free(conn->deadline);
	free(conn);
	if ((bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL)
		xalloc_failed("bufferevent_socket_new");
	return bev;
}

/* ---- TLS --------------------------------------------------------------- */

/*
 * The chain of the client certificate verified: is it revoked by the CRL
 * of a partner whose CA issued it?  Checked here, in the handshake, so a
 * revoked certificate never gets a connection; the partner's CRL, not
 * OpenSSL's X509_V_FLAG_CRL_CHECK, because partners without a CRL must
 * still connect and a CRL past its nextUpdate still applies (warned,
 * alerted).  The configuration is the server's current one (in->conf),
 * which outlives the handshake.  @return 1 if refused.
 */
static int
inbound_verify_revoked(SSL *ssl, X509_STORE_CTX *sctx, X509 *cert)
{
	const struct inbound_conn *conn;
	const struct config *c;
	const struct agreement *a;
	STACK_OF(X509) *chain;
	X509 *issuer;
	char peer[80];
	int i;

	if (ssl == NULL || (conn = SSL_get_ex_data(ssl, inbound_ex_idx)) ==
	    NULL || conn->in == NULL)
		return 0;
	c = conn->in->conf;
	/* a self-signed leaf trusted as such has no CA to revoke it */
	if ((chain = X509_STORE_CTX_get0_chain(sctx)) == NULL ||
	    sk_X509_num(chain) < 2)
		return 0;
	issuer = sk_X509_value(chain, 1);
	for (i = 0; i < c->npartners; i++) {
		a = &c->partners[i];
		if (a->tls_ca == NULL || X509_cmp(a->tls_ca, issuer) != 0 ||
		    !agreement_revokes(a, cert))
			continue;
		inbound_fd_peer(SSL_get_fd(ssl), peer, sizeof(peer));
		tlspeer_refused(a->country, TLSPEER_INBOUND, TLSPEER_REVOKED,
		    cert, peer, a->crl_path);
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_CERT_REVOKED);
		return 1;
	}
	return 0;
}

/* Verify callback: evhttp never reports handshake failures (PITFALLS 8). */
static int
inbound_verify_cb(int ok, X509_STORE_CTX *sctx)
{
	SSL *ssl;
	X509 *cert;
	char subject[256] = "?", peer[80] = "?";
	int err;

	ssl = X509_STORE_CTX_get_ex_data(sctx,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	cert = X509_STORE_CTX_get_current_cert(sctx);
	if (ok) {
		/* depth 0 with ok: the whole chain passed */
		if (X509_STORE_CTX_get_error_depth(sctx) == 0 &&
		    inbound_verify_revoked(ssl, sctx, cert))
			return 0;
		return ok;
	}
	err = X509_STORE_CTX_get_error(sctx);
	if (cert != NULL)
		X509_NAME_oneline(X509_get_subject_name(cert), subject,
		    sizeof(subject));
	if (ssl != NULL)
		inbound_fd_peer(SSL_get_fd(ssl), peer, sizeof(peer));
	log_warnx(ITAG, "TLS from %s: client certificate refused at depth "
	    "%d: %s (%s)", peer, X509_STORE_CTX_get_error_depth(sctx),
	    X509_verify_cert_error_string(err), subject);
	return ok;
}

static void
inbound_info_cb(const SSL *ssl, int where, int ret)
{
	struct inbound_conn *conn;
	char peer[80];

	if (where & SSL_CB_HANDSHAKE_DONE) {
		/* once a connection: TLS 1.3 may signal it again after
		 * post-handshake messages */
		if ((conn = SSL_get_ex_data(ssl, inbound_ex_idx)) != NULL &&
		    !conn->handshaken) {
			conn->handshaken = 1;
			tlspeer_handshakes(TLSPEER_INBOUND, 1);
		}
		inbound_conn_handshake(ssl);
	}

	/* Only alerts we send: a client speaking plain HTTP fails in the
	 * record layer without one and is not logged here. */
	if ((where & SSL_CB_ALERT) && (where & SSL_CB_WRITE)) {
		/* close_notify is an orderly end, not a failure */
		if ((ret & 0xff) == SSL3_AD_CLOSE_NOTIFY)
			return;
		inbound_fd_peer(SSL_get_fd(ssl), peer, sizeof(peer));
		/* 116 (certificate_required, TLS 1.3) is "unknown" to
		 * OpenSSL 3.0's table: log the number too */
		log_warnx(ITAG, "TLS from %s: handshake failed, sent alert %d "
		    "(%s)", peer, ret & 0xff, SSL_alert_desc_string_long(ret));
	}
}

/* Our TLS key into ctx: from the bytes the privilege-separated parent
 * sent (a reload: the engine may not read the file), else the file.
 * @return 1, or 0 (OpenSSL's error queue says why). */
static int
inbound_use_key(SSL_CTX *ctx, const struct config *c)
{
	EVP_PKEY *k;
	BIO *b;
	int rc;

	if (c->tls_key_pem == NULL)
		return SSL_CTX_use_PrivateKey_file(ctx, c->tls_key,
		    SSL_FILETYPE_PEM);
	if (c->tls_key_pem_len > INT_MAX || (b = BIO_new_mem_buf(
	    c->tls_key_pem, (int)c->tls_key_pem_len)) == NULL)
		return 0;
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	if (k == NULL)
		return 0;
	rc = SSL_CTX_use_PrivateKey(ctx, k);
	EVP_PKEY_free(k);
	return rc;
}

/* The server context: our certificate, TLS 1.2+, client certificates of
 * the union of partner CAs required. */
static SSL_CTX *
inbound_ssl_ctx(const struct config *c)
{
	static const unsigned char sid[] = "accord-inbound";
	STACK_OF(X509_NAME) *names = NULL;
	X509_STORE *store;
	SSL_CTX *ctx;
	int i, ncas = 0;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		goto fail;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		goto fail;
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert) != 1 ||
	    inbound_use_key(ctx, c) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		log_openssl(ITAG, c->tls_cert);
		goto fail;
	}
	store = SSL_CTX_get_cert_store(ctx);
	if ((names = sk_X509_NAME_new_null()) == NULL)
		goto fail;
	for (i = 0; i < c->npartners; i++) {
		X509 *ca = c->partners[i].tls_ca;
		X509_NAME *nm;

		if (ca == NULL)
			continue;
		/* partners may share a CA: a duplicate is not an error */
		if (X509_STORE_add_cert(store, ca) != 1)
			ERR_clear_error();
		if ((nm = X509_NAME_dup(X509_get_subject_name(ca))) != NULL &&
		    sk_X509_NAME_push(names, nm) == 0)
			X509_NAME_free(nm);
		ncas++;
	}
	if (ncas == 0)
		log_warnx(ITAG, "no partner has a TLS CA: every client will be "
		    "refused");
	/* the CA list tells clients which certificate to send */
	SSL_CTX_set_client_CA_list(ctx, names);
	names = NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, inbound_verify_cb);
	SSL_CTX_set_verify_depth(ctx, 4);
	/* PITFALLS.md 3: resumption with VERIFY_PEER needs it */
	if (SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1) != 1)
		goto fail;
	SSL_CTX_set_info_callback(ctx, inbound_info_cb);
	return ctx;
fail:
	log_openssl(ITAG, "server TLS context");
	sk_X509_NAME_pop_free(names, X509_NAME_free);
	SSL_CTX_free(ctx);
	return NULL;
}

/* ---- start, reload, stop -------------------------------------------------- */

struct inbound *
inbound_start(struct event_base *base, const struct config *c,
    struct engine *e, int lfd)
{
	struct inbound *in;
	evutil_socket_t fd;
	int one = 1;

	if (inbound_ex_idx == -1) {
		inbound_ex_idx = SSL_get_ex_new_index(0, "accord inbound",
		    NULL, NULL, inbound_conn_free);
		if (inbound_ex_idx == -1) {
			log_openssl(ITAG, "SSL_get_ex_new_index");
			return NULL;
		}
	}
	if ((in = calloc(1, sizeof(*in))) == NULL) {
		log_err(ITAG, "calloc");
		return NULL;
	}
	metric_register(&inbound_m_time);
	tlspeer_handshakes(TLSPEER_INBOUND, 0);
	in->base = base;
	in->conf = c;
	in->engine = e;
	TAILQ_INIT(&in->conns);
	TAILQ_INIT(&in->batch);
	if ((in->ctx = inbound_ssl_ctx(c)) == NULL)
		goto fail;
	if ((in->http = evhttp_new(base)) == NULL ||
	    (in->ev_flush = evtimer_new(base, inbound_flush, in)) == NULL) {
		log_errx(ITAG, "cannot create the HTTP server");
		goto fail;
	}
	evhttp_set_bevcb(in->http, inbound_bevcb, in);
	evhttp_set_gencb(in->http, inbound_request, in);
	evhttp_set_timeout(in->http, INBOUND_DEADLINE);
	evhttp_set_max_body_size(in->http, (ev_ssize_t)c->max_message_size);
	evhttp_set_max_headers_size(in->http, 16384);
	if (lfd != -1)		/* the parent bound it as root */
		in->bound = evhttp_accept_socket_with_handle(in->http, lfd);
	else
		in->bound = evhttp_bind_socket_with_handle(in->http,
		    c->listen_address, (ev_uint16_t)c->listen_port);
	if (in->bound == NULL) {
		log_err(ITAG, "cannot listen on %s:%d", c->listen_address,
		    c->listen_port);
		goto fail;
	}
	/* PITFALLS.md 2: accepted sockets inherit it */
	fd = evhttp_bound_socket_get_fd(in->bound);
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ==
	    -1)
		log_err(ITAG, "TCP_NODELAY");
	log_info(ITAG, "listening on https://%s:%d%s (mutual TLS, %d "
	    "partners%s)", c->listen_address, c->listen_port, INBOUND_PATH,
	    c->npartners, lfd != -1 ? "; the socket the parent opened" : "");
	return in;
fail:
	inbound_stop(in);
	return NULL;
}

void
inbound_set_config(struct inbound *in, const struct config *c)
{
	SSL_CTX *ctx;

	if (in == NULL)
		return;
	if ((ctx = inbound_ssl_ctx(c)) == NULL) {
		log_errx(ITAG, "reload: TLS settings refused, the old ones "
		    "stay in force");
		return;
	}
	if (strcmp(c->listen_address, in->conf->listen_address) != 0 ||
	    c->listen_port != in->conf->listen_port)
		log_warnx(ITAG, "reload: still listening on %s:%d; a new "
		    "address needs a restart", in->conf->listen_address,
		    in->conf->listen_port);
	/* connections already open keep their SSL and its context */
	SSL_CTX_free(in->ctx);
	in->ctx = ctx;
	in->conf = c;
	in->generation++;
	evhttp_set_max_body_size(in->http, (ev_ssize_t)c->max_message_size);
}

static void
inbound_drain_over(evutil_socket_t fd, short what, void *arg)
{
	struct inbound *in = arg;

	in->drain_over = 1;
}

void
inbound_stop_reading(struct inbound *in)
{
	if (in != NULL)
		reader_stop_begin(in->reader);
}

void
inbound_stop(struct inbound *in)
{
	struct inbound_conn *conn;
	struct timeval tv = { INBOUND_DRAIN, 0 };

	if (in == NULL)
		return;
	in->stopping = 1;
	if (in->bound != NULL) {
		evhttp_del_accept_socket(in->http, in->bound);
		in->bound = NULL;
	}
	/* requests being read are decided, then they and those waiting for
	 * the group commit are answered now */
	reader_stop(in->reader);
	in->reader = NULL;
	if (in->ev_flush != NULL) {
		evtimer_del(in->ev_flush);
		if (!TAILQ_EMPTY(&in->batch) && engine_flush(in->engine) == -1)
			log_errx(ITAG, "the last group commit failed");
		inbound_release(in);
	}
	/* PITFALLS.md 6: freeing now would send empty replies */
	if (in->outstanding > 0 &&
	    (in->ev_drain = evtimer_new(in->base, inbound_drain_over,
	    in)) != NULL) {
		evtimer_add(in->ev_drain, &tv);
		while (in->outstanding > 0 && !in->drain_over)
			if (event_base_loop(in->base, EVLOOP_ONCE) == -1)
				break;
		if (in->outstanding > 0)
			log_warnx(ITAG, "%d replies still unsent at shutdown",
			    in->outstanding);
		event_free(in->ev_drain);
		in->ev_drain = NULL;
	}
	/* connections are freed later, with their SSL objects: detach */
	while ((conn = TAILQ_FIRST(&in->conns)) != NULL) {
		TAILQ_REMOVE(&in->conns, conn, entry);
		if (conn->deadline != NULL)
			event_free(conn->deadline);
		conn->deadline = NULL;
		conn->in = NULL;
	}
	if (in->http != NULL)
		evhttp_free(in->http);
	if (in->ev_flush != NULL)
		event_free(in->ev_flush);
	SSL_CTX_free(in->ctx);
	free(in);
}
