/*
 * engine_priv.h -- the engine's handles on its journal and store, for the
 * engine's own files and for white-box tests only (tests/helpers/check_layers.sh
 * refuses it anywhere else in gateway/): the daemon's faces reach state
 * through engine.h and report/, never through these.
 */
#ifndef ACCORD_ENGINE_PRIV_H
#define ACCORD_ENGINE_PRIV_H

#include "engine/engine.h"

/* The journal, for tests that inject write failures (journal_set_io). */
struct journal *engine_journal(struct engine *e);

/* Tests: draw the random part of new case ids with fn (NULL: the real
 * one), to make two draws meet. */
void engine_test_uuid(int (*fn)(char *, size_t));

/* The store the engine applies to. */
struct store *engine_store(struct engine *e);

#endif
