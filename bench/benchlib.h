/*
 * benchlib.h -- what the benchmark programs share: a monotonic clock,
 * reading a file, and the ~4 KB ReadmissionRequest they all measure.
 */
#ifndef ACCORD_BENCHLIB_H
#define ACCORD_BENCHLIB_H

#include <stddef.h>

#include <libxml/tree.h>

/* Seconds, monotonic: benchmarks measure elapsed time, not the date. */
double bench_now(void);

/* The whole file, NUL-terminated, malloc'd; *lenp (may be NULL) gets its
 * length.  @return NULL when it cannot be read. */
char *bench_slurp(const char *path, size_t *lenp);

/*
 * The example ReadmissionRequest of protocols/examples, Created now,
 * padded with entry evidence to about 4 KB and parsed (hardened, schema
 * valid).  *size gets the envelope's size; body (may be NULL) gets the
 * business document alone, malloc'd, as a back office would submit it.
 * @return the document, or NULL (reported on stderr).
 */
xmlDocPtr bench_request(const char *srcdir, size_t *size, char **body);

#endif
