/*
 * xmalloc.c -- allocation that never returns NULL (see xmalloc.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/xmalloc.h"

#define XTAG	"xmalloc"

/* The file's last component names the module. */
static const char *
xmalloc_base(const char *file)
{
	const char *slash = strrchr(file, '/');

	return slash != NULL ? slash + 1 : file;
}

void
xalloc_failed_at(const char *what, const char *file, int line)
{
	if (errno == 0)
		errno = ENOMEM;
	log_err(XTAG, "%s:%d: %s", xmalloc_base(file), line, what);
	exit(1);
}

/* One log line naming the call and its arguments, then exit. */
static _Noreturn void
xmalloc_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static _Noreturn void
xmalloc_fail(const char *file, int line, const char *fmt, ...)
{
	char what[128];
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	errno = saved;
	xalloc_failed_at(what, file, line);
}

void *
xmalloc_at(size_t size, const char *file, int line)
{
	void *p;

	if (size == 0)
		size = 1;
	if ((p = malloc(size)) == NULL)
		xmalloc_fail(file, line, "xmalloc(%zu)", size);
	return p;
}

void *
xcalloc_at(size_t n, size_t size, const char *file, int line)
{
	void *p;

	if (n == 0 || size == 0)
		n = size = 1;
	if ((p = calloc(n, size)) == NULL)
		xmalloc_fail(file, line, "xcalloc(%zu, %zu)", n, size);
	return p;
}

void *
xreallocarray_at(void *p, size_t n, size_t size, const char *file, int line)
{
	void *np;

	if (n == 0 || size == 0)
		n = size = 1;
	if ((np = reallocarray(p, n, size)) == NULL)
		xmalloc_fail(file, line, "xreallocarray(%zu, %zu)", n, size);
	return np;
}

char *
xstrdup_at(const char *s, const char *file, int line)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		xmalloc_fail(file, line, "xstrdup(%zu bytes)", strlen(s) + 1);
	return p;
}

char *
xstrndup_at(const char *s, size_t n, const char *file, int line)
{
	char *p;

	if ((p = strndup(s, n)) == NULL)
		xmalloc_fail(file, line, "xstrndup(%zu)", n);
	return p;
}

char *
xasprintf_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		xmalloc_fail(file, line, "xasprintf(\"%.40s\")", fmt);
	return s;
}

void *
xgrowarray_at(void *p, size_t n, size_t *cap, size_t size, const char *file,
    int line)
{
	size_t ncap;

	if (n < *cap)
		return p;
	ncap = *cap > 0 ? *cap : 8;
	while (ncap <= n) {
		if (ncap > SIZE_MAX / 2)
			xmalloc_fail(file, line, "xgrowarray(%zu, %zu)", n,
			    size);
		ncap *= 2;
	}
	p = xreallocarray_at(p, ncap, size, file, line);
	*cap = ncap;
	return p;
}
