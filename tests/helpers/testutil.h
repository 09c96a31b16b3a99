/*
 * testutil.h -- what the C tests and their generators share.
 */
#ifndef ACCORD_TESTUTIL_H
#define ACCORD_TESTUTIL_H

#include <stddef.h>

#include "util/clock.h"

/* The business document of the valid example of type (from
 * $ACCORD_SRCDIR/protocols/examples), as bytes (free()); NULL if it
 * cannot be read. */
char *test_example_body(const char *type, size_t *len);

/* Turn a ReadmissionReply body's <Accepted> block into a refusal with
 * one ground; doc is replaced (free()) and *len updated.  @return 0, or
 * -1 when doc has no <Accepted> block. */
int test_refuse_body(char **doc, size_t *len);

/* An hour after the test PKI under workdir was made (the notBefore of
 * pki/kz/tls-server.pem): results do not depend on the day the suite
 * runs.  @return 0 when the certificate cannot be read. */
accord_time_t test_pki_time(const char *workdir);

#endif
