/*
 * test_retention.c -- retention periods (issue 19, item 4;
 * conf/retention.h): what a period may be, when it ends (calendar years
 * over leap days, days), the agreement loader's check of <retention>
 * (file and line in the error, as accordd -n prints it), the periods in
 * the journalled rules and back, the defaults for rules journalled before
 * retention existed; and the store's legal holds and erasures
 * (persist/store_retain.h): which cases the retention job is offered.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "conf/agreement.h"
#include "conf/agreement_json.h"
#include "conf/calendar.h"
#include "conf/config.h"
#include "conf/conffile.h"
#include "conf/retention.h"
#include "persist/record.h"
#include "persist/store.h"
#include "persist/store_retain.h"
#include "testutil.h"

static accord_time_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	return (accord_time_t)calendar_day_from_ymd(y, mo, d) * 86400 +
	    h * 3600 + mi * 60 + s;
}

static void
test_parse(void **state)
{
	struct retention_period p = { 7, RETENTION_DAYS };
	const char *bad[] = { "", "0y", "0d", "-1y", "5", "y", "5 y", "5yy",
	    "5Y", "05y", "101y", "36501d", "5m", "+5y", "99999999999999y" };
	char buf[RETENTION_TEXT_MAX];
	size_t i;

	(void)state;
	assert_int_equal(retention_parse("5y", &p), 0);
	assert_int_equal(p.n, 5);
	assert_int_equal(p.unit, RETENTION_YEARS);
	assert_string_equal(retention_format(&p, buf, sizeof(buf)), "5y");
	assert_string_equal(retention_describe(&p, buf, sizeof(buf)),
	    "5 years");
	assert_int_equal(retention_parse("1d", &p), 0);
	assert_int_equal(p.unit, RETENTION_DAYS);
	assert_string_equal(retention_describe(&p, buf, sizeof(buf)),
	    "1 day");
	assert_int_equal(retention_parse("100y", &p), 0);
	assert_int_equal(retention_parse("36500d", &p), 0);
	assert_int_equal(retention_parse(NULL, &p), -1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (retention_parse(bad[i], &p) != -1)
			fail_msg("'%s' taken as a period", bad[i]);
		/* a refused value leaves the period alone */
		assert_int_equal(p.n, 36500);
	}
}

static void
test_end(void **state)
{
	struct retention_period y5 = { 5, RETENTION_YEARS },
	    y4 = { 4, RETENTION_YEARS }, y1 = { 1, RETENTION_YEARS },
	    d30 = { 30, RETENTION_DAYS };
	struct retention r;

	(void)state;
	/* the same date and time of day, N years on */
	assert_int_equal(retention_end(utc(2026, 11, 29, 7, 3, 36), &y5),
	    utc(2031, 11, 29, 7, 3, 36));
	/* over 2028's 29 February: still the same date */
	assert_int_equal(retention_end(utc(2027, 3, 1, 0, 0, 0), &y5),
	    utc(2032, 3, 1, 0, 0, 0));
	assert_int_equal(retention_end(utc(2027, 2, 28, 23, 59, 59), &y1),
	    utc(2028, 2, 28, 23, 59, 59));
	/* from a 29 February: to the next leap year's, else 1 March, never
	 * the 28th (the period would end a day early) */
	assert_int_equal(retention_end(utc(2024, 2, 29, 12, 0, 0), &y4),
	    utc(2028, 2, 29, 12, 0, 0));
	assert_int_equal(retention_end(utc(2024, 2, 29, 12, 0, 0), &y5),
	    utc(2029, 3, 1, 12, 0, 0));
	assert_int_equal(retention_end(utc(2024, 2, 29, 0, 0, 0), &y1),
	    utc(2025, 3, 1, 0, 0, 0));
	/* 2100 is no leap year */
	assert_int_equal(retention_end(utc(2096, 2, 29, 1, 0, 0), &y4),
	    utc(2100, 3, 1, 1, 0, 0));
	/* 31 December to 31 December */
	assert_int_equal(retention_end(utc(2026, 12, 31, 23, 0, 0), &y1),
	    utc(2027, 12, 31, 23, 0, 0));
	/* days are days: 30 of them over a leap day */
	assert_int_equal(retention_end(utc(2028, 2, 15, 6, 0, 0), &d30),
	    utc(2028, 3, 16, 6, 0, 0));
	/* before 1970 (a clock gone wrong): still whole days */
	assert_int_equal(retention_end(utc(1969, 12, 31, 23, 0, 0), &y1),
	    utc(1970, 12, 31, 23, 0, 0));
	retention_default(&r);
	assert_int_equal(retention_for(&r, 1)->n, 5);
	assert_int_equal(retention_for(&r, 1)->unit, RETENTION_YEARS);
	assert_int_equal(retention_for(&r, 0)->n, 10);
	assert_int_equal(retention_for(&r, 0)->unit, RETENTION_YEARS);
}

