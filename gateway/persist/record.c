/*
 * record.c -- payload codecs of journal records.
 *
 * Each structure is described once, as a table of fields, and the same
 * table drives the encoder and the decoder: a field cannot be written and
 * forgotten on the way back, and the range an encoder accepts is the range
 * its decoder accepts, so the journal never holds a record that cannot be
 * read back.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "conf/agreement.h"
#include "util/errcode.h"
#include "fsm/fsm.h"
#include "util/hex.h"
#include "util/log.h"
#include "persist/record.h"
#include "util/nametab.h"

/* The field loaders below read enums through an int. */
_Static_assert(sizeof(enum fsm_state) == sizeof(int), "enum size");
_Static_assert(sizeof(enum msg_type) == sizeof(int), "enum size");
_Static_assert(sizeof(cal_day_t) == sizeof(int32_t), "cal_day_t size");

/* Name tables an enumerated field may be written with. */
enum rec_tab {
	TAB_STATE,
	TAB_KIND,
	TAB_ROLE,
	TAB_DL,
	TAB_MSG,
	TAB_ERR,
	TAB_DIR,
	TAB_MS,
	TAB_DLOP
};

/* How a field is stored in its structure. */
enum rec_ftype {
	F_INT,		/* int or enum, written as a number in [lo, hi] */
	F_UINT,		/* unsigned int */
	F_I32,		/* int32_t (cal_day_t) */
	F_I64,		/* int64_t (accord_time_t) */
	F_NAME,		/* enum written by name from table tab */
	F_STR,		/* char array of lo bytes */
	F_DUE		/* accord_time_t[FSM_DL_COUNT], keyed by deadline */
};

struct rec_field {
	const char	*key;
	size_t		 off;
	enum rec_ftype	 type;
	int64_t		 lo;	/* F_INT range; F_STR size */
	int64_t		 hi;	/* F_INT range; F_NAME table */
	int		 opt;	/* may be missing (added later): reads as 0 */
};

#define FI(s, k, m, l, h)	{ k, offsetof(struct s, m), F_INT, l, h, 0 }
#define FU(s, k, m)		{ k, offsetof(struct s, m), F_UINT, 0, 0, 0 }
#define FD(s, k, m)		{ k, offsetof(struct s, m), F_I32, 0, 0, 0 }
#define FT(s, k, m)		{ k, offsetof(struct s, m), F_I64, 0, 0, 0 }
#define FN(s, k, m, t)		{ k, offsetof(struct s, m), F_NAME, 0, t, 0 }
#define FS(s, k, m)		{ k, offsetof(struct s, m), F_STR, \
				    sizeof(((struct s *)0)->m), 0, 0 }
#define FA(s, k, m)		{ k, offsetof(struct s, m), F_DUE, 0, 0, 0 }
/* Fields added after records were written: a missing one reads as 0. */
#define FIO(s, k, m, l, h)	{ k, offsetof(struct s, m), F_INT, l, h, 1 }
#define FDO(s, k, m)		{ k, offsetof(struct s, m), F_I32, 0, 0, 1 }
#define FAO(s, k, m)		{ k, offsetof(struct s, m), F_DUE, 0, 0, 1 }
#define FTO(s, k, m)		{ k, offsetof(struct s, m), F_I64, 0, 0, 1 }

#define NFIELDS(t)	(sizeof(t) / sizeof(t[0]))

