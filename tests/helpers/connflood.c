/*
 * connflood -- hold connections a gateway must not let keep its partners
 * or its operators out (tests/shell/limits.sh).
 *
 *	connflood tcp PORT IDLE HANDSHAKES SECONDS
 *		IDLE TCP connections to 127.0.0.1:PORT that never send a
 *		byte, half of them from 127.0.0.2, the rest from 127.0.0.3
 *		to 127.0.0.22,
 *		and HANDSHAKES TLS handshakes left half open (a ClientHello,
 *		then nothing), from 127.0.0.50 to 127.0.0.54.  Whatever the
 *		server closes is opened again, every 100 ms, for SECONDS.
 *		Prints "ready" once every connection was opened once, then
 *		"connects N closed N" at the end.
 *	connflood unix PATH N SECONDS
 *		N connections to the control socket PATH, as the calling
 *		user, each reading its first line; prints "greeted G refused
 *		R", holds them for SECONDS without a request, then prints
 *		"idle-closed C": how many the server closed meanwhile.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

struct flood_conn {
	int	 fd;
	int	 handshake;	/* a half-open TLS handshake */
	SSL	*ssl;
	char	 src[16];
};

static volatile sig_atomic_t flood_stop;
static SSL_CTX *flood_ctx;
static unsigned long flood_connects, flood_closed;

static void
flood_sigterm(int sig)
{
	flood_stop = 1;
}

static double
flood_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Open c again: from its source address, idle or with a ClientHello. */
static void
flood_open(struct flood_conn *c, int port)
{
	struct sockaddr_in src, dst;
	struct timeval tv = { 1, 0 };
	int fd;

	c->fd = -1;
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return;
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	inet_pton(AF_INET, c->src, &src.sin_addr);
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((unsigned short)port);
	inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
	/* a connect that the backlog holds up gives up after a second */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) == -1 ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) == -1) {
		close(fd);
		return;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	flood_connects++;
	c->fd = fd;
	if (!c->handshake)
		return;
	if ((c->ssl = SSL_new(flood_ctx)) == NULL)
		return;
	SSL_set_fd(c->ssl, fd);
	/* sends the ClientHello and wants the server's answer: never read */
	(void)SSL_connect(c->ssl);
	ERR_clear_error();
}

static void
flood_close(struct flood_conn *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	flood_closed++;
}

static int
flood_tcp(int port, int nidle, int nhs, int seconds)
{
	struct flood_conn *c;
	struct pollfd *pfd;
	char buf[4096];
	double end = flood_now() + seconds;
	int i, n = nidle + nhs, ready = 0;
	ssize_t r;

	if ((flood_ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return 1;
	SSL_CTX_set_verify(flood_ctx, SSL_VERIFY_NONE, NULL);
	if ((c = calloc((size_t)n, sizeof(*c))) == NULL ||
	    (pfd = calloc((size_t)n, sizeof(*pfd))) == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		c[i].handshake = i >= nidle;
		snprintf(c[i].src, sizeof(c[i].src), "127.0.0.%d",
		    c[i].handshake ? 50 + (i - nidle) % 5 :
		    i % 2 == 0 ? 2 : 3 + (i / 2) % 20);
		c[i].fd = -1;
	}
	while (!flood_stop && flood_now() < end) {
		for (i = 0; i < n; i++)
			if (c[i].fd == -1)
				flood_open(&c[i], port);
		if (!ready) {
			printf("ready\n");
			fflush(stdout);
			ready = 1;
		}
		for (i = 0; i < n; i++) {
			pfd[i].fd = c[i].fd;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		if (poll(pfd, (nfds_t)n, 100) == -1 && errno != EINTR)
			break;
		for (i = 0; i < n; i++) {
			if (c[i].fd == -1 || !(pfd[i].revents &
			    (POLLIN | POLLHUP | POLLERR)))
				continue;
			/* the server's hello is left unanswered; EOF is a
			 * close, to be opened again */
			r = read(c[i].fd, buf, sizeof(buf));
			if (r == 0 || (r == -1 && errno != EAGAIN &&
			    errno != EINTR))
				flood_close(&c[i]);
		}
	}
	printf("connects %lu closed %lu\n", flood_connects, flood_closed);
	return 0;
}

static int
flood_unix(const char *path, int n, int seconds)
{
	struct sockaddr_un sun;
	char line[512];
	int i, fd, greeted = 0, refused = 0, closed = 0, *fds;
	ssize_t r;

	if ((fds = calloc((size_t)n, sizeof(*fds))) == NULL)
		return 1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	for (i = 0; i < n; i++) {
		fds[i] = -1;
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
		    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
			if (fd != -1)
				close(fd);
			refused++;
			continue;
		}
		/* the first line: a greeting, or why not */
		r = read(fd, line, sizeof(line) - 1);
		line[r > 0 ? r : 0] = '\0';
		if (strstr(line, "\"hello\"") != NULL) {
			greeted++;
			fds[i] = fd;
		} else {
			refused++;
			close(fd);
		}
	}
	printf("greeted %d refused %d\n", greeted, refused);
	fflush(stdout);
	for (i = 0; i < seconds * 10 && !flood_stop; i++)
		usleep(100000);
	for (i = 0; i < n; i++) {
		if (fds[i] == -1)
			continue;
		fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
		/* closed: an error line and EOF, or EOF */
		while ((r = read(fds[i], line, sizeof(line))) > 0)
			continue;
		if (r == 0)
			closed++;
		close(fds[i]);
	}
	printf("idle-closed %d\n", closed);
	return 0;
}

int
main(int argc, char *argv[])
{
	signal(SIGTERM, flood_sigterm);
	signal(SIGPIPE, SIG_IGN);
	if (argc == 6 && strcmp(argv[1], "tcp") == 0)
		return flood_tcp(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]),
		    atoi(argv[5]));
	if (argc == 5 && strcmp(argv[1], "unix") == 0)
		return flood_unix(argv[2], atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: connflood tcp PORT IDLE HANDSHAKES SECONDS\n"
	    "       connflood unix PATH N SECONDS\n");
	return 2;
}
