/*
 * audit_report.c -- a command's report: its findings and warnings, and
 * the report as text, as one JSON document, or as a one-page case
 * timeline (HTML).
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

static void
audit_add(json_t *arr, const char *file, uint64_t offset, uint64_t seq,
    const char *fmt, va_list ap)
{
	char text[2048];
	json_t *f;

	vsnprintf(text, sizeof(text), fmt, ap);
	f = json_object();
	if (file != NULL) {
		json_object_set_new(f, "file", json_string(file));
		json_object_set_new(f, "offset", json_integer(
		    (json_int_t)offset));
		json_object_set_new(f, "record", json_integer(
		    (json_int_t)seq));
	}
	json_object_set_new(f, "text", json_string(text));
	json_array_append_new(arr, f);
}

void
audit_finding(struct audit_report *rep, const struct journal_rec *rec,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	audit_add(rep->findings, rec != NULL ? rec->file : NULL,
	    rec != NULL ? rec->offset : 0, rec != NULL ? rec->seq : 0, fmt,
	    ap);
	va_end(ap);
}

void
audit_warning(struct audit_report *rep, const struct journal_rec *rec,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	audit_add(rep->warnings, rec != NULL ? rec->file : NULL,
	    rec != NULL ? rec->offset : 0, rec != NULL ? rec->seq : 0, fmt,
	    ap);
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
	char *s;

	if (json_is_string(v))
		fprintf(fp, "  %-22s %s\n", key, json_string_value(v));
	else if (json_is_integer(v))
		fprintf(fp, "  %-22s %lld\n", key,
		    (long long)json_integer_value(v));
	else {
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

/* ---- the one-page case timeline --------------------------------------- */

static void
audit_html_text(FILE *fp, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		switch (*s) {
		case '<':	fputs("&lt;", fp); break;
		case '>':	fputs("&gt;", fp); break;
		case '&':	fputs("&amp;", fp); break;
		case '"':	fputs("&quot;", fp); break;
		default:	fputc(*s, fp); break;
		}
}

static void
audit_html_write(FILE *fp, const char *title, json_t *cases,
    json_t *findings)
{
	json_t *c, *ev, *f;
	size_t i, j;
	const char *what;

	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8"
	    "\">\n<title>Accord audit: ", fp);
	audit_html_text(fp, title);
	fputs("</title>\n<style>body{font-family:sans-serif;margin:2em}"
	    "table{border-collapse:collapse;width:100%}td,th{border:1px solid "
	    "#ccc;padding:4px 8px;text-align:left;vertical-align:top}"
	    "th{background:#eee}.message{background:#eef6ff}.decision"
	    "{background:#efe}.refusal{background:#fee}.deadline{background:"
	    "#ffd}.finding{color:#a00;font-weight:bold}code{font-size:90%}"
	    "</style></head><body>\n<h1>Accord audit: ", fp);
	audit_html_text(fp, title);
	fputs("</h1>\n", fp);
	if (json_array_size(findings) == 0)
		fputs("<p>No findings: every decision replayed as "
		    "journalled.</p>\n", fp);
	else {
		fputs("<h2 class=\"finding\">Findings</h2><ul>\n", fp);
		json_array_foreach(findings, i, f) {
			fputs("<li class=\"finding\">", fp);
			audit_html_text(fp, json_string_value(
			    json_object_get(f, "text")));
			fputs("</li>\n", fp);
		}
		fputs("</ul>\n", fp);
	}
	json_array_foreach(cases, i, c) {
		fputs("<h2>Case <code>", fp);
		audit_html_text(fp, json_string_value(json_object_get(c,
		    "case")));
		fputs("</code> with ", fp);
		audit_html_text(fp, json_string_value(json_object_get(c,
		    "partner")));
		fputs("</h2>\n<p>Machine: ", fp);
		audit_html_text(fp, json_string_value(json_object_get(c,
		    "kind")));
		fputs(", our role: ", fp);
		audit_html_text(fp, json_string_value(json_object_get(c,
		    "role")));
		fputs(", final state: <strong>", fp);
		audit_html_text(fp, json_string_value(json_object_get(c,
		    "state")));
		fputs("</strong></p>\n<table><tr><th>Time (UTC)</th><th>"
		    "Record</th><th>What</th><th>Detail</th></tr>\n", fp);
		json_array_foreach(json_object_get(c, "timeline"), j, ev) {
			what = json_string_value(json_object_get(ev, "what"));
			fprintf(fp, "<tr class=\"%s\"><td>", what);
			audit_html_text(fp, json_string_value(
			    json_object_get(ev, "time")));
			fprintf(fp, "</td><td>%lld</td><td>",
			    (long long)json_integer_value(json_object_get(ev,
			    "seq")));
			audit_html_text(fp, what);
			fputs("</td><td>", fp);
			audit_html_text(fp, json_string_value(
			    json_object_get(ev, "text")));
			fputs("</td></tr>\n", fp);
		}
		fputs("</table>\n", fp);
	}
	fputs("<p><small>Generated by accord-audit from the journal; the "
	    "journal is the truth.</small></p>\n</body></html>\n", fp);
}

int
audit_html(const char *path, const char *title, json_t *cases,
    json_t *findings)
{
	FILE *fp;

	if ((fp = fopen(path, "w")) == NULL) {
		log_err(ATAG, "%s", path);
		return -1;
	}
	audit_html_write(fp, title, cases, findings);
	if (fclose(fp) != 0) {
		log_err(ATAG, "%s", path);
		return -1;
	}
	return 0;
}
