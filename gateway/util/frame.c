/*
 * frame.c -- framed messages between Accord's processes (see frame.h).
 */
#include <sys/uio.h>

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

/* The header and the payload in one writev(2) where the socket takes
 * them whole: one wake-up of the reader per frame, not one for the
 * header and another for the payload. */
static int
frame_write_all(int fd, const void *hdr, size_t hlen, const void *buf,
    size_t len)
{
	struct iovec iov[2];
	size_t done = 0, total = hlen + len, skip;
	ssize_t n;
	int i;

	while (done < total) {
		i = 0;
		if (done < hlen) {
			iov[i].iov_base = (char *)(uintptr_t)hdr + done;
			iov[i++].iov_len = hlen - done;
			skip = 0;
		} else
			skip = done - hlen;
		if (len > skip) {
			iov[i].iov_base = (char *)(uintptr_t)buf + skip;
			iov[i++].iov_len = len - skip;
		}
		n = writev(fd, iov, i);
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
	return frame_write_all(fd, hdr, sizeof(hdr), buf, len);
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
