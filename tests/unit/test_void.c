/*
 * test_void.c -- a signature given up (JOURNAL_SIGNATURE_VOID): the
 * engine journals one with its batch and the store takes nothing of it,
 * also when rebuilt from the journal; accord-audit verify --signer-log
 * counts the signer's line it holds as given up, not as a leak, and
 * reports a record whose signature the log does not have.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <openssl/sha.h>
#include <sqlite3.h>

#include "audit/audit.h"
#include "conf/config.h"
#include "conf/conffile.h"
#include "engine/engine.h"
#include "engine/engine_priv.h"
#include "engine/engine_state_priv.h"
#include "msg/envelope.h"
#include "msg/xmlsig.h"
#include "persist/journal.h"
#include "persist/record.h"
#include "persist/store.h"
#include "util/clock.h"
#include "util/hex.h"
#include "util/log.h"
#include "testutil.h"

#define VOID_ID		"0b1e7c3a-1111-4222-8333-444455556666"
#define OTHER_ID	"0b1e7c3a-1111-4222-8333-777788889999"
#define VOID_REASON	"case changed before the journal"

static char tmpdir[512];
static struct config *kzc;
static struct engine *kz;
static int ndirs;

/* Some bytes standing for a signed message, and their SHA-256 in hex
 * as the signer logs it (computed here, not by the code under test). */
static const char signed_msg[] = "<Envelope>... signed bytes ...</Envelope>";

static void
digest_hex(const char *p, size_t len, char hex[65])
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	SHA256((const uint8_t *)p, len, md);
	hex_encode(md, sizeof(md), hex);
}

static char *
path(const char *rel)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), "%s/%s", tmpdir, rel);
	return buf;
}

static int
setup(void **state)
{
	struct conf_diag d = { 0 };

	(void)state;
	assert_int_equal(test_workdir(tmpdir, sizeof(tmpdir), "void"), 0);
	assert_int_equal(mkdir(path("var"), 0755), 0);
	assert_int_equal(mkdir(path("var/kz"), 0755), 0);
	clock_use_real();
	clock_test_set(test_pki_time(tmpdir));
	assert_true(clock_now() != 0);
	kzc = config_load(path("conf/accordd.xml"), clock_now(), &d);
	if (kzc == NULL)
		conf_diag_print(&d, stderr);
	conf_diag_free(&d);
	assert_non_null(kzc);
	assert_non_null(kz = engine_open(kzc));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	engine_close(kz);
	config_free(kzc);
	kz = NULL;
	assert_int_equal(test_rmtree(tmpdir), 0);
	return 0;
}

/* The SIGNATURE_VOID records of dir, how many; the last into *out. */
static int
voids_in(const char *dir, struct record_void *out)
{
	struct journal_reader *r;
	struct journal_rec rec;
	int n = 0;

	assert_non_null(r = journal_reader_open(dir));
	while (journal_reader_next(r, &rec) == 1) {
		if (rec.kind != JOURNAL_SIGNATURE_VOID)
			continue;
		assert_int_equal(record_void_decode(rec.payload, rec.len, out),
		    0);
		n++;
	}
	journal_reader_close(r);
	return n;
}

/* Every row of every table of the store but meta (its last applied
 * record moves with any record), as text. */
static char *
store_rows(const char *db)
{
	sqlite3 *h;
	sqlite3_stmt *t, *s;
	char sql[256], *buf = NULL;
	size_t len = 0;
	FILE *fp;
	int i;

	assert_non_null(fp = open_memstream(&buf, &len));
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT name FROM sqlite_master "
	    "WHERE type = 'table' AND name != 'meta' ORDER BY name", -1, &t,
	    NULL), SQLITE_OK);
	while (sqlite3_step(t) == SQLITE_ROW) {
		snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\" ORDER BY 1",
		    (const char *)sqlite3_column_text(t, 0));
		fprintf(fp, "[%s]\n", (const char *)sqlite3_column_text(t, 0));
		assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL),
		    SQLITE_OK);
		while (sqlite3_step(s) == SQLITE_ROW) {
			for (i = 0; i < sqlite3_column_count(s); i++)
				fprintf(fp, "%s|", sqlite3_column_text(s, i) !=
				    NULL ? (const char *)sqlite3_column_text(s,
				    i) : "NULL");
			fputc('\n', fp);
		}
		sqlite3_finalize(s);
	}
	sqlite3_finalize(t);
	sqlite3_close(h);
	fclose(fp);
	return buf;
}

/*
 * engine_signature_void() puts one record in the open batch: in the
 * journal once the batch commits, with the digest of the bytes as given,
 * the type by name, and the reason; the store's rows are what they were,
 * and a store rebuilt from the journal takes the record (it is not an
 * unknown kind) and has the same rows.
 */
