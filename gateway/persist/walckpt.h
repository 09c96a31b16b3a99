/*
 * walckpt.h -- WAL checkpoints of an SQLite database on a thread of their
 * own, off the event loop (the store's, store_ckpt.c, and the key
 * store's).
 *
 * In WAL mode with synchronous=NORMAL a commit writes the WAL and syncs
 * nothing; a checkpoint copies the WAL's pages into the database and
 * syncs both files.  SQLite runs it, by default, inside the commit that
 * takes the WAL past 1,000 pages: on the connection's thread, the loop.
 * walckpt_start() gives that connection a WAL hook in place of the
 * automatic checkpoint; after a commit that leaves the WAL at or past the
 * threshold the hook wakes the thread (a mutex taken for a flag, never
 * held across the checkpoint), which runs a PASSIVE checkpoint on a
 * connection of its own: it never waits for the loop's writes nor makes
 * them wait, and what it cannot copy yet it copies next time.
 */
#ifndef ACCORD_WALCKPT_H
#define ACCORD_WALCKPT_H

#include <stdint.h>

#include <sqlite3.h>

struct walckpt;

/*
 * Checkpoint path (in WAL mode, which db has set) past pages pages of
 * WAL, from a thread; tag names it in the log.  @return it, or NULL
 * (logged; db keeps SQLite's own checkpoints).
 */
struct walckpt *walckpt_start(sqlite3 *db, const char *path, int pages,
    const char *tag);

/* Put the hook on db again (a PRAGMA wal_autocheckpoint replaces it). */
void walckpt_hook(struct walckpt *k, sqlite3 *db);

/* Stop the thread, close its connection; db gets SQLite's own
 * checkpoints again (every pages pages). */
void walckpt_stop(struct walckpt *k, sqlite3 *db, int pages);

/*
 * Is a checkpoint asked for or running?  A checkpoint that runs beside
 * writes cannot copy what they add, and the WAL starts again from its
 * beginning only after one that copied everything: a writer of many
 * commits in a row (a key rotation's slices) waits while this says 1,
 * or the WAL grows without end.
 */
int walckpt_busy(struct walckpt *k);

/* The threshold; the checkpoints run. */
int walckpt_pages(const struct walckpt *k);
uint64_t walckpt_done(struct walckpt *k);

#endif
