/*
 * bench_journal.c -- journal throughput for 4 KB records at batch sizes 1,
 * 10 and 100, against the raw rate of 4 KB append + fdatasync measured on
 * the same disk in the same run (PITFALLS.md 12: the fsync is the cost, so
 * group commit is the lever).
 *
 *	bench_journal DIR [SECONDS-PER-ROW]
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "persist/journal.h"
#include "util/log.h"

#define RECSZ	4096

/* Elapsed time, not wall-clock time: clock_now() is for the latter. */
static double
bench_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
bench_rmdir(const char *dir)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* 4 KB appends, each followed by fdatasync: the floor under one commit. */
static double
bench_raw(const char *base, double secs)
{
	char path[1100], buf[RECSZ];
	double t0, el;
	off_t off = 0;
	long n = 0;
	int fd;

	memset(buf, 'r', sizeof(buf));
	snprintf(path, sizeof(path), "%s/raw.dat", base);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1) {
		perror(path);
		return -1;
	}
	t0 = bench_mono();
	do {
		if (pwrite(fd, buf, sizeof(buf), off) != (ssize_t)sizeof(buf) ||
		    fdatasync(fd) == -1) {
			perror(path);
			close(fd);
			return -1;
		}
		off += RECSZ;
		n++;
		el = bench_mono() - t0;
	} while (el < secs);
	close(fd);
	unlink(path);
	return (double)n / el;
}

static int
bench_batch(const char *base, int batch, double secs, EVP_PKEY *key,
    double raw)
{
	static uint8_t rec[RECSZ];
	struct journal_params p;
	struct journal_stats st0, st;
	struct journal *j;
	char dir[1100];
	double t0, el;
	uint64_t n = 0;
	int i, rc = -1;

	memset(rec, 'j', sizeof(rec));
	snprintf(dir, sizeof(dir), "%s/b%d", base, batch);
	bench_rmdir(dir);
	journal_params_default(&p, dir);
	p.sign_key = key;
	if ((j = journal_open(&p)) == NULL)
		return -1;
	journal_get_stats(j, &st0);
	t0 = bench_mono();
	do {
		for (i = 0; i < batch; i++)
			if (journal_append(j, JOURNAL_MESSAGE_RECEIVED, rec,
			    sizeof(rec), NULL) == -1)
				goto done;
		if (journal_commit(j) == -1)
			goto done;
		n += (uint64_t)batch;
		el = bench_mono() - t0;
	} while (el < secs);
	journal_get_stats(j, &st);
	printf("%6d %12.0f %10.0f %10.0f %8.1f %11.2f %10.1f\n", batch,
	    (double)n / el, (double)(st.commits - st0.commits) / el,
	    (double)(st.fsyncs - st0.fsyncs) / el,
	    (double)n * RECSZ / el / 1e6,
	    (double)(st.commits - st0.commits) / el / raw,
	    (double)n / el / raw);
	rc = 0;
done:
	journal_close(j);
	bench_rmdir(dir);
	return rc;
}

int
main(int argc, char *argv[])
{
	static const int batches[] = { 1, 10, 100 };
	EVP_PKEY *key;
	double raw, secs = 2.0;
	size_t i;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: bench_journal DIR [SECONDS]\n");
		return 2;
	}
	if (argc == 3)
		secs = atof(argv[2]);
	log_init("bench_journal", 1, LOG_LVL_WARN);
	if (mkdir(argv[1], 0700) == -1 && errno != EEXIST) {
		perror(argv[1]);
		return 1;
	}
	/* Checkpoints as in production: a P-256 key, the default interval. */
	if ((key = EVP_EC_gen("P-256")) == NULL)
		return 1;
	if ((raw = bench_raw(argv[1], secs)) <= 0)
		return 1;
	printf("journal: 4 KB records, group commit (directory %s)\n",
	    argv[1]);
	printf("raw 4 KB append + fdatasync: %.0f/s (%.3f ms each)\n\n", raw,
	    1000.0 / raw);
	printf("%6s %12s %10s %10s %8s %11s %10s\n", "batch", "records/s",
	    "commits/s", "fsyncs/s", "MB/s", "commits/raw", "recs/raw");
	for (i = 0; i < sizeof(batches) / sizeof(batches[0]); i++)
		if (bench_batch(argv[1], batches[i], secs, key, raw) == -1) {
			EVP_PKEY_free(key);
			return 1;
		}
	EVP_PKEY_free(key);
	return 0;
}
