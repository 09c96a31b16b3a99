/*
 * walckpt.c -- WAL checkpoints on a thread (see walckpt.h).
 *
 * bench_transport found the loop of a sending gateway in fdatasync() 12 %
 * of its time when SQLite checkpointed the store inside its commits
 * (three syncs of 5 to 25 ms each, every 2,000 pages or so), and a master
 * key rotation's slices spent 45 to 60 ms in the one commit of many that
 * checkpointed keys.db.  Which thread checkpoints changes nothing of what
 * is durable: it is the same operation.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "persist/walckpt.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct walckpt {
	pthread_t	 thr;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	sqlite3		*db;		/* the thread's own connection */
	char		*path;
	char		*tag;
	int		 pages;		/* the threshold */
	int		 want;		/* the hook asked for one */
	int		 running;	/* one runs now */
	int		 stop;
	uint64_t	 done;		/* checkpoints run */
	uint64_t	 failed;
};

static void *
walckpt_main(void *arg)
{
	struct walckpt *k = arg;
	int rc, nlog, nckpt;

	pthread_mutex_lock(&k->mu);
	for (;;) {
		while (!k->want && !k->stop)
			pthread_cond_wait(&k->cv, &k->mu);
		if (k->stop)
			break;
		k->want = 0;
		k->running = 1;
		pthread_mutex_unlock(&k->mu);
		/* PASSIVE: never the writers' lock, which the loop's next
		 * write would find busy */
		rc = sqlite3_wal_checkpoint_v2(k->db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt);
		pthread_mutex_lock(&k->mu);
		k->running = 0;
		if (rc == SQLITE_OK && nlog >= 0)
			k->done++;
		else if (rc != SQLITE_OK) {
			k->failed++;
			log_warnx(k->tag, "checkpoint: %s (tried again at "
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
walckpt_hook_fn(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct walckpt *k = arg;

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
walckpt_hook(struct walckpt *k, sqlite3 *db)
{
	if (k != NULL && db != NULL)
		sqlite3_wal_hook(db, walckpt_hook_fn, k);
}

/* Read the journal mode on db: @return 0 if it is WAL, else -1. */
static int
walckpt_is_wal(sqlite3 *db)
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

static void
walckpt_free(struct walckpt *k)
{
	if (k->db != NULL && sqlite3_close(k->db) != SQLITE_OK)
		log_warnx(k->tag, "%s: the checkpoint connection: %s",
		    k->path, sqlite3_errmsg(k->db));
	pthread_cond_destroy(&k->cv);
	pthread_mutex_destroy(&k->mu);
	free(k->path);
	free(k->tag);
	free(k);
}

struct walckpt *
walckpt_start(sqlite3 *db, const char *path, int pages, const char *tag)
{
	struct walckpt *k;
	int rc;

	k = xcalloc(1, sizeof(*k));
	k->pages = pages;
	k->path = xstrdup(path);
	k->tag = xstrdup(tag);
	pthread_mutex_init(&k->mu, NULL);
	pthread_cond_init(&k->cv, NULL);
	rc = sqlite3_open_v2(path, &k->db, SQLITE_OPEN_READWRITE, NULL);
	if (rc != SQLITE_OK) {
		log_errx(tag, "%s: the checkpoint connection: %s", path,
		    k->db != NULL ? sqlite3_errmsg(k->db) :
		    sqlite3_errstr(rc));
		goto fail;
	}
	/* its own thread: it may wait for a lock another process holds */
	sqlite3_busy_timeout(k->db, 5000);
	/* a connection finds the WAL when it first reads: until then a
	 * checkpoint is a no-op that says the database is not in WAL mode */
	if (walckpt_is_wal(k->db) == -1) {
		log_errx(tag, "%s: the checkpoint connection does not find "
		    "the database in WAL mode", path);
		goto fail;
	}
	if (pthread_create(&k->thr, NULL, walckpt_main, k) != 0) {
		log_errx(tag, "%s: cannot start the checkpoint thread", path);
		goto fail;
	}
	walckpt_hook(k, db);	/* in place of the automatic one */
	return k;
fail:
	walckpt_free(k);
	return NULL;
}

void
walckpt_stop(struct walckpt *k, sqlite3 *db, int pages)
{
	if (k == NULL)
		return;
	pthread_mutex_lock(&k->mu);
	k->stop = 1;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
	pthread_join(k->thr, NULL);
	walckpt_free(k);
	/* SQLite's own checkpoints again, as for any connection */
	if (db != NULL)
		sqlite3_wal_autocheckpoint(db, pages);
}

int
walckpt_pages(const struct walckpt *k)
{
	return k != NULL ? k->pages : 0;
}

int
walckpt_busy(struct walckpt *k)
{
	int busy;

	if (k == NULL)
		return 0;
	pthread_mutex_lock(&k->mu);
	busy = k->want || k->running;
	pthread_mutex_unlock(&k->mu);
	return busy;
}

uint64_t
walckpt_done(struct walckpt *k)
{
	uint64_t n;

	if (k == NULL)
		return 0;
	pthread_mutex_lock(&k->mu);
	n = k->done;
	pthread_mutex_unlock(&k->mu);
	return n;
}
