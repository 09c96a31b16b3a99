/*
 * fuzzutil.h -- what the libFuzzer harnesses of tests/fuzz share: where
 * the source tree, the test PKI and the seeded state are, a scratch
 * directory, and quiet logging.  tests/fuzz/run.sh sets the environment.
 */
#ifndef ACCORD_FUZZUTIL_H
#define ACCORD_FUZZUTIL_H

#include <stddef.h>
#include <stdint.h>

/* The harness's entry points (libFuzzer's). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* $NAME, or exit(2) naming it: run.sh sets every one. */
const char *fuzz_env(const char *name);

/* Logging to stderr, errors only ($FUZZ_DEBUG: everything). */
void fuzz_log_init(const char *name);

/* Load the schemas of $ACCORD_DATADIR/protocols (envelope_init) and
 * xmlsec (xmlsig_init); exit(2) on failure. */
void fuzz_envelope_init(void);

/* A fresh directory of this process under $FUZZ_TMP (made once);
 * exit(2) on failure. */
const char *fuzz_scratch(void);

/* Write len bytes to path (truncating it).  @return 0, or -1. */
int fuzz_write(const char *path, const void *p, size_t len);

#endif