static const struct rec_field case_fields[] = {
	FN(fsm_case, "kind", kind, TAB_KIND),
	FN(fsm_case, "role", role, TAB_ROLE),
	FN(fsm_case, "state", state, TAB_STATE),
	FN(fsm_case, "resume", resume, TAB_STATE),
	FI(fsm_case, "procedure", procedure, 0, FSM_PROC_ACCELERATED),
	FI(fsm_case, "reason", reason, 0, FSM_REASON_OBJECTIVE),
	FA(fsm_case, "due", due),
	FU(fsm_case, "armed", armed),
	FI(fsm_case, "deemed", deemed, INT_MIN, INT_MAX),
	FI(fsm_case, "ext_reply", ext_reply, 0, FSM_EXTST_REFUSED),
	FI(fsm_case, "ext_transfer", ext_transfer, 0, FSM_EXTST_REFUSED),
	FI(fsm_case, "ident_pending", ident_pending, INT_MIN, INT_MAX),
	FI(fsm_case, "ident_suspended", ident_suspended, INT_MIN, INT_MAX),
	FT(fsm_case, "ident_remaining", ident_remaining),
	FI(fsm_case, "protection_claim", protection_claim, INT_MIN, INT_MAX),
	FI(fsm_case, "assessment", assessment, INT_MIN, INT_MAX),
	FI(fsm_case, "assessment_risk", assessment_risk, INT_MIN, INT_MAX),
	FD(fsm_case, "doc_valid_until", doc_valid_until),
	FI(fsm_case, "has_doc", has_doc, INT_MIN, INT_MAX),
	FT(fsm_case, "transfer_at", transfer_at),
	FD(fsm_case, "departure_date", departure_date),
	FIO(fsm_case, "transfer_days_left", transfer_days_left, 0, INT_MAX),
	/* fsm 2 */
	FDO(fsm_case, "doc_valid_from", doc_valid_from),
	FIO(fsm_case, "ident_days", ident_days, 0, 1),
	FAO(fsm_case, "period_from", period_from),
	FAO(fsm_case, "period_days", period_days),
	FTO(fsm_case, "deemed_transfer_due", deemed_transfer_due),
};

static const struct rec_field event_fields[] = {
	FI(fsm_event, "kind", kind, 0, FSM_EV_RECORD),
	FN(fsm_event, "type", type, TAB_MSG),
	FN(fsm_event, "deadline", deadline, TAB_DL),
	FI(fsm_event, "record", record, 0, FSM_REC_ASSESSMENT),
	FT(fsm_event, "created", created),
	FT(fsm_event, "at", at),
	FI(fsm_event, "procedure", procedure, 0, FSM_PROC_ACCELERATED),
	FI(fsm_event, "reason", reason, 0, FSM_REASON_OBJECTIVE),
	FI(fsm_event, "positive", positive, INT_MIN, INT_MAX),
	FI(fsm_event, "grounds", grounds, INT_MIN, INT_MAX),
	FI(fsm_event, "ext_subject", ext_subject, 0, FSM_EXT_TRANSFER_WINDOW),
	FI(fsm_event, "ext_days", ext_days, INT_MIN, INT_MAX),
	FI(fsm_event, "doc_extended", doc_extended, INT_MIN, INT_MAX),
	FD(fsm_event, "doc_valid_from", doc_valid_from),
	FD(fsm_event, "doc_valid_until", doc_valid_until),
	FT(fsm_event, "transfer_at", transfer_at),
	FD(fsm_event, "departure_date", departure_date),
	FI(fsm_event, "criminal_offence", criminal_offence, INT_MIN, INT_MAX),
	FI(fsm_event, "entry_illegal", entry_illegal, INT_MIN, INT_MAX),
	FD(fsm_event, "entry_date", entry_date),
	FI(fsm_event, "passport", passport, INT_MIN, INT_MAX),
	FI(fsm_event, "application", application, INT_MIN, INT_MAX),
	FI(fsm_event, "ticket", ticket, INT_MIN, INT_MAX),
	FI(fsm_event, "risk_found", risk_found, INT_MIN, INT_MAX),
	FA(fsm_event, "given_due", given_due),
	FIO(fsm_event, "protection", protection, 0, FSM_PROT_UPHELD),
};

static const struct rec_field dlop_fields[] = {
	FN(fsm_dlop, "which", which, TAB_DL),
	FN(fsm_dlop, "op", op, TAB_DLOP),
	FT(fsm_dlop, "due", due),
};

/* The flat part of a decision; event, next and dlops are nested. */
static const struct rec_field decision_fields[] = {
	FS(record_decision, "partner", partner),
	FS(record_decision, "case_id", case_id),
	FS(record_decision, "message_id", message_id),
	FN(record_decision, "kind", kind, TAB_KIND),
	FN(record_decision, "role", role, TAB_ROLE),
	FT(record_decision, "now", now),
	FI(record_decision, "fsm_version", d.version, INT_MIN, INT_MAX),
	FN(record_decision, "refusal", d.refusal, TAB_ERR),
	FS(record_decision, "text", d.text),
	FN(record_decision, "old_state", d.old_state, TAB_STATE),
	FN(record_decision, "new_state", d.new_state, TAB_STATE),
	FU(record_decision, "effects", d.effects),
	FI(record_decision, "entry_ban_years", d.entry_ban_years, INT_MIN,
	    INT_MAX),
	FS(record_decision, "event_text", d.event),
};

