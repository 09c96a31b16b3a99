/*
 * audit_report.c -- a command's report: its findings and warnings, and
 * the report as text or as one JSON document (the page: audit_html.c).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit/audit_priv.h"
#include "persist/journal.h"
#include "util/log.h"

int
audit_report_init(struct audit_report *rep, const char *command)
{
	memset(rep, 0, sizeof(*rep));
	rep->root = json_object();
	rep->findings = json_array();
	rep->warnings = json_array();
	if (rep->root == NULL || rep->findings == NULL ||
	    rep->warnings == NULL)
		return -1;
	json_object_set_new(rep->root, "command", json_string(command));
	json_object_set(rep->root, "findings", rep->findings);
	json_object_set(rep->root, "warnings", rep->warnings);
	return 0;
}

void
audit_report_free(struct audit_report *rep)
{
	json_decref(rep->findings);
	json_decref(rep->warnings);
	json_decref(rep->root);
	memset(rep, 0, sizeof(*rep));
}

size_t
audit_report_nfindings(const struct audit_report *rep)
{
	return json_array_size(rep->findings);
}

static json_t *
audit_add(json_t *arr, const char *file, uint64_t offset, uint64_t seq,
    const char *kind, const char *fmt, va_list ap)
{
	char text[2048];
	json_t *f;

	vsnprintf(text, sizeof(text), fmt, ap);
	f = json_object();
	if (kind != NULL)
		json_object_set_new(f, "kind", json_string(kind));
	if (file != NULL) {
		json_object_set_new(f, "file", json_string(file));
		json_object_set_new(f, "offset", json_integer(
		    (json_int_t)offset));
		json_object_set_new(f, "record", json_integer(
		    (json_int_t)seq));
	}
	json_object_set_new(f, "text", json_string(text));
	json_array_append_new(arr, f);
	return f;
}

void
audit_finding(struct audit_report *rep, const struct journal_rec *rec,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	audit_add(rep->findings, rec != NULL ? rec->file : NULL,
	    rec != NULL ? rec->offset : 0, rec != NULL ? rec->seq : 0,
	    "check", fmt, ap);
	va_end(ap);
}

void
audit_finding_kind(struct audit_report *rep, const struct journal_rec *rec,
    const char *kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	audit_add(rep->findings, rec != NULL ? rec->file : NULL,
	    rec != NULL ? rec->offset : 0, rec != NULL ? rec->seq : 0,
	    kind, fmt, ap);
	va_end(ap);
}

void
audit_finding_diff(struct audit_report *rep, const struct journal_rec *rec,
    json_t *journalled, json_t *replayed, const char *fmt, ...)
{
	va_list ap;
	json_t *f;

	va_start(ap, fmt);
	f = audit_add(rep->findings, rec != NULL ? rec->file : NULL,
	    rec != NULL ? rec->offset : 0, rec != NULL ? rec->seq : 0,
	    "replay", fmt, ap);
	va_end(ap);
	/* the page shows them as a table, field by field */
	json_object_set(f, "journalled", journalled);
	json_object_set(f, "replayed", replayed);
}

void
audit_report_count_kinds(struct audit_report *rep)
{
	json_t *sum, *by, *f, *n;
	const char *kind;
	size_t i;

	if ((sum = json_object_get(rep->root, "summary")) == NULL) {
		sum = json_object();
		json_object_set_new(rep->root, "summary", sum);
	}
	by = json_object();
	json_array_foreach(rep->findings, i, f) {
		kind = json_string_value(json_object_get(f, "kind"));
		if (kind == NULL)
			kind = "check";
		n = json_object_get(by, kind);
		json_object_set_new(by, kind, json_integer(n != NULL ?
		    json_integer_value(n) + 1 : 1));
	}
	json_object_set_new(sum, "findings", json_integer(
	    (json_int_t)json_array_size(rep->findings)));
	json_object_set_new(sum, "findings_by_kind", by);
	json_object_set_new(sum, "warnings", json_integer(
	    (json_int_t)json_array_size(rep->warnings)));
}

