/*
 * test_personidx.c -- the person index of subject access (issue 19 item
 * 5; persist/personidx.c): names normalised (spaces, hyphens, case, in
 * Latin and Cyrillic; no transliteration), the keyed hash (another key,
 * another date or another name give another hash; nothing of the name
 * in it), and the rows in keys.db: found by hash, the index key made once
 * and kept across a master key rotation, a case's rows gone with its
 * erasure, no name in any byte of the database; and the parser's model
 * carrying the person across the parser's socketpair.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "msg/model.h"
#include "persist/keystore.h"
#include "persist/personidx.h"
#include "util/aead.h"
#include "util/clock.h"
#include "util/file.h"
#include "util/log.h"

static char	 base[512];

static int
setup(void **state)
{
	const char *build = getenv("ACCORD_BUILDDIR");
	char cmd[1024];

	(void)state;
	assert_non_null(build);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/tests/tmp", build);
	assert_int_equal(system(cmd), 0);
	snprintf(base, sizeof(base), "%s/tests/tmp/personidx.XXXXXX", build);
	assert_non_null(mkdtemp(base));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[1024];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void
norm_is(const char *in, const char *want)
{
	char out[PERSONIDX_NAME_MAX];

	assert_true(personidx_normalise(in, out, sizeof(out)) > 0);
	assert_string_equal(out, want);
}

/* The rule README states, case by case. */
static void
test_normalise(void **state)
{
	char out[8];

	(void)state;
	norm_is("Dupont", "DUPONT");
	norm_is("de la  Cruz", "DELACRUZ");
	norm_is("Saint-Exupéry", "SAINTEXUPÉRY");
	norm_is("O'Brien", "OBRIEN");
	norm_is("O\xe2\x80\x99" "Brien", "OBRIEN");	/* U+2019 */
	norm_is("Jean\xc2\xa0Paul", "JEANPAUL");	/* no-break space */
	norm_is("Ab\xe2\x80\x93" "Cd", "ABCD");		/* en dash */
	norm_is("St. John", "STJOHN");
	norm_is("müller", "MÜLLER");
	norm_is("łukasz", "ŁUKASZ");
	norm_is("Žižek", "ŽIŽEK");
	norm_is("иванов", "ИВАНОВ");
	norm_is("Ёлкин", "ЁЛКИН");
	norm_is("әлиева-құнанбаева", "ӘЛИЕВАҚҰНАНБАЕВА");	/* Kazakh */
	norm_is("ғұмар өңір үһі", "ҒҰМАРӨҢІРҮҺІ");
	/* no transliteration, no accents removed */
	norm_is("Ivanov", "IVANOV");
	norm_is("Éric", "ÉRIC");
	/* a byte that starts no UTF-8 character is kept */
	norm_is("a\xffz", "A\xffZ");
	/* nothing left, or no room */
	assert_int_equal(personidx_normalise(" - ' ", out, sizeof(out)), -1);
	assert_int_equal(personidx_normalise("", out, sizeof(out)), -1);
	assert_int_equal(personidx_normalise("ABCDEFGHIJ", out, sizeof(out)),
	    -1);
}

/* The same person however written gives one hash; anything else
 * another. */
