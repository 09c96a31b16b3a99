/*
 * audit_html.c -- a report as one page people read (issue 18): the
 * verdict, the summary, the warnings, the findings with file, offset and
 * record, replay's differences as a table (field, journalled, replayed)
 * and the cases' timelines.  Self-contained (its style inline, no script,
 * nothing fetched) so that it can be archived with the journal, and
 * narrow enough for a 1024 pixel screen: long values wrap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit/audit_priv.h"
#include "util/log.h"

/* At most n bytes of s, escaped. */
static void
audit_html_textn(FILE *fp, const char *s, size_t n)
{
	for (; s != NULL && *s != '\0' && n > 0; s++, n--)
		switch (*s) {
		case '<':	fputs("&lt;", fp); break;
		case '>':	fputs("&gt;", fp); break;
		case '&':	fputs("&amp;", fp); break;
		case '"':	fputs("&quot;", fp); break;
		case '\'':	fputs("&#39;", fp); break;
		default:	fputc(*s, fp); break;
		}
}

static void
audit_html_text(FILE *fp, const char *s)
{
	audit_html_textn(fp, s, (size_t)-1);
}

/* Any JSON value as escaped text: a string as it is, else compact. */
static void
audit_html_value(FILE *fp, json_t *v)
{
	char *s;

	if (v == NULL)
		fputs("-", fp);
	else if (json_is_string(v))
		audit_html_text(fp, json_string_value(v));
	else if (json_is_integer(v))
		fprintf(fp, "%lld", (long long)json_integer_value(v));
	else {
		s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS |
		    JSON_ENCODE_ANY);
		audit_html_text(fp, s);
		free(s);
	}
}

static void
audit_html_head(FILE *fp, const char *title)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8"
	    "\">\n<meta name=\"viewport\" content=\"width=device-width\">\n"
	    "<title>Accord audit: ", fp);
	audit_html_text(fp, title);
	/* overflow-wrap on the body: a path in the title or a finding has
	 * no space to break at, and must not widen the page */
	fputs("</title>\n<style>body{font-family:sans-serif;margin:1em auto;"
	    "max-width:60em;padding:0 1em;overflow-wrap:anywhere}table{border-collapse:collapse;"
	    "width:100%;table-layout:auto;margin-bottom:1em}td,th{border:1px "
	    "solid #ccc;padding:4px 8px;text-align:left;vertical-align:top;"
	    "overflow-wrap:anywhere}th{background:#eee}.message{background:"
	    "#eef6ff}.decision{background:#efe}.refusal{background:#fee}"
	    ".deadline{background:#ffd}.finding{color:#a00}.verdict{font-size:"
	    "120%;font-weight:bold;padding:.5em;border:2px solid}.bad{color:"
	    "#a00;border-color:#a00}.good{color:#060;border-color:#060}"
	    ".warning{color:#850}.differs{background:#fdd;font-weight:bold}"
	    ".diff{color:#000;font-weight:normal;margin-top:.5em}.n{white-space:"
	    "nowrap}summary{color:#555;cursor:pointer}"
	    "code{font-size:90%}</style></head><body>\n<h1>Accord audit: ",
	    fp);
	audit_html_text(fp, title);
	fputs("</h1>\n", fp);
}

static void
audit_html_summary(FILE *fp, const struct audit_report *rep)
{
	json_t *sum, *v, *k;
	const char *key, *kk;
	size_t nf = json_array_size(rep->findings);

	if (nf == 0)
		fputs("<p class=\"verdict good\">Verdict: clean. No findings.</p>\n",
		    fp);
	else
		fprintf(fp, "<p class=\"verdict bad\">Verdict: %zu finding%s."
		    "</p>\n", nf, nf == 1 ? "" : "s");
	fputs("<h2>Summary</h2>\n<table>\n", fp);
	sum = json_object_get(rep->root, "summary");
	json_object_foreach(sum, key, v) {
		fputs("<tr><th>", fp);
		audit_html_text(fp, key);
		fputs("</th><td>", fp);
		if (json_is_object(v)) {
			if (json_object_size(v) == 0)
				fputs("none", fp);
			json_object_foreach(v, kk, k) {
				audit_html_text(fp, kk);
				fputs(": ", fp);
				audit_html_value(fp, k);
				fputs("<br>", fp);
			}
		} else
			audit_html_value(fp, v);
		fputs("</td></tr>\n", fp);
	}
	fputs("</table>\n", fp);
}

