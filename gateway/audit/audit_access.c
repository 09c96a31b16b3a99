/*
 * audit_access.c -- who read personal data (issue 19 item 5): the access
 * log accord-audit keeps of its own plaintext reads, and the `access`
 * report of every access the journal records.
 *
 * Online, every plaintext access is journalled by the daemon before it
 * happens: reveals (inbox --reveal), export-key, find-person, erase.
 * Offline, accord-audit with --master-key or --case-key reads plaintext
 * with no daemon to journal it, so it appends a line to an access log
 * first (the state directory's access.log, beside the journal, or
 * --access-log FILE; mode 0600) and refuses to read if it cannot.  The
 * log is plain text, one line a read: UTC time, uid and user name, the
 * command, the key used, the cases read, the reason (--reason).  Whoever
 * runs accord-audit with a key can also edit that file: it records the
 * careful, it does not stop the determined (the keys are the control).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit/audit.h"
#include "audit/audit_priv.h"
#include "persist/journal.h"
#include "persist/keystore.h"
#include "util/file.h"
#include "util/log.h"

#define ACCESS_LOG_FILE	"access.log"

/* The access log's path into buf: --access-log, else access.log in the
 * state directory (the journal DIR's parent, or the key store's
 * directory).  @return 0, or -1 when none can be told. */
static int
audit_access_path(const struct audit_opts *o, char *buf, size_t len)
{
	const char *slash;

	if (o->access_log != NULL)
		snprintf(buf, len, "%s", o->access_log);
	else if (o->keys_db != NULL && (slash = strrchr(o->keys_db,
	    '/')) != NULL)
		snprintf(buf, len, "%.*s/%s", (int)(slash - o->keys_db),
		    o->keys_db, ACCESS_LOG_FILE);
	else if (o->keys_db != NULL)
		snprintf(buf, len, "%s", ACCESS_LOG_FILE);
	else if (o->nfiles == 1)
		snprintf(buf, len, "%s/../%s", o->files[0], ACCESS_LOG_FILE);
	else
		return -1;
	return 0;
}

/* s with no line breaks or quotes, for one line of the log. */
static void
audit_access_clean(const char *s, char *out, size_t len)
{
	size_t i, o = 0;

	for (i = 0; s != NULL && s[i] != '\0' && o + 1 < len; i++)
		out[o++] = s[i] == '\n' || s[i] == '\r' || s[i] == '"' ?
		    ' ' : s[i];
	out[o] = '\0';
}

/* The key id an exported case key holds (its second line), or "?". */
static void
audit_access_keyid(const char *file, char *out, size_t len)
{
	char *buf, *nl;
	size_t n;

	snprintf(out, len, "?");
	if ((buf = file_read(file, 4096, &n)) == NULL)
		return;
	if ((nl = memchr(buf, '\n', n)) != NULL && (size_t)(nl - buf) + 1 +
	    2 * KEYSTORE_ID_LEN <= n)
		snprintf(out, len, "%.*s", 2 * KEYSTORE_ID_LEN, nl + 1);
	memset(buf, 0, n);
	free(buf);
}

int
audit_access_log(const struct audit_opts *o, const char *command)
{
	struct passwd *pw;
	struct tm tm;
	char path[1200], line[2048], when[32], reason[512], key[80];
	time_t now = time(NULL);
	int fd, n, rc = -1;

	if (o->master_key == NULL && o->case_key == NULL)
		return 0;	/* nothing sealed is read */
	if (audit_access_path(o, path, sizeof(path)) == -1) {
		log_errx("audit", "plaintext reads are logged: name the "
		    "access log with --access-log FILE");
		return -1;
	}
	if (o->case_key != NULL) {
		audit_access_keyid(o->case_key, key + 5, sizeof(key) - 5);
		memcpy(key, "case:", 5);
	} else
		snprintf(key, sizeof(key), "master");
	audit_access_clean(o->reason, reason, sizeof(reason));
	pw = getpwuid(getuid());
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, sizeof(line), "%s uid=%u user=%s "
	    "command=accord-audit-%s key=%s cases=%s reason=\"%s\"\n", when,
	    (unsigned)getuid(), pw != NULL ? pw->pw_name : "?", command, key,
	    o->case_id != NULL ? o->case_id : "all", reason);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = (int)strlen(line);
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		log_errx("audit", "cannot write the access log %s (%s): no "
		    "plaintext is read without it", path, strerror(errno));
		return -1;
	}
	if (write(fd, line, (size_t)n) == n && fsync(fd) == 0)
		rc = 0;
	else
		log_errx("audit", "cannot write the access log %s (%s): no "
		    "plaintext is read without it", path, strerror(errno));
	close(fd);
	return rc;
}

/* ---- the access report --------------------------------------------------- */

/* An operator command that read or touched personal data. */
static int
audit_access_kind(const char *c)
{
	return c != NULL && (strcmp(c, "reveal") == 0 ||
	    strcmp(c, "export-key") == 0 || strcmp(c, "find-person") == 0 ||
	    strcmp(c, "erase") == 0);
}

/* One access under key ("CC/CASE", or "-" for none) of the report. */
static void
audit_access_add(json_t *by, const char *key, json_t *item)
{
	json_t *a;

	if ((a = json_object_get(by, key)) == NULL) {
		a = json_array();
		json_object_set_new(by, key, a);
	}
	json_array_append(a, item);
}

struct audit_access {
	json_t		*by_case;
	const char	*case_id;	/* --case: this case only */
	uint64_t	 n;
};

