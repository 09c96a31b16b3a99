/*
 * journal_read.c -- the journal's reader: the files of a directory (or a
 * list of copies) in order, every record's hash, the chain across files,
 * the journal's own records and, with a key, checkpoint signatures; the
 * first break found is reported with file, offset, record number and
 * whether it may be a torn tail.  journal_open() reads through it, and
 * the engine (replaying into the store) and the audit read with it.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "persist/journal.h"
#include "persist/journal_priv.h"
#include "util/log.h"
#include "util/xmalloc.h"

static uint64_t journal_reads_at;	/* test hook: direct reads */
static uint64_t journal_scans;		/* test hook: readers opened */

struct journal_reader {
	char			**files;
	size_t			 nfiles;
	size_t			 capfiles;
	size_t			 cur;		/* index of the loaded file */
	int			 loaded;
	int			 dir_mode;	/* names are journal-N.log */
	int			 anchor;	/* first prev hash on trust */
	int			 resumed;	/* the next record on trust too */
	EVP_PKEY		*key;

	uint8_t			*data;		/* the whole current file */
	size_t			 datacap;	/* reused from file to file */
	size_t			 size;
	size_t			 off;
	int			 first_in_file;

	int			 started;
	uint64_t		 expect;
	uint8_t			 prev[JOURNAL_HASH_LEN];
	uint32_t		 prev_file_no;
	unsigned int		 file_version;	/* of the file being read */

	int			 broken;
	struct journal_break	 brk;
};

static int
journal_cmp_names(const void *a, const void *b)
{
	uint32_t x = journal_name_number(*(char *const *)a);
	uint32_t y = journal_name_number(*(char *const *)b);

	return x < y ? -1 : x > y;
}

static struct journal_reader *
journal_reader_new(void)
{
	struct journal_reader *r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_err(JTAG, "calloc");
		return NULL;
	}
	r->expect = 1;
	__atomic_add_fetch(&journal_scans, 1, __ATOMIC_RELAXED);
	return r;
}

static void
journal_reader_add(struct journal_reader *r, const char *path)
{
	r->files = xgrowarray(r->files, r->nfiles, &r->capfiles,
	    sizeof(*r->files));
	r->files[r->nfiles++] = xstrdup(path);
}

/* Add every journal-NNNNNN.log of dir to r's list.  @return 0, or -1
 * after logging; a missing dir is no error when may_miss is set. */
static int
journal_reader_list(struct journal_reader *r, const char *dir, int may_miss)
{
	struct dirent *de;
	char path[PATH_MAX];
	DIR *d;
	int rc = -1;

	if ((d = opendir(dir)) == NULL) {
		if (may_miss && errno == ENOENT)
			return 0;
		log_err(JTAG, "%s", dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (journal_name_number(de->d_name) == 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    de->d_name) >= sizeof(path)) {
			log_errx(JTAG, "%s: path too long", dir);
			goto done;
		}
		journal_reader_add(r, path);
	}
	rc = 0;
done:
	closedir(d);
	return rc;
}

/* Fill r's list with the files of dir and dir/archive, in order, each
 * number once.  @return 0, or -1 after logging. */
static int
journal_reader_list_dir(struct journal_reader *r, const char *dir)
{
	char archive[PATH_MAX];
	size_t i;

	snprintf(archive, sizeof(archive), "%s/archive", dir);
	if (journal_reader_list(r, dir, 0) == -1 ||
	    journal_reader_list(r, archive, 1) == -1)
		return -1;
	if (r->nfiles > 0)
		qsort(r->files, r->nfiles, sizeof(*r->files),
		    journal_cmp_names);
	for (i = 1; i < r->nfiles; i++)
		if (journal_name_number(r->files[i]) ==
		    journal_name_number(r->files[i - 1])) {
			log_errx(JTAG, "%s and %s: the same journal file "
			    "twice", r->files[i - 1], r->files[i]);
			return -1;
		}
	return 0;
}

char **
journal_list_files(const char *dir, size_t *np)
{
	struct journal_reader r;
	char **out;

	memset(&r, 0, sizeof(r));
	if (journal_reader_list_dir(&r, dir) == -1) {
		while (r.nfiles > 0)
			free(r.files[--r.nfiles]);
		free(r.files);
		return NULL;
	}
	out = xreallocarray(r.files, r.nfiles + 1, sizeof(*out));
	out[r.nfiles] = NULL;
	*np = r.nfiles;
	return out;
}