/* An array's elements as one line: "deadline REPLY, op set, due 1772;
 * ..." (a decision's deadline operations). */
static json_t *
audit_html_line(json_t *arr)
{
	char buf[2048], *s;
	const char *k;
	json_t *e, *v;
	size_t i, len = 0;

	buf[0] = '\0';
	json_array_foreach(arr, i, e) {
		if (i > 0)
			len += (size_t)snprintf(buf + len, len < sizeof(buf) ?
			    sizeof(buf) - len : 0, "; ");
		if (!json_is_object(e)) {
			s = json_dumps(e, JSON_ENCODE_ANY);
			len += (size_t)snprintf(buf + len, len < sizeof(buf) ?
			    sizeof(buf) - len : 0, "%s", s != NULL ? s : "?");
			free(s);
			continue;
		}
		json_object_foreach(e, k, v) {
			s = json_is_string(v) ? NULL : json_dumps(v,
			    JSON_ENCODE_ANY);
			len += (size_t)snprintf(buf + len, len < sizeof(buf) ?
			    sizeof(buf) - len : 0, "%s%s %s", len > 0 &&
			    buf[len - 1] != ' ' ? ", " : "", k, s != NULL ? s :
			    json_string_value(v));
			free(s);
		}
	}
	return json_string(len == 0 ? "none" : buf);
}

/* v's fields into out, nested objects as "next.state", arrays as one
 * line: what a table of differences shows, one row a field. */
static void
audit_html_flatten(json_t *out, const char *prefix, json_t *v)
{
	const char *key;
	json_t *w;
	char name[256];

	if (json_is_object(v)) {
		json_object_foreach(v, key, w) {
			snprintf(name, sizeof(name), "%s%s%s", prefix,
			    prefix[0] != '\0' ? "." : "", key);
			audit_html_flatten(out, name, w);
		}
	} else if (json_is_array(v))
		json_object_set_new(out, prefix, audit_html_line(v));
	else
		json_object_set(out, prefix, v);
}

/* A replayed decision against the journalled one, field by field; the
 * fields that differ stand out. */
static void
audit_html_diff(FILE *fp, json_t *journalled, json_t *replayed)
{
	const char *key;
	json_t *a, *b, *v, *w;
	int same, n;

	a = json_object();
	b = json_object();
	audit_html_flatten(a, "", journalled);
	audit_html_flatten(b, "", replayed);
	/* the fields that differ, then (folded) those that agree */
	for (same = 0; same < 2; same++) {
		n = 0;
		json_object_foreach(a, key, v) {
			w = json_object_get(b, key);
			if ((w != NULL && json_equal(v, w)) != same)
				continue;
			if (n++ == 0 && same)
				fputs("<details><summary>The fields that agree"
				    "</summary>\n", fp);
			if (n == 1)
				fputs("<table class=\"diff\"><tr><th>Field</th>"
				    "<th>Journalled</th><th>Replayed</th></tr>"
				    "\n", fp);
			fprintf(fp, "<tr%s><td>", same ? "" :
			    " class=\"differs\"");
			audit_html_text(fp, key);
			fputs("</td><td>", fp);
			audit_html_value(fp, v);
			fputs("</td><td>", fp);
			audit_html_value(fp, w);
			fputs("</td></tr>\n", fp);
		}
		if (!same)
			json_object_foreach(b, key, w) {
				if (json_object_get(a, key) != NULL)
					continue;
				if (n++ == 0)
					fputs("<table class=\"diff\"><tr><th>"
					    "Field</th><th>Journalled</th><th>"
					    "Replayed</th></tr>\n", fp);
				fputs("<tr class=\"differs\"><td>", fp);
				audit_html_text(fp, key);
				fputs("</td><td>-</td><td>", fp);
				audit_html_value(fp, w);
				fputs("</td></tr>\n", fp);
			}
		if (n > 0)
			fputs(same ? "</table></details>\n" : "</table>\n",
			    fp);
	}
	json_decref(a);
	json_decref(b);
}