static int
audit_access_cb(void *arg, const struct journal_rec *rec)
{
	struct audit_access *ac = arg;
	const char *cmd, *p, *c, *s;
	json_t *j, *item, *v, *e;
	char when[32], key[160];
	size_t i;

	if (rec->kind != JOURNAL_OPERATOR_COMMAND)
		return 0;
	if ((j = json_loadb((const char *)rec->payload, rec->len, 0,
	    NULL)) == NULL)
		return 0;
	cmd = json_string_value(json_object_get(j, "command"));
	if (!audit_access_kind(cmd)) {
		json_decref(j);
		return 0;
	}
	audit_fmt_time(rec->time, when, sizeof(when));
	item = json_pack("{s:s, s:I, s:s, s:O}", "time", when, "seq",
	    (json_int_t)rec->seq, "command", cmd, "uid",
	    (v = json_object_get(j, "uid")) != NULL ? v : json_null());
	if ((s = json_string_value(json_object_get(j, "reason"))) != NULL)
		json_object_set_new(item, "reason", json_string(s));
	if ((s = json_string_value(json_object_get(j, "what"))) != NULL)
		json_object_set_new(item, "what", json_string(s));
	if ((s = json_string_value(json_object_get(j, "message"))) != NULL &&
	    *s != '\0')
		json_object_set_new(item, "message", json_string(s));
	if ((s = json_string_value(json_object_get(j, "hmac"))) != NULL)
		json_object_set_new(item, "hmac", json_string(s));
	ac->n++;
	if (strcmp(cmd, "find-person") == 0) {
		/* one line under each case it found (or none) */
		v = json_object_get(j, "cases");
		json_array_foreach(v, i, e) {
			s = json_string_value(e);
			if (s == NULL || (ac->case_id != NULL &&
			    ((p = strchr(s, '/')) == NULL ||
			    strcmp(p + 1, ac->case_id) != 0)))
				continue;
			audit_access_add(ac->by_case, s, item);
		}
		if (json_array_size(v) == 0 && ac->case_id == NULL)
			audit_access_add(ac->by_case, "-", item);
	} else {
		p = json_string_value(json_object_get(j, "partner"));
		c = json_string_value(json_object_get(j, "case"));
		if (c == NULL || *c == '\0')
			snprintf(key, sizeof(key), "-");
		else
			snprintf(key, sizeof(key), "%s/%s", p != NULL ? p : "?",
			    c);
		if (ac->case_id == NULL || (c != NULL &&
		    strcmp(c, ac->case_id) == 0))
			audit_access_add(ac->by_case, key, item);
	}
	json_decref(item);
	json_decref(j);
	return 0;
}

/* The offline reads of the access log, if there is one: its lines. */
static json_t *
audit_access_offline(const struct audit_opts *o)
{
	json_t *a = json_array();
	char path[1200], *buf, *line, *save = NULL;
	size_t n;

	if (audit_access_path(o, path, sizeof(path)) == -1 ||
	    (buf = file_read(path, 64 << 20, &n)) == NULL)
		return a;
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (o->case_id == NULL || strstr(line, " cases=all ") != NULL ||
		    strstr(line, o->case_id) != NULL)
			json_array_append_new(a, json_string(line));
	free(buf);
	return a;
}

int
audit_access(const struct audit_opts *o, struct audit_report *rep)
{
	struct audit_access ac;
	struct audit_pass p;

	memset(&ac, 0, sizeof(ac));
	memset(&p, 0, sizeof(p));
	p.rep = rep;
	ac.by_case = json_object();
	ac.case_id = o->case_id;
	if (audit_read(o->files, o->nfiles, &p, audit_access_cb, &ac) == -1) {
		json_decref(ac.by_case);
		return -1;
	}
	json_object_set_new(rep->root, "accesses", ac.by_case);
	json_object_set_new(rep->root, "offline", audit_access_offline(o));
	json_object_set_new(rep->root, "summary", json_pack("{s:I, s:I, s:I}",
	    "records", (json_int_t)p.records, "journalled_accesses",
	    (json_int_t)ac.n, "offline_reads", (json_int_t)json_array_size(
	    json_object_get(rep->root, "offline"))));
	return 0;
}

void
audit_access_print(FILE *fp, const json_t *root)
{
	const char *key, *s;
	json_t *by, *list, *it;
	size_t i;

	by = json_object_get(root, "accesses");
	json_object_foreach(by, key, list) {
		fprintf(fp, "case %s\n", strcmp(key, "-") == 0 ?
		    "(none: found nothing, or not of one case)" : key);
		json_array_foreach(list, i, it) {
			fprintf(fp, "  %s  %-11s uid %lld",
			    json_string_value(json_object_get(it, "time")),
			    json_string_value(json_object_get(it, "command")),
			    (long long)json_integer_value(json_object_get(it,
			    "uid")));
			if ((s = json_string_value(json_object_get(it,
			    "what"))) != NULL)
				fprintf(fp, "  %s", s);
			if ((s = json_string_value(json_object_get(it,
			    "message"))) != NULL)
				fprintf(fp, " %s", s);
			if ((s = json_string_value(json_object_get(it,
			    "reason"))) != NULL)
				fprintf(fp, "  reason \"%s\"", s);
			fprintf(fp, "  (record %lld)\n", (long long)
			    json_integer_value(json_object_get(it, "seq")));
		}
	}
	list = json_object_get(root, "offline");
	if (json_array_size(list) > 0)
		fprintf(fp, "offline reads (access log)\n");
	json_array_foreach(list, i, it)
		fprintf(fp, "  %s\n", json_string_value(it));
}
