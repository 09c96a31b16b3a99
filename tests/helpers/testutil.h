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

/* An empty scratch directory $ACCORD_BUILDDIR/tests/tmp/NAME.XXXXXX (its
 * path in dir).  @return 0, or -1 (with a message on stderr). */
int test_scratch(char *dir, size_t size, const char *name);

/*
 * A scratch directory as test_scratch() makes, holding a copy of conf/ and pki, a link to the shared test PKI
 * ($ACCORD_PKI), read in place: made once per build tree, it is not
 * copied for every case.  A test that changes the PKI calls
 * test_pki_own() first.  @return 0, or -1 (with a message on stderr).
 */
int test_workdir(char *dir, size_t size, const char *name);

/* Replace workdir's link to the shared test PKI by a private copy, for a
 * test that changes a file of it.  @return 0, or -1. */
int test_pki_own(const char *workdir);

/* rm -rf dir (a link to the shared PKI in it is removed, not followed).
 * @return 0, or -1. */
int test_rmtree(const char *dir);

/* An hour after the test PKI under workdir was made (the notBefore of
 * pki/kz/tls-server.pem): results do not depend on the day the suite
 * runs.  @return 0 when the certificate cannot be read. */
accord_time_t test_pki_time(const char *workdir);

/* A test program's start with XML: its log (warnings and worse) under
 * name, libxml2, the schemas of $ACCORD_SRCDIR/protocols and xmlsec.
 * @return 0, or -1 (ACCORD_SRCDIR unset, or said on stderr). */
int test_xml_start(const char *name);

/* This thread's CPU time so far, in seconds. */
double test_thread_cpu(void);

/* Burn about sec of this thread's CPU (for tests of where CPU is
 * charged).  @return the seconds burnt. */
double test_burn(double sec);

#endif
