/*
 * audit.c -- what every command of accord-audit shares: the journal read
 * in one pass (the files given, or a directory's), and what its
 * configuration loads say (see audit.h, audit_priv.h).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit/audit_priv.h"
#include "conf/conffile.h"
#include "persist/journal.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* ---- reading the journal ---------------------------------------------- */

/* The input files: those given, or the journal files of one directory
 * (and of its archive/) in order.  @return a NULL-terminated malloc'd array of malloc'd
 * paths, or NULL (logged). */
static char **
audit_input(const char *const *files, size_t nfiles, size_t *np)
{
	struct stat sb;
	char **out;
	size_t i;

	if (nfiles == 1 && stat(files[0], &sb) == 0 && S_ISDIR(sb.st_mode)) {
		if ((out = journal_list_files(files[0], np)) == NULL)
			return NULL;
		if (*np == 0) {
			log_errx(ATAG, "%s: no journal-NNNNNN.log files",
			    files[0]);
			free(out);
			return NULL;
		}
		return out;
	}
	if (nfiles == 0) {
		log_errx(ATAG, "no journal files given");
		return NULL;
	}
	out = xcalloc(nfiles + 1, sizeof(*out));
	for (i = 0; i < nfiles; i++)
		out[i] = xstrdup(files[i]);
	*np = nfiles;
	return out;
}

static void
audit_input_free(char **files)
{
	size_t i;

	for (i = 0; files != NULL && files[i] != NULL; i++)
		free(files[i]);
	free(files);
}

/* The kind of a reader's break, for the summary's count by kind. */
static const char *
audit_break_kind(const char *reason)
{
	if (strncmp(reason, "missing file", 12) == 0 ||
	    strncmp(reason, "the journal begins at", 21) == 0)
		return "missing_file";
	if (strncmp(reason, "chain broken", 12) == 0 ||
	    strncmp(reason, "sequence number", 15) == 0)
		return "chain";
	if (strstr(reason, "FILE_START") != NULL)
		return "file";
	if (strstr(reason, "CHECKPOINT") != NULL)
		return "checkpoint";
	return "record";
}

/* Names in a journal directory (or its archive/) that are not journal
 * files: findings, as nothing else belongs there but accordd's own. */
static void
audit_extra_files(const char *dir, const char *sub, struct audit_pass *p)
{
	struct journal_rec at;
	struct dirent *de;
	char path[1024];
	DIR *d;

	snprintf(path, sizeof(path), "%s%s", dir, sub);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    journal_file_number(de->d_name) != 0 ||
		    (sub[0] == '\0' && strcmp(de->d_name, "archive") == 0) ||
		    strcmp(de->d_name, "cut.pending") == 0)
			continue;
		memset(&at, 0, sizeof(at));
		snprintf(path, sizeof(path), "%s%s/%s", dir, sub, de->d_name);
		at.file = path;
		audit_finding_kind(p->rep, &at, "extra_file", "extra file: "
		    "not a journal-NNNNNN.log name, not read");
	}
	closedir(d);
}

/* A file's first record: its sequence number must follow every record
 * read from the files before it. */
static void
audit_file_order(struct audit_pass *p, const struct journal_rec *rec,
    const char *prev_file, uint64_t max_seq)
{
	p->files++;
	if (p->records > 0 && rec->seq <= max_seq)
		audit_finding_kind(p->rep, rec, "reordered_file", "reordered "
		    "file: it begins at record %" PRIu64 ", but %s already "
		    "held record %" PRIu64, rec->seq, prev_file, max_seq);
}

/* Say in the break's finding (the last one) where reading went on, if
 * not at the record that broke. */
static void
audit_read_on(struct audit_pass *p, const struct journal_break *b,
    const char *file, size_t index, uint64_t off)
{
	json_t *f, *why;
	char buf[2048];

	if (index == b->file_index && off == b->offset)
		return;
	f = json_array_get(p->rep->findings,
	    json_array_size(p->rep->findings) - 1);
	if (f == NULL)
		return;
	if ((why = json_object_get(f, "reason")) == NULL) {
		why = json_object_get(f, "text");
		json_object_set(f, "reason", why);
	}
	snprintf(buf, sizeof(buf), "%s; read on at %s offset %" PRIu64,
	    json_string_value(why), file, off);
	json_object_set_new(f, "text", json_string(buf));
	json_object_set_new(f, "read_on_file", json_string(file));
	json_object_set_new(f, "read_on_offset", json_integer(
	    (json_int_t)off));
}

