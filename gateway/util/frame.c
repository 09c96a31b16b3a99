/*
 * frame.c -- framed messages between Accord's processes (see frame.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/frame.h"

/* All of len bytes: 0; the end of the stream before any: 1; -1 on an
 * error or an end within them. */
static int
frame_read_all(int fd, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, (char *)buf + got, len - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0 && got == 0)
			return 1;
		if (n == 0)
			errno = EPROTO;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static int
frame_write_all(int fd, const void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = write(fd, (const char *)buf + done, len - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

int
frame_write(int fd, uint32_t type, const void *buf, size_t len)
{
	uint32_t hdr[2];

	if (len > FRAME_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	hdr[0] = type;
	hdr[1] = (uint32_t)len;
	if (frame_write_all(fd, hdr, sizeof(hdr)) == -1 ||
	    (len > 0 && frame_write_all(fd, buf, len) == -1))
		return -1;
	return 0;
}

int
frame_read(int fd, uint32_t *type, char **bufp, size_t *len, size_t max)
{
	uint32_t hdr[2];
	char *buf;
	int rc;

	*bufp = NULL;
	*len = 0;
	if ((rc = frame_read_all(fd, hdr, sizeof(hdr))) != 0)
		return rc == 1 ? 0 : -1;
	if (hdr[1] > max || hdr[1] > FRAME_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	if ((buf = malloc((size_t)hdr[1] + 1)) == NULL)
		return -1;
	if (hdr[1] > 0 && frame_read_all(fd, buf, hdr[1]) != 0) {
		free(buf);
		errno = EPROTO;
		return -1;
	}
	buf[hdr[1]] = '\0';
	*type = hdr[0];
	*bufp = buf;
	*len = hdr[1];
	return 1;
}