/* Drop the first n files of r's list. */
static void
journal_reader_skip(struct journal_reader *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(r->files[i]);
	memmove(r->files, r->files + n, (r->nfiles - n) * sizeof(*r->files));
	r->nfiles -= n;
}

struct journal_reader *
journal_reader_open_from(const char *dir, uint32_t from, size_t last)
{
	struct journal_reader *r;
	size_t skip = 0;

	if ((r = journal_reader_new()) == NULL)
		return NULL;
	r->dir_mode = 1;
	if (journal_reader_list_dir(r, dir) == -1) {
		journal_reader_close(r);
		return NULL;
	}
	while (skip < r->nfiles &&
	    journal_name_number(r->files[skip]) < from)
		skip++;
	if (last > 0 && r->nfiles - skip > last)
		skip = r->nfiles - last;
	if (skip > 0) {
		journal_reader_skip(r, skip);
		r->anchor = 1;	/* the files before were left out */
	}
	return r;
}

struct journal_reader *
journal_reader_open(const char *dir)
{
	return journal_reader_open_from(dir, 0, 0);
}

struct journal_reader *
journal_reader_open_files(const char *const *files, size_t n,
    int allow_anchor)
{
	struct journal_reader *r;
	size_t i;

	if ((r = journal_reader_new()) == NULL)
		return NULL;
	r->anchor = allow_anchor;
	for (i = 0; i < n; i++)
		journal_reader_add(r, files[i]);
	return r;
}

void
journal_reader_set_key(struct journal_reader *r, EVP_PKEY *key)
{
	r->key = key;
}

const struct journal_break *
journal_reader_break(const struct journal_reader *r)
{
	return r->broken ? &r->brk : NULL;
}

void
journal_reader_close(struct journal_reader *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nfiles; i++)
		free(r->files[i]);
	free(r->files);
	free(r->data);
	free(r);
}

/* Record the first break.  A break that may be a torn write counts as torn
 * only in the last file, where an interrupted append can leave one. */
static int
journal_reader_fail(struct journal_reader *r, int may_be_torn,
    const char *fmt, ...)
{
	va_list ap;

	r->broken = 1;
	snprintf(r->brk.file, sizeof(r->brk.file), "%s", r->files[r->cur]);
	r->brk.offset = r->off;
	r->brk.recno = r->expect;
	r->brk.file_index = r->cur;
	r->brk.torn = may_be_torn && r->cur + 1 == r->nfiles;
	r->brk.tail_len = r->size - r->off;
	va_start(ap, fmt);
	vsnprintf(r->brk.reason, sizeof(r->brk.reason), fmt, ap);
	va_end(ap);
	return -1;
}

static int
journal_reader_load(struct journal_reader *r)
{
	const char *path = r->files[r->cur];
	struct stat sb;
	size_t got = 0;
	ssize_t n;
	int fd, rc = -1;

	r->size = r->off = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		journal_reader_fail(r, 0, "cannot read: %s", strerror(errno));
		goto done;
	}
	/* one buffer for every file: a new one per file was mapped and
	 * zeroed by the kernel again, each time (a tenth of a rebuild) */
	if (r->data == NULL || r->datacap < (size_t)sb.st_size) {
		free(r->data);
		r->datacap = sb.st_size > 0 ? (size_t)sb.st_size : 1;
		if ((r->data = malloc(r->datacap)) == NULL) {
			r->datacap = 0;
			journal_reader_fail(r, 0, "out of memory");
			goto done;
		}
	}
	while (got < (size_t)sb.st_size) {
		n = read(fd, r->data + got, (size_t)sb.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			journal_reader_fail(r, 0, "cannot read: %s",
			    n == 0 ? "short file" : strerror(errno));
			goto done;
		}
		got += (size_t)n;
	}
	r->size = got;
	r->loaded = 1;
	r->first_in_file = 1;
	rc = 0;
done:
	if (fd != -1)
		close(fd);
	return rc;
}

static int
journal_all_zero(const uint8_t *p, size_t n)
{
	while (n-- > 0)
		if (*p++ != 0)
			return 0;
	return 1;
}

