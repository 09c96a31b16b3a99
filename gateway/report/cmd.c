/*
 * cmd.c -- reading a command's arguments and shaping its answer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "report/cmd.h"

int
cmd_request_parse(const char *line, size_t len, struct cmd_request *r,
    char *text, size_t textlen)
{
	json_error_t jerr;

	memset(r, 0, sizeof(*r));
	r->req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (r->req == NULL || !json_is_object(r->req)) {
		snprintf(text, textlen, "request is not a JSON object: %s "
		    "(column %d)", r->req == NULL ? jerr.text :
		    "not an object", jerr.column);
		return -1;
	}
	r->id = json_object_get(r->req, "id");
	r->name = json_string_value(json_object_get(r->req, "cmd"));
	r->args = json_object_get(r->req, "args");
	if (r->name == NULL) {
		snprintf(text, textlen, "request has no \"cmd\" string");
		return -1;
	}
	if (r->args != NULL && !json_is_object(r->args)) {
		snprintf(text, textlen, "\"args\" must be an object");
		return -1;
	}
	return 0;
}

/* A word of a usage: where it starts, how long, stripped of brackets. */
struct cmd_word {
	const char	*s;
	size_t		 n;
	int		 kind;		/* 'k' key=, 'f' --flag, 'p' positional */
};

/* The next word of *u into w.  @return 0, or -1 at the end. */
static int
cmd_next_word(const char **u, struct cmd_word *w)
{
	const char *p = *u, *eq;

	while (*p == ' ' || *p == '[')
		p++;
	if (*p == '\0')
		return -1;
	w->s = p;
	while (*p != '\0' && *p != ' ')
		p++;
	*u = p;
	while (p > w->s && p[-1] == ']')
		p--;
	w->n = (size_t)(p - w->s);
	eq = memchr(w->s, '=', w->n);
	if (w->n > 2 && strncmp(w->s, "--", 2) == 0) {
		w->kind = 'f';
		w->s += 2;
		w->n -= 2;
	} else if (eq != NULL) {
		w->kind = 'k';
		w->n = (size_t)(eq - w->s);
	} else
		w->kind = 'p';
	return 0;
}

/* 'k', 'f' or 0: what name is in usage. */
static int
cmd_declared(const char *usage, const char *name)
{
	struct cmd_word w;

	while (cmd_next_word(&usage, &w) == 0)
		if (w.kind != 'p' && strlen(name) == w.n &&
		    strncmp(name, w.s, w.n) == 0)
			return w.kind;
	return 0;
}

int
cmd_check_args(const struct cmd_command *cmd, json_t *args, char *text,
    size_t len)
{
	const char *usage = cmd->usage != NULL ? cmd->usage : "", *u, *k;
	struct cmd_word w;
	json_t *v, *argv;
	size_t npos = 0;

	for (u = usage; cmd_next_word(&u, &w) == 0; )
		npos += w.kind == 'p';
	json_object_foreach(args, k, v) {
		if (strcmp(k, "argv") == 0)
			continue;
		switch (cmd_declared(usage, k)) {
		case 'f':
			if (json_is_boolean(v) || (json_is_string(v) &&
			    (strcmp(json_string_value(v), "true") == 0 ||
			    strcmp(json_string_value(v), "false") == 0)))
				continue;
			snprintf(text, len, "--%.64s takes no value", k);
			return -1;
		case 'k':
			if (json_is_string(v))
				continue;
			snprintf(text, len, "%.64s= needs a value (%.64s=...)",
			    k, k);
			return -1;
		}
		/* as accordctl spelled it: --flag is true, key=value a string */
		snprintf(text, len, json_is_true(v) ? "%s does not take "
		    "--%.64s" : "%s does not take %.64s=", cmd->name, k);
		return -1;
	}
	argv = json_object_get(args, "argv");
	if (argv != NULL && !json_is_array(argv)) {
		snprintf(text, len, "\"argv\" must be an array");
		return -1;
	}
	if (json_array_size(argv) > npos) {
		v = json_array_get(argv, npos);
		snprintf(text, len, "%s takes %s%zu argument%s: '%.64s' is "
		    "one too many", cmd->name, npos > 0 ? "at most " : "", npos,
		    npos == 1 ? "" : "s", json_is_string(v) ?
		    json_string_value(v) : "?");
		return -1;
	}
	return 0;
}

char *
cmd_usage(const struct cmd_command *cmd, char *buf, size_t len)
{
	snprintf(buf, len, "usage: accordctl %s%s%s", cmd->name,
	    cmd->usage != NULL && cmd->usage[0] != '\0' ? " " : "",
	    cmd->usage != NULL ? cmd->usage : "");
	return buf;
}

/* "3d 4h", "2h", "2h 5m", "45m": days and hours, or hours and minutes,
 * without a zero second part. */