static const struct rec_field message_fields[] = {
	FS(record_message, "partner", partner),
	FS(record_message, "case_id", case_id),
	FS(record_message, "message_id", message_id),
	FS(record_message, "ref_to", ref_to),
	FN(record_message, "type", type, TAB_MSG),
	FN(record_message, "direction", direction, TAB_DIR),
	FS(record_message, "sha256", sha256),
	FT(record_message, "created", created),
	FT(record_message, "received_at", received_at),
};

static const struct rec_field deadline_fields[] = {
	FS(record_deadline, "partner", partner),
	FS(record_deadline, "case_id", case_id),
	FN(record_deadline, "which", which, TAB_DL),
	FT(record_deadline, "due", due),
};

static const struct rec_field msgstate_fields[] = {
	FS(record_msgstate, "partner", partner),
	FS(record_msgstate, "message_id", message_id),
	FN(record_msgstate, "direction", direction, TAB_DIR),
	FN(record_msgstate, "state", state, TAB_MS),
	FS(record_msgstate, "reason", reason),
	FT(record_msgstate, "next_attempt", next_attempt),
	FI(record_msgstate, "attempts", attempts, 0, INT_MAX),
};

static const struct rec_field ack_fields[] = {
	FS(record_ack, "partner", partner),
	FS(record_ack, "message_id", message_id),
};

static const struct rec_field pause_fields[] = {
	FS(record_pause, "partner", partner),
	FI(record_pause, "paused", paused, 0, 1),
};

static const struct rec_field counted_fields[] = {
	FS(record_counted, "partner", partner),
	FI(record_counted, "refused", refused, 1, INT_MAX),
	FI(record_counted, "repeated", repeated, 0, INT_MAX),
	FT(record_counted, "first", first),
	FT(record_counted, "last", last),
	FI(record_counted, "per_minute", per_minute, 1, INT_MAX),
};

static const struct rec_field void_fields[] = {
	FS(record_void, "partner", partner),
	FN(record_void, "type", type, TAB_MSG),
	FS(record_void, "message_id", message_id),
	FS(record_void, "sha256", sha256),
	FS(record_void, "reason", reason),
};

static const char *const rec_ms_names[RECORD_MS_COUNT] = {
	"QUEUED", "SENT", "RECEIPTED", "REJECTED", "UNDELIVERED", "DISPUTED",
	"RECEIVED"
};

static const char *rec_dir_names[] = { "in", "out" };
static const char *rec_dlop_names[] = { "set", "clear" };

const char *
record_dir_name(enum record_dir d)
{
	return d == RECORD_DIR_OUT ? "out" : d == RECORD_DIR_IN ? "in" : "?";
}

int
record_dir_from_name(const char *name)
{
	if (strcmp(name, "in") == 0)
		return RECORD_DIR_IN;
	if (strcmp(name, "out") == 0)
		return RECORD_DIR_OUT;
	return -1;
}

const char *
record_msg_state_name(enum record_msg_state s)
{
	return nametab_name(rec_ms_names, RECORD_MS_COUNT, (int)s, "?");
}

int
record_msg_state_from_name(const char *name)
{
	return nametab_find(rec_ms_names, RECORD_MS_COUNT, name);
}

/* Number of values of a name table. */
static int
rec_tab_count(int tab)
{
	switch (tab) {
	case TAB_STATE:
		return FSM_STATE_COUNT;
	case TAB_KIND:
		return FSM_KIND_COUNT;
	case TAB_ROLE:
		return ROLE_COUNT;
	case TAB_DL:
		return FSM_DL_COUNT;
	case TAB_MSG:
		return MSG_TYPE_COUNT;
	case TAB_ERR:
		return AE_COUNT;
	case TAB_DIR:
		return 2;
	case TAB_MS:
		return RECORD_MS_COUNT;
	case TAB_DLOP:
		return 2;
	default:
		return 0;
	}
}

