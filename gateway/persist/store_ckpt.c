/*
 * store_ckpt.c -- the store's WAL checkpoints off the event loop.
 *
 * In WAL mode with synchronous=NORMAL a commit writes the WAL and syncs
 * nothing; a checkpoint copies the WAL's pages into the database and
 * syncs both files.  SQLite runs it, by default, inside the commit that
 * takes the WAL past 1,000 pages -- on the daemon's loop thread, where
 * bench_transport found the loop of a sending gateway in fdatasync() 12 %
 * of its time (three syncs of 5 to 25 ms each, every 2,000 pages or so).
 *
 * Here a thread with a connection of its own runs them instead: the loop's
 * connection gets a WAL hook in place of the automatic checkpoint, which
 * after a commit that leaves the WAL at or past the threshold wakes the
 * thread (a mutex taken for a flag, never held across the checkpoint).
 * The thread runs a PASSIVE checkpoint, which never waits for the loop's
 * writes nor makes them wait; what it cannot copy yet it copies next time.
 * Which thread checkpoints changes nothing of what is durable: the store
 * is rebuilt from the journal, and a checkpoint is the same operation.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "persist/store.h"
#include "persist/store_priv.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct store_ckpt {
	pthread_t	 thr;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	sqlite3		*db;		/* the thread's own connection */
	int		 pages;		/* the threshold */
	int		 want;		/* the hook asked for one */
	int		 stop;
	uint64_t	 done;		/* checkpoints run */
	uint64_t	 failed;
};

static void *
store_ckpt_main(void *arg)
{
	struct store_ckpt *k = arg;
	int rc, nlog, nckpt;

	pthread_mutex_lock(&k->mu);
	for (;;) {
		while (!k->want && !k->stop)
			pthread_cond_wait(&k->cv, &k->mu);
		if (k->stop)
			break;
		k->want = 0;
		pthread_mutex_unlock(&k->mu);
		rc = sqlite3_wal_checkpoint_v2(k->db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt);
		pthread_mutex_lock(&k->mu);
		if (rc == SQLITE_OK && nlog >= 0)
			k->done++;
		else if (rc != SQLITE_OK) {
			k->failed++;
			log_warnx("store", "checkpoint: %s (tried again at "
			    "the next commit past %d pages)",
			    sqlite3_errmsg(k->db), k->pages);
		}
	}
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

/* The loop connection's WAL hook: after each commit, with the WAL's size
 * in pages. */
static int
store_ckpt_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store_ckpt *k = arg;

	(void)db;
	(void)name;
	if (pages >= k->pages) {
		pthread_mutex_lock(&k->mu);
		k->want = 1;
		pthread_cond_signal(&k->cv);
		pthread_mutex_unlock(&k->mu);
	}
	return SQLITE_OK;
}

void
store_ckpt_hook_install(struct store *st)
{
	if (st->ckpt != NULL && st->db != NULL)
		sqlite3_wal_hook(st->db, store_ckpt_hook, st->ckpt);
}

/* Read the journal mode on db: @return 0 if it is WAL, else -1. */
static int
store_ckpt_wal(sqlite3 *db)
{
	sqlite3_stmt *s;
	int rc = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) !=
	    NULL && strcmp((const char *)sqlite3_column_text(s, 0), "wal") ==
	    0)
		rc = 0;
	sqlite3_finalize(s);
	return rc;
}

int
store_checkpointer_start(struct store *st, int pages)
{
	struct store_ckpt *k;
	int rc;

	if (st->readonly || st->ckpt != NULL)
		return 0;
	k = xcalloc(1, sizeof(*k));
	k->pages = pages > 0 ? pages : STORE_CKPT_PAGES;
	pthread_mutex_init(&k->mu, NULL);
	pthread_cond_init(&k->cv, NULL);
	rc = sqlite3_open_v2(st->path, &k->db, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		log_errx("store", "%s: the checkpoint connection: %s",
		    st->path, k->db != NULL ? sqlite3_errmsg(k->db) :
		    sqlite3_errstr(rc));
		goto fail;
	}
	/* its own thread: it may wait for a lock another process holds */
	sqlite3_busy_timeout(k->db, 5000);
	/* a connection finds the WAL when it first reads: until then a
	 * checkpoint is a no-op that says the database is not in WAL mode */
	if (store_ckpt_wal(k->db) == -1) {
		log_errx("store", "%s: the checkpoint connection does not "
		    "find the database in WAL mode", st->path);
		goto fail;
	}
	if (pthread_create(&k->thr, NULL, store_ckpt_main, k) != 0) {
		log_errx("store", "%s: cannot start the checkpoint thread",
		    st->path);
		goto fail;
	}
	st->ckpt = k;
	store_ckpt_hook_install(st);	/* in place of the automatic one */
	return 0;
fail:
	sqlite3_close(k->db);
	pthread_cond_destroy(&k->cv);
	pthread_mutex_destroy(&k->mu);
	free(k);
	return -1;
}

void
store_checkpointer_stop(struct store *st)
{
	struct store_ckpt *k = st->ckpt;

	if (k == NULL)
		return;
	pthread_mutex_lock(&k->mu);
	k->stop = 1;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
	pthread_join(k->thr, NULL);
	if (sqlite3_close(k->db) != SQLITE_OK)
		log_warnx("store", "%s: the checkpoint connection: %s",
		    st->path, sqlite3_errmsg(k->db));
	pthread_cond_destroy(&k->cv);
	pthread_mutex_destroy(&k->mu);
	free(k);
	st->ckpt = NULL;
	/* SQLite's own checkpoints again, as for any connection */
	if (st->db != NULL)
		sqlite3_wal_autocheckpoint(st->db, STORE_CKPT_PAGES);
}

int
store_checkpointer_pages(const struct store *st)
{
	return st->ckpt != NULL ? st->ckpt->pages : 0;
}

uint64_t
store_checkpoints(struct store *st)
{
	uint64_t n;

	if (st->ckpt == NULL)
		return 0;
	pthread_mutex_lock(&st->ckpt->mu);
	n = st->ckpt->done;
	pthread_mutex_unlock(&st->ckpt->mu);
	return n;
}