void
audit_warning(struct audit_report *rep, const struct journal_rec *rec,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	audit_add(rep->warnings, rec != NULL ? rec->file : NULL,
	    rec != NULL ? rec->offset : 0, rec != NULL ? rec->seq : 0, NULL,
	    fmt, ap);
	va_end(ap);
}

static void
audit_print_items(FILE *fp, const char *label, json_t *arr)
{
	json_t *f;
	size_t i;

	json_array_foreach(arr, i, f) {
		if (json_object_get(f, "file") != NULL)
			fprintf(fp, "%s: %s: offset %lld: record %lld: %s\n",
			    label,
			    json_string_value(json_object_get(f, "file")),
			    (long long)json_integer_value(json_object_get(f,
			    "offset")),
			    (long long)json_integer_value(json_object_get(f,
			    "record")),
			    json_string_value(json_object_get(f, "text")));
		else
			fprintf(fp, "%s: %s\n", label,
			    json_string_value(json_object_get(f, "text")));
	}
}

static void
audit_print_value(FILE *fp, const char *key, json_t *v)
{
	const char *k, *sep = NULL;
	json_t *val;
	char *s;

	if (json_is_string(v))
		fprintf(fp, "  %-22s %s\n", key, json_string_value(v));
	else if (json_is_integer(v))
		fprintf(fp, "  %-22s %lld\n", key,
		    (long long)json_integer_value(v));
	else if (json_is_object(v)) {
		/* a count by kind: "record 1, missing_file 1" */
		fprintf(fp, "  %-22s", key);
		json_object_foreach(v, k, val) {
			fprintf(fp, "%s %s %lld", sep == NULL ? "" : ",", k,
			    (long long)json_integer_value(val));
			sep = ",";
		}
		fprintf(fp, "%s\n", sep == NULL ? " none" : "");
	} else {
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		fprintf(fp, "  %-22s %s\n", key, s != NULL ? s : "?");
		free(s);
	}
}

static void
audit_print_cases(FILE *fp, json_t *cases)
{
	json_t *c, *t, *ev;
	size_t i, j;

	json_array_foreach(cases, i, c) {
		fprintf(fp, "case %s with %s (%s, our role %s): %s\n",
		    json_string_value(json_object_get(c, "case")),
		    json_string_value(json_object_get(c, "partner")),
		    json_string_value(json_object_get(c, "kind")),
		    json_string_value(json_object_get(c, "role")),
		    json_string_value(json_object_get(c, "state")));
		t = json_object_get(c, "timeline");
		json_array_foreach(t, j, ev)
			fprintf(fp, "  %s  #%-6lld %-9s %s\n",
			    json_string_value(json_object_get(ev, "time")),
			    (long long)json_integer_value(json_object_get(ev,
			    "seq")),
			    json_string_value(json_object_get(ev, "what")),
			    json_string_value(json_object_get(ev, "text")));
	}
}

void
audit_report_print(const struct audit_report *rep, FILE *fp, int json)
{
	const char *key;
	json_t *v, *val;
	char *s;

	if (json) {
		s = json_dumps(rep->root, JSON_INDENT(2) | JSON_SORT_KEYS);
		if (s != NULL)
			fprintf(fp, "%s\n", s);
		free(s);
		return;
	}
	if ((v = json_object_get(rep->root, "cases")) != NULL)
		audit_print_cases(fp, v);
	if (json_object_get(rep->root, "accesses") != NULL)
		audit_access_print(fp, rep->root);
	audit_print_items(fp, "FINDING", rep->findings);
	audit_print_items(fp, "warning", rep->warnings);
	fprintf(fp, "%s: %zu finding%s\n",
	    json_string_value(json_object_get(rep->root, "command")),
	    json_array_size(rep->findings),
	    json_array_size(rep->findings) == 1 ? "" : "s");
	if ((v = json_object_get(rep->root, "summary")) != NULL)
		json_object_foreach(v, key, val)
			audit_print_value(fp, key, val);
}
