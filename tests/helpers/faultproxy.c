/*
 * faultproxy.c -- a TCP proxy that injects seeded faults, for the soak
 * test of two live gateways (tests/helpers/soak.sh).  This kernel has no netem
 * (PITFALLS.md item 21): faults are injected at the TCP level instead.
 *
 * It listens on one loopback port and forwards every accepted connection
 * to one target host:port.  Bytes pass through opaque (TLS included).
 * Plain POSIX sockets and poll(2), one thread, libc only.
 *
 * usage: faultproxy -l [ADDR:]PORT -t HOST:PORT [options]
 *
 *   -l [ADDR:]PORT   where to listen (ADDR defaults to 127.0.0.1)
 *   -t HOST:PORT     where to forward (resolved once, at start)
 *   -n NAME          name in every log line (default "faultproxy")
 *   -s SEED          the seed, an unsigned 64-bit number (default: from
 *                    the time and the pid); always printed at start
 *   -d MAXMS         delay each chunk read from either side by a uniform
 *                    0..MAXMS milliseconds before it is forwarded
 *   -p PERMILLE      chance (per mille) that a chunk is delayed at all
 *                    (default 1000 = every chunk)
 *   -S PM:MIN-MAX    per burst (below): with chance PM per mille, stall
 *                    once for MIN..MAX ms at a random offset below -k
 *   -c PERMILLE      per client->server burst: chance that it is cut
 *                    mid-request: the bytes before a random offset in
 *                    1..-k of the burst are forwarded, then both sides
 *                    are closed (FIN or RST, chosen at random)
 *   -r PERMILLE      the same per server->client burst (mid-response)
 *   -k BYTES         range of the cut and stall offsets (default 16384)
 *   -g MS            a burst is what a direction carries after it was
 *                    idle for MS ms or more (default 50): a TLS flight,
 *                    a request, a response.  Connections are kept alive
 *                    and carry many exchanges, so the faults are drawn
 *                    per burst, for each connection and direction.
 *   -b SPEC          blackhole schedule, items separated by commas:
 *                      drop@T+LEN     at T s after start, for LEN s
 *                      refuse@T+LEN
 *                      rand:GAP:MIN-MAX[:MODE]  quiet for a uniform
 *                          GAP/2..3*GAP/2 s, then a blackhole of MIN..MAX
 *                          s, again and again; MODE drop, refuse or mix
 *                          (default mix: each one drop or refuse)
 *                    drop: connections are accepted, nothing is forwarded
 *                    either way (held connections go on when it ends;
 *                    the bytes wait in the kernel, as after a partition
 *                    heals); refuse: new connections are accepted and
 *                    reset at once, open ones are reset when it starts.
 *   -m MODE          the mode of a SIGUSR1 blackhole: drop (default),
 *                    refuse, or mix (each one drop or refuse, drawn from
 *                    the blackhole stream)
 *   -M N             at most N connections at a time (default 1024); one
 *                    more is accepted and reset, logged
 *   -v               also log every connection opened, closed or not
 *                    connected upstream
 *   -h, --help       this text
 *
 * Signals (the run-time control):
 *   SIGUSR1   blackhole on (mode -m) until SIGUSR2
 *   SIGUSR2   blackhole off (whichever kind is on)
 *   SIGHUP    calm: stop injecting faults for good -- any blackhole ends,
 *             the schedule is dropped, pending cuts and stalls are
 *             cancelled, no more delays (SIGUSR1 still works)
 *   SIGTERM, SIGINT   close everything, print a summary, exit 0
 *
 * Log: one line per fault on stderr, for example
 *   A: t=12.345 seed=42 conn=17 c2s burst 3 cut after 5021 bytes (rst; ...)
 *   A: t=80.002 seed=42 conn=- - blackhole drop on (SIGUSR1), until SIGUSR2
 * (blackhole lines have conn=-), and a summary line "NAME: exit: ..." at
 * the end.  Every random choice about connection N comes from two
 * generators (one per direction) seeded with (SEED, N): six draws at the
 * start of each burst, two per chunk, whatever the options.  So the plan
 * of burst B of connection N in direction D is the same on every run with
 * the same seed and options; which bytes make up a burst still depends on
 * timing.  Blackhole times and modes come from a stream of their own.
 * Per-chunk delays are not logged one by one (counted in the summary).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define BUFSZ		16384
#define MAXSCHED	64

/* ---- random numbers: splitmix64, one stream per purpose ------------------ */

struct rng {
	uint64_t	s;
};

