/*
 * audit_signer.c -- verify --signer-log FILE (issue 18, item 5): the
 * signer process's log of everything it signed (msg/signer.h) against
 * the journal, both ways:
 *
 *  - a message of ours journalled (MESSAGE_SENT, RECEIPT_GIVEN) or a
 *    checkpoint with no line in the log: signed by something else than
 *    the signer, or its line removed;
 *  - a line of the log whose message or checkpoint no record holds: a
 *    signature that left without being journalled (leaked, or its
 *    record lost).  Errors and Redeliveries are exempt: by design some
 *    are signed and never journalled (refusals beyond the journalled
 *    rate, NOT_YET and TEMPORARY, a request refused unread; a
 *    Redelivery journals nothing).
 *
 * A SIGNATURE_VOID record (a message signed, then given up before it
 * was journalled) holds its line as a journalled message does, counted
 * apart as given up; one whose line is missing is a finding like a
 * message's.
 *
 * Only the time both cover is compared: the log may begin later (the
 * daemon ran as one process before) or go on after the files given.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_priv.h"
#include "msg/signer.h"
#include "persist/journal.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define AUDIT_SLOG_LINE	512

struct audit_slog_ent {
	accord_time_t	 time;
	int		 checkpoint;	/* else a message */
	char		 type[96];
	char		 id[96];	/* MessageId, or the seq */
	char		 hash[96];	/* SHA-256, or the chain hash */
	unsigned long	 line;
	int		 seen;		/* a record holds it */
};

struct audit_slog {
	const char		*file;
	struct audit_slog_ent	*ents;
	size_t			 n;
	size_t			 cap;
	struct audit_set	 index;	/* id/hash -> the entry's number */
	accord_time_t		 first;
	accord_time_t		 last;
	uint64_t		 matched;
	uint64_t		 given_up;	/* held by SIGNATURE_VOID */
	uint64_t		 exempt;	/* Errors, Redeliveries */
};

struct audit_slog *
audit_slog_load(const char *file, struct audit_report *rep)
{
	struct audit_slog *sl;
	struct audit_slog_ent *e;
	char buf[AUDIT_SLOG_LINE], what[16], a[96], b[96], c[96], num[24];
	long long t;
	unsigned long line = 0;
	FILE *fp;
	int n;

	if ((fp = fopen(file, "r")) == NULL) {
		log_err(ATAG, "%s", file);
		return NULL;
	}
	sl = xcalloc(1, sizeof(*sl));
	sl->file = file;
	while (fgets(buf, sizeof(buf), fp) != NULL) {
		line++;
		n = sscanf(buf, "%lld %15s %95s %95s %95s", &t, what, a, b, c);
		sl->ents = xgrowarray(sl->ents, sl->n, &sl->cap,
		    sizeof(*sl->ents));
		e = &sl->ents[sl->n];
		memset(e, 0, sizeof(*e));
		e->time = (accord_time_t)t;
		e->line = line;
		if (n == 4 && strcmp(what, "CHECKPOINT") == 0 &&
		    strlen(a) < 21 && strlen(b) == 64) {
			e->checkpoint = 1;
			snprintf(e->type, sizeof(e->type), "CHECKPOINT");
			snprintf(e->id, sizeof(e->id), "%s", a);
			snprintf(e->hash, sizeof(e->hash), "%s", b);
		} else if (n == 5 && strcmp(what, "MESSAGE") == 0 &&
		    strlen(c) == 64 && strlen(b) < RECORD_ID_MAX) {
			snprintf(e->type, sizeof(e->type), "%s", a);
			snprintf(e->id, sizeof(e->id), "%s", b);
			snprintf(e->hash, sizeof(e->hash), "%s", c);
		} else {
			audit_finding_kind(rep, NULL, "signer_log", "%s line "
			    "%lu: not a line of the signer's log", file, line);
			continue;
		}
		if (sl->n == 0 || e->time < sl->first)
			sl->first = e->time;
		if (e->time > sl->last)
			sl->last = e->time;
		snprintf(num, sizeof(num), "%zu", sl->n);
		audit_set_put(&sl->index, e->id, e->hash, num);
		sl->n++;
	}
	fclose(fp);
	return sl;
}

void
audit_slog_free(struct audit_slog *sl)
{
	if (sl == NULL)
		return;
	audit_set_clear(&sl->index);
	free(sl->ents);
	free(sl);
}