/* A file of the input, and the number its FILE_START gives it. */
struct audit_file {
	char		*path;
	uint32_t	 named;		/* by its name (0: not a journal name) */
	uint32_t	 number;	/* by its FILE_START (0: none read) */
	uint64_t	 seq;		/* of that FILE_START */
	size_t		 index;		/* in the input */
};

static int
audit_file_cmp(const void *a, const void *b)
{
	const struct audit_file *x = a, *y = b;
	uint32_t kx = x->number != 0 ? x->number : x->named;
	uint32_t ky = y->number != 0 ? y->number : y->named;

	/* files that say nothing keep their place among the others */
	if (kx == 0 || ky == 0 || kx == ky)
		return x->index < y->index ? -1 : x->index > y->index;
	return kx < ky ? -1 : 1;
}

/* The FILE_START at the head of path, if whole.  @return 0, or -1. */
static int
audit_file_head(const char *path, struct audit_file *af)
{
	struct journal_file_start fs;
	struct journal_rec rec;
	uint8_t buf[4096];
	char why[256];
	size_t got, total;
	FILE *fp;
	int torn;

	if ((fp = fopen(path, "rb")) == NULL)
		return -1;
	got = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	if (journal_record_parse(buf, got, &rec, &total, &torn, why,
	    sizeof(why)) == -1 || journal_decode_file_start(&rec, &fs) == -1)
		return -1;
	af->number = fs.number;
	af->seq = rec.seq;
	return 0;
}

/*
 * Read the files in the order their FILE_STARTs give, not their names:
 * a file renamed or copied into another's place is named as such, and the
 * chain is checked in its true order (reading by name would report a
 * missing file at each end of the swap).  A file whose FILE_START cannot
 * be read keeps its place; the reader reports it.
 */
static void
audit_order_files(char **list, size_t n, struct audit_pass *p)
{
	struct audit_file *af;
	struct journal_rec at;
	char want[64];
	size_t i;

	af = xcalloc(n > 0 ? n : 1, sizeof(*af));
	for (i = 0; i < n; i++) {
		af[i].path = list[i];
		af[i].index = i;
		af[i].named = journal_file_number(list[i]);
		if (audit_file_head(list[i], &af[i]) == -1 ||
		    af[i].named == 0 || af[i].named == af[i].number)
			continue;
		memset(&at, 0, sizeof(at));
		at.file = list[i];
		at.seq = af[i].seq;
		snprintf(want, sizeof(want), "journal-%06" PRIu32 ".log",
		    af[i].number);
		audit_finding_kind(p->rep, &at, "reordered_file", "reordered "
		    "file: it holds %s (its FILE_START says file %" PRIu32
		    "); read in that place", want, af[i].number);
	}
	qsort(af, n, sizeof(*af), audit_file_cmp);
	for (i = 0; i < n; i++)
		list[i] = af[i].path;
	free(af);
}

