/*
 * test_frame.c -- the frames between Accord's processes (util/frame.c):
 * whole frames both ways, one write per frame, and what a reader makes of
 * a frame over its limit, a cut frame and a clean end.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/frame.h"

struct writer {
	int		 fd;
	const char	*buf;
	size_t		 len;
	int		 rc;
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;

	w->rc = frame_write(w->fd, 7, w->buf, w->len);
	return NULL;
}

/* Frames of every size come back whole, in order, with their type; one
 * larger than the socket's buffer too (written while it is read). */
static void
test_round_trip(void **state)
{
	static const size_t sizes[] = { 0, 1, 8, 4095, 70000 };
	struct writer w;
	pthread_t t;
	uint32_t type;
	size_t i, len, big = 3u * 1024 * 1024;
	char *src, *buf;
	int sp[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	src = malloc(big);
	assert_non_null(src);
	for (i = 0; i < big; i++)
		src[i] = (char)(i * 31 + 7);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		w = (struct writer){ sp[0], src, sizes[i], -1 };
		assert_int_equal(pthread_create(&t, NULL, writer_main, &w), 0);
		assert_int_equal(frame_read(sp[1], &type, &buf, &len,
		    FRAME_MAX), 1);
		pthread_join(t, NULL);
		assert_int_equal(w.rc, 0);
		assert_int_equal(type, 7);
		assert_int_equal(len, sizes[i]);
		assert_memory_equal(buf, src, len);
		assert_int_equal(buf[len], '\0');
		free(buf);
	}
	/* larger than the socketpair's buffer: partial writes resumed */
	w = (struct writer){ sp[0], src, big, -1 };
	assert_int_equal(pthread_create(&t, NULL, writer_main, &w), 0);
	assert_int_equal(frame_read(sp[1], &type, &buf, &len, FRAME_MAX), 1);
	pthread_join(t, NULL);
	assert_int_equal(w.rc, 0);
	assert_int_equal(len, big);
	assert_memory_equal(buf, src, big);
	free(buf);
	free(src);
	close(sp[0]);
	close(sp[1]);
}

/* A frame is one write: on a SOCK_SEQPACKET pair each write is a record,
 * so the header and the payload arrive as one record of both.  (Two
 * writes woke the reader twice: once for the header, once for the
 * rest.) */
static void
test_one_write(void **state)
{
	char buf[2048], payload[1000];
	uint32_t hdr[2];
	ssize_t n;
	int sp[2];

	(void)state;
	memset(payload, 'x', sizeof(payload));
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	assert_int_equal(frame_write(sp[0], 3, payload, sizeof(payload)), 0);
	n = recv(sp[1], buf, sizeof(buf), MSG_DONTWAIT);
	assert_int_equal(n, (ssize_t)(sizeof(hdr) + sizeof(payload)));
	memcpy(hdr, buf, sizeof(hdr));
	assert_int_equal(hdr[0], 3);
	assert_int_equal(hdr[1], sizeof(payload));
	/* nothing more was written */
	assert_int_equal(recv(sp[1], buf, sizeof(buf), MSG_DONTWAIT), -1);
	close(sp[0]);
	close(sp[1]);
}

/* Over the reader's limit: EMSGSIZE; cut short: EPROTO; the writer gone
 * between frames: a clean end (0). */
static void
test_limits_and_ends(void **state)
{
	uint32_t type, hdr[2] = { 5, 100 };
	char *buf = NULL, big[200];
	size_t len;
	int sp[2];

	(void)state;
	memset(big, 'y', sizeof(big));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(frame_write(sp[0], 5, big, sizeof(big)), 0);
	errno = 0;
	assert_int_equal(frame_read(sp[1], &type, &buf, &len, 100), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_null(buf);
	close(sp[0]);
	close(sp[1]);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(write(sp[0], hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	assert_int_equal(write(sp[0], big, 10), 10);
	close(sp[0]);
	errno = 0;
	assert_int_equal(frame_read(sp[1], &type, &buf, &len, FRAME_MAX), -1);
	assert_int_equal(errno, EPROTO);
	assert_null(buf);
	close(sp[1]);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(frame_write(sp[0], 9, "ok", 2), 0);
	close(sp[0]);
	assert_int_equal(frame_read(sp[1], &type, &buf, &len, FRAME_MAX), 1);
	assert_string_equal(buf, "ok");
	free(buf);
	assert_int_equal(frame_read(sp[1], &type, &buf, &len, FRAME_MAX), 0);
	close(sp[1]);

	/* a frame over FRAME_MAX is not written */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	errno = 0;
	assert_int_equal(frame_write(sp[0], 1, big, (size_t)FRAME_MAX + 1),
	    -1);
	assert_int_equal(errno, EMSGSIZE);
	close(sp[0]);
	close(sp[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_one_write),
		cmocka_unit_test(test_limits_and_ends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