static uint64_t
rng_next(struct rng *r)
{
	uint64_t z = (r->s += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/* uniform in 0..n-1 (n > 0) */
static uint64_t
rng_below(struct rng *r, uint64_t n)
{
	return n == 0 ? 0 : rng_next(r) % n;
}

static void
rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
	r->s = seed ^ (stream * UINT64_C(0xD1B54A32D192ED03));
	(void)rng_next(r);
}

/* ---- options -------------------------------------------------------------- */

enum bh_mode { BH_NONE, BH_DROP, BH_REFUSE };

struct sched {			/* a fixed blackhole */
	int64_t		 start_ms, len_ms;
	enum bh_mode	 mode;
	int		 done;
};

static struct {
	const char	*name;
	char		 listen_host[256], target_host[256];
	char		 listen_port[16], target_port[16];
	uint64_t	 seed;
	int		 delay_max, delay_pm;
	int		 stall_pm, stall_min, stall_max;
	int		 cut_pm, resp_cut_pm;
	long		 krange;
	int		 gap;
	struct sched	 sched[MAXSCHED];
	int		 nsched;
	int		 rand_on, rand_gap, rand_min, rand_max;
	enum bh_mode	 rand_mode;	/* BH_NONE: mix */
	enum bh_mode	 manual_mode;	/* BH_NONE: mix */
	int		 maxconn;
	int		 verbose;
} opt;

/* ---- connections ------------------------------------------------------------ */

struct dir {
	int		 from, to;	/* fds, owned by the conn */
	char		 buf[BUFSZ];
	size_t		 len, off;
	int64_t		 ready_at;	/* ms: when buf may be written */
	uint64_t	 fwd;		/* bytes forwarded */
	int64_t		 cut_at;	/* -1: no cut */
	int64_t		 stall_at;	/* -1: no stall (or done) */
	int		 stall_ms;
	int		 eof;		/* the source said EOF */
	int		 shut;		/* shutdown(to, SHUT_WR) done */
	int		 rst;		/* this burst's cut closes with RST */
	unsigned long	 burst;		/* bursts started */
	int64_t		 idle_since;	/* ms: buffer empty, waiting to read */
	const char	*tag;
	struct rng	 rng;
};

enum cstate { C_HELD, C_CONNECTING, C_OPEN };

struct conn {
	struct conn	*next;
	unsigned long	 id;
	enum cstate	 state;
	int		 cfd, sfd;
	int		 dead;
	int64_t		 opened;
	struct dir	 c2s, s2c;
	int		 pi_c, pi_s;	/* pollfd indexes, -1: none */
};

static struct conn *conns;
static int nconns;
static unsigned long next_id = 1;
static int64_t t0;
static int lfd = -1;
static int64_t accept_pause_until;
static int sigpipe_fds[2] = { -1, -1 };
static volatile sig_atomic_t got_term, got_usr1, got_usr2, got_hup;
static struct addrinfo *target_ai;

/* the blackhole now */
static enum bh_mode bh = BH_NONE;
static int64_t bh_since, bh_until;	/* until: -1 = manual */
static unsigned long bh_held, bh_refused;
static int calm;
static struct rng bh_rng;
static int64_t rand_next_ms = -1;

static struct {
	unsigned long	 conns, cuts_c2s, cuts_s2c, stalls, delayed;
	unsigned long	 blackholes, refused, overlimit, upfail;
	unsigned long long bytes_c2s, bytes_s2c;
} st;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
logf_(const char *conn, const char *fmt, ...)
{
	va_list ap;
	int64_t t = now_ms() - t0;

	fprintf(stderr, "%s: t=%" PRId64 ".%03d seed=%" PRIu64 " conn=%s ",
	    opt.name, t / 1000, (int)(t % 1000), opt.seed, conn);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define CLOG(c, ...) do {						\
	char id_[24];							\
	snprintf(id_, sizeof(id_), "%lu", (c)->id);			\
	logf_(id_, __VA_ARGS__);					\
} while (0)

static void
usage(FILE *fp)
{
	fputs(
"usage: faultproxy -l [ADDR:]PORT -t HOST:PORT [options]\n"
"  -n NAME         name in log lines (default faultproxy)\n"
"  -s SEED         64-bit seed (default: time and pid); printed at start\n"
"  -d MAXMS        delay chunks by a uniform 0..MAXMS ms\n"
"  -p PERMILLE     chance that a chunk is delayed (default 1000)\n"
"  -S PM:MIN-MAX   per burst, chance PM/1000 of one stall of MIN..MAX ms\n"
"                  at a random offset below -k\n"
"  -c PERMILLE     chance a client->server burst is cut mid-request (its\n"
"                  bytes before a random offset below -k forwarded, then\n"
"                  both sides closed, FIN or RST)\n"
"  -r PERMILLE     the same per server->client burst (mid-response)\n"
"  -k BYTES        range of cut and stall offsets (default 16384)\n"
"  -g MS           idle time that starts a new burst (default 50)\n"
"  -b SPEC         blackholes: drop@T+LEN, refuse@T+LEN (seconds after\n"
"                  start), rand:GAP:MIN-MAX[:drop|refuse|mix]; comma list\n"
"  -m MODE         mode of SIGUSR1 blackholes: drop (default), refuse,\n"
"                  or mix (drawn from the seed, each time)\n"
"  -M N            at most N connections (default 1024)\n"
"  -v              log connections too, not only faults\n"
"signals: SIGUSR1 blackhole on, SIGUSR2 off, SIGHUP faults off for good,\n"
"         SIGTERM/SIGINT exit 0 with a summary\n"
"log: NAME: t=S seed=SEED conn=N DIR burst B FAULT ...; the faults of\n"
"     a connection's burst replay from the seed, N, DIR and B\n", fp);
}

static int
parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int
split_hostport(const char *s, char *host, size_t hl, char *port, size_t pl,
    const char *defhost)
{
	const char *c = strrchr(s, ':');
	long p;

	if (c == NULL) {
		snprintf(host, hl, "%s", defhost);
		c = s - 1;
	} else {
		if ((size_t)(c - s) >= hl || c == s)
			return -1;
		memcpy(host, s, (size_t)(c - s));
		host[c - s] = '\0';
	}
	if (parse_int(c + 1, 1, 65535, &p) == -1)
		return -1;
	snprintf(port, pl, "%ld", p);
	return 0;
}

static enum bh_mode
parse_mode(const char *s, int allow_mix, int *ok)
{
	*ok = 1;
	if (strcmp(s, "drop") == 0)
		return BH_DROP;
	if (strcmp(s, "refuse") == 0)
		return BH_REFUSE;
	if (allow_mix && strcmp(s, "mix") == 0)
		return BH_NONE;
	*ok = 0;
	return BH_NONE;
}

static int
parse_sched(char *spec)
{
	char *item, *save = NULL, *at, *plus;
	long t, len, gap, mn, mx;
	int ok;

	for (item = strtok_r(spec, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		if (strncmp(item, "rand:", 5) == 0) {
			char *f[4] = { NULL, NULL, NULL, NULL }, *p = item + 5;
			char *dash;
			int n = 0;

			while (n < 4 && p != NULL) {
				f[n++] = p;
				if ((p = strchr(p, ':')) != NULL)
					*p++ = '\0';
			}
			if (n < 2 || p != NULL || (dash = strchr(f[1], '-')) ==
			    NULL)
				return -1;
			*dash = '\0';
			if (parse_int(f[0], 1, 86400, &gap) == -1 ||
			    parse_int(f[1], 0, 86400, &mn) == -1 ||
			    parse_int(dash + 1, mn, 86400, &mx) == -1)
				return -1;
			opt.rand_on = 1;
			opt.rand_gap = (int)gap;
			opt.rand_min = (int)mn;
			opt.rand_max = (int)mx;
			opt.rand_mode = BH_NONE;
			if (n == 3) {
				opt.rand_mode = parse_mode(f[2], 1, &ok);
				if (!ok)
					return -1;
			}
			continue;
		}
		if ((at = strchr(item, '@')) == NULL ||
		    (plus = strchr(at, '+')) == NULL ||
		    opt.nsched == MAXSCHED)
			return -1;
		*at++ = '\0';
		*plus++ = '\0';
		opt.sched[opt.nsched].mode = parse_mode(item, 0, &ok);
		if (!ok || parse_int(at, 0, 10000000, &t) == -1 ||
		    parse_int(plus, 1, 10000000, &len) == -1)
			return -1;
		opt.sched[opt.nsched].start_ms = t * 1000;
		opt.sched[opt.nsched].len_ms = len * 1000;
		opt.nsched++;
	}
	return 0;
}

/* ---- sockets ---------------------------------------------------------------- */

static void
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl != -1)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void
set_nodelay(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* close with RST */
static void
close_rst(int fd)
{
	struct linger l = { 1, 0 };

	if (fd < 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static void
conn_close(struct conn *c, int rst)
{
	if (c->dead)
		return;
	if (rst) {
		close_rst(c->cfd);
		close_rst(c->sfd);
	} else {
		if (c->cfd >= 0)
			close(c->cfd);
		if (c->sfd >= 0)
			close(c->sfd);
	}
	c->cfd = c->sfd = -1;
	c->dead = 1;
	if (opt.verbose)
		CLOG(c, "-- closed after %" PRId64 " ms, %" PRIu64 " bytes "
		    "c2s, %" PRIu64 " bytes s2c", now_ms() - c->opened,
		    c->c2s.fwd, c->s2c.fwd);
}

static void
dir_init(struct dir *d, const char *tag, uint64_t seed, uint64_t stream)
{
	memset(d, 0, sizeof(*d));
	d->tag = tag;
	d->cut_at = -1;
	d->stall_at = -1;
	d->idle_since = -1;
	rng_seed(&d->rng, seed, stream);
}

static void
conn_seed(struct conn *c)
{
	dir_init(&c->c2s, "c2s", opt.seed, 1000 + 2 * (uint64_t)c->id);
	dir_init(&c->s2c, "s2c", opt.seed, 1001 + 2 * (uint64_t)c->id);
}

/*
 * A burst starts: draw its plan, six draws in this order whatever the
 * options (cut?, cut offset, RST?, stall?, stall offset, stall length).
 */
static void
burst_plan(struct conn *c, struct dir *d)
{
	uint64_t k = (uint64_t)opt.krange, xc, oc, rst, xs, os, ms;
	int pm = d == &c->c2s ? opt.cut_pm : opt.resp_cut_pm;

	d->burst++;
	xc = rng_below(&d->rng, 1000);
	oc = 1 + rng_below(&d->rng, k);
	rst = rng_below(&d->rng, 2);
	xs = rng_below(&d->rng, 1000);
	os = rng_below(&d->rng, k);
	ms = (uint64_t)opt.stall_min + rng_below(&d->rng,
	    (uint64_t)(opt.stall_max - opt.stall_min) + 1);
	d->cut_at = d->stall_at = -1;
	if (calm)
		return;
	if ((int)xc < pm) {
		d->cut_at = (int64_t)(d->fwd + oc);
		d->rst = (int)rst;
	}
	if ((int)xs < opt.stall_pm) {
		d->stall_at = (int64_t)(d->fwd + os);
		d->stall_ms = (int)ms;
	}
}

static int
start_upstream(struct conn *c)
{
	int fd;

	fd = socket(target_ai->ai_family, target_ai->ai_socktype |
	    SOCK_CLOEXEC, target_ai->ai_protocol);
	if (fd == -1) {
		if (opt.verbose)
			CLOG(c, "-- socket: %s", strerror(errno));
		return -1;
	}
	set_nonblock(fd);
	set_nodelay(fd);
	c->sfd = fd;
	c->c2s.from = c->cfd;
	c->c2s.to = c->sfd;
	c->s2c.from = c->sfd;
	c->s2c.to = c->cfd;
	c->c2s.idle_since = c->s2c.idle_since = -1;
	if (connect(fd, target_ai->ai_addr, target_ai->ai_addrlen) == 0) {
		c->state = C_OPEN;
		return 0;
	}
	if (errno == EINPROGRESS) {
		c->state = C_CONNECTING;
		return 0;
	}
	st.upfail++;
	if (opt.verbose)
		CLOG(c, "-- upstream connect: %s", strerror(errno));
	return -1;
}

static void
do_accept(int64_t now)
{
	struct conn *c;
	int fd;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				accept_pause_until = now + 100;
			return;
		}
		set_nodelay(fd);
		if (bh == BH_REFUSE) {
			char id[24];

			snprintf(id, sizeof(id), "%lu", next_id++);
			st.conns++;
			st.refused++;
			bh_refused++;
			logf_(id, "- refused (blackhole refuse): reset at "
			    "accept");
			close_rst(fd);
			continue;
		}
		if (nconns >= opt.maxconn) {
			char id[24];

			snprintf(id, sizeof(id), "%lu", next_id++);
			st.conns++;
			st.overlimit++;
			logf_(id, "- refused: over %d connections", opt.maxconn);
			close_rst(fd);
			continue;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close_rst(fd);
			continue;
		}
		c->id = next_id++;
		c->cfd = fd;
		c->sfd = -1;
		c->opened = now;
		c->pi_c = c->pi_s = -1;
		conn_seed(c);
		c->next = conns;
		conns = c;
		nconns++;
		st.conns++;
		if (opt.verbose)
			CLOG(c, "-- accepted%s", bh == BH_DROP ?
			    " (held: blackhole drop)" : "");
		if (bh == BH_DROP) {
			c->state = C_HELD;
			bh_held++;
			continue;
		}
		if (start_upstream(c) == -1)
			conn_close(c, 1);
	}
}

/* the connection has a cut due: forward nothing more, close both sides */
static void
do_cut(struct conn *c, struct dir *d)
{
	if (d == &c->c2s)
		st.cuts_c2s++;
	else
		st.cuts_s2c++;
	CLOG(c, "%s burst %lu cut after %" PRIu64 " bytes (%s; %" PRIu64
	    " bytes the other way)", d->tag, d->burst, d->fwd, d->rst ? "rst" :
	    "fin", (d == &c->c2s ? &c->s2c : &c->c2s)->fwd);
	conn_close(c, d->rst);
}

/* write what may go now; returns -1 when the connection died */
static int
dir_write(struct conn *c, struct dir *d, int64_t now)
{
	while (d->len > d->off && now >= d->ready_at) {
		size_t n = d->len - d->off;
		ssize_t w;

		if (d->cut_at >= 0) {
			if ((int64_t)d->fwd >= d->cut_at) {
				do_cut(c, d);
				return -1;
			}
			if ((int64_t)n > d->cut_at - (int64_t)d->fwd)
				n = (size_t)(d->cut_at - (int64_t)d->fwd);
		}
		if (d->stall_at >= 0) {
			if ((int64_t)d->fwd >= d->stall_at) {
				st.stalls++;
				CLOG(c, "%s burst %lu stall %d ms after %"
				    PRIu64 " bytes", d->tag, d->burst,
				    d->stall_ms, d->fwd);
				d->ready_at = now + d->stall_ms;
				d->stall_at = -1;
				return 0;
			}
			if ((int64_t)n > d->stall_at - (int64_t)d->fwd)
				n = (size_t)(d->stall_at - (int64_t)d->fwd);
		}
		w = send(d->to, d->buf + d->off, n, MSG_NOSIGNAL);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (opt.verbose)
				CLOG(c, "-- %s send: %s", d->tag,
				    strerror(errno));
			conn_close(c, 1);
			return -1;
		}
		d->off += (size_t)w;
		d->fwd += (uint64_t)w;
		if (d == &c->c2s)
			st.bytes_c2s += (unsigned long long)w;
		else
			st.bytes_s2c += (unsigned long long)w;
		if (d->off == d->len) {
			d->off = d->len = 0;
			d->idle_since = now;
		}
		if (d->cut_at >= 0 && (int64_t)d->fwd >= d->cut_at) {
			do_cut(c, d);
			return -1;
		}
	}
	if (d->len == 0 && d->eof && !d->shut) {
		(void)shutdown(d->to, SHUT_WR);
		d->shut = 1;
	}
	return 0;
}

/* read one chunk; returns -1 when the connection died */
static int
dir_read(struct conn *c, struct dir *d, int64_t now)
{
	ssize_t r;

	if (d->len != 0 || d->eof)
		return 0;
	r = recv(d->from, d->buf, sizeof(d->buf), 0);
	if (r == -1) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (opt.verbose)
			CLOG(c, "-- %s recv: %s", d->tag, strerror(errno));
		conn_close(c, 1);	/* a reset: pass it on as a reset */
		return -1;
	}
	if (r == 0) {
		d->eof = 1;
		return dir_write(c, d, now);
	}
	d->len = (size_t)r;
	d->off = 0;
	d->ready_at = now;
	if (d->idle_since < 0 || now - d->idle_since >= opt.gap)
		burst_plan(c, d);
	/* the two draws are made for every chunk, for replay */
	{
		uint64_t x = rng_below(&d->rng, 1000);
		uint64_t ms = rng_below(&d->rng, (uint64_t)opt.delay_max + 1);

		if (!calm && opt.delay_max > 0 && (int)x < opt.delay_pm &&
		    ms > 0) {
			d->ready_at = now + (int64_t)ms;
			st.delayed++;
		}
	}
	return dir_write(c, d, now);
}

static int
conn_done(struct conn *c)
{
	return c->state == C_OPEN && c->c2s.eof && c->s2c.eof &&
	    c->c2s.len == 0 && c->s2c.len == 0;
}

/* ---- blackholes ------------------------------------------------------------- */

static const char *
mode_name(enum bh_mode m)
{
	return m == BH_DROP ? "drop" : m == BH_REFUSE ? "refuse" : "none";
}

static void
bh_on(enum bh_mode m, int64_t now, int64_t len_ms, const char *why)
{
	struct conn *c;
	unsigned long n = 0;

	if (bh != BH_NONE)
		return;
	bh = m;
	bh_since = now;
	bh_until = len_ms < 0 ? -1 : now + len_ms;
	bh_held = bh_refused = 0;
	st.blackholes++;
	if (m == BH_REFUSE)
		for (c = conns; c != NULL; c = c->next)
			if (!c->dead) {
				conn_close(c, 1);
				n++;
			}
	if (len_ms < 0)
		logf_("-", "- blackhole %s on (%s), until SIGUSR2", mode_name(m),
		    why);
	else
		logf_("-", "- blackhole %s on (%s) for %" PRId64 ".%03d s",
		    mode_name(m), why, len_ms / 1000, (int)(len_ms % 1000));
	if (m == BH_REFUSE)
		logf_("-", "- blackhole refuse: %lu open connections reset", n);
	else
		for (c = conns; c != NULL; c = c->next)
			if (!c->dead)
				n++;
	if (m == BH_DROP)
		logf_("-", "- blackhole drop: %lu open connections frozen", n);
}

static void
bh_off(int64_t now, const char *why)
{
	struct conn *c;

	if (bh == BH_NONE)
		return;
	logf_("-", "- blackhole %s off (%s) after %" PRId64 ".%03d s, %lu "
	    "connections %s meanwhile", mode_name(bh), why,
	    (now - bh_since) / 1000, (int)((now - bh_since) % 1000),
	    bh == BH_DROP ? bh_held : bh_refused, bh == BH_DROP ? "held" :
	    "refused");
	bh = BH_NONE;
	for (c = conns; c != NULL; c = c->next)
		if (!c->dead && c->state == C_HELD && start_upstream(c) == -1)
			conn_close(c, 1);
}

static void
rand_arm(int64_t now)
{
	int64_t lo = (int64_t)opt.rand_gap * 500, span = (int64_t)opt.rand_gap
	    * 1000;

	rand_next_ms = now + lo + (int64_t)rng_below(&bh_rng,
	    (uint64_t)span + 1);
}

/* schedule changes due now; returns the next instant, or -1 */
static int64_t
bh_tick(int64_t now)
{
	int64_t next = -1;
	int i;

#define NEXT(t) do { if (next < 0 || (t) < next) next = (t); } while (0)
	if (bh != BH_NONE && bh_until >= 0) {
		if (now >= bh_until)
			bh_off(now, "end of its time");
		else
			NEXT(bh_until);
	}
	if (calm)
		return next;
	for (i = 0; i < opt.nsched; i++) {
		struct sched *s = &opt.sched[i];

		if (s->done)
			continue;
		if (now - t0 >= s->start_ms) {
			s->done = 1;
			if (bh != BH_NONE)
				logf_("-", "- schedule: %s@%" PRId64 " skipped: "
				    "a blackhole is on", mode_name(s->mode),
				    s->start_ms / 1000);
			else
				bh_on(s->mode, now, s->len_ms, "schedule");
			if (bh != BH_NONE && bh_until >= 0)
				NEXT(bh_until);
		} else
			NEXT(t0 + s->start_ms);
	}
	if (opt.rand_on) {
		if (rand_next_ms < 0)
			rand_arm(now);
		if (now >= rand_next_ms) {
			/* draws in a fixed order: length, then mode */
			int64_t len = (int64_t)opt.rand_min * 1000 +
			    (int64_t)rng_below(&bh_rng, (uint64_t)(opt.rand_max
			    - opt.rand_min) * 1000 + 1);
			enum bh_mode m = rng_below(&bh_rng, 2) ? BH_REFUSE :
			    BH_DROP;

			if (opt.rand_mode != BH_NONE)
				m = opt.rand_mode;
			if (bh == BH_NONE) {
				bh_on(m, now, len, "random");
				rand_arm(now + len);
			} else
				rand_arm(now);
			if (bh_until >= 0)
				NEXT(bh_until);
		}
		NEXT(rand_next_ms);
	}
#undef NEXT
	return next;
}

static void
go_calm(int64_t now)
{
	struct conn *c;

	calm = 1;
	opt.rand_on = 0;
	bh_off(now, "calm");
	for (c = conns; c != NULL; c = c->next) {
		c->c2s.cut_at = c->s2c.cut_at = -1;
		c->c2s.stall_at = c->s2c.stall_at = -1;
	}
	logf_("-", "- calm: no more faults (delays, stalls, cuts, scheduled "
	    "and random blackholes off)");
}

/* ---- signals ---------------------------------------------------------------- */

static void
on_signal(int sig)
{
	int e = errno;
	char b = (char)sig;

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		got_term = 1;
		break;
	case SIGUSR1:
		got_usr1 = 1;
		break;
	case SIGUSR2:
		got_usr2 = 1;
		break;
	case SIGHUP:
		got_hup = 1;
		break;
	}
	/* a full pipe already holds a wake-up: nothing is lost */
	if (write(sigpipe_fds[1], &b, 1) == -1) {
		/* EAGAIN */
	}
	errno = e;
}