/* The checks of the journal's own records, beyond the chain. */
static int
journal_reader_check_own(struct journal_reader *r,
    const struct journal_rec *rec)
{
	struct journal_file_start fs;
	struct journal_torn_cut tc;
	struct journal_checkpoint cp;
	char want[JOURNAL_NAME_MAX];
	uint32_t named;

	switch (rec->kind) {
	case JOURNAL_FILE_START:
		if (journal_decode_file_start(rec, &fs) == -1)
			return journal_reader_fail(r, 0,
			    "malformed FILE_START");
		named = journal_name_number(r->files[r->cur]);
		if (r->dir_mode && named != fs.number)
			return journal_reader_fail(r, 0, "FILE_START says file "
			    "%" PRIu32 ", the file's name says %" PRIu32,
			    fs.number, named);
		if (r->resumed || (!r->started && r->anchor))
			break;
		if (!r->started && fs.number != 1) {
			journal_name(fs.number - 1, want, sizeof(want));
			return journal_reader_fail(r, 0, "the journal begins "
			    "at file %" PRIu32 ": %s and before are missing",
			    fs.number, want);
		}
		if (r->started && fs.number != r->prev_file_no + 1) {
			journal_name(r->prev_file_no + 1, want, sizeof(want));
			return journal_reader_fail(r, 0, "missing file %s "
			    "(FILE_START says file %" PRIu32 ")", want,
			    fs.number);
		}
		if (r->started)
			journal_name(r->prev_file_no, want, sizeof(want));
		else
			want[0] = '\0';
		if (strcmp(fs.prev_file, want) != 0)
			return journal_reader_fail(r, 0, "FILE_START names "
			    "previous file \"%s\", expected \"%s\"",
			    fs.prev_file, want);
		break;
	case JOURNAL_TORN_TAIL_CUT:
		if (journal_decode_torn_cut(rec, &tc) == -1)
			return journal_reader_fail(r, 0,
			    "malformed TORN_TAIL_CUT");
		break;
	case JOURNAL_CHECKPOINT:
		if (journal_decode_checkpoint(rec, &cp) == -1)
			return journal_reader_fail(r, 0,
			    "malformed CHECKPOINT");
		if (cp.seq + 1 != rec->seq ||
		    memcmp(cp.chain, rec->prev, JOURNAL_HASH_LEN) != 0)
			return journal_reader_fail(r, 0, "CHECKPOINT does not "
			    "cover the record before it");
		if (r->key != NULL && journal_verify_checkpoint(rec,
		    r->key) == -1)
			return journal_reader_fail(r, 0, "CHECKPOINT signature "
			    "does not verify");
		break;
	default:
		break;
	}
	return 0;
}

/* A record's bytes at p (rem of them to the end of the file). */
int
journal_record_parse(const uint8_t *p, size_t rem, struct journal_rec *rec,
    size_t *total, int *torn, char *why, size_t whylen)
{
	uint8_t calc[JOURNAL_HASH_LEN];
	unsigned int version, kind;
	const char *bad;
	uint32_t len;
	size_t hl;

	*torn = 0;
	if (rem < JOURNAL_HEADER_LEN) {
		*torn = 1;
		snprintf(why, whylen, "incomplete header (%zu bytes)", rem);
		return -1;
	}
	if (memcmp(p, JOURNAL_MAGIC, 4) != 0) {
		snprintf(why, whylen, "bad magic");
		return -1;
	}
	version = journal_get16(p + 4);
	kind = journal_get16(p + 6);
	len = journal_get32(p + 24);
	/* the header's length is the version's (journal.h): 64 bytes
	 * every version begins with say which */
	if ((hl = journal_header_len(version)) == 0) {
		snprintf(why, whylen, "unsupported format version %u",
		    version);
		return -1;
	}
	if (kind == 0 || kind > JOURNAL_KIND_MAX) {
		snprintf(why, whylen, "unknown kind %u", kind);
		return -1;
	}
	if (len > JOURNAL_MAX_PAYLOAD) {
		snprintf(why, whylen, "payload length %" PRIu32 " over the "
		    "limit", len);
		return -1;
	}
	if (rem < hl) {
		*torn = 1;
		snprintf(why, whylen, "incomplete header (%zu bytes)", rem);
		return -1;
	}
	*total = hl + (size_t)len + JOURNAL_TRAILER_LEN;
	if (*total > rem) {
		*torn = 1;
		snprintf(why, whylen, "incomplete record (%zu of %zu bytes)",
		    rem, *total);
		return -1;
	}
	if ((bad = journal_check(p, *total, calc)) != NULL) {
		*torn = *total == rem;
		snprintf(why, whylen, "%s%s", bad, *total == rem ?
		    " (last record)" : "");
		return -1;
	}
	journal_fill(rec, p, calc);
	return 0;
}

