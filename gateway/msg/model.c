/*
 * model.c -- the verified message model's serialisation: one JSON
 * object whose members are named after the struct's fields.  A table
 * lists every scalar field once, so that encoding and decoding cannot
 * drift apart; the arrays (deadlines, dates, ground names) and the
 * Redelivery's original bytes (hex) are done by hand.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "msg/model.h"
#include "util/hex.h"
#include "util/xmalloc.h"

enum model_kind { MK_STR, MK_INT, MK_TIME, MK_DAY };

struct model_field {
	const char	*name;
	enum model_kind	 kind;
	size_t		 off;
	size_t		 size;		/* MK_STR: the array's */
};

#define F_STR(n, f)	{ n, MK_STR, offsetof(struct model, f), \
			  sizeof(((struct model *)0)->f) }
#define F_INT(n, f)	{ n, MK_INT, offsetof(struct model, f), 0 }
#define F_TIME(n, f)	{ n, MK_TIME, offsetof(struct model, f), 0 }
#define F_DAY(n, f)	{ n, MK_DAY, offsetof(struct model, f), 0 }

/* enums are stored as int: every enum here fits one */
static const struct model_field model_fields[] = {
	F_INT("stage", stage), F_INT("code", code), F_STR("text", text),
	F_STR("sha256", sha256),
	F_STR("message_id", h.message_id), F_STR("case_id", h.case_id),
	F_STR("ref_to", h.ref_to), F_STR("from_country", h.from_country),
	F_STR("from_authority", h.from_authority),
	F_STR("to_country", h.to_country),
	F_STR("to_authority", h.to_authority), F_TIME("created", h.created),
	F_INT("type", h.type), F_STR("agreement_id", h.agreement_id),
	F_INT("procedure", h.procedure), F_INT("version", h.version),
	F_STR("signer_sha256", signer_sha256),
	F_STR("signer_subject", signer_subject),
	F_TIME("signer_not_before", signer_not_before),
	F_TIME("signer_not_after", signer_not_after),
	F_TIME("signed_at", signed_at),
	F_INT("reason", reason), F_INT("positive", positive),
	F_INT("grounds", grounds), F_TIME("given_transfer", given_transfer),
	F_INT("ext_transfer_window", ext_transfer_window),
	F_INT("ext_days", ext_days), F_INT("doc_extended", doc_extended),
	F_DAY("doc_valid_from", doc_valid_from),
	F_DAY("doc_valid_until", doc_valid_until),
	F_TIME("transfer_at", transfer_at), F_STR("protection", protection),
	F_DAY("departure_date", departure_date),
	F_DAY("entry_date", entry_date), F_INT("passport", passport),
	F_INT("application", application), F_INT("ticket", ticket),
	F_INT("criminal_offence", criminal_offence),
	F_INT("entry_illegal", entry_illegal),
	F_INT("received_id_has", received_id.has),
	F_STR("received_id", received_id.text),
	F_INT("receipt_sha256_has", receipt_sha256.has),
	F_STR("receipt_sha256", receipt_sha256.text),
	F_INT("has_received_at", has_received_at),
	F_TIME("received_at", received_at),
	F_INT("error_code_has", error_code.has),
	F_STR("error_code", error_code.text),
	F_INT("error_ref_has", error_ref.has),
	F_STR("error_ref", error_ref.text),
	F_INT("person_has", person.has),
	F_STR("person_surname", person.surname),
	F_STR("person_given", person.given),
	F_STR("person_birth_surname", person.birth_surname),
	F_STR("person_birth_date", person.birth_date),
	F_INT("rdv_code", rdv_code), F_STR("rdv_text", rdv_text),
	F_STR("rdv_original_id", rdv.original_id),
	F_INT("rdv_original_type", rdv.original_type),
};

void
model_clear(struct model *m)
{
	free(m->dates);
	envelope_redelivery_clear(&m->rdv);
	memset(m, 0, sizeof(*m));
}

static int
model_put(json_t *o, const char *name, json_t *v)
{
	return v == NULL || json_object_set_new(o, name, v) == -1 ? -1 : 0;
}