static void
setup_signals(void)
{
	struct sigaction sa;
	int sigs[] = { SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGHUP };
	size_t i;

	if (pipe(sigpipe_fds) == -1) {
		perror("faultproxy: pipe");
		exit(1);
	}
	for (i = 0; i < 2; i++) {
		set_nonblock(sigpipe_fds[i]);
		(void)fcntl(sigpipe_fds[i], F_SETFD, FD_CLOEXEC);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* ---- the loop --------------------------------------------------------------- */

static void
reap(void)
{
	struct conn **pp = &conns, *c;

	while ((c = *pp) != NULL) {
		if (c->dead) {
			*pp = c->next;
			free(c);
			nconns--;
		} else
			pp = &c->next;
	}
}

static int
listen_on(void)
{
	struct addrinfo hints, *ai, *p;
	int fd = -1, one = 1, e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((e = getaddrinfo(opt.listen_host, opt.listen_port, &hints, &ai))
	    != 0) {
		fprintf(stderr, "%s: %s: %s\n", opt.name, opt.listen_host,
		    gai_strerror(e));
		return -1;
	}
	for (p = ai; p != NULL; p = p->ai_next) {
		fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC,
		    p->ai_protocol);
		if (fd == -1)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
		if (bind(fd, p->ai_addr, p->ai_addrlen) == 0 &&
		    listen(fd, 512) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd == -1) {
		fprintf(stderr, "%s: cannot listen on %s:%s: %s\n", opt.name,
		    opt.listen_host, opt.listen_port, strerror(errno));
		return -1;
	}
	set_nonblock(fd);
	set_nodelay(fd);
	return fd;
}

static void
summary(void)
{
	fprintf(stderr, "%s: exit: seed=%" PRIu64 " %lu connections, "
	    "%llu bytes c2s, %llu bytes s2c; faults: %lu cuts mid-request, "
	    "%lu cuts mid-response, %lu stalls, %lu delayed chunks, %lu "
	    "blackholes, %lu refused, %lu over the limit; %lu upstream "
	    "connects failed\n", opt.name, opt.seed, st.conns,
	    st.bytes_c2s, st.bytes_s2c, st.cuts_c2s, st.cuts_s2c, st.stalls,
	    st.delayed, st.blackholes, st.refused, st.overlimit, st.upfail);
}

int
main(int argc, char **argv)
{
	struct addrinfo hints;
	struct pollfd *pfd = NULL;
	size_t pcap = 0;
	int ch, e, have_l = 0, have_t = 0, seeded = 0, ok;
	long v;
	char *spec = NULL;

	opt.name = "faultproxy";
	opt.delay_pm = 1000;
	opt.krange = 16384;
	opt.gap = 50;
	opt.manual_mode = BH_DROP;
	opt.maxconn = 1024;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		}
	while ((ch = getopt(argc, argv, "l:t:n:s:d:p:S:c:r:k:g:b:m:M:vh")) !=
	    -1) {
		switch (ch) {
		case 'l':
			if (split_hostport(optarg, opt.listen_host,
			    sizeof(opt.listen_host), opt.listen_port,
			    sizeof(opt.listen_port), "127.0.0.1") == -1)
				goto bad;
			have_l = 1;
			break;
		case 't':
			if (strchr(optarg, ':') == NULL ||
			    split_hostport(optarg, opt.target_host,
			    sizeof(opt.target_host), opt.target_port,
			    sizeof(opt.target_port), "") == -1)
				goto bad;
			have_t = 1;
			break;
		case 'n':
			opt.name = optarg;
			break;
		case 's': {
			char *end;

			errno = 0;
			opt.seed = strtoull(optarg, &end, 0);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    optarg[0] == '-')
				goto bad;
			seeded = 1;
			break;
		}
		case 'd':
			if (parse_int(optarg, 0, 600000, &v) == -1)
				goto bad;
			opt.delay_max = (int)v;
			break;
		case 'p':
			if (parse_int(optarg, 0, 1000, &v) == -1)
				goto bad;
			opt.delay_pm = (int)v;
			break;
		case 'S': {
			long pm, mn, mx;
			char *colon, *dash;

			if ((spec = strdup(optarg)) == NULL)
				goto bad;
			colon = strchr(spec, ':');
			if (colon == NULL || (dash = strchr(colon, '-')) ==
			    NULL)
				goto bad;
			*colon = *dash = '\0';
			if (parse_int(spec, 0, 1000, &pm) == -1 ||
			    parse_int(colon + 1, 0, 3600000, &mn) == -1 ||
			    parse_int(dash + 1, mn, 3600000, &mx) == -1)
				goto bad;
			free(spec);
			spec = NULL;
			opt.stall_pm = (int)pm;
			opt.stall_min = (int)mn;
			opt.stall_max = (int)mx;
			break;
		}
		case 'c':
			if (parse_int(optarg, 0, 1000, &v) == -1)
				goto bad;
			opt.cut_pm = (int)v;
			break;
		case 'r':
			if (parse_int(optarg, 0, 1000, &v) == -1)
				goto bad;
			opt.resp_cut_pm = (int)v;
			break;
		case 'k':
			if (parse_int(optarg, 1, 1L << 30, &v) == -1)
				goto bad;
			opt.krange = v;
			break;
		case 'g':
			if (parse_int(optarg, 0, 3600000, &v) == -1)
				goto bad;
			opt.gap = (int)v;
			break;
		case 'b':
			if ((spec = strdup(optarg)) == NULL ||
			    parse_sched(spec) == -1)
				goto bad;
			free(spec);
			spec = NULL;
			break;
		case 'm':
			opt.manual_mode = parse_mode(optarg, 1, &ok);
			if (!ok)
				goto bad;
			break;
		case 'M':
			if (parse_int(optarg, 1, 1000000, &v) == -1)
				goto bad;
			opt.maxconn = (int)v;
			break;
		case 'v':
			opt.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!have_l || !have_t || optind != argc) {
bad:
		fprintf(stderr, "%s: bad arguments (see --help)\n", opt.name);
		usage(stderr);
		return 2;
	}
	free(spec);
	if (!seeded)
		opt.seed = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^
		    (uint64_t)now_ms();
	setvbuf(stderr, NULL, _IOLBF, 0);
	{
		/* two fds per connection */
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((e = getaddrinfo(opt.target_host, opt.target_port, &hints,
	    &target_ai)) != 0) {
		fprintf(stderr, "%s: %s: %s\n", opt.name, opt.target_host,
		    gai_strerror(e));
		return 1;
	}
	setup_signals();
	if ((lfd = listen_on()) == -1)
		return 1;
	t0 = now_ms();
	rng_seed(&bh_rng, opt.seed, 0);
	fprintf(stderr, "%s: listening on %s:%s -> %s:%s seed=%" PRIu64
	    " delay=%d/%dpm stall=%dpm:%d-%dms cut-request=%dpm "
	    "cut-response=%dpm range=%ld gap=%dms blackholes=%d%s "
	    "maxconn=%d\n",
	    opt.name, opt.listen_host, opt.listen_port, opt.target_host,
	    opt.target_port, opt.seed, opt.delay_max, opt.delay_pm,
	    opt.stall_pm, opt.stall_min, opt.stall_max, opt.cut_pm,
	    opt.resp_cut_pm, opt.krange, opt.gap, opt.nsched, opt.rand_on ?
	    " +random" : "", opt.maxconn);

	while (!got_term) {
		struct conn *c;
		int64_t now = now_ms(), next, wake;
		size_t n = 0, need = 2 + 2 * (size_t)nconns;
		int timeout, rc;

		if (got_usr1) {
			got_usr1 = 0;
			if (bh == BH_NONE) {
				enum bh_mode m = opt.manual_mode;

				if (m == BH_NONE)	/* mix */
					m = rng_below(&bh_rng, 2) ? BH_REFUSE :
					    BH_DROP;
				bh_on(m, now, -1, "SIGUSR1");
			}
		}
		if (got_usr2) {
			got_usr2 = 0;
			bh_off(now, "SIGUSR2");
		}
		if (got_hup) {
			got_hup = 0;
			go_calm(now);
		}
		next = bh_tick(now);
		reap();

		if (need > pcap) {
			struct pollfd *p = realloc(pfd, need * 2 *
			    sizeof(*pfd));

			if (p == NULL) {
				fprintf(stderr, "%s: out of memory\n", opt.name);
				break;
			}
			pfd = p;
			pcap = need * 2;
		}
		pfd[n].fd = sigpipe_fds[0];
		pfd[n].events = POLLIN;
		n++;
		pfd[n].fd = lfd;
		pfd[n].events = POLLIN;
		if (now < accept_pause_until) {
			pfd[n].events = 0;	/* out of fds: wait a little */
			if (next < 0 || accept_pause_until < next)
				next = accept_pause_until;
		}
		n++;
		for (c = conns; c != NULL; c = c->next) {
			short ce = 0, se = 0;

			c->pi_c = c->pi_s = -1;
			if (c->dead || c->state == C_HELD || bh == BH_DROP)
				continue;	/* frozen: not polled at all */
			if (c->state == C_CONNECTING)
				se = POLLOUT;
			else {
				struct dir *ds[2] = { &c->c2s, &c->s2c };

				for (int i = 0; i < 2; i++) {
					struct dir *d = ds[i];
					short *re = i == 0 ? &ce : &se;
					short *we = i == 0 ? &se : &ce;

					if (d->len == 0 && !d->eof)
						*re |= POLLIN;
					else if (d->len > d->off) {
						if (d->ready_at <= now)
							*we |= POLLOUT;
						else if (next < 0 ||
						    d->ready_at < next)
							next = d->ready_at;
					}
				}
			}
			/* only fds with something to wait for: an fd
			 * polled for no event still reports POLLHUP, and
			 * a stalled direction would spin */
			if (ce != 0) {
				c->pi_c = (int)n;
				pfd[n].fd = c->cfd;
				pfd[n].events = ce;
				n++;
			}
			if (se != 0) {
				c->pi_s = (int)n;
				pfd[n].fd = c->sfd;
				pfd[n].events = se;
				n++;
			}
		}
		if (next < 0)
			timeout = -1;
		else {
			wake = next - now;
			timeout = wake < 0 ? 0 : wake > INT_MAX ? INT_MAX :
			    (int)wake;
		}
		rc = poll(pfd, (nfds_t)n, timeout);
		if (rc == -1) {
			if (errno == EINTR)
				continue;
			perror("faultproxy: poll");
			break;
		}
		now = now_ms();
		if (pfd[0].revents & POLLIN) {
			char b[64];

			while (read(sigpipe_fds[0], b, sizeof(b)) > 0)
				;
		}
		for (c = conns; c != NULL; c = c->next) {
			short cr, sr;

			if (c->dead || (c->pi_c < 0 && c->pi_s < 0))
				continue;
			cr = c->pi_c >= 0 ? pfd[c->pi_c].revents : 0;
			sr = c->pi_s >= 0 ? pfd[c->pi_s].revents : 0;
			if (c->state == C_CONNECTING) {
				int err = 0;
				socklen_t sl = sizeof(err);

				if (sr == 0)
					continue;
				if (getsockopt(c->sfd, SOL_SOCKET, SO_ERROR,
				    &err, &sl) == -1)
					err = errno;
				if (err != 0) {
					st.upfail++;
					if (opt.verbose)
						CLOG(c, "-- upstream connect: "
						    "%s", strerror(err));
					conn_close(c, 1);
					continue;
				}
				c->state = C_OPEN;
				continue;	/* polled for data next time */
			}
			/* writes first (they free buffers), then reads */
			if ((sr & (POLLOUT | POLLERR | POLLHUP)) &&
			    dir_write(c, &c->c2s, now) == -1)
				continue;
			if ((cr & (POLLOUT | POLLERR | POLLHUP)) &&
			    dir_write(c, &c->s2c, now) == -1)
				continue;
			if ((cr & (POLLIN | POLLERR | POLLHUP)) &&
			    dir_read(c, &c->c2s, now) == -1)
				continue;
			if ((sr & (POLLIN | POLLERR | POLLHUP)) &&
			    dir_read(c, &c->s2c, now) == -1)
				continue;
			/* delayed chunks whose time came */
			if (dir_write(c, &c->c2s, now) == -1 ||
			    dir_write(c, &c->s2c, now) == -1)
				continue;
			if (conn_done(c))
				conn_close(c, 0);
		}
		if (pfd[1].revents & POLLIN)
			do_accept(now);
	}
	{
		struct conn *c;

		for (c = conns; c != NULL; c = c->next)
			conn_close(c, 0);
		reap();
	}
	close(lfd);
	summary();
	free(pfd);
	freeaddrinfo(target_ai);
	return 0;
}