static void
test_engine_journals_void(void **state)
{
	struct record_void rv;
	struct store_message m;
	char dir[1024], db[1024], hex[65], *before, *after;
	uint64_t seq;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/journal", kzc->state_dir);
	snprintf(db, sizeof(db), "%s/store.db", kzc->state_dir);
	before = store_rows(db);
	seq = store_last_applied(engine_store(kz));

	assert_int_equal(engine_signature_void(kz, "FR", "ReadmissionRequest",
	    VOID_ID, signed_msg, sizeof(signed_msg) - 1, VOID_REASON), 0);
	/* appended, not yet committed: nothing in the files */
	assert_int_equal(voids_in(dir, &rv), 0);
	assert_int_equal(engine_flush(kz), 0);
	assert_int_equal(voids_in(dir, &rv), 1);
	assert_string_equal(rv.partner, "FR");
	assert_int_equal(rv.type, MSG_READMISSION_REQUEST);
	assert_string_equal(rv.message_id, VOID_ID);
	digest_hex(signed_msg, sizeof(signed_msg) - 1, hex);
	assert_string_equal(rv.sha256, hex);
	assert_string_equal(rv.reason, VOID_REASON);

	/* applied (the store is at its seq), and nothing of it indexed */
	assert_true(store_last_applied(engine_store(kz)) > seq);
	assert_int_equal(store_message_find(engine_store(kz), "FR", VOID_ID,
	    RECORD_DIR_OUT, &m), 0);
	after = store_rows(db);
	assert_string_equal(before, after);
	free(after);

	/* an unknown type journals nothing */
	assert_int_equal(engine_signature_void(kz, "FR", "NoSuchMessage",
	    OTHER_ID, signed_msg, sizeof(signed_msg) - 1, VOID_REASON), -1);
	assert_int_equal(engine_flush(kz), 0);
	assert_int_equal(voids_in(dir, &rv), 1);

	/* the store lost: rebuilt from the journal alone, the same rows */
	engine_close(kz);
	unlink(path("var/kz/store.db"));
	unlink(path("var/kz/store.db-wal"));
	unlink(path("var/kz/store.db-shm"));
	assert_non_null(kz = engine_open(kzc));
	assert_int_equal(engine_store_behind(kz), 0);
	after = store_rows(db);
	assert_string_equal(before, after);
	free(after);
	free(before);
}

/* How many findings of kind in rep; text of the last into *text. */
static size_t
findings_of(const struct audit_report *rep, const char *kind,
    const char **text)
{
	json_t *f;
	size_t i, n = 0;

	json_array_foreach(rep->findings, i, f)
		if (strcmp(json_string_value(json_object_get(f, "kind")),
		    kind) == 0) {
			*text = json_string_value(json_object_get(f, "text"));
			n++;
		}
	return n;
}

