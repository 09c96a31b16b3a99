/*
 * file.c -- a whole small file in memory, a directory synced (see
 * file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/file.h"

char *
file_read(const char *path, size_t max, size_t *len)
{
	char *buf = NULL, *nb;
	size_t cap = 0;
	FILE *fp;
	int err;

	*len = 0;
	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	for (;;) {
		if (*len == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((nb = realloc(buf, cap + 1)) == NULL)
				goto fail;
			buf = nb;
		}
		*len += fread(buf + *len, 1, cap - *len, fp);
		if (*len > max) {
			errno = EFBIG;
			goto fail;
		}
		if (*len < cap)
			break;
	}
	if (ferror(fp)) {
		errno = EIO;
		goto fail;
	}
	fclose(fp);
	buf[*len] = '\0';
	return buf;
fail:
	err = errno;
	free(buf);
	fclose(fp);
	errno = err;
	return NULL;
}

int
file_sync_parent(const char *path)
{
	char parent[PATH_MAX], *slash;
	int fd, rc, err;

	snprintf(parent, sizeof(parent), "%s", path);
	if ((slash = strrchr(parent, '/')) == NULL)
		snprintf(parent, sizeof(parent), ".");
	else if (slash == parent)
		parent[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	err = errno;
	close(fd);
	errno = err;
	return rc;
}
