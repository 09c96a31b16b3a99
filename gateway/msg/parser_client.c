/*
 * parser_client.c -- the engine's end of a parser process's socketpair
 * (msg/parser.h): one request at a time, answered within
 * PARSER_TIMEOUT_MS or not at all.  The engine waits for the answer as it
 * waited for the in-process parse; a parser that dies leaves its parent
 * to answer PARSER_DIED for it (programs/accordd_parse.c).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg/parser.h"
#include "util/frame.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define PCTAG	"parser"

struct parser_client {
	int		 fd;
	uint32_t	 seq;
	unsigned long	 asked, failed;
	pthread_mutex_t	 lock;
};

struct parser_client *
parser_client_new(int fd)
{
	struct parser_client *pc = xcalloc(1, sizeof(*pc));
	struct timeval tv;

	pc->fd = fd;
	/* a frame begun must end within the timeout too */
	tv.tv_sec = PARSER_TIMEOUT_MS / 1000;
	tv.tv_usec = 0;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)
		log_err(PCTAG, "socket timeouts");
	pthread_mutex_init(&pc->lock, NULL);
	return pc;
}

void
parser_client_free(struct parser_client *pc)
{
	if (pc == NULL)
		return;
	close(pc->fd);
	pthread_mutex_destroy(&pc->lock);
	free(pc);
}

void
parser_client_counts(struct parser_client *pc, unsigned long *asked,
    unsigned long *failed)
{
	pthread_mutex_lock(&pc->lock);
	*asked = pc->asked;
	*failed = pc->failed;
	pthread_mutex_unlock(&pc->lock);
}

/* Whatever is unread from before: a late answer, a PARSER_DIED of a
 * parser that died idle, the rest of a frame cut by a timeout. */
static void
parser_client_drain(struct parser_client *pc)
{
	char buf[4096];

	while (recv(pc->fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		continue;
}

/* One request (seq first, then the parts) and its answer, of type *type
 * into *ans (free(); the sequence number taken off).  @return 0, -1. */
static int
parser_client_ask(struct parser_client *pc, uint32_t type, const void *p1,
    size_t l1, const void *p2, size_t l2, uint32_t *got, char **ans,
    size_t *anslen)
{
	struct pollfd pfd;
	uint32_t seq;
	char *req, *buf;
	size_t len;
	int n;

	*ans = NULL;
	parser_client_drain(pc);
	seq = ++pc->seq;
	if (seq == 0)
		seq = pc->seq = 1;	/* 0 is PARSER_DIED's */
	req = xmalloc(sizeof(seq) + l1 + l2);
	memcpy(req, &seq, sizeof(seq));
	memcpy(req + sizeof(seq), p1, l1);
	if (l2 > 0)
		memcpy(req + sizeof(seq) + l1, p2, l2);
	n = frame_write(pc->fd, type, req, sizeof(seq) + l1 + l2);
	free(req);
	if (n == -1) {
		log_err(PCTAG, "asking the parser");
		return -1;
	}
	for (;;) {
		pfd.fd = pc->fd;
		pfd.events = POLLIN;
		if ((n = poll(&pfd, 1, PARSER_TIMEOUT_MS)) == -1 &&
		    errno == EINTR)
			continue;
		if (n == 0) {
			log_errx(PCTAG, "the parser did not answer within "
			    "%d s", PARSER_TIMEOUT_MS / 1000);
			return -1;
		}
		if (n == -1 || (n = frame_read(pc->fd, got, &buf, &len,
		    FRAME_MAX)) != 1) {
			log_errx(PCTAG, "no answer from the parser (%s)",
			    n == 0 ? "it is gone" : strerror(errno));
			return -1;
		}
		if (*got == PARSER_DIED) {
			log_errx(PCTAG, "the parser died reading a message");
			free(buf);
			return -1;
		}
		if (len >= sizeof(seq) && memcmp(buf, &seq, sizeof(seq)) == 0)
			break;
		free(buf);	/* a late answer to an earlier request */
	}
	memmove(buf, buf + sizeof(seq), len - sizeof(seq) + 1);
	*ans = buf;
	*anslen = len - sizeof(seq);
	return 0;
}

int
parser_client_read(struct parser_client *pc, const char *partner,
    const char *bytes, size_t len, const struct envelope_limits *lim,
    accord_time_t now, struct model *m)
{
	struct parser_request rq;
	uint32_t got;
	char *ans;
	size_t anslen;
	int rc = -1;

	memset(&rq, 0, sizeof(rq));
	snprintf(rq.partner, sizeof(rq.partner), "%s", partner);
	rq.max_size = lim != NULL ? (uint32_t)lim->max_size : 0;
	rq.max_depth = lim != NULL ? lim->max_depth : 0;
	rq.now = now;
	memset(m, 0, sizeof(*m));
	pthread_mutex_lock(&pc->lock);
	pc->asked++;
	if (parser_client_ask(pc, PARSER_READ, &rq, sizeof(rq), bytes, len,
	    &got, &ans, &anslen) == 0) {
		if (got == PARSER_MODEL && model_decode(ans, anslen, m) == 0)
			rc = 0;
		else {
			model_clear(m);
			log_errx(PCTAG, "the parser answered no model: %.200s",
			    got == PARSER_FAILED ? ans : "(not one)");
		}
		free(ans);
	}
	if (rc == -1)
		pc->failed++;
	pthread_mutex_unlock(&pc->lock);
	return rc;
}

int
parser_client_reload(struct parser_client *pc)
{
	uint32_t got;
	char *ans;
	size_t anslen;
	int rc = -1;

	pthread_mutex_lock(&pc->lock);
	if (parser_client_ask(pc, PARSER_RELOAD, "", 0, NULL, 0, &got, &ans,
	    &anslen) == 0) {
		rc = got == PARSER_RELOADING ? 0 : -1;
		free(ans);
	}
	pthread_mutex_unlock(&pc->lock);
	if (rc == -1)
		log_errx(PCTAG, "the parser did not take the reload");
	return rc;
}

int
parser_client_view(struct parser_client *pc, const char *bytes, size_t len,
    int reveal, char **out)
{
	uint32_t got, r = reveal != 0;
	char *ans;
	size_t anslen;
	int rc = -1;

	*out = NULL;
	pthread_mutex_lock(&pc->lock);
	pc->asked++;
	if (parser_client_ask(pc, PARSER_VIEW, &r, sizeof(r), bytes, len,
	    &got, &ans, &anslen) == 0) {
		rc = 0;
		if (got == PARSER_VIEWED)
			*out = ans;
		else
			free(ans);
	} else
		pc->failed++;
	pthread_mutex_unlock(&pc->lock);
	return rc;
}