/* The name of value v in table tab, or NULL when out of range. */
static const char *
rec_tab_name(int tab, int v)
{
	if (v < 0 || v >= rec_tab_count(tab))
		return NULL;
	switch (tab) {
	case TAB_STATE:
		return fsm_state_name(v);
	case TAB_KIND:
		return fsm_kind_name(v);
	case TAB_ROLE:
		return fsm_role_name(v);
	case TAB_DL:
		return fsm_deadline_name(v);
	case TAB_MSG:
		return agreement_msg_type_name(v);
	case TAB_ERR:
		return errcode_name(v);
	case TAB_DIR:
		return rec_dir_names[v];
	case TAB_MS:
		return rec_ms_names[v];
	case TAB_DLOP:
		return rec_dlop_names[v];
	default:
		return NULL;
	}
}

/* @return the value named name in table tab, or -1. */
static int
rec_tab_lookup(int tab, const char *name)
{
	const char *s;
	int i, n = rec_tab_count(tab);

	for (i = 0; i < n; i++) {
		s = rec_tab_name(tab, i);
		if (s != NULL && strcmp(s, name) == 0)
			return i;
	}
	return -1;
}

/* Deadline instants as {"reply": t, ...}; every deadline is written. */
static json_t *
rec_due_to_json(const accord_time_t *due)
{
	json_t *o;
	int i;

	if ((o = json_object()) == NULL)
		return NULL;
	for (i = 0; i < FSM_DL_COUNT; i++)
		if (json_object_set_new(o, fsm_deadline_name(i),
		    json_integer(due[i])) == -1) {
			json_decref(o);
			return NULL;
		}
	return o;
}

/* The reverse; a deadline that is not named is 0, so that a record
 * written before a deadline was added still reads. */
static int
rec_due_from_json(const json_t *o, const char *key, accord_time_t *due)
{
	const char *k;
	json_t *v;
	int i;

	if (!json_is_object(o)) {
		log_warnx("record", "field '%s' is not an object", key);
		return -1;
	}
	for (i = 0; i < FSM_DL_COUNT; i++)
		due[i] = 0;
	json_object_foreach((json_t *)o, k, v) {
		if ((i = rec_tab_lookup(TAB_DL, k)) == -1 ||
		    !json_is_integer(v)) {
			log_warnx("record", "field '%s': bad deadline '%s'",
			    key, k);
			return -1;
		}
		due[i] = json_integer_value(v);
	}
	return 0;
}

/* Write the fields of the structure at base into object o. */
static int
rec_fields_put(json_t *o, const void *base, const struct rec_field *f,
    size_t n)
{
	const char *p, *name;
	json_t *v;
	int64_t i64;
	int32_t i32;
	unsigned u;
	size_t k;
	int i;

	for (k = 0; k < n; k++, f++) {
		p = (const char *)base + f->off;
		v = NULL;
		switch (f->type) {
		case F_INT:
			memcpy(&i, p, sizeof(i));
			if (i < f->lo || i > f->hi)
				goto range;
			v = json_integer(i);
			break;
		case F_UINT:
			memcpy(&u, p, sizeof(u));
			v = json_integer(u);
			break;
		case F_I32:
			memcpy(&i32, p, sizeof(i32));
			v = json_integer(i32);
			break;
		case F_I64:
			memcpy(&i64, p, sizeof(i64));
			v = json_integer(i64);
			break;
		case F_NAME:
			memcpy(&i, p, sizeof(i));
			if ((name = rec_tab_name((int)f->hi, i)) == NULL)
				goto range;
			v = json_string(name);
			break;
		case F_STR:
			if (memchr(p, '\0', (size_t)f->lo) == NULL)
				goto range;
			v = json_string(p);
			break;
		case F_DUE:
			v = rec_due_to_json((const accord_time_t *)(const void *)p);
			break;
		}
		/* json_string() refuses invalid UTF-8, json_integer() only
		 * fails for want of memory */
		if (v == NULL) {
			log_warnx("record", "field '%s': cannot encode", f->key);
			return -1;
		}
		if (json_object_set_new(o, f->key, v) == -1)
			return -1;
	}
	return 0;
 range:
	/* A bug in the caller: refuse to journal what cannot be read. */
	log_warnx("record", "field '%s': value out of range", f->key);
	return -1;
}

