/*
 * benchlib.c -- helpers shared by the benchmark programs.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"
#include "util/clock.h"
#include "msg/envelope.h"
#include "util/errcode.h"

#define BENCH_TARGET_SIZE	4096

double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *
bench_slurp(const char *path, size_t *lenp)
{
	FILE *f;
	char *buf = NULL;
	long n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			if (lenp != NULL)
				*lenp = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

xmlDocPtr
bench_request(const char *srcdir, size_t *size, char **body)
{
	static const char item[] =
	    "        <EntryStayEvidence>\n"
	    "          <Kind>TravelTicket</Kind>\n"
	    "          <Description>Boarding pass Almaty-Istanbul-Paris, "
	    "seat 23C</Description>\n"
	    "          <Date>2025-11-03</Date>\n"
	    "        </EntryStayEvidence>\n";
	static const char open[] = "<ReadmissionRequest ";
	static const char close[] = "</ReadmissionRequest>";
	struct envelope_error err;
	xmlDocPtr doc = NULL;
	char path[2048], ts[32], *buf, *out, *p, *q;
	size_t len;

	snprintf(path, sizeof(path),
	    "%s/protocols/examples/valid/ReadmissionRequest.xml", srcdir);
	if ((buf = bench_slurp(path, NULL)) == NULL) {
		perror(path);
		return NULL;
	}
	clock_format_utc(clock_now(), ts, sizeof(ts));
	if ((p = strstr(buf, "2026-03-02T09:15:00Z")) != NULL)
		memcpy(p, ts, strlen(ts));
	while (strlen(buf) < BENCH_TARGET_SIZE) {
		if ((p = strstr(buf, "      </Evidence>")) == NULL)
			break;
		len = strlen(buf);
		if ((out = malloc(len + sizeof(item))) == NULL)
			exit(2);
		memcpy(out, buf, (size_t)(p - buf));
		memcpy(out + (p - buf), item, sizeof(item) - 1);
		memcpy(out + (p - buf) + sizeof(item) - 1, p,
		    strlen(p) + 1);
		free(buf);
		buf = out;
	}
	*size = strlen(buf);
	if (body != NULL) {
		if ((p = strstr(buf, open)) == NULL ||
		    (q = strstr(p, close)) == NULL) {
			fprintf(stderr, "%s: no ReadmissionRequest element\n",
			    path);
			free(buf);
			return NULL;
		}
		q += sizeof(close) - 1;
		if ((*body = strndup(p, (size_t)(q - p))) == NULL)
			exit(2);
	}
	if (envelope_parse(buf, *size, NULL, &doc, &err) == -1) {
		fprintf(stderr, "bench message refused: %s: %s\n",
		    errcode_name(err.code), err.text);
		doc = NULL;
	}
	free(buf);
	return doc;
}

void
bench_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Is this loopback port free? */
static int
bench_port_free(int port)
{
	struct sockaddr_in sin;
	int fd, ok, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

int
bench_ports(void)
{
	int i, p;

	srand((unsigned)getpid() ^ (unsigned)time(NULL));
	for (i = 0; i < 100; i++) {
		p = 26000 + (rand() % 3000) * 2;
		if (bench_port_free(p) && bench_port_free(p + 1))
			return p;
	}
	return -1;
}

/*
 * The work directory, as tests/helpers/lib.sh make_workdir and tests/shell/demo.sh make
 * theirs: conf/ and the PKI copied, ports rewritten, the control socket's
 * groups mapped to groups every Debian system has.  Only the agreement
 * with France is kept (PKI_DIR holds KZ and FR), and France signs with
 * fr/sign-rsa (Kazakhstan's view of the agreement lists it).
 */
int
bench_prepare(const char *work, const char *src, const char *pki, int port)
{
	static const char script[] =
	    "set -e\n"
	    "cd \"$W\"\n"
	    "cp -R \"$SRC/conf\" conf\n"
	    "cp -pR \"$PKI\" pki\n"
	    "chmod -R u+w .\n"
	    "for f in conf/partners/*.xml; do\n"
	    "  [ \"$f\" = conf/partners/fr.xml ] || rm -f \"$f\"\n"
	    "done\n"
	    "sed -i \"s|port=\\\"8443\\\"|port=\\\"$KZP\\\"|\" conf/accordd.xml\n"
	    "sed -i -e \"s|port=\\\"8444\\\"|port=\\\"$FRP\\\"|\" "
	    "-e 's|fr/sign-ec\\.|fr/sign-rsa.|g' conf/demo-fr/accordd.xml\n"
	    "sed -i \"s|127.0.0.1:8444/|127.0.0.1:$FRP/|\" conf/partners/fr.xml\n"
	    "sed -i \"s|127.0.0.1:8443/|127.0.0.1:$KZP/|\" "
	    "conf/demo-fr/partners/kz.xml\n"
	    "for f in conf/accordd.xml conf/demo-fr/accordd.xml; do\n"
	    "  sed -i -e 's|group=\"accord\">|group=\"daemon\">|' "
	    "-e 's|group=\"accord-read\"|group=\"bin\"|' "
	    "-e 's|group=\"accord-submit\"|group=\"sys\"|' "
	    "-e 's|group=\"accord-admin\"|group=\"adm\"|' \"$f\"\n"
	    "done\n"
	    "grep -q \"port=\\\"$KZP\\\"\" conf/accordd.xml\n"
	    "grep -q 'fr/sign-rsa.key' conf/demo-fr/accordd.xml\n";
	char buf[16];
	int st;

	if (setenv("W", work, 1) == -1 || setenv("SRC", src, 1) == -1 ||
	    setenv("PKI", pki, 1) == -1)
		return -1;
	snprintf(buf, sizeof(buf), "%d", port);
	setenv("KZP", buf, 1);
	snprintf(buf, sizeof(buf), "%d", port + 1);
	setenv("FRP", buf, 1);
	st = system(script);
	return st == 0 ? 0 : -1;
}

int
ctl_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The next complete line (NUL-terminated, no \n) or NULL (EOF, error). */
char *
lb_line(struct linebuf *lb, size_t *used)
{
	char *nl;
	ssize_t n;

	for (;;) {
		if (lb->len > 0 &&
		    (nl = memchr(lb->buf, '\n', lb->len)) != NULL) {
			*nl = '\0';
			*used = (size_t)(nl - lb->buf) + 1;
			return lb->buf;
		}
		if (lb->cap - lb->len < 4096) {
			lb->cap = lb->cap ? lb->cap * 2 : 65536;
			if ((lb->buf = realloc(lb->buf, lb->cap)) == NULL)
				exit(2);
		}
		n = read(lb->fd, lb->buf + lb->len, lb->cap - lb->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		lb->len += (size_t)n;
	}
}

void
lb_consume(struct linebuf *lb, size_t used)
{
	memmove(lb->buf, lb->buf + used, lb->len - used);
	lb->len -= used;
}

/* Connect and read the greeting; -1 if the daemon does not answer. */
int
ctl_open(const char *path, struct linebuf *lb)
{
	size_t used;
	char *l;

	memset(lb, 0, sizeof(*lb));
	if ((lb->fd = ctl_connect(path)) == -1)
		return -1;
	if ((l = lb_line(lb, &used)) == NULL || strstr(l, "\"hello\"") == NULL) {
		close(lb->fd);
		free(lb->buf);
		return -1;
	}
	lb_consume(lb, used);
	return 0;
}

void
ctl_close(struct linebuf *lb)
{
	if (lb->fd != -1)
		close(lb->fd);
	free(lb->buf);
	lb->fd = -1;
	lb->buf = NULL;
}

int
gw_start(const char *daemon, struct gateway *g)
{
	struct linebuf lb;
	double t0;
	int fd, st;

	if ((g->pid = fork()) == -1)
		return -1;
	if (g->pid == 0) {
		if ((fd = open(g->log, O_WRONLY | O_CREAT | O_APPEND,
		    0644)) != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execl(daemon, "accordd", "-d", "-c", g->conf, (char *)NULL);
		_exit(127);
	}
	t0 = bench_now();
	while (bench_now() - t0 < (g->start_secs > 0 ? g->start_secs : 15)) {
		if (waitpid(g->pid, &st, WNOHANG) == g->pid) {
			g->pid = -1;
			g->status = st;
			return -1;
		}
		if (ctl_open(g->sock, &lb) == 0) {
			ctl_close(&lb);
			return 0;
		}
		bench_sleep_ms(50);
	}
	return -1;
}

/* SIGTERM, and wait up to 15 s (then SIGKILL); 0 when it exited 0. */
int
gw_stop(struct gateway *g)
{
	struct rusage ru;
	double t0;
	int st;

	if (g->pid <= 0)
		return -1;
	kill(g->pid, SIGTERM);
	t0 = bench_now();
	memset(&ru, 0, sizeof(ru));
	while (wait4(g->pid, &st, WNOHANG, &ru) != g->pid) {
		if (bench_now() - t0 > 15) {
			fprintf(stderr, "bench: %s gateway (pid %ld) did "
			    "not stop: SIGKILL\n", g->name, (long)g->pid);
			kill(g->pid, SIGKILL);
			wait4(g->pid, &st, 0, &ru);
			break;
		}
		bench_sleep_ms(20);
	}
	g->cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	g->pid = -1;
	g->status = st;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

void
gw_tail(const struct gateway *g)
{
	char cmd[1200];

	fflush(stdout);
	fprintf(stderr, "--- %s's log (%s), last lines:\n", g->name, g->log);
	snprintf(cmd, sizeof(cmd), "tail -n 15 '%s' >&2", g->log);
	if (system(cmd) != 0)
		fprintf(stderr, "(no log)\n");
}
