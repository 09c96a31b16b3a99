/*
 * accordd_listen.c -- the listening sockets of a privilege-separated
 * accordd.  The parent opens them as root before it forks the engine, so
 * that a port below 1024 needs no capability in the engine, and the
 * engine, which inherits them, accepts on them and never binds (README,
 * "Process model").  The parser and the signer are forked before, so
 * they never hold them; the parent closes its copies once the engine
 * has them.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf/config.h"
#include "programs/accordd_listen.h"
#include "util/log.h"

#define LTAG	"accordd"

void
accordd_listen_init(struct accordd_listen *l)
{
	l->inbound = l->metrics = -1;
}

/* One listening TCP socket on address:port.  @return it, or -1. */
static int
accordd_listen_one(const char *address, int port, const char *what)
{
	struct addrinfo hints, *res, *ai;
	char serv[16];
	int fd = -1, one = 1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(serv, sizeof(serv), "%d", port);
	if ((rc = getaddrinfo(address, serv, &hints, &res)) != 0) {
		log_errx(LTAG, "%s: cannot resolve %s: %s", what, address,
		    gai_strerror(rc));
		return -1;
	}
	/* the first address that binds, as libevent's listener takes it */
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1)
			continue;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one)) == -1 || bind(fd, ai->ai_addr,
		    ai->ai_addrlen) == -1 || listen(fd, 128) == -1) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd == -1)
		log_err(LTAG, "%s: cannot listen on %s:%d", what, address, port);
	return fd;
}

int
accordd_listen_open(const struct config *c, struct accordd_listen *l)
{
	accordd_listen_init(l);
	if ((l->inbound = accordd_listen_one(c->listen_address,
	    c->listen_port, "inbound")) == -1)
		return -1;
	if (c->metrics_address != NULL && (l->metrics = accordd_listen_one(
	    c->metrics_address, c->metrics_port, "metrics")) == -1) {
		accordd_listen_close(l);
		return -1;
	}
	return 0;
}

void
accordd_listen_close(struct accordd_listen *l)
{
	if (l->inbound != -1)
		close(l->inbound);
	if (l->metrics != -1)
		close(l->metrics);
	accordd_listen_init(l);
}