/* Zero a field that a record written before it was added lacks. */
static void
rec_field_zero(char *p, const struct rec_field *f)
{
	switch (f->type) {
	case F_INT:
	case F_NAME:
		memset(p, 0, sizeof(int));
		break;
	case F_UINT:
		memset(p, 0, sizeof(unsigned));
		break;
	case F_I32:
		memset(p, 0, sizeof(int32_t));
		break;
	case F_I64:
		memset(p, 0, sizeof(int64_t));
		break;
	case F_DUE:
		memset(p, 0, sizeof(accord_time_t) * FSM_DL_COUNT);
		break;
	case F_STR:
		memset(p, 0, (size_t)f->lo);
		break;
	}
}

/* Read the fields of the structure at base from object o. */
static int
rec_fields_get(const json_t *o, void *base, const struct rec_field *f,
    size_t n)
{
	const char *s;
	json_t *v;
	json_int_t jv;
	int64_t i64;
	int32_t i32;
	unsigned u;
	char *p;
	size_t k;
	int i;

	for (k = 0; k < n; k++, f++) {
		p = (char *)base + f->off;
		if ((v = json_object_get(o, f->key)) == NULL && f->opt) {
			rec_field_zero(p, f);
			continue;
		}
		if (v == NULL)
			goto bad;
		switch (f->type) {
		case F_INT:
			if (!json_is_integer(v))
				goto bad;
			jv = json_integer_value(v);
			if (jv < f->lo || jv > f->hi)
				goto bad;
			i = (int)jv;
			memcpy(p, &i, sizeof(i));
			break;
		case F_UINT:
			if (!json_is_integer(v))
				goto bad;
			jv = json_integer_value(v);
			if (jv < 0 || jv > UINT_MAX)
				goto bad;
			u = (unsigned)jv;
			memcpy(p, &u, sizeof(u));
			break;
		case F_I32:
			if (!json_is_integer(v))
				goto bad;
			jv = json_integer_value(v);
			if (jv < INT32_MIN || jv > INT32_MAX)
				goto bad;
			i32 = (int32_t)jv;
			memcpy(p, &i32, sizeof(i32));
			break;
		case F_I64:
			if (!json_is_integer(v))
				goto bad;
			i64 = json_integer_value(v);
			memcpy(p, &i64, sizeof(i64));
			break;
		case F_NAME:
			if ((s = json_string_value(v)) == NULL ||
			    (i = rec_tab_lookup((int)f->hi, s)) == -1)
				goto bad;
			memcpy(p, &i, sizeof(i));
			break;
		case F_STR:
			if ((s = json_string_value(v)) == NULL ||
			    json_string_length(v) != strlen(s) ||
			    strlen(s) >= (size_t)f->lo)
				goto bad;
			memset(p, 0, (size_t)f->lo);
			memcpy(p, s, strlen(s));
			break;
		case F_DUE:
			if (rec_due_from_json(v, f->key,
			    (accord_time_t *)(void *)p) == -1)
				return -1;
			break;
		}
	}
	return 0;
 bad:
	log_warnx("record", "field '%s' missing, of the wrong type or out of "
	    "range", f->key);
	return -1;
}

