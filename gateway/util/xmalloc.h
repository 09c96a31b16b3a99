/*
 * xmalloc.h -- the one answer to allocation failure (STYLE.md habit 13,
 * after OpenBSD's xmalloc.c): log what failed and where, then exit(1).
 *
 * Running out of memory is neither bad input nor a broken invariant:
 * there is nothing to clean up that the restart does not redo, so the
 * caller never sees NULL.  Each function is a macro that passes the call
 * site, so that the log line reads "engine.c:302: xreallocarray(9, 96):
 * Cannot allocate memory".  Floor 1: uses log.h and libc only.
 */
#ifndef ACCORD_XMALLOC_H
#define ACCORD_XMALLOC_H

#include <stddef.h>

#define xmalloc(size)		xmalloc_at((size), __FILE__, __LINE__)
#define xcalloc(n, size)	xcalloc_at((n), (size), __FILE__, __LINE__)
#define xreallocarray(p, n, size) \
	xreallocarray_at((p), (n), (size), __FILE__, __LINE__)
#define xstrdup(s)		xstrdup_at((s), __FILE__, __LINE__)
#define xstrndup(s, n)		xstrndup_at((s), (n), __FILE__, __LINE__)
#define xasprintf(...) \
	xasprintf_at(__FILE__, __LINE__, __VA_ARGS__)
/*
 * Room for one more element after the n that p holds, whose allocated
 * length is *cap elements: when n has reached *cap, *cap doubles (8 at
 * first) and p moves.  Arrays that grow one append at a time use this, so
 * that n appends cost O(n), not O(n^2).  @return p, or where it moved.
 */
#define xgrowarray(p, n, cap, size) \
	xgrowarray_at((p), (n), (cap), (size), __FILE__, __LINE__)
/*
 * A library's allocator failed (xmlNewDoc, EVP_MD_CTX_new, curl_url...):
 * what names the call.  Logs and exits like the functions above.
 */
#define xalloc_failed(what)	xalloc_failed_at((what), __FILE__, __LINE__)

void	*xmalloc_at(size_t, const char *, int);
void	*xcalloc_at(size_t, size_t, const char *, int);
void	*xreallocarray_at(void *, size_t, size_t, const char *, int);
char	*xstrdup_at(const char *, const char *, int);
char	*xstrndup_at(const char *, size_t, const char *, int);
/* @return the formatted string, malloc'd. */
char	*xasprintf_at(const char *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));
void	*xgrowarray_at(void *, size_t, size_t *, size_t, const char *, int);
_Noreturn void xalloc_failed_at(const char *, const char *, int);

#endif
