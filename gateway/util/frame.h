/*
 * frame.h -- messages between Accord's processes over a socketpair: a
 * fixed header (type, length, both 32-bit host order: the two ends are
 * the same binary on the same machine) and the payload.  Blocking, whole
 * frames only; a peer that sends more than the reader's limit, or closes
 * mid-frame, is an error.  Floor 1: libc only.
 */
#ifndef ACCORD_FRAME_H
#define ACCORD_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_MAX	(16u * 1024 * 1024)	/* no payload is larger */

/* Write one frame.  @return 0, or -1 (errno set). */
int frame_write(int fd, uint32_t type, const void *buf, size_t len);

/*
 * Read one frame of at most max payload bytes: *bufp is malloc'd (NUL
 * after the payload; free() it).  @return 1 with a frame, 0 at a clean
 * end of stream (no byte of a frame read), -1 on an error (errno set;
 * EMSGSIZE for a frame over max, EPROTO for a cut one).
 */
int frame_read(int fd, uint32_t *type, char **bufp, size_t *len,
    size_t max);

#endif
