/*
 * store_retain.h -- what the store knows of a case's retention (issue
 * 19, item 4): a legal hold, and an erasure, each from the operator
 * command the journal holds (hold, release, erase), so a rebuilt store
 * has them again; and the cases whose retention period may have ended.
 */
#ifndef ACCORD_STORE_RETAIN_H
#define ACCORD_STORE_RETAIN_H

#include "persist/store.h"

#define STORE_RETAIN_TEXT_MAX	256

struct store_retain {
	int		 held;		/* on legal hold */
	char		 hold_by[32];	/* "uid 1000" */
	char		 hold_reason[STORE_RETAIN_TEXT_MAX];
	accord_time_t	 hold_at;
	accord_time_t	 erased_at;	/* 0: not erased */
	char		 erased_by[32];	/* "uid 1000", "retention" */
};

/* A case's hold and erasure.  @return 1 (r set), 0 neither ever (r
 * zeroed), -1 error. */
int store_retain_get(struct store *st, const char *partner,
    const char *case_id, struct store_retain *r);

/* A case that may be due: its partner, id, state and last event. */
struct store_retain_case {
	char		 partner[RECORD_PARTNER_MAX];
	char		 case_id[RECORD_ID_MAX];
	int		 final;		/* in a final state */
	int		 skip;		/* held or erased */
	accord_time_t	 updated_at;
};

typedef int (*store_retain_cb)(void *arg, const struct store_retain_case *);

/*
 * A bounded page for the retention job, on the event loop: partner's
 * cases last updated at or before until, after (after_at, after_id) in
 * (updated_at, case_id) order, at most examine of them, final or not,
 * held or erased (skip) or not: one range read of cases_partner_updated,
 * however many erased cases lie before the next one due.  cb returning
 * non-zero stops the page.  @return the number given to cb, or -1.
 */
int store_retain_scan(struct store *st, const char *partner,
    accord_time_t until, accord_time_t after_at, const char *after_id,
    int examine, store_retain_cb cb, void *arg);

/* store_apply.c: an operator command on a case's retention (hold,
 * release, erase) at the record's time.  by: "uid N" or the job. */
int store_retain_apply(struct store *st, const char *command,
    const char *partner, const char *case_id, const char *by,
    const char *reason, accord_time_t time);

#endif