/* Mark the entry id/hash seen and count it in *count.  @return 1 if
 * there is one, else 0. */
static int
audit_slog_take(struct audit_slog *sl, const char *id, const char *hash,
    uint64_t *count)
{
	struct audit_str *s;

	if ((s = audit_set_get(&sl->index, id, hash)) == NULL)
		return 0;
	sl->ents[strtoull(s->val, NULL, 10)].seen = 1;
	(*count)++;
	return 1;
}

/* Within the time the log covers (a few seconds either side: the
 * signature is made before the record is stamped). */
static int
audit_slog_covers(const struct audit_slog *sl, accord_time_t t)
{
	return sl->n > 0 && t >= sl->first - 5 && t <= sl->last + 5;
}

void
audit_slog_message(struct audit_slog *sl, struct audit_report *rep,
    const struct journal_rec *rec, const struct record_message *rm)
{
	if (sl == NULL || (rec->kind != JOURNAL_MESSAGE_SENT &&
	    rec->kind != JOURNAL_RECEIPT_GIVEN))
		return;
	if (audit_slog_take(sl, rm->message_id, rm->sha256, &sl->matched) ||
	    !audit_slog_covers(sl, rec->time))
		return;
	audit_finding_kind(rep, rec, "signer_log", "%s %s (sha256 %s) is "
	    "journalled but the signer's log %s has no signature of it",
	    agreement_msg_type_name(rm->type), rm->message_id, rm->sha256,
	    sl->file);
}

void
audit_slog_void(struct audit_slog *sl, struct audit_report *rep,
    const struct journal_rec *rec, const struct record_void *rv)
{
	if (sl == NULL)
		return;
	if (audit_slog_take(sl, rv->message_id, rv->sha256, &sl->given_up) ||
	    !audit_slog_covers(sl, rec->time))
		return;
	/* given up by the engine, yet signed by none the log knows */
	audit_finding_kind(rep, rec, "signer_log", "%s %s (sha256 %s) is "
	    "journalled as a signature given up but the signer's log %s "
	    "has no signature of it", agreement_msg_type_name(rv->type),
	    rv->message_id, rv->sha256, sl->file);
}

void
audit_slog_checkpoint(struct audit_slog *sl, struct audit_report *rep,
    const struct journal_rec *rec)
{
	struct journal_checkpoint jc;
	char seq[24], hex[65];

	if (sl == NULL || journal_decode_checkpoint(rec, &jc) == -1)
		return;
	snprintf(seq, sizeof(seq), "%" PRIu64, jc.seq);
	journal_hex(jc.chain, hex);
	if (audit_slog_take(sl, seq, hex, &sl->matched) ||
	    !audit_slog_covers(sl, rec->time))
		return;
	audit_finding_kind(rep, rec, "signer_log", "the checkpoint covering "
	    "record %s is journalled but the signer's log %s has no "
	    "signature of it", seq, sl->file);
}

void
audit_slog_end(struct audit_slog *sl, struct audit_report *rep,
    const struct audit_pass *pass, json_t *sum)
{
	struct audit_slog_ent *e;
	size_t i;

	if (sl == NULL)
		return;
	for (i = 0; i < sl->n; i++) {
		e = &sl->ents[i];
		if (e->seen || e->time < pass->first_time - 5 ||
		    e->time > pass->last_time + 5)
			continue;
		if (!e->checkpoint && (strcmp(e->type, "Error") == 0 ||
		    strcmp(e->type, "Redelivery") == 0)) {
			sl->exempt++;
			continue;
		}
		audit_finding_kind(rep, NULL, "signer_log", "%s line %lu: the "
		    "signer signed %s %s (%s) but no journal record holds it "
		    "(leaked, or its record lost)", sl->file, e->line,
		    e->type, e->id, e->hash);
	}
	json_object_set_new(sum, "signer_log_entries", json_integer(
	    (json_int_t)sl->n));
	json_object_set_new(sum, "signer_log_matched", json_integer(
	    (json_int_t)sl->matched));
	json_object_set_new(sum, "signer_log_given_up", json_integer(
	    (json_int_t)sl->given_up));
	json_object_set_new(sum, "signer_log_unjournalled_errors",
	    json_integer((json_int_t)sl->exempt));
}