char *
cmd_due(long long secs, char *buf, size_t len)
{
	long long a = secs < 0 ? -secs : secs, hi, lo;
	const char *uh, *ul;

	if (a >= 86400) {
		hi = a / 86400;
		lo = (a % 86400) / 3600;
		uh = "d";
		ul = "h";
	} else {
		hi = a / 3600;
		lo = (a % 3600) / 60;
		uh = "h";
		ul = "m";
	}
	if (hi == 0)
		snprintf(buf, len, "%s %lld%s", secs < 0 ? "overdue by" :
		    "due in", lo, ul);
	else if (lo == 0)
		snprintf(buf, len, "%s %lld%s", secs < 0 ? "overdue by" :
		    "due in", hi, uh);
	else
		snprintf(buf, len, "%s %lld%s %lld%s", secs < 0 ?
		    "overdue by" : "due in", hi, uh, lo, ul);
	return buf;
}

const char *
cmd_arg(json_t *args, size_t i)
{
	return json_string_value(json_array_get(json_object_get(args,
	    "argv"), i));
}

const char *
cmd_opt(json_t *args, const char *name)
{
	return json_string_value(json_object_get(args, name));
}

int
cmd_limit(json_t *args, long long *limit, long long max, const char **code,
    char *text, size_t len)
{
	const char *l = cmd_opt(args, "limit");
	char *end;

	*limit = 0;
	if (l != NULL && ((*limit = strtoll(l, &end, 10)) <= 0 ||
	    *limit > max || *end != '\0' || end == l)) {
		cmd_fail(code, text, len, "BAD_REQUEST", "limit: '%.20s' is "
		    "not 1 to %lld", l, max);
		return -1;
	}
	return 0;
}

int
cmd_page(json_t *args, long long *after, long long *limit, long long max,
    const char **code, char *text, size_t len)
{
	const char *a = cmd_opt(args, "after");
	char *end;

	*after = 0;
	if (a != NULL && ((*after = strtoll(a, &end, 10)) < 0 || *end != '\0'
	    || end == a)) {
		cmd_fail(code, text, len, "BAD_REQUEST", "after: '%.20s' is "
		    "not a record number", a);
		return -1;
	}
	return cmd_limit(args, limit, max, code, text, len);
}

int
cmd_flag(json_t *args, const char *name)
{
	json_t *v = json_object_get(args, name);

	return json_is_true(v) || (json_is_string(v) &&
	    strcmp(json_string_value(v), "true") == 0);
}

int
cmd_parse_duration(const char *s, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	v = strtoll(s, &end, 10);
	if (v < 0 || v > 100LL * 365 * 86400)
		return -1;
	if (strcmp(end, "d") == 0)
		v *= 86400;
	else if (strcmp(end, "h") == 0)
		v *= 3600;
	else if (strcmp(end, "m") == 0)
		v *= 60;
	else if (strcmp(end, "s") != 0 && *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* "3d 04h", "-1d 02h" (overdue): how an operator reads time left. */
char *
cmd_left(long long secs, char *buf, size_t len)
{
	long long a = secs < 0 ? -secs : secs;

	if (a >= 86400)
		snprintf(buf, len, "%s%lldd %02lldh", secs < 0 ? "-" : "",
		    a / 86400, (a % 86400) / 3600);
	else
		snprintf(buf, len, "%s%lldh %02lldm", secs < 0 ? "-" : "",
		    a / 3600, (a % 3600) / 60);
	return buf;
}

void
cmd_month(accord_time_t t, char buf[8])
{
	char tb[32];

	clock_format_utc(t, tb, sizeof(tb));
	snprintf(buf, 8, "%.7s", tb);
}

json_t *
cmd_fail(const char **code, char *text, size_t len, const char *c,
    const char *fmt, ...)
{
	va_list ap;

	*code = c;
	va_start(ap, fmt);
	vsnprintf(text, len, fmt, ap);
	va_end(ap);
	return NULL;
}

json_t *
cmd_text_result(json_t *res, FILE *fp, char **buf, size_t *blen)
{
	fclose(fp);
	json_object_set_new(res, "text", json_stringn(*buf, *blen));
	free(*buf);
	return res;
}

static void
cmd_vadd(json_t *root, long long n, va_list ap)
{
	const char *k, *next;
	json_t *o = root, *c;

	k = va_arg(ap, const char *);
	while (k != NULL) {
		next = va_arg(ap, const char *);
		c = json_object_get(o, k);
		if (next == NULL) {
			json_object_set_new(o, k, json_integer(
			    json_integer_value(c) + n));
			break;
		}
		if (!json_is_object(c)) {
			c = json_object();
			json_object_set_new(o, k, c);
		}
		o = c;
		k = next;
	}
}

void
cmd_bump(json_t *root, ...)
{
	va_list ap;

	va_start(ap, root);
	cmd_vadd(root, 1, ap);
	va_end(ap);
}

void
cmd_add(json_t *root, long long n, ...)
{
	va_list ap;

	va_start(ap, n);
	cmd_vadd(root, n, ap);
	va_end(ap);
}

static int
cmd_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **
cmd_keys(json_t *obj, size_t *n)
{
	const char **keys, *k;
	json_t *v;
	size_t i = 0;

	*n = json_object_size(obj);
	if ((keys = calloc(*n + 1, sizeof(*keys))) == NULL)
		return NULL;
	json_object_foreach(obj, k, v)
		keys[i++] = k;
	qsort(keys, i, sizeof(*keys), cmd_strcmp);
	*n = i;
	return keys;
}
