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

/* The store the engine applies to. */
struct store *engine_store(struct engine *e);

#endif