/* A new object holding the fields, or NULL. */
static json_t *
rec_object(const void *base, const struct rec_field *f, size_t n)
{
	json_t *o;

	if ((o = json_object()) == NULL)
		return NULL;
	if (rec_fields_put(o, base, f, n) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
record_case_to_json(const struct fsm_case *c)
{
	return rec_object(c, case_fields, NFIELDS(case_fields));
}

int
record_case_from_json(const json_t *j, struct fsm_case *out)
{
	memset(out, 0, sizeof(*out));
	if (!json_is_object(j)) {
		log_warnx("record", "case is not an object");
		return -1;
	}
	return rec_fields_get(j, out, case_fields, NFIELDS(case_fields));
}

json_t *
record_event_to_json(const struct fsm_event *ev)
{
	return rec_object(ev, event_fields, NFIELDS(event_fields));
}

int
record_event_from_json(const json_t *j, struct fsm_event *out)
{
	memset(out, 0, sizeof(*out));
	if (!json_is_object(j)) {
		log_warnx("record", "event is not an object");
		return -1;
	}
	return rec_fields_get(j, out, event_fields, NFIELDS(event_fields));
}

int
record_sha256_hex(const void *p, size_t len, char hex[RECORD_SHA256_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32) {
		log_openssl("record", "SHA-256");
		return -1;
	}
	hex_encode(md, mdlen, hex);
	return 0;
}

/* Add the version, serialise o deterministically and take it. */
static int
rec_finish(json_t *o, char **out, size_t *outlen)
{
	char *s = NULL;
	int rv = -1;

	*out = NULL;
	*outlen = 0;
	if (o == NULL)
		goto done;
	if (json_object_set_new(o, "v", json_integer(RECORD_VERSION)) == -1)
		goto done;
	if ((s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto done;
	*out = s;
	*outlen = strlen(s);
	rv = 0;
 done:
	if (rv == -1)
		log_warnx("record", "cannot encode a record");
	json_decref(o);
	return rv;
}

/* Parse len bytes of JSON and check the payload version.
 * @return a new reference, or NULL (logged). */
static json_t *
rec_parse(const void *p, size_t len, const char *what)
{
	json_error_t err;
	json_t *o, *v;

	o = json_loadb(p, len, JSON_REJECT_DUPLICATES, &err);
	if (o == NULL) {
		log_warnx("record", "%s: %s at byte %d", what, err.text,
		    err.position);
		return NULL;
	}
	if (!json_is_object(o)) {
		log_warnx("record", "%s: not an object", what);
		goto bad;
	}
	v = json_object_get(o, "v");
	if (!json_is_integer(v) || json_integer_value(v) != RECORD_VERSION) {
		log_warnx("record", "%s: payload version is not %d", what,
		    RECORD_VERSION);
		goto bad;
	}
	return o;
 bad:
	json_decref(o);
	return NULL;
}

/* Encode a flat structure described by f. */
static int
rec_flat_encode(const void *base, const struct rec_field *f, size_t n,
    char **out, size_t *outlen)
{
	return rec_finish(rec_object(base, f, n), out, outlen);
}

/* Decode a flat structure described by f into base (size bytes). */
static int
rec_flat_decode(const void *p, size_t len, void *base, size_t size,
    const struct rec_field *f, size_t n, const char *what)
{
	json_t *o;
	int rv;

	memset(base, 0, size);
	if ((o = rec_parse(p, len, what)) == NULL)
		return -1;
	rv = rec_fields_get(o, base, f, n);
	json_decref(o);
	return rv;
}

/* A message's header: its fields, and its grounds when it has them. */
static int
rec_message_header(const struct record_message *m, char **out,
    size_t *outlen)
{
	json_t *o, *a;
	int i;

	if (m->has_grounds && (m->ngrounds < 0 ||
	    m->ngrounds > RECORD_GROUNDS_MAX)) {
		log_warnx("record", "message %s: %d grounds", m->message_id,
		    m->ngrounds);
		return -1;
	}
	o = rec_object(m, message_fields, NFIELDS(message_fields));
	if (o != NULL && m->has_grounds) {
		if ((a = json_array()) == NULL ||
		    json_object_set_new(o, "grounds", a) == -1)
			goto fail;
		for (i = 0; i < m->ngrounds; i++)
			if (json_array_append_new(a, json_stringn(m->grounds[i],
			    strnlen(m->grounds[i], RECORD_GROUND_MAX))) == -1)
				goto fail;
	}
	return rec_finish(o, out, outlen);
 fail:
	json_decref(o);
	return rec_finish(NULL, out, outlen);
}

/* The grounds of a message's header, when it states them. */
static int
rec_message_grounds(json_t *o, struct record_message *m)
{
	json_t *a, *v;
	size_t i;

	if ((a = json_object_get(o, "grounds")) == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > RECORD_GROUNDS_MAX)
		goto bad;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || json_string_length(v) >=
		    RECORD_GROUND_MAX || json_string_length(v) !=
		    strlen(json_string_value(v)))
			goto bad;
		memcpy(m->grounds[i], json_string_value(v),
		    json_string_length(v) + 1);
		m->ngrounds++;
	}
	m->has_grounds = 1;
	return 0;
 bad:
	log_warnx("record", "field 'grounds' is not an array of at most %d "
	    "short strings", RECORD_GROUNDS_MAX);
	return -1;
}

int
record_message_encode(const struct record_message *m, const void *body,
    size_t body_len, char **out, size_t *outlen)
{
	struct record_message h = *m;
	char *hdr = NULL, *buf = NULL;
	size_t hlen;
	int rv = -1;

	*out = NULL;
	*outlen = 0;
	if (record_sha256_hex(body, body_len, h.sha256) == -1)
		goto done;
	if (rec_message_header(&h, &hdr, &hlen) == -1)
		goto done;
	if ((buf = malloc(hlen + 1 + body_len)) == NULL) {
		log_err("record", "malloc");
		goto done;
	}
	memcpy(buf, hdr, hlen);
	buf[hlen] = '\n';
	if (body_len > 0)
		memcpy(buf + hlen + 1, body, body_len);
	*out = buf;
	*outlen = hlen + 1 + body_len;
	rv = 0;
 done:
	free(hdr);
	return rv;
}

int
record_message_decode(const void *p, size_t len, struct record_message *m)
{
	const unsigned char *nl;
	char hex[RECORD_SHA256_HEX];
	json_t *o, *v;
	size_t hlen;
	int rv;

	memset(m, 0, sizeof(*m));
	if ((nl = memchr(p, '\n', len)) == NULL) {
		log_warnx("record", "message: no end of header");
		return -1;
	}
	hlen = (size_t)(nl - (const unsigned char *)p);
	if ((o = rec_parse(p, hlen, "message")) == NULL)
		return -1;
	rv = rec_fields_get(o, m, message_fields, NFIELDS(message_fields));
	v = json_object_get(o, "sealed");
	if (v != NULL && !(json_is_integer(v) &&
	    json_integer_value(v) == JOURNAL_CIPHER_AES256GCM)) {
		log_warnx("record", "message: sealed with an unknown cipher");
		rv = -1;
	}
	m->sealed = v != NULL;
	/* the header is parsed once: the grounds from the same object */
	if (rv == 0 && rec_message_grounds(o, m) == -1)
		rv = -1;
	json_decref(o);
	if (rv == -1)
		return -1;
	if (m->sealed) {
		/* the body is sealed: its digest is checked on unsealing */
		m->header_len = hlen;
		m->sealed_bytes = nl + 1;
		m->sealed_len = len - hlen - 1;
		return 0;
	}
	m->body = nl + 1;
	m->body_len = len - hlen - 1;
	if (record_sha256_hex(m->body, m->body_len, hex) == -1)
		return -1;
	if (strcmp(hex, m->sha256) != 0) {
		log_warnx("record", "message %s: body does not match its "
		    "SHA-256", m->message_id);
		return -1;
	}
	return 0;
}

int
record_decision_encode(const struct record_decision *rd, char **out,
    size_t *outlen)
{
	json_t *o = NULL, *a, *v;
	int i;

	*out = NULL;
	*outlen = 0;
	if (rd->d.ndlops < 0 || rd->d.ndlops > FSM_MAX_DLOPS) {
		log_warnx("record", "decision: %d deadline operations",
		    rd->d.ndlops);
		return -1;
	}
	if ((o = rec_object(rd, decision_fields,
	    NFIELDS(decision_fields))) == NULL)
		goto fail;
	if ((v = record_event_to_json(&rd->ev)) == NULL ||
	    json_object_set_new(o, "event", v) == -1)
		goto fail;
	if ((v = record_case_to_json(&rd->d.next)) == NULL ||
	    json_object_set_new(o, "next", v) == -1)
		goto fail;
	if ((a = json_array()) == NULL || json_object_set_new(o, "dlops",
	    a) == -1)
		goto fail;
	for (i = 0; i < rd->d.ndlops; i++)
		if ((v = rec_object(&rd->d.dlops[i], dlop_fields,
		    NFIELDS(dlop_fields))) == NULL ||
		    json_array_append_new(a, v) == -1)
			goto fail;
	return rec_finish(o, out, outlen);
 fail:
	log_warnx("record", "decision for case %s: cannot encode",
	    rd->case_id);
	json_decref(o);
	return -1;
}

int
record_decision_decode(const void *p, size_t len, struct record_decision *rd)
{
	json_t *o, *a, *v;
	size_t i;
	int rv = -1;

	memset(rd, 0, sizeof(*rd));
	if ((o = rec_parse(p, len, "decision")) == NULL)
		return -1;
	if (rec_fields_get(o, rd, decision_fields,
	    NFIELDS(decision_fields)) == -1)
		goto done;
	if (record_event_from_json(json_object_get(o, "event"),
	    &rd->ev) == -1)
		goto done;
	if (record_case_from_json(json_object_get(o, "next"),
	    &rd->d.next) == -1)
		goto done;
	a = json_object_get(o, "dlops");
	if (!json_is_array(a) || json_array_size(a) > FSM_MAX_DLOPS) {
		log_warnx("record", "field 'dlops' is not an array of at "
		    "most %d", FSM_MAX_DLOPS);
		goto done;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_object(v) || rec_fields_get(v, &rd->d.dlops[i],
		    dlop_fields, NFIELDS(dlop_fields)) == -1) {
			log_warnx("record", "dlops[%zu] malformed", i);
			goto done;
		}
	}
	rd->d.ndlops = (int)json_array_size(a);
	rv = 0;
 done:
	json_decref(o);
	return rv;
}

int
record_deadline_encode(const struct record_deadline *r, char **out,
    size_t *outlen)
{
	return rec_flat_encode(r, deadline_fields, NFIELDS(deadline_fields),
	    out, outlen);
}

int
record_deadline_decode(const void *p, size_t len, struct record_deadline *r)
{
	return rec_flat_decode(p, len, r, sizeof(*r), deadline_fields,
	    NFIELDS(deadline_fields), "deadline");
}

int
record_msgstate_encode(const struct record_msgstate *r, char **out,
    size_t *outlen)
{
	return rec_flat_encode(r, msgstate_fields, NFIELDS(msgstate_fields),
	    out, outlen);
}

int
record_msgstate_decode(const void *p, size_t len, struct record_msgstate *r)
{
	return rec_flat_decode(p, len, r, sizeof(*r), msgstate_fields,
	    NFIELDS(msgstate_fields), "message state");
}

int
record_ack_encode(const struct record_ack *r, char **out, size_t *outlen)
{
	return rec_flat_encode(r, ack_fields, NFIELDS(ack_fields), out,
	    outlen);
}

int
record_ack_decode(const void *p, size_t len, struct record_ack *r)
{
	return rec_flat_decode(p, len, r, sizeof(*r), ack_fields,
	    NFIELDS(ack_fields), "inbox ack");
}

int
record_pause_encode(const struct record_pause *r, char **out, size_t *outlen)
{
	return rec_flat_encode(r, pause_fields, NFIELDS(pause_fields), out,
	    outlen);
}

int
record_pause_decode(const void *p, size_t len, struct record_pause *r)
{
	return rec_flat_decode(p, len, r, sizeof(*r), pause_fields,
	    NFIELDS(pause_fields), "partner pause");
}

int
record_counted_encode(const struct record_counted *r, char **out,
    size_t *outlen)
{
	return rec_flat_encode(r, counted_fields, NFIELDS(counted_fields),
	    out, outlen);
}

int
record_counted_decode(const void *p, size_t len, struct record_counted *r)
{
	return rec_flat_decode(p, len, r, sizeof(*r), counted_fields,
	    NFIELDS(counted_fields), "refusals counted");
}

/* What the field table cannot say: a digest the signer's log can name,
 * and something to name. */
static int
rec_void_check(const struct record_void *r)
{
	size_t i;

	if (memchr(r->partner, '\0', sizeof(r->partner)) == NULL ||
	    memchr(r->message_id, '\0', sizeof(r->message_id)) == NULL ||
	    memchr(r->sha256, '\0', sizeof(r->sha256)) == NULL ||
	    r->partner[0] == '\0' || r->message_id[0] == '\0' ||
	    strlen(r->sha256) != RECORD_SHA256_HEX - 1)
		goto bad;
	for (i = 0; i < RECORD_SHA256_HEX - 1; i++)
		if (strchr("0123456789abcdef", r->sha256[i]) == NULL)
			goto bad;
	return 0;
 bad:
	log_warnx("record", "signature void: partner, message id or sha256 "
	    "malformed");
	return -1;
}

int
record_void_encode(const struct record_void *r, char **out, size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	if (rec_void_check(r) == -1)
		return -1;
	return rec_flat_encode(r, void_fields, NFIELDS(void_fields), out,
	    outlen);
}

int
record_void_decode(const void *p, size_t len, struct record_void *r)
{
	if (rec_flat_decode(p, len, r, sizeof(*r), void_fields,
	    NFIELDS(void_fields), "signature void") == -1 ||
	    rec_void_check(r) == -1)
		return -1;
	return 0;
}