/* Findings or warnings as a table: kind, file, offset, record, text. */
static void
audit_html_items(FILE *fp, const char *title, const char *cls, json_t *arr,
    int kinds)
{
	json_t *f, *j;
	const char *text, *cut;
	size_t i;

	fprintf(fp, "<h2 class=\"%s\">%s</h2>\n", cls, title);
	if (json_array_size(arr) == 0) {
		fputs("<p>None.</p>\n", fp);
		return;
	}
	fprintf(fp, "<table><tr>%s<th>File</th><th class=\"n\">Offset</th>"
	    "<th class=\"n\">Record</th><th>What</th></tr>\n", kinds ?
	    "<th class=\"n\">Kind</th>" : "");
	json_array_foreach(arr, i, f) {
		fprintf(fp, "<tr class=\"%s\">", cls);
		if (kinds) {
			fputs("<td class=\"n\">", fp);
			audit_html_value(fp, json_object_get(f, "kind"));
			fputs("</td>", fp);
		}
		fputs("<td>", fp);
		audit_html_value(fp, json_object_get(f, "file"));
		fputs("</td><td class=\"n\">", fp);
		audit_html_value(fp, json_object_get(f, "offset"));
		fputs("</td><td class=\"n\">", fp);
		audit_html_value(fp, json_object_get(f, "record"));
		fputs("</td><td>", fp);
		text = json_string_value(json_object_get(f, "text"));
		j = json_object_get(f, "journalled");
		if (j != NULL && text != NULL &&
		    (cut = strstr(text, ": journalled")) != NULL) {
			/* the decisions below, as a table, not as JSON */
			audit_html_textn(fp, text, (size_t)(cut - text));
			audit_html_diff(fp, j, json_object_get(f,
			    "replayed"));
		} else
			audit_html_text(fp, text);
		fputs("</td></tr>\n", fp);
	}
	fputs("</table>\n", fp);
}

static void
audit_html_cases(FILE *fp, json_t *cases)
{
	json_t *c, *ev;
	size_t i, j;
	const char *what;

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
		fputs("</strong></p>\n<table><tr><th class=\"n\">Time (UTC)"
		    "</th><th class=\"n\">Record</th><th class=\"n\">What"
		    "</th><th>Detail</th></tr>\n", fp);
		json_array_foreach(json_object_get(c, "timeline"), j, ev) {
			what = json_string_value(json_object_get(ev, "what"));
			fputs("<tr class=\"", fp);
			audit_html_text(fp, what);
			fputs("\"><td class=\"n\">", fp);
			audit_html_text(fp, json_string_value(
			    json_object_get(ev, "time")));
			fprintf(fp, "</td><td class=\"n\">%lld</td><td "
			    "class=\"n\">",
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
}

/* Any other section of a report (export's list of files). */
static void
audit_html_rest(FILE *fp, const struct audit_report *rep)
{
	const char *key;
	json_t *v;

	json_object_foreach(rep->root, key, v) {
		if (strcmp(key, "command") == 0 ||
		    strcmp(key, "findings") == 0 ||
		    strcmp(key, "warnings") == 0 ||
		    strcmp(key, "summary") == 0 || strcmp(key, "cases") == 0)
			continue;
		fputs("<h2>", fp);
		audit_html_text(fp, key);
		fputs("</h2>\n<p><code>", fp);
		audit_html_value(fp, v);
		fputs("</code></p>\n", fp);
	}
}

int
audit_html(const char *path, const char *title,
    const struct audit_report *rep, json_t *cases)
{
	FILE *fp;

	if ((fp = fopen(path, "w")) == NULL) {
		log_err(ATAG, "%s", path);
		return -1;
	}
	audit_report_count_kinds((struct audit_report *)rep);
	audit_html_head(fp, title);
	audit_html_summary(fp, rep);
	audit_html_items(fp, "Warnings", "warning", rep->warnings, 0);
	audit_html_items(fp, "Findings", "finding", rep->findings, 1);
	audit_html_cases(fp, cases != NULL ? cases :
	    json_object_get(rep->root, "cases"));
	audit_html_rest(fp, rep);
	fputs("<p><small>Generated by accord-audit from the journal; the "
	    "journal is the truth.</small></p>\n</body></html>\n", fp);
	if (fclose(fp) != 0) {
		log_err(ATAG, "%s", path);
		return -1;
	}
	return 0;
}
