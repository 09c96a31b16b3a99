/*
 * benchlib.h -- what the benchmark programs share: a monotonic clock,
 * reading a file, the ~4 KB ReadmissionRequest they all measure, and for
 * those that run real gateways: a work directory on free ports, starting
 * and stopping accordd, and its control socket's JSON lines.
 */
#ifndef ACCORD_BENCHLIB_H
#define ACCORD_BENCHLIB_H

#include <sys/types.h>

#include <stddef.h>

#include <libxml/tree.h>

/* Seconds, monotonic: benchmarks measure elapsed time, not the date. */
double bench_now(void);

/* The whole file, NUL-terminated, malloc'd; *lenp (may be NULL) gets its
 * length.  @return NULL when it cannot be read. */
char *bench_slurp(const char *path, size_t *lenp);

/*
 * The example ReadmissionRequest of protocols/examples, Created now,
 * padded with entry evidence to about 4 KB and parsed (hardened, schema
 * valid).  *size gets the envelope's size; body (may be NULL) gets the
 * business document alone, malloc'd, as a back office would submit it.
 * @return the document, or NULL (reported on stderr).
 */
xmlDocPtr bench_request(const char *srcdir, size_t *size, char **body);

/* Sleep ms milliseconds, whatever signals arrive. */
void bench_sleep_ms(long ms);

/* A free loopback port pair (p, p+1) below the ephemeral range, or -1. */
int bench_ports(void);

/*
 * Make the work directory work (existing, empty) as tests/lib.sh
 * make_workdir does: src's conf/ and the PKI copied, Kazakhstan on port
 * and France on port + 1, the control socket's groups mapped to groups
 * every Debian system has, only the agreement with France kept, and
 * France signing with fr/sign-rsa.  @return 0, or -1.
 */
int bench_prepare(const char *work, const char *src, const char *pki,
    int port);

/* Blocking line reader over a socket, with its own buffer. */
struct linebuf {
	int	 fd;
	char	*buf;
	size_t	 len, cap;
};

/* A connected UNIX socket, or -1. */
int ctl_connect(const char *path);
/* Connect to a control socket and read its greeting; -1 if the daemon
 * does not answer. */
int ctl_open(const char *path, struct linebuf *lb);
void ctl_close(struct linebuf *lb);
/* The next complete line (NUL-terminated, no \n) or NULL (EOF, error);
 * lb_consume(lb, *used) once it is read. */
char *lb_line(struct linebuf *lb, size_t *used);
void lb_consume(struct linebuf *lb, size_t used);

/* An accordd run by a benchmark. */
struct gateway {
	const char	*name;		/* "Kazakhstan", "France" */
	char		 conf[1024];
	char		 sock[1024];
	char		 log[1024];
	int		 start_secs;	/* wait for its socket (0: 15 s) */
	pid_t		 pid;
	int		 status;
	double		 cpu;		/* user+system seconds, at exit */
};

/* Start daemon -d -c g->conf, its output in g->log, and wait until its
 * control socket greets.  @return 0, or -1 (it exited or never
 * answered). */
int gw_start(const char *daemon, struct gateway *g);
/* SIGTERM, and wait up to 15 s (then SIGKILL).  @return 0 when it
 * exited 0. */
int gw_stop(struct gateway *g);
/* The last lines of its log, on stderr. */
void gw_tail(const struct gateway *g);

#endif