static json_int_t
summary_int(const struct audit_report *rep, const char *key)
{
	json_t *v = json_object_get(json_object_get(rep->root, "summary"),
	    key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

/*
 * A journal (with a SIGNATURE_VOID of signed_msg when with_void) and a
 * signer's log of the lines given, each "MESSAGE type id hash" stamped
 * now; then verify --signer-log into rep.
 */
static void
verify_with_log(int with_void, const char *const *lines, size_t nlines,
    struct audit_report *rep)
{
	struct journal_params p;
	struct journal *j;
	struct record_void rv;
	struct audit_opts o;
	const char *files[1];
	char dir[1100], slog[1100], *pl;
	size_t plen, i;
	FILE *fp;

	snprintf(dir, sizeof(dir), "%s/journal%d", tmpdir, ndirs);
	snprintf(slog, sizeof(slog), "%s/signer%d.log", tmpdir, ndirs++);
	journal_params_default(&p, dir);
	assert_non_null(j = journal_open(&p));
	assert_int_equal(journal_append(j, JOURNAL_OPERATOR_COMMAND,
	    "{\"v\":1}", 7, NULL), 0);
	if (with_void) {
		memset(&rv, 0, sizeof(rv));
		snprintf(rv.partner, sizeof(rv.partner), "FR");
		rv.type = MSG_READMISSION_REQUEST;
		snprintf(rv.message_id, sizeof(rv.message_id), VOID_ID);
		digest_hex(signed_msg, sizeof(signed_msg) - 1, rv.sha256);
		snprintf(rv.reason, sizeof(rv.reason), VOID_REASON);
		assert_int_equal(record_void_encode(&rv, &pl, &plen), 0);
		assert_int_equal(journal_append(j, JOURNAL_SIGNATURE_VOID, pl,
		    plen, NULL), 0);
		free(pl);
	}
	assert_true(journal_commit(j) > 0);
	journal_close(j);

	assert_non_null(fp = fopen(slog, "w"));
	for (i = 0; i < nlines; i++)
		fprintf(fp, "%lld MESSAGE %s\n", (long long)clock_now(),
		    lines[i]);
	fclose(fp);

	memset(&o, 0, sizeof(o));
	files[0] = dir;
	o.files = files;
	o.nfiles = 1;
	o.signer_log = slog;
	o.jobs = 1;
	assert_int_equal(audit_report_init(rep, "verify"), 0);
	assert_int_equal(audit_verify(&o, rep), 0);
}

static void
test_audit_void_holds_its_line(void **state)
{
	struct audit_report rep;
	const char *lines[2], *text = NULL;
	char hex[65], line[256], other[256];

	(void)state;
	digest_hex(signed_msg, sizeof(signed_msg) - 1, hex);
	snprintf(line, sizeof(line), "ReadmissionRequest %s %s", VOID_ID, hex);
	/* an Error signed and never journalled: exempt, and it makes the
	 * log cover the journal's time without a line of its own to match */
	digest_hex("refused", 7, hex);
	snprintf(other, sizeof(other), "Error %s %s", OTHER_ID, hex);

	/* the record holds its line: no finding, counted as given up */
	lines[0] = line;
	verify_with_log(1, lines, 1, &rep);
	assert_int_equal(audit_report_nfindings(&rep), 0);
	assert_int_equal(summary_int(&rep, "signer_log_given_up"), 1);
	assert_int_equal(summary_int(&rep, "signer_log_matched"), 0);
	assert_int_equal(summary_int(&rep, "signatures_given_up"), 1);
	audit_report_free(&rep);

	/* the same line without the record: signed but not journalled */
	verify_with_log(0, lines, 1, &rep);
	assert_int_equal(findings_of(&rep, "signer_log", &text), 1);
	assert_non_null(strstr(text, "the signer signed ReadmissionRequest "
	    VOID_ID));
	assert_non_null(strstr(text, "but no journal record holds it"));
	assert_int_equal(summary_int(&rep, "signer_log_given_up"), 0);
	audit_report_free(&rep);

	/* the record with no line of its signature: signed by something
	 * else than the signer */
	lines[0] = other;
	verify_with_log(1, lines, 1, &rep);
	assert_int_equal(findings_of(&rep, "signer_log", &text), 1);
	assert_non_null(strstr(text, "ReadmissionRequest " VOID_ID));
	assert_non_null(strstr(text, "given up but the signer's log"));
	assert_non_null(strstr(text, "has no signature of it"));
	assert_int_equal(summary_int(&rep, "signer_log_given_up"), 0);
	assert_int_equal(summary_int(&rep, "signer_log_unjournalled_errors"),
	    1);
	audit_report_free(&rep);

	/* its line with another digest is not its line */
	digest_hex("other bytes", 11, hex);
	snprintf(other, sizeof(other), "ReadmissionRequest %s %s", VOID_ID,
	    hex);
	lines[0] = other;
	verify_with_log(1, lines, 1, &rep);
	assert_int_equal(findings_of(&rep, "signer_log", &text), 2);
	audit_report_free(&rep);
}

/* verify knows the kind: a SIGNATURE_VOID that does not decode is a
 * finding; without --signer-log a good one is counted and nothing else. */
static void
test_audit_void_decodes(void **state)
{
	struct journal_params p;
	struct journal *j;
	struct audit_report rep;
	struct audit_opts o;
	const char *files[1], *text = NULL;
	const char *bad = "{\"message_id\":\"m\",\"v\":1}";
	char dir[1100];

	(void)state;
	verify_with_log(1, NULL, 0, &rep);
	assert_int_equal(audit_report_nfindings(&rep), 0);
	assert_int_equal(summary_int(&rep, "signatures_given_up"), 1);
	audit_report_free(&rep);

	snprintf(dir, sizeof(dir), "%s/journal%d", tmpdir, ndirs++);
	journal_params_default(&p, dir);
	assert_non_null(j = journal_open(&p));
	assert_int_equal(journal_append(j, JOURNAL_SIGNATURE_VOID, bad,
	    strlen(bad), NULL), 0);
	assert_true(journal_commit(j) > 0);
	journal_close(j);
	memset(&o, 0, sizeof(o));
	files[0] = dir;
	o.files = files;
	o.nfiles = 1;
	o.jobs = 1;
	assert_int_equal(audit_report_init(&rep, "verify"), 0);
	assert_int_equal(audit_verify(&o, &rep), 0);
	assert_int_equal(findings_of(&rep, "decision", &text), 1);
	assert_non_null(strstr(text, "SIGNATURE_VOID does not decode"));
	audit_report_free(&rep);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_engine_journals_void),
		T(test_audit_void_holds_its_line),
		T(test_audit_void_decodes),
	};

	if (test_xml_start("test_void") == -1)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