/* Write file with the text of src where from is replaced by to. */
static void
rewrite(const char *src, const char *file, const char *from, const char *to)
{
	FILE *fp;
	char *buf, *at;
	long n;

	assert_non_null(fp = fopen(src, "r"));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	buf = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	assert_non_null(at = strstr(buf, from));
	assert_non_null(fp = fopen(file, "w"));
	fwrite(buf, 1, (size_t)(at - buf), fp);
	fputs(to, fp);
	fputs(at + strlen(from), fp);
	fclose(fp);
	free(buf);
}

static void
test_loader(void **state)
{
	struct conf_diag d = { 0 };
	struct config *c;
	const struct agreement *fr, *de;
	char dir[512], conf[1024], src[1024], dst[1024];
	accord_time_t now;
	json_t *j;
	struct agreement back;
	char err[256];
	int i, found = 0;

	(void)state;
	assert_int_equal(test_workdir(dir, sizeof(dir), "retention"), 0);
	now = test_pki_time(dir);
	snprintf(conf, sizeof(conf), "%s/conf/accordd.xml", dir);
	snprintf(src, sizeof(src), "%s/conf/partners/fr.xml", dir);
	snprintf(dst, sizeof(dst), "%s/conf/partners/fr.xml.new", dir);

	/* the shipped France agreement states the defaults; Germany's has
	 * no <retention> and gets them */
	rewrite(src, dst, "after-final=\"5y\" never-closed=\"10y\"",
	    "after-final=\"30d\" never-closed=\"2y\"");
	assert_int_equal(rename(dst, src), 0);
	c = config_load(conf, now, &d);
	if (c == NULL)
		conf_diag_print(&d, stderr);
	assert_non_null(c);
	conf_diag_free(&d);
	assert_non_null(fr = config_partner(c, "FR"));
	assert_non_null(de = config_partner(c, "DE"));
	assert_int_equal(fr->retention.after_final.n, 30);
	assert_int_equal(fr->retention.after_final.unit, RETENTION_DAYS);
	assert_int_equal(fr->retention.never_closed.n, 2);
	assert_int_equal(fr->retention.never_closed.unit, RETENTION_YEARS);
	assert_int_equal(de->retention.after_final.n, 5);
	assert_int_equal(de->retention.never_closed.n, 10);

	/* in the journalled rules, and back */
	assert_non_null(j = agreement_json_encode(fr));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "retention"), "after-final")), "30d");
	if (agreement_json_decode(&back, j, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	assert_memory_equal(&back.retention, &fr->retention,
	    sizeof(back.retention));
	agreement_clear(&back);
	/* rules journalled before retention existed: the defaults */
	json_object_del(j, "retention");
	if (agreement_json_decode(&back, j, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	assert_int_equal(back.retention.after_final.n, 5);
	assert_int_equal(back.retention.never_closed.n, 10);
	agreement_clear(&back);
	/* a retention that is not two periods is refused */
	json_object_set_new(j, "retention", json_pack("{s:s, s:s}",
	    "after-final", "0y", "never-closed", "10y"));
	assert_int_equal(agreement_json_decode(&back, j, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "retention"));
	json_decref(j);
	config_free(c);

	/* a bad value: an error naming the file, the line and the value */
	rewrite(src, dst, "after-final=\"30d\"", "after-final=\"0y\"");
	assert_int_equal(rename(dst, src), 0);
	assert_null(config_load(conf, now, &d));
	for (i = 0; i < d.nerrors; i++)
		if (strstr(d.errors[i], "fr.xml:") != NULL &&
		    strstr(d.errors[i], "retention after-final '0y' is not a "
		    "period") != NULL)
			found = 1;
	if (!found)
		conf_diag_print(&d, stderr);
	assert_true(found);
	conf_diag_free(&d);
	assert_int_equal(test_rmtree(dir), 0);
}

/* A case's decision record, applied: the case in state, updated at t. */
static void
put_case(struct store *st, uint64_t seq, const char *case_id,
    enum fsm_state state, accord_time_t t)
{
	struct record_decision rd;
	char *p;
	size_t len;

	memset(&rd, 0, sizeof(rd));
	snprintf(rd.partner, sizeof(rd.partner), "FR");
	snprintf(rd.case_id, sizeof(rd.case_id), "%s", case_id);
	snprintf(rd.message_id, sizeof(rd.message_id), "m-%s", case_id);
	rd.kind = FSM_KIND_READMISSION;
	rd.role = ROLE_REQUESTING;
	rd.ev.kind = FSM_EV_SENDING;
	rd.ev.type = MSG_READMISSION_REQUEST;
	rd.ev.created = t;
	rd.ev.at = t;
	rd.now = t;
	rd.d.version = FSM_VERSION;
	snprintf(rd.d.event, sizeof(rd.d.event), "ReadmissionRequest");
	rd.d.old_state = FSM_NONE;
	rd.d.new_state = state;
	rd.d.next.kind = FSM_KIND_READMISSION;
	rd.d.next.role = ROLE_REQUESTING;
	rd.d.next.state = state;
	assert_int_equal(record_decision_encode(&rd, &p, &len), 0);
	assert_int_equal(store_apply(st, JOURNAL_DECISION, seq, t, p, len),
	    0);
	free(p);
}

/* An operator command as the journal holds it, applied. */
static void
put_command(struct store *st, uint64_t seq, accord_time_t t,
    const char *json)
{
	assert_int_equal(store_apply(st, JOURNAL_OPERATOR_COMMAND, seq, t,
	    json, strlen(json)), 0);
}

/*
 * The cases the retention job is offered: partner's cases, final ones
 * (final 1) or the others (0), last updated at or before until, neither
 * held nor erased, the oldest first, at most limit -- over pages of
 * store_retain_scan(), as the job reads them.  @return how many, or -1.
 */
struct retain_pick {
	int			 final, limit, n, stop, rows;
	store_retain_cb		 cb;
	void			*arg;
	struct store_retain_case last;
};

#define RETAIN_PAGE	256

static int
retain_pick_cb(void *arg, const struct store_retain_case *c)
{
	struct retain_pick *p = arg;

	p->last = *c;
	p->rows++;
	if (c->skip || c->final != p->final)
		return 0;
	p->n++;
	if (p->cb(p->arg, c) != 0 || p->n == p->limit) {
		p->stop = 1;
		return 1;
	}
	return 0;
}

static int
retain_candidates(struct store *st, const char *partner, int final,
    accord_time_t until, int limit, store_retain_cb cb, void *arg)
{
	struct retain_pick p;

	memset(&p, 0, sizeof(p));
	p.final = final;
	p.limit = limit;
	p.cb = cb;
	p.arg = arg;
	p.last.updated_at = INT64_MIN;
	do {
		p.rows = 0;
		if (store_retain_scan(st, partner, until, p.last.updated_at,
		    p.last.case_id, RETAIN_PAGE, retain_pick_cb,
		    &p) == -1)
			return -1;
	} while (!p.stop && p.rows == RETAIN_PAGE);
	return p.n;
}

/* The store: holds, releases, erasures from the journalled commands, and
 * the cases the retention job is offered. */
static int
collect(void *arg, const struct store_retain_case *c)
{
	char *out = arg;

	strcat(out, c->case_id);
	strcat(out, " ");
	return 0;
}

static void
test_store(void **state)
{
	char dir[512], path[1024], got[256];
	struct store *st;
	struct store_retain r;
	const char *ids[] = { "C1", "C2", "C3", "C4" };
	int i;

	(void)state;
	assert_int_equal(test_workdir(dir, sizeof(dir), "retain-store"), 0);
	snprintf(path, sizeof(path), "%s/store.db", dir);
	assert_non_null(st = store_open(path));
	/* four cases: C1..C3 completed on days 1..3, C4 open since day 1 */
	for (i = 0; i < 4; i++)
		put_case(st, (uint64_t)i + 1, ids[i], i < 3 ? FSM_COMPLETED :
		    FSM_PENDING_REPLY, 86400 * (i < 3 ? i + 1 : 1));
	got[0] = '\0';
	assert_int_equal(retain_candidates(st, "FR", 1, 86400 * 2, 10,
	    collect, got), 2);
	assert_string_equal(got, "C1 C2 ");
	got[0] = '\0';
	assert_int_equal(retain_candidates(st, "FR", 0, 86400 * 9, 10,
	    collect, got), 1);
	assert_string_equal(got, "C4 ");
	got[0] = '\0';
	assert_int_equal(retain_candidates(st, "FR", 1, 86400 * 9, 1,
	    collect, got), 1);
	assert_string_equal(got, "C1 ");

	/* C1 held, C2 erased: the job is offered C3 alone */
	assert_int_equal(store_retain_get(st, "FR", "C1", &r), 0);
	assert_int_equal(r.held, 0);
	put_command(st, 10, 1000, "{\"command\":\"hold\",\"uid\":7,"
	    "\"partner\":\"FR\",\"case\":\"C1\",\"reason\":"
	    "\"court order 12\"}");
	put_command(st, 11, 2000, "{\"command\":\"erase\",\"by\":"
	    "\"retention\",\"partner\":\"FR\",\"case\":\"C2\","
	    "\"reason\":\"period over\",\"key_ids\":[]}");
	got[0] = '\0';
	assert_int_equal(retain_candidates(st, "FR", 1, 86400 * 9, 10,
	    collect, got), 1);
	assert_string_equal(got, "C3 ");
	assert_int_equal(store_retain_get(st, "FR", "C1", &r), 1);
	assert_int_equal(r.held, 1);
	assert_string_equal(r.hold_by, "uid 7");
	assert_string_equal(r.hold_reason, "court order 12");
	assert_int_equal(r.hold_at, 1000);
	assert_int_equal(r.erased_at, 0);
	assert_int_equal(store_retain_get(st, "FR", "C2", &r), 1);
	assert_int_equal(r.held, 0);
	assert_int_equal(r.erased_at, 2000);
	assert_string_equal(r.erased_by, "retention");
	/* released: offered again, the last hold still on record */
	put_command(st, 12, 3000, "{\"command\":\"release\",\"uid\":7,"
	    "\"partner\":\"FR\",\"case\":\"C1\",\"reason\":"
	    "\"order lifted\"}");
	got[0] = '\0';
	assert_int_equal(retain_candidates(st, "FR", 1, 86400 * 9, 10,
	    collect, got), 2);
	assert_string_equal(got, "C1 C3 ");
	assert_int_equal(store_retain_get(st, "FR", "C1", &r), 1);
	assert_int_equal(r.held, 0);
	assert_string_equal(r.hold_reason, "court order 12");
	/* another partner's cases are not FR's */
	got[0] = '\0';
	assert_int_equal(retain_candidates(st, "DE", 1, 86400 * 9, 10,
	    collect, got), 0);
	store_close(st);
	assert_int_equal(test_rmtree(dir), 0);
}

/* A scan's page: how many rows, how many skipped, in order. */
struct scan_page {
	int		 rows, skipped;
	accord_time_t	 last_at;
	char		 last_id[RECORD_ID_MAX];
	char		 due[64];
};

static int
scan_cb(void *arg, const struct store_retain_case *c)
{
	struct scan_page *p = arg;

	/* (updated_at, case_id) order */
	assert_true(c->updated_at > p->last_at ||
	    (c->updated_at == p->last_at && strcmp(c->case_id,
	    p->last_id) > 0));
	p->rows++;
	p->last_at = c->updated_at;
	snprintf(p->last_id, sizeof(p->last_id), "%s", c->case_id);
	if (c->skip) {
		p->skipped++;
		return 0;
	}
	strcat(p->due, c->case_id);
	strcat(p->due, " ");
	return 0;
}

/*
 * Issue 14: the retention job runs on the event loop.  Years of erased
 * cases lie before the next one due, and the job read them all in one
 * call; a scan reads a bounded page from a cursor, held and erased
 * cases flagged, and the next page starts after it.  2,000 erased
 * cases, then two due.
 */
static void
test_scan_bounded(void **state)
{
	char dir[512], path[1024], id[32], cmd[256], got[64];
	struct scan_page p;
	struct store *st;
	uint64_t seq = 1;
	int i, pages = 0, rows = 0, skipped = 0;

	(void)state;
	assert_int_equal(test_workdir(dir, sizeof(dir), "retain-scan"), 0);
	snprintf(path, sizeof(path), "%s/store.db", dir);
	assert_non_null(st = store_open(path));
	for (i = 0; i < 2002; i++) {
		snprintf(id, sizeof(id), "K%05d", i);
		put_case(st, seq++, id, FSM_COMPLETED, 86400 + i);
		if (i >= 2000)
			continue;
		snprintf(cmd, sizeof(cmd), "{\"command\":\"erase\",\"by\":"
		    "\"retention\",\"partner\":\"FR\",\"case\":\"%s\","
		    "\"reason\":\"period over\",\"key_ids\":[]}", id);
		put_command(st, seq++, 86400 * 400, cmd);
	}
	memset(&p, 0, sizeof(p));
	p.last_at = INT64_MIN;
	do {
		p.rows = p.skipped = 0;
		assert_true(store_retain_scan(st, "FR", 86400 * 300,
		    p.last_at, p.last_id, 100, scan_cb, &p) >= 0);
		assert_true(p.rows <= 100);	/* the bound */
		rows += p.rows;
		skipped += p.skipped;
		pages++;
	} while (p.rows == 100);
	assert_int_equal(rows, 2002);
	assert_int_equal(skipped, 2000);
	assert_int_equal(pages, 21);
	assert_string_equal(p.due, "K02000 K02001 ");
	/* the candidates, over the same pages, are the same two */
	got[0] = '\0';
	assert_int_equal(retain_candidates(st, "FR", 1, 86400 * 300, 10,
	    collect, got), 2);
	assert_string_equal(got, "K02000 K02001 ");
	store_close(st);
	assert_int_equal(test_rmtree(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_end),
		cmocka_unit_test(test_loader),
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_scan_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