int
journal_reader_resume(struct journal_reader *r, size_t file, uint64_t offset)
{
	uint32_t no;

	if (file >= r->nfiles)
		return -1;
	if (!r->loaded || file != r->cur) {
		r->broken = 0;
		r->cur = file;
		r->loaded = 0;
		/* a file that cannot be read is the next break */
		if (journal_reader_load(r) == -1)
			return 0;
	}
	if (offset > r->size)
		return -1;
	r->broken = 0;
	r->off = (size_t)offset;
	r->first_in_file = offset == 0;
	r->resumed = 1;
	/* the file the next FILE_START must follow, if it is a mid-file
	 * resumption */
	if ((no = journal_name_number(r->files[file])) != 0)
		r->prev_file_no = no;
	return 0;
}

int
journal_reader_next(struct journal_reader *r, struct journal_rec *rec)
{
	const uint8_t *h;
	char why[256];
	size_t rem, total;
	unsigned int version, kind;
	uint64_t seq;
	int torn, trusted;

	if (r->broken)
		return -1;
	for (;;) {
		if (!r->loaded) {
			if (r->cur >= r->nfiles)
				return 0;
			if (journal_reader_load(r) == -1)
				return -1;
		}
		if (r->off < r->size)
			break;
		if (r->first_in_file)
			return journal_reader_fail(r, 1, "empty file");
		r->loaded = 0;
		r->cur++;
	}

	h = r->data + r->off;
	rem = r->size - r->off;
	if (journal_all_zero(h, rem))
		return journal_reader_fail(r, 1, "zero bytes to the end of "
		    "the file");
	if (journal_record_parse(h, rem, rec, &total, &torn, why,
	    sizeof(why)) == -1)
		return journal_reader_fail(r, torn, "%s", why);
	kind = rec->kind;
	seq = rec->seq;
	version = rec->version;
	/* read on trust after a resumption: its file's format is the
	 * record's */
	if (r->resumed || (r->anchor && !r->started))
		r->file_version = version;
	if (r->first_in_file && kind != JOURNAL_FILE_START)
		return journal_reader_fail(r, 0, "file does not begin with "
		    "FILE_START");
	if (!r->first_in_file && kind == JOURNAL_FILE_START)
		return journal_reader_fail(r, 0, "FILE_START inside a file");
	/* One format per file, and never back to an older one: a writer
	 * upgraded starts a new file. */
	if (!r->first_in_file && version != r->file_version)
		return journal_reader_fail(r, 0, "format version %u in a file "
		    "of version %u", version, r->file_version);
	if (r->first_in_file && version < r->file_version)
		return journal_reader_fail(r, 0, "format version %u after a "
		    "file of version %u", version, r->file_version);

	rec->file = r->files[r->cur];
	rec->file_no = journal_name_number(rec->file);
	rec->offset = r->off;
	trusted = r->resumed || (r->anchor && !r->started);
	if (trusted)
		r->expect = seq;
	/* Before the chain: a missing file is named as such, not as the
	 * broken sequence it causes. */
	if (journal_reader_check_own(r, rec) == -1)
		return -1;
	if (seq != r->expect)
		return journal_reader_fail(r, 0, "sequence number %" PRIu64
		    ", expected %" PRIu64, seq, r->expect);
	if (!trusted && memcmp(rec->prev, r->prev, JOURNAL_HASH_LEN) != 0)
		return journal_reader_fail(r, 0, "chain broken: the previous "
		    "hash is not the previous record's");
	if (kind == JOURNAL_FILE_START) {
		r->prev_file_no = journal_get32(rec->payload);
		r->file_version = version;
	}

	r->started = 1;
	r->resumed = 0;
	r->first_in_file = 0;
	r->expect = seq + 1;
	memcpy(r->prev, rec->hash, JOURNAL_HASH_LEN);
	r->off += total;
	return 1;
}

/* ---- one record where the store says it is ------------------------------ */

uint64_t
journal_read_count(uint64_t *scans)
{
	if (scans != NULL)
		*scans = __atomic_load_n(&journal_scans, __ATOMIC_RELAXED);
	return __atomic_load_n(&journal_reads_at, __ATOMIC_RELAXED);
}