/* One table's fields of base into o. */
static int
model_put_fields(json_t *o, const struct model *m)
{
	const struct model_field *f;
	const char *p;
	size_t i;
	json_t *v;

	for (i = 0; i < sizeof(model_fields) / sizeof(model_fields[0]); i++) {
		f = &model_fields[i];
		p = (const char *)m + f->off;
		switch (f->kind) {
		case MK_STR:
			v = json_stringn(p, strnlen(p, f->size));
			break;
		case MK_INT:
			v = json_integer(*(const int *)(const void *)p);
			break;
		case MK_TIME:
			v = json_integer(*(const accord_time_t *)
			    (const void *)p);
			break;
		default:
			v = json_integer(*(const cal_day_t *)(const void *)p);
			break;
		}
		if (model_put(o, f->name, v) == -1)
			return -1;
	}
	return 0;
}

int
model_encode(const struct model *m, char **out, size_t *len)
{
	json_t *o, *a, *d;
	char *hex = NULL;
	size_t i;
	int rc = -1;

	if ((o = json_object()) == NULL || model_put_fields(o, m) == -1 ||
	    model_put(o, "deadlines", a = json_array()) == -1)
		goto done;
	for (i = 0; i < (size_t)m->ndeadlines && i < MODEL_DEADLINES_MAX;
	    i++)
		if (json_array_append_new(a, json_pack("{s:s, s:I}", "kind",
		    m->deadlines[i].kind, "due",
		    (json_int_t)m->deadlines[i].due)) == -1)
			goto done;
	if (model_put(o, "ground_names", a = json_array()) == -1)
		goto done;
	for (i = 0; i < (size_t)m->ground_names.n && i < MODEL_GROUNDS_MAX;
	    i++)
		if (json_array_append_new(a,
		    json_string(m->ground_names.name[i])) == -1)
			goto done;
	if (model_put(o, "dates", a = json_array()) == -1)
		goto done;
	for (i = 0; i < m->ndates; i++) {
		d = json_pack("{s:i, s:s, s:s, s:s, s:i, s:I}", "kind",
		    (int)m->dates[i].kind, "path", m->dates[i].path, "from",
		    m->dates[i].from, "until", m->dates[i].until, "day",
		    (int)m->dates[i].day, "at", (json_int_t)m->dates[i].at);
		if (json_array_append_new(a, d) == -1)
			goto done;
	}
	if (m->rdv.original != NULL) {
		hex = xmalloc(m->rdv.original_len * 2 + 1);
		hex_encode(m->rdv.original, m->rdv.original_len, hex);
		if (model_put(o, "rdv_original", json_string(hex)) == -1)
			goto done;
	}
	if ((*out = json_dumps(o, JSON_COMPACT)) == NULL)
		goto done;
	*len = strlen(*out);
	rc = 0;
done:
	free(hex);
	json_decref(o);
	return rc;
}

static int
model_get_fields(const json_t *o, struct model *m)
{
	const struct model_field *f;
	json_t *v;
	char *p;
	size_t i, n;

	for (i = 0; i < sizeof(model_fields) / sizeof(model_fields[0]); i++) {
		f = &model_fields[i];
		p = (char *)m + f->off;
		if ((v = json_object_get(o, f->name)) == NULL)
			return -1;
		if (f->kind == MK_STR) {
			if (!json_is_string(v) ||
			    (n = json_string_length(v)) >= f->size)
				return -1;
			memcpy(p, json_string_value(v), n);
			p[n] = '\0';
			continue;
		}
		if (!json_is_integer(v))
			return -1;
		if (f->kind == MK_INT)
			*(int *)(void *)p = (int)json_integer_value(v);
		else if (f->kind == MK_TIME)
			*(accord_time_t *)(void *)p = json_integer_value(v);
		else
			*(cal_day_t *)(void *)p =
			    (cal_day_t)json_integer_value(v);
	}
	return 0;
}

static int
model_unhex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The Redelivery's original bytes from their hex. */
static int
model_get_original(const json_t *v, struct model *m)
{
	const char *s;
	size_t i, n;
	int hi, lo;

	if (!json_is_string(v) || (n = json_string_length(v)) % 2 != 0)
		return -1;
	s = json_string_value(v);
	m->rdv.original = xmalloc(n / 2 + 1);
	for (i = 0; i < n / 2; i++) {
		if ((hi = model_unhex(s[2 * i])) < 0 ||
		    (lo = model_unhex(s[2 * i + 1])) < 0)
			return -1;
		m->rdv.original[i] = (char)(hi << 4 | lo);
	}
	m->rdv.original[n / 2] = '\0';
	m->rdv.original_len = n / 2;
	return 0;
}

