/*
 * engine_person.c -- subject access (issue 19 item 5): the person index
 * the engine keeps as messages naming a person are journalled, and
 * find-person, which answers the cases of a person after journalling who
 * asked, why, and the keyed hash asked for (persist/personidx.h).
 *
 * The engine is the one process that holds the master key, so it alone
 * hashes: a parser process hands it the person's fields in the model
 * (msg/model.h, struct model_person), which it hashes and forgets.  No
 * name is journalled, logged or kept: a find-person record names the
 * hash, never the surname.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "engine/engine.h"
#include "engine/engine_state_priv.h"
#include "msg/model.h"
#include "persist/keystore.h"
#include "persist/personidx.h"
#include "util/aead.h"
#include "util/hex.h"
#include "util/log.h"

/* One row of kind for the names given into rows[*n]; a name missing,
 * or nothing left of it once normalised, is no row. */
static void
engine_person_row(const uint8_t key[AEAD_KEY_LEN], enum personidx_kind kind,
    const char *surname, const char *given, const char *birth,
    struct personidx_row *rows, size_t *n)
{
	if (surname[0] == '\0' || (kind == PERSONIDX_FULL &&
	    given[0] == '\0'))
		return;
	rows[*n].kind = kind;
	if (personidx_hmac(key, kind, surname, given, birth,
	    rows[*n].hmac) == 0)
		(*n)++;
}

void
engine_person_index(struct engine *e, const char *partner,
    const char *case_id, const struct model_person *p)
{
	uint8_t key[AEAD_KEY_LEN];
	struct personidx_row rows[3];
	size_t n = 0;

	if (e->keys == NULL || p == NULL || !p->has || case_id[0] == '\0')
		return;
	if (personidx_key(e->keys, key) == -1) {
		log_warnx(ETAG, "case %s/%s not indexed by person: no index "
		    "key", partner, case_id);
		return;
	}
	/* found by the surname, the birth surname, or given names and
	 * surname; each with the birth date */
	engine_person_row(key, PERSONIDX_SURNAME, p->surname, "",
	    p->birth_date, rows, &n);
	engine_person_row(key, PERSONIDX_SURNAME, p->birth_surname, "",
	    p->birth_date, rows, &n);
	engine_person_row(key, PERSONIDX_FULL, p->surname, p->given,
	    p->birth_date, rows, &n);
	aead_wipe(key, sizeof(key));
	if (personidx_add_rows(e->keys, partner, case_id, rows, n) == -1)
		log_warnx(ETAG, "case %s/%s: person index not written",
		    partner, case_id);
}

/* Each case found, as "partner" and "case" into the array. */
static int
engine_person_found(void *arg, const char *partner, const char *case_id)
{
	json_array_append_new((json_t *)arg, json_pack("{s:s, s:s}",
	    "partner", partner, "case", case_id));
	return 0;
}

int
engine_find_person(struct engine *e, uid_t uid, const char *surname,
    const char *given, const char *birth, const char *reason,
    json_t **cases, struct engine_answer *ans)
{
	enum personidx_kind kind = given != NULL ? PERSONIDX_FULL :
	    PERSONIDX_SURNAME;
	uint8_t key[AEAD_KEY_LEN], h[PERSONIDX_HMAC_LEN];
	char hex[2 * PERSONIDX_HMAC_LEN + 1];
	json_t *found, *names, *c;
	size_t i;
	int rc;

	memset(ans, 0, sizeof(*ans));
	*cases = NULL;
	if (e->keys == NULL) {
		engine_answer_set(ans, 409, AE_CONFLICT, "no <keys master=> "
		    "configured: there is no person index");
		return -1;
	}
	if (engine_lagging(e, ans))
		return -1;
	if (personidx_key(e->keys, key) == -1) {
		engine_answer_set(ans, 500, AE_INTERNAL, "the person index "
		    "key cannot be read");
		return -1;
	}
	rc = personidx_hmac(key, kind, surname, given, birth, h);
	aead_wipe(key, sizeof(key));
	if (rc == -1) {
		engine_answer_set(ans, 400, AE_INVALID_FIELD, "a name is empty "
		    "once spaces and hyphens are left out, or birth-date is "
		    "not YYYY-MM-DD");
		return -1;
	}
	found = json_array();
	if (personidx_find(e->keys, kind, h, engine_person_found,
	    found) == -1) {
		json_decref(found);
		engine_answer_set(ans, 503, AE_TEMPORARY, "the person index "
		    "cannot be read");
		return -1;
	}
	hex_encode(h, sizeof(h), hex);
	names = json_array();
	json_array_foreach(found, i, c)
		json_array_append_new(names, json_sprintf("%s/%s",
		    json_string_value(json_object_get(c, "partner")),
		    json_string_value(json_object_get(c, "case"))));
	/* journalled before anything is answered: who looked, why, for
	 * which hash (never the name), and what it found */
	if (engine_journal_json(e, JOURNAL_OPERATOR_COMMAND, json_pack(
	    "{s:s, s:i, s:s, s:s, s:s, s:o}", "command", "find-person",
	    "uid", (int)uid, "reason", reason, "hmac", hex, "match",
	    kind == PERSONIDX_FULL ? "given+surname+birth-date" :
	    "surname+birth-date", "cases", names)) == -1 ||
	    engine_flush(e) == -1) {
		json_decref(found);
		engine_answer_set(ans, 503, AE_TEMPORARY, "journal commit "
		    "failed: nothing answered");
		return -1;
	}
	e->person_lookups++;
	*cases = found;
	engine_answer_set(ans, 200, AE_OK, "%zu case(s)",
	    json_array_size(found));
	log_info(ETAG, "find-person by uid %u: %zu case(s)", (unsigned)uid,
	    json_array_size(found));
	return 0;
}