/* Read exactly len bytes at off.  @return 0, or -1 (errno, or short). */
static int
journal_pread_all(int fd, void *buf, size_t len, off_t off)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = pread(fd, (uint8_t *)buf + got, len - got,
		    off + (off_t)got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* The file of number no: in dir, or sealed in dir/archive. */
static int
journal_open_numbered(const char *dir, uint32_t no)
{
	char name[JOURNAL_NAME_MAX], path[PATH_MAX];
	int fd;

	journal_name(no, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1 || errno != ENOENT)
		return fd;
	snprintf(path, sizeof(path), "%s/archive/%s", dir, name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

int
journal_read_at(const char *dir, const struct journal_pos *pos,
    struct journal_rec *rec, uint8_t **bufp)
{
	uint8_t hdr[JOURNAL_HEADER_LEN], calc[JOURNAL_HASH_LEN], *buf = NULL;
	const char *why = NULL;
	uint32_t len = 0;
	size_t hl = 0, total;
	int fd, rc = -1;

	*bufp = NULL;
	__atomic_add_fetch(&journal_reads_at, 1, __ATOMIC_RELAXED);
	if ((fd = journal_open_numbered(dir, pos->file)) == -1) {
		log_err(JTAG, "record %" PRIu64 ": file %" PRIu32,
		    pos->seq, pos->file);
		return -1;
	}
	/* the part every version begins with, then the rest */
	if (journal_pread_all(fd, hdr, sizeof(hdr), (off_t)pos->offset) ==
	    -1 || memcmp(hdr, JOURNAL_MAGIC, 4) != 0 ||
	    (hl = journal_header_len(journal_get16(hdr + 4))) == 0 ||
	    journal_get64(hdr + 8) != pos->seq ||
	    (len = journal_get32(hdr + 24)) > JOURNAL_MAX_PAYLOAD) {
		log_warnx(JTAG, "record %" PRIu64 " is not at file %"
		    PRIu32 " offset %" PRIu64, pos->seq, pos->file,
		    pos->offset);
		goto done;
	}
	total = hl + (size_t)len + JOURNAL_TRAILER_LEN;
	buf = xmalloc(total + 1);
	memcpy(buf, hdr, sizeof(hdr));
	if (journal_pread_all(fd, buf + sizeof(hdr), total - sizeof(hdr),
	    (off_t)(pos->offset + sizeof(hdr))) == -1 ||
	    (why = journal_check(buf, total, calc)) != NULL) {
		log_warnx(JTAG, "record %" PRIu64 " at file %" PRIu32
		    " offset %" PRIu64 ": %s", pos->seq, pos->file,
		    pos->offset, why != NULL ? why : "short read");
		goto done;
	}
	/* the payload is followed by a NUL (over the trailer, which
	 * journal_fill() has no more use for) */
	journal_fill(rec, buf, calc);
	buf[hl + len] = 0;
	buf[total] = 0;
	rec->file_no = pos->file;
	rec->offset = pos->offset;
	*bufp = buf;
	buf = NULL;
	rc = 0;
done:
	free(buf);
	close(fd);
	return rc;
}

/* ---- how long the disk lasts ------------------------------------------- */

int
journal_space(const char *dir, accord_time_t now, struct journal_space *sp)
{
	const char *sub[] = { "", "/archive" };
	char path[PATH_MAX];
	struct statvfs vfs;
	struct dirent *de;
	struct stat sb;
	DIR *d;
	size_t i;

	memset(sp, 0, sizeof(*sp));
	if (statvfs(dir, &vfs) == -1)
		return -1;
	sp->free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", dir, sub[i]);
		if ((d = opendir(path)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			if (journal_name_number(de->d_name) == 0)
				continue;
			snprintf(path, sizeof(path), "%s%s/%s", dir, sub[i],
			    de->d_name);
			if (stat(path, &sb) == -1)
				continue;
			sp->journal_bytes += (uint64_t)sb.st_size;
			/* a file written to within the window counts whole:
			 * the rate errs high, the warning early */
			if (sb.st_mtime >= now - JOURNAL_RATE_DAYS * 86400)
				sp->recent_bytes += (uint64_t)sb.st_size;
		}
		closedir(d);
	}
	sp->bytes_per_day = sp->recent_bytes / JOURNAL_RATE_DAYS;
	sp->days_left = sp->bytes_per_day > 0 ?
	    (double)sp->free_bytes / (double)sp->bytes_per_day : -1;
	return 0;
}
