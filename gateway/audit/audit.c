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

int
audit_read_flush(const char *const *files, size_t nfiles,
    struct audit_pass *p, int (*cb)(void *, const struct journal_rec *),
    void (*flush)(void *), void *arg)
{
	struct journal_reader *r;
	struct journal_rec rec;
	const struct journal_break *b;
	char **list;
	size_t n;
	int got;

	if ((list = audit_input(files, nfiles, &n)) == NULL)
		return -1;
	r = journal_reader_open_files((const char *const *)list, n, 0);
	if (r == NULL) {
		audit_input_free(list);
		return -1;
	}
	while ((got = journal_reader_next(r, &rec)) == 1) {
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
	if (got == -1) {
		struct journal_rec at;

		b = journal_reader_break(r);
		memset(&at, 0, sizeof(at));
		at.file = b->file;
		at.offset = b->offset;
		at.seq = b->recno;
		if (b->torn)
			audit_warning(p->rep, &at, "torn tail of %" PRIu64
			    " bytes (accordd cuts it at start-up): %s",
			    b->tail_len, b->reason);
		else {
			audit_finding(p->rep, &at, "journal broken: %s",
			    b->reason);
			p->broken = 1;
		}
	}
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
