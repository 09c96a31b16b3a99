/*
 * file.h -- a whole small file in memory (a document given with
 * key=@FILE, a key read once at start), and a new file's name made
 * durable.  Floor 1: libc only.
 */
#ifndef ACCORD_FILE_H
#define ACCORD_FILE_H

#include <stddef.h>

/*
 * The content of path, NUL-terminated (the NUL not counted in *len), at
 * most max bytes.  @return it (free()), or NULL with errno set (EFBIG
 * when the file is larger than max).
 */
char *file_read(const char *path, size_t max, size_t *len);

/* fsync the directory holding path (a file created or renamed there).
 * @return 0, or -1 with errno set. */
int file_sync_parent(const char *path);

#endif