/* Copy a string member of o into buf, refusing what does not fit. */
static int
model_get_str(const json_t *o, const char *name, char *buf, size_t size)
{
	json_t *v = json_object_get(o, name);
	size_t n;

	if (!json_is_string(v) || (n = json_string_length(v)) >= size)
		return -1;
	memcpy(buf, json_string_value(v), n);
	buf[n] = '\0';
	return 0;
}

/*
 * The enumerations within their ranges: the engine indexes tables with
 * them, and a model comes from another process, which may have been
 * made to lie.
 */
static int
model_valid(const struct model *m)
{
	size_t i;

	if ((int)m->stage < MODEL_REFUSED || m->stage > MODEL_VERIFIED ||
	    (int)m->code < 0 || m->code >= AE_COUNT ||
	    (int)m->rdv_code < 0 || m->rdv_code >= AE_COUNT ||
	    (int)m->h.type < 0 || m->h.type >= MSG_TYPE_COUNT ||
	    (int)m->rdv.original_type < 0 ||
	    m->rdv.original_type >= MSG_TYPE_COUNT ||
	    (int)m->h.procedure < ENVELOPE_PROC_NONE ||
	    m->h.procedure > ENVELOPE_PROC_ACCELERATED ||
	    (int)m->reason < MODEL_REASON_NONE ||
	    m->reason > MODEL_REASON_OBJECTIVE ||
	    m->ndeadlines < 0 || m->ndeadlines > MODEL_DEADLINES_MAX)
		return 0;
	/* a header read is of a version this build speaks */
	if (m->stage >= MODEL_UNSIGNED && envelope_ns(m->h.version) == NULL)
		return 0;
	for (i = 0; i < m->ndates; i++)
		if ((int)m->dates[i].kind < MODEL_DATE_REVERSED ||
		    m->dates[i].kind > MODEL_DATE_TRANSFER)
			return 0;
	return 1;
}

int
model_decode(const char *buf, size_t len, struct model *m)
{
	json_t *o, *a, *d, *v;
	json_int_t due, at;
	size_t i;
	int kind, day, rc = -1;

	memset(m, 0, sizeof(*m));
	if ((o = json_loadb(buf, len, 0, NULL)) == NULL)
		return -1;
	if (!json_is_object(o) || model_get_fields(o, m) == -1)
		goto done;
	a = json_object_get(o, "deadlines");
	if (!json_is_array(a) || json_array_size(a) > MODEL_DEADLINES_MAX)
		goto done;
	json_array_foreach(a, i, d) {
		if (model_get_str(d, "kind", m->deadlines[i].kind,
		    sizeof(m->deadlines[i].kind)) == -1 ||
		    json_unpack(d, "{s:I}", "due", &due) == -1)
			goto done;
		m->deadlines[i].due = due;
		m->ndeadlines++;
	}
	a = json_object_get(o, "ground_names");
	if (!json_is_array(a) || json_array_size(a) > MODEL_GROUNDS_MAX)
		goto done;
	json_array_foreach(a, i, d) {
		if (!json_is_string(d) || json_string_length(d) >=
		    sizeof(m->ground_names.name[i]))
			goto done;
		memcpy(m->ground_names.name[i], json_string_value(d),
		    json_string_length(d) + 1);
		m->ground_names.n++;
	}
	a = json_object_get(o, "dates");
	if (!json_is_array(a))
		goto done;
	if (json_array_size(a) > 0)
		m->dates = xcalloc(json_array_size(a), sizeof(*m->dates));
	json_array_foreach(a, i, d) {
		if (json_unpack(d, "{s:i, s:i, s:I}", "kind", &kind, "day",
		    &day, "at", &at) == -1 ||
		    model_get_str(d, "path", m->dates[i].path,
		    sizeof(m->dates[i].path)) == -1 ||
		    model_get_str(d, "from", m->dates[i].from,
		    sizeof(m->dates[i].from)) == -1 ||
		    model_get_str(d, "until", m->dates[i].until,
		    sizeof(m->dates[i].until)) == -1)
			goto done;
		m->dates[i].kind = (enum model_date_kind)kind;
		m->dates[i].day = (cal_day_t)day;
		m->dates[i].at = at;
		m->ndates++;
	}
	if ((v = json_object_get(o, "rdv_original")) != NULL &&
	    model_get_original(v, m) == -1)
		goto done;
	if (!model_valid(m))
		goto done;
	rc = 0;
done:
	json_decref(o);
	return rc;
}