static void
test_hmac(void **state)
{
	uint8_t k1[AEAD_KEY_LEN], k2[AEAD_KEY_LEN];
	uint8_t a[PERSONIDX_HMAC_LEN], b[PERSONIDX_HMAC_LEN];

	(void)state;
	memset(k1, 1, sizeof(k1));
	memset(k2, 2, sizeof(k2));
	assert_int_equal(personidx_hmac(k1, PERSONIDX_SURNAME, "Le Gall",
	    NULL, "1980-02-29", a), 0);
	assert_int_equal(personidx_hmac(k1, PERSONIDX_SURNAME, "le-gall",
	    NULL, "1980-02-29", b), 0);
	assert_memory_equal(a, b, sizeof(a));
	assert_int_equal(personidx_hmac(k1, PERSONIDX_SURNAME, "LEGALL",
	    "ignored", "1980-02-29", b), 0);
	assert_memory_equal(a, b, sizeof(a));
	/* another key, date, surname or kind */
	assert_int_equal(personidx_hmac(k2, PERSONIDX_SURNAME, "Le Gall",
	    NULL, "1980-02-29", b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(personidx_hmac(k1, PERSONIDX_SURNAME, "Le Gall",
	    NULL, "1980-03-01", b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(personidx_hmac(k1, PERSONIDX_SURNAME, "Le Galle",
	    NULL, "1980-02-29", b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(personidx_hmac(k1, PERSONIDX_FULL, "Le Gall",
	    "Anne", "1980-02-29", b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	/* given names and surname do not run into each other */
	assert_int_equal(personidx_hmac(k1, PERSONIDX_FULL, "BC", "A",
	    "1980-02-29", a), 0);
	assert_int_equal(personidx_hmac(k1, PERSONIDX_FULL, "C", "AB",
	    "1980-02-29", b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	/* refused: no name left, no given names for FULL, a bad date */
	assert_int_equal(personidx_hmac(k1, PERSONIDX_SURNAME, " - ", NULL,
	    "1980-02-29", a), -1);
	assert_int_equal(personidx_hmac(k1, PERSONIDX_FULL, "Le Gall", NULL,
	    "1980-02-29", a), -1);
	assert_int_equal(personidx_hmac(k1, PERSONIDX_SURNAME, "Le Gall",
	    NULL, "29.02.1980", a), -1);
	assert_int_equal(personidx_hmac(k1, PERSONIDX_SURNAME, "Le Gall",
	    NULL, "1980-02-2", a), -1);
}

struct found {
	int	n;
	char	cases[8][64];
};

static int
found_cb(void *arg, const char *partner, const char *case_id)
{
	struct found *f = arg;

	if (f->n < 8)
		snprintf(f->cases[f->n++], sizeof(f->cases[0]), "%s/%s",
		    partner, case_id);
	return 0;
}

#define MASTER1	"00112233445566778899aabbccddeeff" \
		"00112233445566778899aabbccddeeff\n"

static void
hash(struct keystore *ks, const char *surname, uint8_t h[PERSONIDX_HMAC_LEN])
{
	uint8_t key[AEAD_KEY_LEN];

	assert_int_equal(personidx_key(ks, key), 0);
	assert_int_equal(personidx_hmac(key, PERSONIDX_SURNAME, surname, NULL,
	    "1975-06-01", h), 0);
}

/* Rows found by hash; the index key survives a rotation; erasure takes
 * the case's rows; no name is stored. */
/* The person rows of a case, as another connection to keys.db sees them. */
static int
other_count(const char *db, const char *partner, const char *case_id)
{
	sqlite3 *h;
	sqlite3_stmt *s;
	int n = -1;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*) FROM persons "
	    "WHERE partner = ?1 AND case_id = ?2", -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_text(s, 1, partner, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, case_id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return n;
}

static void
test_rows(void **state)
{
	uint8_t h1[PERSONIDX_HMAC_LEN], h2[PERSONIDX_HMAC_LEN];
	struct personidx_row rows[2];
	uint8_t k1[AEAD_KEY_LEN], k2[AEAD_KEY_LEN], id[KEYSTORE_ID_LEN];
	uint8_t key[AEAD_KEY_LEN];
	char dir[600], mk[700], db[700], cmd[1500];
	struct keystore *ks;
	struct found f;
	int fd;

	(void)state;
	clock_test_set(1772366400);
	snprintf(dir, sizeof(dir), "%s/rows", base);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(mk, sizeof(mk), "%s/master.key", dir);
	snprintf(db, sizeof(db), "%s/" KEYSTORE_FILE, dir);
	fd = open(mk, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, MASTER1, strlen(MASTER1)),
	    (ssize_t)strlen(MASTER1));
	close(fd);
	ks = keystore_open(dir, mk, 0);
	assert_non_null(ks);
	assert_int_equal(keystore_case_key(ks, "FR", "C-1", id, key), 0);
	assert_int_equal(personidx_key(ks, k1), 0);
	assert_int_equal(personidx_key(ks, k2), 0);
	assert_memory_equal(k1, k2, sizeof(k1));	/* made once */
	hash(ks, "Marchetti", h1);
	hash(ks, "Kowalski", h2);
	assert_int_equal(personidx_add(ks, "FR", "C-1", PERSONIDX_SURNAME,
	    h1), 0);
	assert_int_equal(personidx_add(ks, "FR", "C-1", PERSONIDX_SURNAME,
	    h1), 0);	/* again: one row */
	assert_int_equal(personidx_add(ks, "UZ", "C-9", PERSONIDX_SURNAME,
	    h1), 0);
	assert_int_equal(personidx_add(ks, "FR", "C-2", PERSONIDX_SURNAME,
	    h2), 0);
	assert_int_equal(personidx_count(ks, "FR", "C-1"), 1);
	/* a message's rows in one transaction: all of them land */
	rows[0].kind = PERSONIDX_SURNAME;
	memcpy(rows[0].hmac, h2, sizeof(h2));
	rows[1].kind = PERSONIDX_FULL;
	memcpy(rows[1].hmac, h2, sizeof(h2));
	assert_int_equal(personidx_add_rows(ks, "KR", "C-5", rows, 2), 0);
	assert_int_equal(personidx_count(ks, "KR", "C-5"), 2);
	/* ... in the batch transaction: another reader sees them once the
	 * batch commits (the engine commits it with its journal batch) */
	assert_int_equal(other_count(db, "KR", "C-5"), 0);
	assert_int_equal(keystore_batch_commit(ks), 0);
	assert_int_equal(other_count(db, "KR", "C-5"), 2);
	assert_int_equal(keystore_batch_commit(ks), 0);	/* none open */
	assert_int_equal(personidx_add_rows(ks, "KR", "C-5", rows, 0), 0);
	memset(&f, 0, sizeof(f));
	assert_int_equal(personidx_find(ks, PERSONIDX_SURNAME, h1, found_cb,
	    &f), 2);
	assert_string_equal(f.cases[0], "FR/C-1");
	assert_string_equal(f.cases[1], "UZ/C-9");
	memset(&f, 0, sizeof(f));
	assert_int_equal(personidx_find(ks, PERSONIDX_FULL, h1, found_cb,
	    &f), 0);

	/* rotation: the same index key, under the new master key */
	assert_true(keystore_rotate(ks) >= 1);
	assert_int_equal(personidx_key(ks, k2), 0);
	assert_memory_equal(k1, k2, sizeof(k1));
	keystore_close(ks);
	ks = keystore_open(dir, mk, 0);
	assert_non_null(ks);
	assert_int_equal(personidx_key(ks, k2), 0);
	assert_memory_equal(k1, k2, sizeof(k1));

	/* erasure takes the case's rows with its keys */
	assert_int_equal(keystore_erase(ks, "FR", "C-1", NULL, 0), 1);
	assert_int_equal(personidx_count(ks, "FR", "C-1"), 0);
	memset(&f, 0, sizeof(f));
	assert_int_equal(personidx_find(ks, PERSONIDX_SURNAME, h1, found_cb,
	    &f), 1);
	assert_string_equal(f.cases[0], "UZ/C-9");
	keystore_close(ks);

	/* no name in any byte of the key store (its WAL included) */
	snprintf(cmd, sizeof(cmd), "! grep -r -a -q -i -e Marchetti -e "
	    "Kowalski %s", dir);
	assert_int_equal(system(cmd), 0);

	/* an exported key alone has no index */
	aead_wipe(key, sizeof(key));
}

/* The person crosses the parser's socketpair in the model. */
static void
test_model(void **state)
{
	struct model m, back;
	char *out;
	size_t len;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.person.has = 1;
	snprintf(m.person.surname, sizeof(m.person.surname), "Әлиева");
	snprintf(m.person.given, sizeof(m.person.given), "Aigerim");
	snprintf(m.person.birth_surname, sizeof(m.person.birth_surname),
	    "Kim");
	snprintf(m.person.birth_date, sizeof(m.person.birth_date),
	    "1990-01-02");
	assert_int_equal(model_encode(&m, &out, &len), 0);
	assert_int_equal(model_decode(out, len, &back), 0);
	assert_int_equal(back.person.has, 1);
	assert_string_equal(back.person.surname, "Әлиева");
	assert_string_equal(back.person.given, "Aigerim");
	assert_string_equal(back.person.birth_surname, "Kim");
	assert_string_equal(back.person.birth_date, "1990-01-02");
	free(out);
	model_clear(&back);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_hmac),
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_model),
	};

	log_init("test_personidx", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