int
audit_read_flush(const char *const *files, size_t nfiles,
    struct audit_pass *p, int (*cb)(void *, const struct journal_rec *),
    void (*flush)(void *), void *arg)
{
	struct journal_reader *r;
	struct journal_rec rec, at;
	struct audit_resync rs;
	const struct journal_break *b;
	struct stat sb;
	char **list, cur[1024] = "", last_why[256] = "";
	uint64_t max_seq = 0, last_off = 0;
	size_t n, last_file = 0;
	int got;

	if ((list = audit_input(files, nfiles, &n)) == NULL)
		return -1;
	audit_order_files(list, n, p);
	r = journal_reader_open_files((const char *const *)list, n, 0);
	if (r == NULL) {
		audit_input_free(list);
		return -1;
	}
	if (nfiles == 1 && stat(files[0], &sb) == 0 && S_ISDIR(sb.st_mode)) {
		audit_extra_files(files[0], "", p);
		audit_extra_files(files[0], "/archive", p);
	}
	memset(&rs, 0, sizeof(rs));
	for (;;) {
		while ((got = journal_reader_next(r, &rec)) == 1) {
			if (strcmp(cur, rec.file) != 0) {
				audit_file_order(p, &rec, cur, max_seq);
				snprintf(cur, sizeof(cur), "%s", rec.file);
			}
			if (rec.seq > max_seq)
				max_seq = rec.seq;
			p->records++;
			if (p->first_time == 0)
				p->first_time = rec.time;
			p->last_time = rec.time;
			p->last_seq = rec.seq;
			if (cb(arg, &rec) != 0)
				break;
		}
		/* the records' own findings before the break's */
		if (flush != NULL)
			flush(arg);
		if (got != -1)
			break;
		b = journal_reader_break(r);
		/* the record resumed at broke again as it did: reported
		 * once, and reading goes on past it */
		if (p->broken && last_file == b->file_index &&
		    last_off == b->offset && strcmp(last_why, b->reason) == 0) {
			if (audit_resync(&rs, r, list, n, b) == -1)
				break;
			audit_read_on(p, b, list[rs.at_file], rs.at_file,
			    rs.at_off);
			continue;
		}
		last_file = b->file_index;
		last_off = b->offset;
		snprintf(last_why, sizeof(last_why), "%s", b->reason);
		memset(&at, 0, sizeof(at));
		at.file = b->file;
		at.offset = b->offset;
		at.seq = b->recno;
		if (b->torn)
			audit_warning(p->rep, &at, "torn tail of %" PRIu64
			    " bytes (accordd cuts it at start-up): %s",
			    b->tail_len, b->reason);
		else {
			audit_finding_kind(p->rep, &at,
			    audit_break_kind(b->reason), "journal broken: %s",
			    b->reason);
			p->broken = 1;
		}
		/* every break, not only the first: read on */
		if (audit_resync(&rs, r, list, n, b) == -1)
			break;
		if (!b->torn)
			audit_read_on(p, b, list[rs.at_file], rs.at_file,
			    rs.at_off);
	}
	p->resyncs = rs.count;
	p->bytes_skipped = rs.skipped;
	audit_resync_free(&rs);
	journal_reader_close(r);
	audit_input_free(list);
	return 0;
}

int
audit_read(const char *const *files, size_t nfiles, struct audit_pass *p,
    int (*cb)(void *, const struct journal_rec *), void *arg)
{
	return audit_read_flush(files, nfiles, p, cb, NULL, arg);
}

void
audit_fmt_time(accord_time_t t, char *buf, size_t len)
{
	if (t == 0)
		snprintf(buf, len, "-");
	else
		clock_format_utc(t, buf, len);
}

/* ---- the journalled configuration loads ----------------------------- */

int
audit_conf_take(struct audit_conf *ac, const struct journal_rec *rec)
{
	json_t *j;
	const char *s;

	if ((j = json_loadb((const char *)rec->payload, rec->len, 0,
	    NULL)) == NULL)
		return -1;
	json_decref(ac->partners);
	ac->partners = json_incref(json_object_get(j, "partners"));
	snprintf(ac->country, sizeof(ac->country), "%s",
	    (s = json_string_value(json_object_get(j, "country"))) ? s : "");
	snprintf(ac->signing, sizeof(ac->signing), "%s",
	    (s = json_string_value(json_object_get(j, "signing"))) ? s : "");
	snprintf(ac->file, sizeof(ac->file), "%s",
	    (s = json_string_value(json_object_get(j, "file"))) ? s : "");
	ac->seen = 1;
	json_decref(j);
	return 0;
}

/* 1 if fingerprint fp is journalled for partner (or for us, when
 * partner is NULL). */
int
audit_conf_allows(const struct audit_conf *ac, const char *partner,
    const char *fp)
{
	json_t *p, *c;
	size_t i, j;

	if (partner == NULL)
		return strcmp(ac->signing, fp) == 0;
	json_array_foreach(ac->partners, i, p) {
		if (!json_is_string(json_object_get(p, "country")) ||
		    strcmp(json_string_value(json_object_get(p, "country")),
		    partner) != 0)
			continue;
		json_array_foreach(json_object_get(p, "signing"), j, c)
			if (json_is_string(c) &&
			    strcmp(json_string_value(c), fp) == 0)
				return 1;
	}
	return 0;
}
