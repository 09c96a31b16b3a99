/*
 * audit.c -- offline audit of journal files (see audit.h).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxml/tree.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "conf/agreement.h"
#include "audit/audit.h"
#include "conf/calendar.h"
#include "conf/config.h"
#include "conf/conffile.h"
#include "msg/envelope.h"
#include "fsm/fsm.h"
#include "persist/journal.h"
#include "util/log.h"
#include "persist/record.h"
#include "persist/store.h"
#include "util/xmalloc.h"
#include "msg/xmlsig.h"

#define ATAG		"audit"
#define DSIG_NS		"http://www.w3.org/2000/09/xmldsig#"
#define AUDIT_MAX_DER	16384
#define AUDIT_MAX_CERTS	8
#define AUDIT_BUCKETS	4096
#define AUDIT_DEFAULT_JOBS	2	/* verify's worker threads */
#define ZERO_HASH \
	"0000000000000000000000000000000000000000000000000000000000000000"

/* ---- the report ------------------------------------------------------- */

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

/* A finding about rec (NULL: about the whole input). */
static void audit_finding(struct audit_report *, const struct journal_rec *,
    const char *, ...) __attribute__((format(printf, 3, 4)));
static void
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

static void audit_warning(struct audit_report *, const struct journal_rec *,
    const char *, ...) __attribute__((format(printf, 3, 4)));
static void
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

/* ---- reading the journal ---------------------------------------------- */

static int
audit_journal_name(const struct dirent *de)
{
	size_t n = strlen(de->d_name);

	return strncmp(de->d_name, "journal-", 8) == 0 && n > 4 &&
	    strcmp(de->d_name + n - 4, ".log") == 0;
}

/* The input files: those given, or the journal files of one directory
 * in order.  @return a NULL-terminated malloc'd array of malloc'd
 * paths, or NULL (logged). */
static char **
audit_input(const char *const *files, size_t nfiles, size_t *np)
{
	struct dirent **names = NULL;
	struct stat sb;
	char **out;
	size_t i;
	int n;

	if (nfiles == 1 && stat(files[0], &sb) == 0 && S_ISDIR(sb.st_mode)) {
		n = scandir(files[0], &names, audit_journal_name, alphasort);
		if (n <= 0) {
			log_errx(ATAG, "%s: no journal-NNNNNN.log files",
			    files[0]);
			free(names);
			return NULL;
		}
		out = xcalloc((size_t)n + 1, sizeof(*out));
		for (i = 0; i < (size_t)n; i++) {
			out[i] = conf_path(files[0], names[i]->d_name);
			free(names[i]);
		}
		free(names);
		*np = (size_t)n;
		return out;
	}
	if (nfiles == 0) {
		log_errx(ATAG, "no journal files given");
		return NULL;
	}
	out = xcalloc(nfiles + 1, sizeof(*out));
	for (i = 0; i < nfiles; i++)
		out[i] = xstrdup(files[i]);
	*np = nfiles;
	return out;
}

static void
audit_input_free(char **files)
{
	size_t i;

	for (i = 0; files != NULL && files[i] != NULL; i++)
		free(files[i]);
	free(files);
}

/* One pass over a journal: cb per record; a break is a finding (a torn
 * end of the last file only a warning).  @return 0, or -1 if the input
 * could not be opened. */
struct audit_pass {
	struct audit_report	*rep;
	uint64_t		 records;
	int			 broken;
	uint64_t		 last_seq;
	accord_time_t		 first_time;
	accord_time_t		 last_time;
};

static int
audit_read_flush(const char *const *files, size_t nfiles,
    struct audit_pass *p, int (*cb)(void *, const struct journal_rec *),
    void (*flush)(void *), void *arg)
{
	struct journal_reader *r;
	struct journal_rec rec;
	const struct journal_break *b;
	char **list;
	size_t n;
	int got;

	if ((list = audit_input(files, nfiles, &n)) == NULL)
		return -1;
	r = journal_reader_open_files((const char *const *)list, n, 0);
	if (r == NULL) {
		audit_input_free(list);
		return -1;
	}
	while ((got = journal_reader_next(r, &rec)) == 1) {
		p->records++;
		if (p->first_time == 0)
			p->first_time = rec.time;
		p->last_time = rec.time;
		p->last_seq = rec.seq;
		if (cb(arg, &rec) != 0)
			break;
	}
	/* the records' own findings before the break's */
	if (flush != NULL)
		flush(arg);
	if (got == -1) {
		struct journal_rec at;

		b = journal_reader_break(r);
		memset(&at, 0, sizeof(at));
		at.file = b->file;
		at.offset = b->offset;
		at.seq = b->recno;
		if (b->torn)
			audit_warning(p->rep, &at, "torn tail of %" PRIu64
			    " bytes (accordd cuts it at start-up): %s",
			    b->tail_len, b->reason);
		else {
			audit_finding(p->rep, &at, "journal broken: %s",
			    b->reason);
			p->broken = 1;
		}
	}
	journal_reader_close(r);
	audit_input_free(list);
	return 0;
}

static int
audit_read(const char *const *files, size_t nfiles, struct audit_pass *p,
    int (*cb)(void *, const struct journal_rec *), void *arg)
{
	return audit_read_flush(files, nfiles, p, cb, NULL, arg);
}

static void
audit_fmt_time(accord_time_t t, char *buf, size_t len)
{
	if (t == 0)
		snprintf(buf, len, "-");
	else
		clock_format_utc(t, buf, len);
}

/* ---- a string set and a case table (hashed) ---------------------------- */

static unsigned
audit_hash(const char *a, const char *b)
{
	unsigned h = 5381;

	while (*a != '\0')
		h = h * 33 + (unsigned char)*a++;
	h = h * 33 + '/';
	while (b != NULL && *b != '\0')
		h = h * 33 + (unsigned char)*b++;
	return h % AUDIT_BUCKETS;
}

struct audit_str {
	struct audit_str *next;
	char		 key[RECORD_PARTNER_MAX + RECORD_ID_MAX + 72];
	char		 val[RECORD_SHA256_HEX];
};

struct audit_set {
	struct audit_str *b[AUDIT_BUCKETS];
	size_t		 n;
};

static void
audit_set_key(char *key, size_t len, const char *a, const char *b)
{
	snprintf(key, len, "%s/%s", a, b != NULL ? b : "");
}

static struct audit_str *
audit_set_get(struct audit_set *s, const char *a, const char *b)
{
	struct audit_str *e;
	char key[sizeof(e->key)];

	audit_set_key(key, sizeof(key), a, b);
	for (e = s->b[audit_hash(a, b)]; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

static struct audit_str *
audit_set_put(struct audit_set *s, const char *a, const char *b,
    const char *val)
{
	struct audit_str *e;
	unsigned h;

	if ((e = audit_set_get(s, a, b)) == NULL) {
		e = xcalloc(1, sizeof(*e));
		audit_set_key(e->key, sizeof(e->key), a, b);
		h = audit_hash(a, b);
		e->next = s->b[h];
		s->b[h] = e;
		s->n++;
	}
	snprintf(e->val, sizeof(e->val), "%s", val != NULL ? val : "");
	return e;
}

static void
audit_set_clear(struct audit_set *s)
{
	struct audit_str *e, *next;
	size_t i;

	for (i = 0; i < AUDIT_BUCKETS; i++)
		for (e = s->b[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	memset(s, 0, sizeof(*s));
}

/* ---- certificates -------------------------------------------------------- */

/* A certificate taken from a message's KeyInfo. */
struct audit_cert {
	X509		*x;
	char		 sha256[65];
};

static xmlNodePtr
audit_elem(xmlNodePtr n)
{
	while (n != NULL && n->type != XML_ELEMENT_NODE)
		n = n->next;
	return n;
}

static int
audit_is(xmlNodePtr n, const char *name)
{
	return n != NULL && n->ns != NULL &&
	    xmlStrcmp(n->ns->href, BAD_CAST DSIG_NS) == 0 &&
	    xmlStrcmp(n->name, BAD_CAST name) == 0;
}

/* The certificates of the root's ds:Signature/ds:KeyInfo, each decoded
 * once when a cache is given (X509 objects of one thread's).
 * @return how many (at most max). */
struct audit_certcache;
static X509 *audit_certcache_get(struct audit_certcache *, const char *);
static void audit_certcache_put(struct audit_certcache *,
    const struct audit_cert *);

static int
audit_keyinfo_certs(xmlDocPtr doc, struct audit_cert *out, int max,
    struct audit_certcache *cache)
{
	xmlNodePtr root, sig = NULL, n, ki = NULL, xd, c;
	xmlChar *txt;
	unsigned char *der;
	const unsigned char *p;
	char *b64;
	size_t i, j, len;
	int dlen, count = 0;

	root = xmlDocGetRootElement(doc);
	for (n = audit_elem(root != NULL ? root->children : NULL); n != NULL;
	    n = audit_elem(n->next))
		if (audit_is(n, "Signature"))
			sig = n;
	for (n = audit_elem(sig != NULL ? sig->children : NULL); n != NULL;
	    n = audit_elem(n->next))
		if (audit_is(n, "KeyInfo"))
			ki = n;
	der = xmalloc(AUDIT_MAX_DER);
	for (xd = audit_elem(ki != NULL ? ki->children : NULL); xd != NULL;
	    xd = audit_elem(xd->next)) {
		if (!audit_is(xd, "X509Data"))
			continue;
		for (c = audit_elem(xd->children); c != NULL && count < max;
		    c = audit_elem(c->next)) {
			if (!audit_is(c, "X509Certificate") ||
			    (txt = xmlNodeGetContent(c)) == NULL)
				continue;
			len = strlen((const char *)txt);
			b64 = xmalloc(len + 1);
			for (i = j = 0; i < len; i++)
				if (strchr(" \t\r\n", txt[i]) == NULL)
					b64[j++] = (char)txt[i];
			b64[j] = '\0';
			xmlFree(txt);
			dlen = -1;
			if (j > 0 && j % 4 == 0 && j / 4 * 3 <= AUDIT_MAX_DER)
				dlen = EVP_DecodeBlock(der,
				    (unsigned char *)b64, (int)j);
			if (dlen > 0 && b64[j - 1] == '=')
				dlen--;
			if (dlen > 0 && j > 1 && b64[j - 2] == '=')
				dlen--;
			free(b64);
			if (dlen <= 0)
				continue;
			record_sha256_hex(der, (size_t)dlen,
			    out[count].sha256);
			if ((out[count].x = audit_certcache_get(cache,
			    out[count].sha256)) != NULL) {
				X509_up_ref(out[count].x);
				count++;
				continue;
			}
			p = der;
			out[count].x = d2i_X509(NULL, &p, dlen);
			if (out[count].x == NULL) {
				ERR_clear_error();
				continue;
			}
			audit_certcache_put(cache, &out[count]);
			count++;
		}
	}
	free(der);
	return count;
}

static void
audit_certs_free(struct audit_cert *c, int n)
{
	int i;

	for (i = 0; i < n; i++)
		X509_free(c[i].x);
}

/* Every certificate of every *.pem of dir into a new store. */
static X509_STORE *
audit_trust_load(const char *dir)
{
	struct dirent **names = NULL;
	X509_STORE *st;
	X509 *x;
	FILE *fp;
	char *path;
	size_t len;
	int n, i, count = 0;

	if ((st = X509_STORE_new()) == NULL)
		return NULL;
	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		log_err(ATAG, "%s", dir);
		X509_STORE_free(st);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		len = strlen(names[i]->d_name);
		if (len > 4 && strcmp(names[i]->d_name + len - 4, ".pem") ==
		    0) {
			path = conf_path(dir, names[i]->d_name);
			if ((fp = fopen(path, "r")) != NULL) {
				while ((x = PEM_read_X509(fp, NULL, NULL,
				    NULL)) != NULL) {
					X509_STORE_add_cert(st, x);
					X509_free(x);
					count++;
				}
				ERR_clear_error();
				fclose(fp);
			}
			free(path);
		}
		free(names[i]);
	}
	free(names);
	if (count == 0)
		log_warnx(ATAG, "%s: no certificate in any *.pem", dir);
	return st;
}

/* 1 if x chains to st at time t. */
static int
audit_trust_check(X509_STORE *st, X509 *x, accord_time_t t, char *why,
    size_t len)
{
	X509_STORE_CTX *ctx;
	int ok = 0;

	if ((ctx = X509_STORE_CTX_new()) == NULL)
		return 0;
	if (X509_STORE_CTX_init(ctx, st, x, NULL) == 1) {
		X509_STORE_CTX_set_time(ctx, 0, (time_t)t);
		ok = X509_verify_cert(ctx) == 1;
		if (!ok)
			snprintf(why, len, "%s", X509_verify_cert_error_string(
			    X509_STORE_CTX_get_error(ctx)));
	}
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/* ---- the journalled configuration loads ----------------------------- */

/* What one CONFIG_LOAD says. */
struct audit_conf {
	char		 country[3];
	char		 signing[65];	/* our signing certificate */
	char		 file[1024];	/* accordd.xml as journalled */
	json_t		*partners;	/* as journalled */
	int		 seen;
};

static int
audit_conf_take(struct audit_conf *ac, const struct journal_rec *rec)
{
	json_t *j;
	const char *s;

	if ((j = json_loadb((const char *)rec->payload, rec->len, 0,
	    NULL)) == NULL)
		return -1;
	json_decref(ac->partners);
	ac->partners = json_incref(json_object_get(j, "partners"));
	snprintf(ac->country, sizeof(ac->country), "%s",
	    (s = json_string_value(json_object_get(j, "country"))) ? s : "");
	snprintf(ac->signing, sizeof(ac->signing), "%s",
	    (s = json_string_value(json_object_get(j, "signing"))) ? s : "");
	snprintf(ac->file, sizeof(ac->file), "%s",
	    (s = json_string_value(json_object_get(j, "file"))) ? s : "");
	ac->seen = 1;
	json_decref(j);
	return 0;
}

/* 1 if fingerprint fp is journalled for partner (or for us, when
 * partner is NULL). */
static int
audit_conf_allows(const struct audit_conf *ac, const char *partner,
    const char *fp)
{
	json_t *p, *c;
	size_t i, j;

	if (partner == NULL)
		return strcmp(ac->signing, fp) == 0;
	json_array_foreach(ac->partners, i, p) {
		if (!json_is_string(json_object_get(p, "country")) ||
		    strcmp(json_string_value(json_object_get(p, "country")),
		    partner) != 0)
			continue;
		json_array_foreach(json_object_get(p, "signing"), j, c)
			if (json_is_string(c) &&
			    strcmp(json_string_value(c), fp) == 0)
				return 1;
	}
	return 0;
}

static int audit_html(const char *, const char *, json_t *, json_t *);

/* ---- verify ------------------------------------------------------------ */

/*
 * The records are read, chained and counted on the calling thread; the
 * checks of each message (decode, parse, schema, signature) are done by
 * a small pool of worker threads.  Every record takes a slot of a ring in
 * record order, and its results are applied (sets, counters, findings)
 * when it reaches the head of the ring: the report is the one a single
 * thread would write, in the same order.  Non-message records wait in
 * the ring for the messages before them.  A configuration load changes
 * what later messages are checked against: each slot holds the one in
 * force when it was read (the loads are kept until the end).
 */

/* A checkpoint kept for the end, when every key is known. */
struct audit_cp {
	uint64_t	 seq;
	uint64_t	 offset;
	char		*file;
	accord_time_t	 time;
	uint8_t		 prev[JOURNAL_HASH_LEN];
	uint8_t		*payload;
	size_t		 len;
};

enum audit_job_state {
	AJ_FREE, AJ_SEQ, AJ_QUEUED, AJ_RUNNING, AJ_DONE
};

#define AUDIT_FINDING_MAX	2048

/* One record in the ring, and what the checks of a message found. */
struct audit_job {
	enum audit_job_state	 state;
	struct journal_rec	 rec;	/* payload: buf; file: interned */
	uint8_t			*buf;
	size_t			 cap;
	const struct audit_conf	*conf;	/* in force at this record */
	int			 conf_bad;	/* CONFIG_LOAD not JSON */
	/* a message's results */
	struct record_message	 rm;
	int			 decoded;	/* rm is valid */
	int			 checked;	/* the receipt check follows */
	int			 verified;	/* the signature verified */
	int			 rcpt_ids;	/* a Receipt's id, digest read */
	char			 id[RECORD_ID_MAX];
	char			 sha[RECORD_SHA256_HEX + 8];
	X509			*own;	/* our certificate, if ours */
	char			 finding[AUDIT_FINDING_MAX];	/* "" none */
};

/* Certificates of KeyInfo decoded once per thread. */
#define AUDIT_CERTCACHE_MAX	64
struct audit_certcache {
	struct audit_cert	 e[AUDIT_CERTCACHE_MAX];
	int			 n;
};

struct audit_pool {
	pthread_mutex_t		 lock;
	pthread_cond_t		 work;	/* workers: a job is queued */
	pthread_cond_t		 done;	/* main: a job is done */
	struct audit_job	*jobs;
	uint64_t		 njobs;	/* ring size */
	uint64_t		 head;	/* next to apply */
	uint64_t		 tail;	/* next to fill */
	uint64_t		 next;	/* where workers look for work */
	int			 stop;
	int			 idle;	/* workers waiting for work */
	int			 main_waits;	/* ... and main for results */
	uint64_t		 wake_at;	/* wake main: a job from here
						 * done, or no work left */
	pthread_t		*threads;
	int			 nthreads;	/* 0: checks inline */
	X509_STORE		*trust;
	struct audit_certcache	 cache;	/* inline mode's */
	xmlStructuredErrorFunc	 efn;	/* the main thread's handler */
	void			*ectx;
};

/* A journal file's name, kept for the slots naming it. */
struct audit_name {
	struct audit_name	*next;
	char			 s[];
};

struct audit_verify {
	struct audit_pass	 pass;
	const struct audit_opts	*o;
	struct audit_conf	*conf;	/* the latest */
	struct audit_conf	**confs;	/* every one, for the end */
	size_t			 nconfs;
	size_t			 capconfs;
	X509_STORE		*trust;
	struct audit_pool	 pool;
	struct audit_name	*names;
	struct audit_set	 sent;	/* partner/message id -> sha256 */
	struct audit_set	 recvd;
	struct audit_set	 cases;
	struct audit_cp		*cps;
	size_t			 ncps;
	size_t			 capcps;
	X509			*own;	/* our cert from our messages */
	uint64_t		 messages, receipts, errors, decisions;
	uint64_t		 refusals, deadlines, operator, configs;
	uint64_t		 torn_cuts, files, signatures;
	uint64_t		 last_cp_seq;
};

static X509 *
audit_certcache_get(struct audit_certcache *c, const char *sha256)
{
	int i;

	for (i = 0; c != NULL && i < c->n; i++)
		if (strcmp(c->e[i].sha256, sha256) == 0)
			return c->e[i].x;
	return NULL;
}

static void
audit_certcache_put(struct audit_certcache *c, const struct audit_cert *ac)
{
	if (c == NULL || c->n >= AUDIT_CERTCACHE_MAX)
		return;
	X509_up_ref(ac->x);
	c->e[c->n++] = *ac;
}

static void
audit_certcache_free(struct audit_certcache *c)
{
	audit_certs_free(c->e, c->n);
	c->n = 0;
}

static void audit_job_finding(struct audit_job *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
static void
audit_job_finding(struct audit_job *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->finding, sizeof(j->finding), fmt, ap);
	va_end(ap);
}

/* The message's signature, with the certificates in force. */
static void
audit_check_signature(struct audit_job *j, xmlDocPtr doc, int ours,
    X509_STORE *trust, struct audit_certcache *cache)
{
	struct audit_cert certs[AUDIT_MAX_CERTS];
	struct agreement a;
	struct xmlsig_result res;
	const struct journal_rec *rec = &j->rec;
	const struct record_message *rm = &j->rm;
	const struct audit_conf *conf = j->conf;
	const char *who = ours ? conf->country : rm->partner;
	char why[256];
	int n, i, k = 0;

	n = audit_keyinfo_certs(doc, certs, AUDIT_MAX_CERTS, cache);
	memset(&a, 0, sizeof(a));
	snprintf(a.country, sizeof(a.country), "%.2s", who);
	for (i = 0; i < n && k < AGREEMENT_MAX_SIGNING; i++) {
		if (!audit_conf_allows(conf, ours ? NULL : rm->partner,
		    certs[i].sha256))
			continue;
		a.signing[k].path = certs[i].sha256;
		a.signing[k].cert = certs[i].x;
		snprintf(a.signing[k].sha256, sizeof(a.signing[k].sha256),
		    "%s", certs[i].sha256);
		conf_cert_times(certs[i].x, &a.signing[k].not_before,
		    &a.signing[k].not_after);
		a.nsigning = ++k;
		if (ours && j->own == NULL) {
			X509_up_ref(certs[i].x);
			j->own = certs[i].x;
		}
	}
	if (!conf->seen)
		audit_job_finding(j, "%s %s before any "
		    "configuration load: no certificate is in force",
		    agreement_msg_type_name(rm->type), rm->message_id);
	else if (k == 0)
		audit_job_finding(j, "%s %s: signer certificate "
		    "sha256:%s is not one journalled for %s",
		    agreement_msg_type_name(rm->type), rm->message_id,
		    n > 0 ? certs[0].sha256 : "(none in KeyInfo)", who);
	else if (xmlsig_verify(doc, &a, rec->time, &res) == -1)
		audit_job_finding(j, "%s %s from %s: signature "
		    "does not verify: %s: %s",
		    agreement_msg_type_name(rm->type), rm->message_id, who,
		    errcode_name(res.code), res.text);
	else {
		j->verified = 1;
		if (trust != NULL && !audit_trust_check(trust,
		    res.signer->cert, res.signed_at, why, sizeof(why)))
			audit_job_finding(j, "%s %s: signer "
			    "certificate sha256:%s does not chain to the "
			    "trust anchors: %s",
			    agreement_msg_type_name(rm->type), rm->message_id,
			    res.signer->sha256, why);
	}
	audit_certs_free(certs, n);
}

/* The checks of one message that need nothing of the records before it
 * but the configuration in force: any thread. */
static void
audit_check_message(struct audit_job *j, X509_STORE *trust,
    struct audit_certcache *cache)
{
	const struct journal_rec *rec = &j->rec;
	struct record_message *rm = &j->rm;
	struct envelope_header h;
	struct envelope_error err;
	xmlDocPtr doc = NULL;
	xmlNodePtr body;
	int ours;

	j->finding[0] = '\0';
	j->decoded = j->checked = j->verified = j->rcpt_ids = 0;
	j->own = NULL;
	if (record_message_decode(rec->payload, rec->len, rm) == -1) {
		audit_job_finding(j, "%s record does not decode "
		    "(or its body's SHA-256 is not its header's)",
		    journal_kind_name(rec->kind));
		return;
	}
	j->decoded = 1;
	ours = rec->kind == JOURNAL_MESSAGE_SENT ||
	    rec->kind == JOURNAL_RECEIPT_GIVEN;
	if (envelope_parse((const char *)rm->body, rm->body_len, NULL, &doc,
	    &err) == -1) {
		audit_job_finding(j, "%s %s: the journalled bytes "
		    "do not parse: %s", agreement_msg_type_name(rm->type),
		    rm->message_id, err.text);
		return;
	}
	if (envelope_read(doc, &h, &body) == -1 ||
	    strcmp(h.message_id, rm->message_id) != 0 ||
	    strcmp(h.case_id, rm->case_id) != 0 || h.type != rm->type) {
		audit_job_finding(j, "%s %s: the record's header "
		    "does not match the signed message's",
		    agreement_msg_type_name(rm->type), rm->message_id);
		goto done;
	}
	j->checked = 1;
	audit_check_signature(j, doc, ours, trust, cache);
	if ((rec->kind == JOURNAL_RECEIPT_GOT ||
	    rec->kind == JOURNAL_RECEIPT_GIVEN) && rm->type == MSG_RECEIPT)
		j->rcpt_ids = envelope_child_text(body, "ReceivedMessageId",
		    j->id, sizeof(j->id)) != -1 && envelope_child_text(body,
		    "Sha256", j->sha, sizeof(j->sha)) != -1;
done:
	xmlFreeDoc(doc);
}

/* A Receipt's digest must be the one of the bytes it acknowledges. */
static void
audit_verify_receipt(struct audit_verify *v, const struct audit_job *j,
    int got)
{
	const struct journal_rec *rec = &j->rec;
	const struct record_message *rm = &j->rm;
	struct audit_str *s;

	if (rm->type != MSG_RECEIPT)
		return;
	if (!j->rcpt_ids) {
		audit_finding(v->pass.rep, rec, "Receipt %s names no message "
		    "or digest", rm->message_id);
		return;
	}
	s = audit_set_get(got ? &v->sent : &v->recvd, rm->partner, j->id);
	if (s == NULL)
		audit_finding(v->pass.rep, rec, "Receipt %s acknowledges %s, "
		    "which the journal does not hold as %s", rm->message_id,
		    j->id, got ? "sent" : "received");
	else if (strcmp(s->val, j->sha) != 0)
		audit_finding(v->pass.rep, rec, "Receipt %s: Sha256 %s is "
		    "not the digest %s of message %s as %s", rm->message_id,
		    j->sha, s->val, j->id, got ? "sent" : "received");
}

/* A message's results, in record order. */
static void
audit_verify_message(struct audit_verify *v, struct audit_job *j)
{
	const struct journal_rec *rec = &j->rec;
	const struct record_message *rm = &j->rm;

	if (!j->decoded) {
		audit_finding(v->pass.rep, rec, "%s", j->finding);
		return;
	}
	if (rec->kind == JOURNAL_MESSAGE_SENT)
		audit_set_put(&v->sent, rm->partner, rm->message_id,
		    rm->sha256);
	else if (rec->kind == JOURNAL_MESSAGE_RECEIVED)
		audit_set_put(&v->recvd, rm->partner, rm->message_id,
		    rm->sha256);
	if (rm->type == MSG_RECEIPT)
		v->receipts++;
	else if (rm->type == MSG_ERROR)
		v->errors++;
	else
		v->messages++;
	if (j->own != NULL) {
		if (v->own == NULL)
			v->own = j->own;
		else
			X509_free(j->own);
		j->own = NULL;
	}
	if (j->verified)
		v->signatures++;
	if (j->finding[0] != '\0')
		audit_finding(v->pass.rep, rec, "%s", j->finding);
	if (!j->checked)
		return;
	if (rec->kind == JOURNAL_RECEIPT_GOT)
		audit_verify_receipt(v, j, 1);
	else if (rec->kind == JOURNAL_RECEIPT_GIVEN)
		audit_verify_receipt(v, j, 0);
}

/* A record's turn at the head of the ring. */
static void
audit_verify_apply(struct audit_verify *v, struct audit_job *j)
{
	const struct journal_rec *rec = &j->rec;
	struct record_decision rd;
	struct audit_cp *cp;

	switch (rec->kind) {
	case JOURNAL_FILE_START:
		v->files++;
		break;
	case JOURNAL_TORN_TAIL_CUT:
		v->torn_cuts++;
		break;
	case JOURNAL_CHECKPOINT:
		v->cps = xgrowarray(v->cps, v->ncps, &v->capcps,
		    sizeof(*v->cps));
		cp = &v->cps[v->ncps++];
		cp->seq = rec->seq;
		cp->offset = rec->offset;
		cp->time = rec->time;
		cp->file = xstrdup(rec->file);
		cp->payload = xmalloc(rec->len + 1);
		memcpy(cp->payload, rec->payload, rec->len);
		cp->len = rec->len;
		memcpy(cp->prev, rec->prev, JOURNAL_HASH_LEN);
		v->last_cp_seq = rec->seq;
		break;
	case JOURNAL_CONFIG_LOAD:
		v->configs++;
		if (j->conf_bad)
			audit_finding(v->pass.rep, rec, "CONFIG_LOAD is not "
			    "JSON");
		break;
	case JOURNAL_MESSAGE_RECEIVED:
	case JOURNAL_MESSAGE_SENT:
	case JOURNAL_RECEIPT_GIVEN:
	case JOURNAL_RECEIPT_GOT:
		audit_verify_message(v, j);
		break;
	case JOURNAL_DECISION:
	case JOURNAL_REFUSAL:
		if (rec->kind == JOURNAL_DECISION)
			v->decisions++;
		else
			v->refusals++;
		if (record_decision_decode(rec->payload, rec->len, &rd) == -1)
			audit_finding(v->pass.rep, rec, "%s does not decode",
			    journal_kind_name(rec->kind));
		else if (rec->kind == JOURNAL_DECISION) {
			audit_set_put(&v->cases, rd.partner, rd.case_id, NULL);
			/* the engine journals a message before deciding on it */
			if (rd.message_id[0] != '\0' &&
			    audit_set_get(&v->recvd, rd.partner,
			    rd.message_id) == NULL &&
			    audit_set_get(&v->sent, rd.partner,
			    rd.message_id) == NULL)
				audit_finding(v->pass.rep, rec, "decision on "
				    "case %s/%s: message %s is not journalled "
				    "before it (records reordered or removed)",
				    rd.partner, rd.case_id, rd.message_id);
		}
		break;
	case JOURNAL_DEADLINE_FIRED:
		v->deadlines++;
		break;
	case JOURNAL_OPERATOR_COMMAND:
		v->operator++;
		break;
	default:
		break;
	}
}

static void *
audit_worker(void *arg)
{
	struct audit_pool *p = arg;
	struct audit_certcache *cache;
	struct audit_job *j;
	uint64_t idx;

	cache = xcalloc(1, sizeof(*cache));
	xmlSetStructuredErrorFunc(p->ectx, p->efn);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->next < p->tail &&
		    p->jobs[p->next % p->njobs].state != AJ_QUEUED)
			p->next++;
		if (p->next == p->tail) {
			if (p->stop)
				break;
			if (p->main_waits)
				pthread_cond_signal(&p->done);
			p->idle++;
			pthread_cond_wait(&p->work, &p->lock);
			p->idle--;
			continue;
		}
		idx = p->next++;
		j = &p->jobs[idx % p->njobs];
		j->state = AJ_RUNNING;
		pthread_mutex_unlock(&p->lock);
		audit_check_message(j, p->trust, cache);
		pthread_mutex_lock(&p->lock);
		j->state = AJ_DONE;
		/* wake main for a batch, not for every job */
		if (p->main_waits && idx >= p->wake_at)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	audit_certcache_free(cache);
	free(cache);
	return NULL;
}

/* Start nthreads workers (0 or 1: check inline).  @return 0 or -1. */
static int
audit_pool_start(struct audit_pool *p, int nthreads, X509_STORE *trust)
{
	int i;

	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	p->trust = trust;
	p->efn = xmlStructuredError;
	p->ectx = xmlStructuredErrorContext;
	if (nthreads < 2)
		nthreads = 0;
	p->njobs = nthreads > 0 ? 64 * (uint64_t)nthreads : 1;
	p->jobs = xcalloc(p->njobs, sizeof(*p->jobs));
	if (nthreads > 0)
		p->threads = xcalloc((size_t)nthreads, sizeof(*p->threads));
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&p->threads[i], NULL, audit_worker, p) !=
		    0) {
			log_errx(ATAG, "cannot start a verify thread");
			return -1;
		}
		p->nthreads++;
	}
	return 0;
}

/* Apply the records whose results are in; with all, every record, else
 * until the ring has a free slot. */
static void
audit_pool_apply(struct audit_verify *v, int all)
{
	struct audit_pool *p = &v->pool;
	struct audit_job *j;

	pthread_mutex_lock(&p->lock);
	while (p->head < p->tail) {
		j = &p->jobs[p->head % p->njobs];
		if (j->state != AJ_DONE && j->state != AJ_SEQ) {
			if (!all && p->tail - p->head < p->njobs)
				break;
			/* full: sleep until half of it can be applied */
			p->wake_at = p->head + (all ? 0 : p->njobs / 2);
			p->main_waits = 1;
			pthread_cond_wait(&p->done, &p->lock);
			p->main_waits = 0;
			continue;
		}
		pthread_mutex_unlock(&p->lock);
		audit_verify_apply(v, j);
		pthread_mutex_lock(&p->lock);
		j->state = AJ_FREE;
		p->head++;
		if (p->next < p->head)
			p->next = p->head;
	}
	pthread_mutex_unlock(&p->lock);
}

static void
audit_pool_flush(void *arg)
{
	audit_pool_apply(arg, 1);
}

static void
audit_pool_stop(struct audit_verify *v)
{
	struct audit_pool *p = &v->pool;
	uint64_t i;
	int t;

	if (p->jobs == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (t = 0; t < p->nthreads; t++)
		pthread_join(p->threads[t], NULL);
	for (i = 0; i < p->njobs; i++) {
		X509_free(p->jobs[i].own);
		free(p->jobs[i].buf);
	}
	audit_certcache_free(&p->cache);
	free(p->jobs);
	free(p->threads);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->lock);
	memset(p, 0, sizeof(*p));
}

/* The configuration a CONFIG_LOAD puts in force.  @return 0, or -1 when
 * it is not JSON (the one in force stays). */
static int
audit_conf_next(struct audit_verify *v, const struct journal_rec *rec)
{
	struct audit_conf *c;

	c = xcalloc(1, sizeof(*c));
	if (audit_conf_take(c, rec) == -1) {
		free(c);
		return -1;
	}
	v->confs = xgrowarray(v->confs, v->nconfs, &v->capconfs,
	    sizeof(*v->confs));
	v->confs[v->nconfs++] = c;
	v->conf = c;
	return 0;
}

/* The reader's record into the ring. */
static int
audit_verify_rec(void *arg, const struct journal_rec *rec)
{
	struct audit_verify *v = arg;
	struct audit_pool *p = &v->pool;
	struct audit_name *nm;
	struct audit_job *j;
	enum audit_job_state st = AJ_SEQ;
	size_t len;

	audit_pool_apply(v, 0);
	j = &p->jobs[p->tail % p->njobs];
	j->rec = *rec;
	if (j->cap < rec->len + 1) {
		free(j->buf);
		j->cap = rec->len + 1 > 8192 ? rec->len + 1 : 8192;
		j->buf = xmalloc(j->cap);
	}
	if (rec->len > 0)
		memcpy(j->buf, rec->payload, rec->len);
	j->buf[rec->len] = '\0';
	j->rec.payload = j->buf;
	if (v->names == NULL || strcmp(v->names->s, rec->file) != 0) {
		len = strlen(rec->file);
		nm = xmalloc(sizeof(*nm) + len + 1);
		memcpy(nm->s, rec->file, len + 1);
		nm->next = v->names;
		v->names = nm;
	}
	j->rec.file = v->names->s;
	j->conf_bad = 0;
	switch (rec->kind) {
	case JOURNAL_CONFIG_LOAD:
		j->conf_bad = audit_conf_next(v, rec) == -1;
		break;
	case JOURNAL_MESSAGE_RECEIVED:
	case JOURNAL_MESSAGE_SENT:
	case JOURNAL_RECEIPT_GIVEN:
	case JOURNAL_RECEIPT_GOT:
		st = AJ_QUEUED;
		break;
	default:
		break;
	}
	j->conf = v->conf;
	if (st == AJ_QUEUED && p->nthreads == 0) {
		audit_check_message(j, p->trust, &p->cache);
		st = AJ_DONE;
	}
	pthread_mutex_lock(&p->lock);
	j->state = st;
	p->tail++;
	if (st == AJ_QUEUED && p->idle > 0)
		pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

/* Every checkpoint, with the key its id names. */
static void
audit_verify_checkpoints(struct audit_verify *v, EVP_PKEY *key,
    const char *key_from)
{
	struct journal_checkpoint jc;
	struct journal_rec rec;
	uint8_t id[JOURNAL_HASH_LEN];
	char hex[65], want[65];
	uint64_t good = 0;
	size_t i;

	if (key != NULL && journal_key_id(key, id) == -1)
		key = NULL;
	for (i = 0; i < v->ncps; i++) {
		memset(&rec, 0, sizeof(rec));
		rec.kind = JOURNAL_CHECKPOINT;
		rec.version = JOURNAL_VERSION;
		rec.seq = v->cps[i].seq;
		rec.time = v->cps[i].time;
		memcpy(rec.prev, v->cps[i].prev, JOURNAL_HASH_LEN);
		rec.payload = v->cps[i].payload;
		rec.len = v->cps[i].len;
		rec.file = v->cps[i].file;
		rec.offset = v->cps[i].offset;
		if (journal_decode_checkpoint(&rec, &jc) == -1) {
			audit_finding(v->pass.rep, &rec, "malformed "
			    "checkpoint");
			continue;
		}
		if (key == NULL)
			continue;
		if (memcmp(jc.key_id, id, JOURNAL_HASH_LEN) != 0) {
			audit_finding(v->pass.rep, &rec, "checkpoint signed "
			    "by key %s, not the gateway's key %s (%s)",
			    journal_hex(jc.key_id, hex), journal_hex(id, want),
			    key_from);
			continue;
		}
		if (journal_verify_checkpoint(&rec, key) == -1) {
			audit_finding(v->pass.rep, &rec, "checkpoint "
			    "signature does not verify (covering record %"
			    PRIu64 ", chain %s)", jc.seq,
			    journal_hex(jc.chain, hex));
			continue;
		}
		good++;
	}
	json_object_set_new(json_object_get(v->pass.rep->root, "summary"),
	    "checkpoints_verified", json_integer((json_int_t)good));
}

static X509 *
audit_cert_read(const char *path)
{
	X509 *x = NULL;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		log_err(ATAG, "%s", path);
		return NULL;
	}
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (x == NULL) {
		log_openssl(ATAG, path);
		ERR_clear_error();
	}
	return x;
}

int
audit_verify(const struct audit_opts *o, struct audit_report *rep)
{
	struct audit_verify *v;
	struct audit_name *nm;
	json_t *sum;
	X509 *pinned = NULL, *own;
	const char *from;
	char tb[32], fp[65], why[256];
	size_t i;
	int rc = -1;

	v = xcalloc(1, sizeof(*v));
	v->confs = xcalloc(1, sizeof(*v->confs));
	v->capconfs = 1;
	v->confs[0] = xcalloc(1, sizeof(*v->confs[0]));
	v->conf = v->confs[0];		/* none loaded yet */
	v->nconfs = 1;
	v->o = o;
	v->pass.rep = rep;
	if (o->cert_file != NULL &&
	    (pinned = audit_cert_read(o->cert_file)) == NULL)
		goto done;
	if (o->trust_dir != NULL &&
	    (v->trust = audit_trust_load(o->trust_dir)) == NULL)
		goto done;
	sum = json_object();
	json_object_set_new(rep->root, "summary", sum);
	if (audit_pool_start(&v->pool, o->jobs > 0 ? o->jobs :
	    AUDIT_DEFAULT_JOBS, v->trust) == -1)
		goto done;
	if (audit_read_flush(o->files, o->nfiles, &v->pass, audit_verify_rec,
	    audit_pool_flush, v) == -1)
		goto done;
	audit_pool_stop(v);

	/* the checkpoint key: pinned, or our own messages' certificate */
	own = pinned != NULL ? pinned : v->own;
	from = pinned != NULL ? o->cert_file : "taken from the journal's own "
	    "messages: pin it with --cert";
	if (own == NULL) {
		if (v->ncps > 0)
			audit_warning(rep, NULL, "no certificate for the "
			    "checkpoints: give the gateway's signing "
			    "certificate with --cert");
	} else {
		conf_cert_sha256(own, fp);
		if (pinned != NULL && v->conf->seen &&
		    strcmp(fp, v->conf->signing) != 0)
			audit_warning(rep, NULL, "--cert sha256:%s is not the "
			    "signing certificate sha256:%s the journal's last "
			    "configuration load names", fp, v->conf->signing);
		if (pinned == NULL)
			audit_warning(rep, NULL, "checkpoint key %s", from);
		if (v->trust != NULL && !audit_trust_check(v->trust, own,
		    v->pass.last_time, why, sizeof(why)))
			audit_finding(rep, NULL, "the gateway's certificate "
			    "sha256:%s does not chain to the trust anchors: "
			    "%s", fp, why);
		json_object_set_new(sum, "checkpoint_key_cert",
		    json_string(fp));
		audit_verify_checkpoints(v, X509_get0_pubkey(own), from);
	}
	if (v->pass.records > v->last_cp_seq && v->ncps > 0 &&
	    v->pass.last_seq > v->last_cp_seq)
		audit_warning(rep, NULL, "%" PRIu64 " records after the last "
		    "checkpoint (record %" PRIu64 ") are chained but not yet "
		    "signed", v->pass.last_seq - v->last_cp_seq,
		    v->last_cp_seq);

	json_object_set_new(sum, "records", json_integer(
	    (json_int_t)v->pass.records));
	json_object_set_new(sum, "files", json_integer((json_int_t)v->files));
	json_object_set_new(sum, "messages", json_integer(
	    (json_int_t)v->messages));
	json_object_set_new(sum, "receipts", json_integer(
	    (json_int_t)v->receipts));
	json_object_set_new(sum, "errors", json_integer(
	    (json_int_t)v->errors));
	json_object_set_new(sum, "signatures_verified", json_integer(
	    (json_int_t)v->signatures));
	json_object_set_new(sum, "decisions", json_integer(
	    (json_int_t)v->decisions));
	json_object_set_new(sum, "refusals", json_integer(
	    (json_int_t)v->refusals));
	json_object_set_new(sum, "deadlines_fired", json_integer(
	    (json_int_t)v->deadlines));
	json_object_set_new(sum, "operator_commands", json_integer(
	    (json_int_t)v->operator));
	json_object_set_new(sum, "configuration_loads", json_integer(
	    (json_int_t)v->configs));
	json_object_set_new(sum, "cases", json_integer(
	    (json_int_t)v->cases.n));
	json_object_set_new(sum, "checkpoints", json_integer(
	    (json_int_t)v->ncps));
	json_object_set_new(sum, "torn_tails_cut", json_integer(
	    (json_int_t)v->torn_cuts));
	audit_fmt_time(v->pass.first_time, tb, sizeof(tb));
	json_object_set_new(sum, "first_time", json_string(tb));
	audit_fmt_time(v->pass.last_time, tb, sizeof(tb));
	json_object_set_new(sum, "last_time", json_string(tb));
	json_object_set_new(sum, "last_record", json_integer(
	    (json_int_t)v->pass.last_seq));
	if (o->html_out != NULL && audit_html(o->html_out, "verify", NULL,
	    rep->findings) == -1)
		goto done;
	rc = 0;
done:
	audit_pool_stop(v);
	for (i = 0; i < v->ncps; i++) {
		free(v->cps[i].file);
		free(v->cps[i].payload);
	}
	free(v->cps);
	audit_set_clear(&v->sent);
	audit_set_clear(&v->recvd);
	audit_set_clear(&v->cases);
	for (i = 0; i < v->nconfs; i++) {
		json_decref(v->confs[i]->partners);
		free(v->confs[i]);
	}
	free(v->confs);
	while ((nm = v->names) != NULL) {
		v->names = nm->next;
		free(nm);
	}
	X509_free(v->own);
	X509_free(pinned);
	if (v->trust != NULL)
		X509_STORE_free(v->trust);
	free(v);
	return rc;
}

/* ---- the configuration replay needs: agreements and calendars ------- */

/*
 * Only what fsm_decide() reads: our country and calendar, the agreements'
 * timelines, calendars and programmes.  config_load() would insist on
 * readable keys and certificates valid today, which an auditor years
 * later does not have; this reads the same files and ignores the rest.
 */
/*
 * What replay needs of a gateway's configuration: its country and
 * calendar, and the agreements' timelines and calendars.  Certificates
 * do not matter here (a key may be unreadable, a certificate long
 * expired), so only those parts are read, into a struct config.
 */
static struct config *
audit_config_load(const char *file)
{
	struct conf_diag d = { 0 };
	struct config *c;
	xmlDocPtr doc;
	xmlNodePtr root;
	char *v;
	accord_time_t now = (accord_time_t)time(NULL);

	if ((doc = conf_load_xml(file, "accordd.xsd", &d)) == NULL) {
		conf_diag_print(&d, stderr);
		conf_diag_free(&d);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->file = xstrdup(file);
	root = xmlDocGetRootElement(doc);
	conf_attr_buf(conf_child(root, "identity"), "country", c->country,
	    sizeof(c->country));
	c->dir = conf_dirname(file);
	v = conf_attr(conf_child(root, "pki"), "directory");
	c->pki_dir = conf_path(c->dir, v != NULL ? v : ".");
	xmlFree(v);
	v = conf_attr(conf_child(root, "partners"), "directory");
	c->partners_dir = conf_path(c->dir, v != NULL ? v : "partners");
	xmlFree(v);
	conf_read_calendar(conf_child(root, "calendar"), file, &c->calendar,
	    &d, now, c->country);
	xmlFreeDoc(doc);
	/* errors about certificates do not matter here */
	if (config_load_agreements(c, now, &d) == -1)
		log_errx(ATAG, "%s", d.errors[d.nerrors - 1]);
	conf_diag_free(&d);
	return c;
}

/* ---- replay ------------------------------------------------------------ */

struct audit_case {
	struct audit_case *next;	/* hash chain */
	struct audit_case *order;	/* in order of first appearance */
	char		 partner[RECORD_PARTNER_MAX];
	char		 case_id[RECORD_ID_MAX];
	struct fsm_case	 c;
	int		 exists;	/* a decision opened it */
	json_t		*timeline;
};

struct audit_replay {
	struct audit_pass	 pass;
	const struct audit_opts	*o;
	struct config		*conf;
	struct audit_conf	 jconf;
	struct audit_case	*b[AUDIT_BUCKETS];
	struct audit_case	*first, *last;
	struct audit_set	 msgcase;	/* partner/message -> case */
	size_t			 ncases;
	uint64_t		 decisions, rerun, divergent;
};

static struct audit_case *
audit_case_get(struct audit_replay *rp, const char *partner,
    const char *case_id, int create)
{
	struct audit_case *ac;
	unsigned h = audit_hash(partner, case_id);

	for (ac = rp->b[h]; ac != NULL; ac = ac->next)
		if (strcmp(ac->partner, partner) == 0 &&
		    strcmp(ac->case_id, case_id) == 0)
			return ac;
	if (!create)
		return NULL;
	ac = xcalloc(1, sizeof(*ac));
	snprintf(ac->partner, sizeof(ac->partner), "%s", partner);
	snprintf(ac->case_id, sizeof(ac->case_id), "%s", case_id);
	ac->timeline = json_array();
	ac->next = rp->b[h];
	rp->b[h] = ac;
	if (rp->last != NULL)
		rp->last->order = ac;
	else
		rp->first = ac;
	rp->last = ac;
	rp->ncases++;
	return ac;
}

static void
audit_timeline(struct audit_case *ac, const struct journal_rec *rec,
    const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void
audit_timeline(struct audit_case *ac, const struct journal_rec *rec,
    const char *what, const char *fmt, ...)
{
	char text[512], tb[32];
	va_list ap;
	json_t *ev;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	clock_format_utc(rec->time, tb, sizeof(tb));
	ev = json_pack("{s:I, s:s, s:s, s:s, s:s, s:I}", "seq",
	    (json_int_t)rec->seq, "time", tb, "what", what, "text", text,
	    "file", rec->file, "offset", (json_int_t)rec->offset);
	if (ev != NULL)
		json_array_append_new(ac->timeline, ev);
}

static int
audit_is_message_event(enum fsm_ev_kind k)
{
	return k == FSM_EV_RECEIVED || k == FSM_EV_SENDING ||
	    k == FSM_EV_RECEIPTED || k == FSM_EV_FAILED;
}

static json_t *
audit_decision_json(const struct fsm_decision *d)
{
	json_t *j, *ops;
	int i;

	ops = json_array();
	for (i = 0; i < d->ndlops && i < FSM_MAX_DLOPS; i++)
		json_array_append_new(ops, json_pack("{s:s, s:s, s:I}",
		    "deadline", fsm_deadline_name(d->dlops[i].which), "op",
		    d->dlops[i].op == FSM_DLOP_SET ? "set" : "clear", "due",
		    (json_int_t)d->dlops[i].due));
	j = json_pack("{s:i, s:s, s:s, s:s, s:o, s:i, s:i, s:s}", "version",
	    d->version, "refusal", errcode_name(d->refusal), "old_state",
	    fsm_state_name(d->old_state), "new_state",
	    fsm_state_name(d->new_state), "dlops", ops, "effects",
	    (int)d->effects, "entry_ban_years", d->entry_ban_years, "event",
	    d->event);
	if (j != NULL && d->refusal == AE_OK)
		json_object_set_new(j, "next", record_case_to_json(&d->next));
	return j;
}

/* Field by field; @return the first field that differs, NULL if none. */
static const char *
audit_decision_diff(const struct fsm_decision *a, const struct fsm_decision *b)
{
	json_t *x, *y;
	int i, same;

	if (a->refusal != b->refusal)
		return "refusal";
	if (a->old_state != b->old_state)
		return "old state";
	if (a->new_state != b->new_state)
		return "state";
	if (a->ndlops != b->ndlops)
		return "deadline operations";
	for (i = 0; i < a->ndlops && i < FSM_MAX_DLOPS; i++)
		if (a->dlops[i].which != b->dlops[i].which ||
		    a->dlops[i].op != b->dlops[i].op ||
		    a->dlops[i].due != b->dlops[i].due)
			return "deadline operations";
	if (a->effects != b->effects)
		return "effects";
	if (a->entry_ban_years != b->entry_ban_years)
		return "entry ban";
	if (a->refusal != AE_OK)
		return NULL;
	x = record_case_to_json(&a->next);
	y = record_case_to_json(&b->next);
	same = x != NULL && y != NULL && json_equal(x, y);
	json_decref(x);
	json_decref(y);
	return same ? NULL : "case after";
}

static void
audit_replay_decision(struct audit_replay *rp, const struct journal_rec *rec)
{
	struct record_decision rd;
	struct audit_case *ac;
	struct fsm_case c;
	struct fsm_decision d;
	const struct agreement *a;
	const struct calendar *cal;
	const char *diff;
	char *js1, *js2, desc[256];
	json_t *j1, *j2;
	int expect_unknown = 0;

	if (record_decision_decode(rec->payload, rec->len, &rd) == -1) {
		audit_finding(rp->pass.rep, rec, "%s does not decode",
		    journal_kind_name(rec->kind));
		return;
	}
	rp->decisions++;
	ac = audit_case_get(rp, rd.partner, rd.case_id, 1);
	memset(&c, 0, sizeof(c));
	if (ac->exists)
		c = ac->c;
	else {
		/* the engine's rule for a case's first message */
		if (!audit_is_message_event(rd.ev.kind) ||
		    fsm_case_open(rd.ev.type, rd.ev.kind == FSM_EV_RECEIVED,
		    &c) == -1)
			expect_unknown = 1;
	}

	memset(&d, 0, sizeof(d));
	if (expect_unknown) {
		/* the engine refuses without asking the fsm */
		d.version = FSM_VERSION;
		d.refusal = AE_UNKNOWN_CASE;
		d.old_state = d.new_state = FSM_NONE;
		diff = rd.d.refusal == AE_UNKNOWN_CASE ? NULL : "refusal";
		if (diff == NULL && rec->kind != JOURNAL_REFUSAL)
			diff = "record kind";
		if (diff != NULL)
			audit_finding(rp->pass.rep, rec, "case %s/%s: a %s "
			    "for a case no decision opened", rd.partner,
			    rd.case_id, journal_kind_name(rec->kind));
	} else if (rp->conf == NULL) {
		/* no configuration: only the chain of states */
		diff = rd.d.old_state == c.state && (rd.d.refusal != AE_OK ||
		    rd.d.next.kind == c.kind) ? NULL : "old state";
		if (diff != NULL)
			audit_finding(rp->pass.rep, rec, "case %s/%s: decision "
			    "starts from %s, the case was %s", rd.partner,
			    rd.case_id, fsm_state_name(rd.d.old_state),
			    fsm_state_name(c.state));
	} else if ((a = (rp->conf != NULL ? config_partner(rp->conf, rd.partner) : NULL)) == NULL) {
		diff = NULL;
		audit_finding(rp->pass.rep, rec, "case %s/%s: no agreement "
		    "with %s in the configuration: decision not re-run",
		    rd.partner, rd.case_id, rd.partner);
	} else {
		cal = c.role == ROLE_REQUESTED ? &rp->conf->calendar : &a->calendar;
		fsm_decide(&c, &rd.ev, a, cal, rd.now, &d);
		rp->rerun++;
		diff = audit_decision_diff(&rd.d, &d);
		if (diff == NULL && (rd.d.refusal != AE_OK) !=
		    (rec->kind == JOURNAL_REFUSAL))
			diff = "record kind";
		if (diff != NULL) {
			j1 = audit_decision_json(&rd.d);
			j2 = audit_decision_json(&d);
			js1 = json_dumps(j1, JSON_COMPACT | JSON_SORT_KEYS);
			js2 = json_dumps(j2, JSON_COMPACT | JSON_SORT_KEYS);
			audit_finding(rp->pass.rep, rec, "case %s/%s: the "
			    "replayed decision differs in its %s: journalled "
			    "(fsm %d) %s; replayed (fsm %d) %s", rd.partner,
			    rd.case_id, diff, rd.d.version, js1 ? js1 : "?",
			    d.version, js2 ? js2 : "?");
			free(js1);
			free(js2);
			json_decref(j1);
			json_decref(j2);
		}
	}
	if (diff != NULL)
		rp->divergent++;
	if (rd.d.refusal == AE_OK) {
		fsm_describe(&rd.d, desc, sizeof(desc));
		audit_timeline(ac, rec, "decision", "%s (fsm %d)%s", desc,
		    rd.d.version, diff != NULL ? " DIVERGES" : "");
		if (!(rd.d.effects & FSM_EFF_NO_CHANGE)) {
			/* go on from what the daemon decided */
			ac->c = rd.d.next;
			ac->exists = 1;
		}
	} else
		audit_timeline(ac, rec, "refusal", "%s %s: %s%s",
		    rd.message_id, errcode_name(rd.d.refusal), rd.d.text,
		    diff != NULL ? " DIVERGES" : "");
}

static int
audit_replay_rec(void *arg, const struct journal_rec *rec)
{
	struct audit_replay *rp = arg;
	struct record_message rm;
	struct record_deadline rdl;
	struct record_msgstate ms;
	struct audit_case *ac;
	struct audit_str *s;
	char tb[32];

	switch (rec->kind) {
	case JOURNAL_CONFIG_LOAD:
		audit_conf_take(&rp->jconf, rec);
		break;
	case JOURNAL_MESSAGE_RECEIVED:
	case JOURNAL_MESSAGE_SENT:
	case JOURNAL_RECEIPT_GIVEN:
	case JOURNAL_RECEIPT_GOT:
		if (record_message_decode(rec->payload, rec->len, &rm) == -1)
			break;
		ac = audit_case_get(rp, rm.partner, rm.case_id, 1);
		if (rec->kind == JOURNAL_MESSAGE_RECEIVED ||
		    rec->kind == JOURNAL_MESSAGE_SENT)
			audit_set_put(&rp->msgcase, rm.partner, rm.message_id,
			    rm.case_id);
		audit_timeline(ac, rec, "message", "%s %s %s %s (Created %s)",
		    agreement_msg_type_name(rm.type), rm.message_id,
		    rec->kind == JOURNAL_MESSAGE_RECEIVED ? "received from" :
		    rec->kind == JOURNAL_MESSAGE_SENT ? "sent to" :
		    rec->kind == JOURNAL_RECEIPT_GIVEN ? "given to" :
		    "got from", rm.partner,
		    clock_format_utc(rm.created, tb, sizeof(tb)));
		break;
	case JOURNAL_DECISION:
	case JOURNAL_REFUSAL:
		audit_replay_decision(rp, rec);
		break;
	case JOURNAL_DEADLINE_FIRED:
		if (record_deadline_decode(rec->payload, rec->len, &rdl) == -1)
			break;
		ac = audit_case_get(rp, rdl.partner, rdl.case_id, 1);
		audit_timeline(ac, rec, "deadline", "%s deadline due %s fired",
		    fsm_deadline_name(rdl.which),
		    clock_format_utc(rdl.due, tb, sizeof(tb)));
		break;
	case JOURNAL_MESSAGE_STATE:
		if (record_msgstate_decode(rec->payload, rec->len, &ms) ==
		    -1 || (s = audit_set_get(&rp->msgcase, ms.partner,
		    ms.message_id)) == NULL)
			break;
		ac = audit_case_get(rp, ms.partner, s->val, 1);
		audit_timeline(ac, rec, "delivery", "%s %s%s%s", ms.message_id,
		    record_msg_state_name(ms.state), ms.reason[0] ? ": " : "",
		    ms.reason);
		break;
	default:
		break;
	}
	return 0;
}

/* First pass without a configuration: which one the journal names. */
static int
audit_replay_probe(void *arg, const struct journal_rec *rec)
{
	struct audit_replay *rp = arg;

	if (rec->kind == JOURNAL_CONFIG_LOAD)
		audit_conf_take(&rp->jconf, rec);
	return 0;
}

static json_t *
audit_case_json(const struct audit_case *ac)
{
	json_t *j, *dl;
	char tb[32];
	int i;

	dl = json_array();
	for (i = 0; i < FSM_DL_COUNT; i++)
		if (ac->c.armed & (1U << i))
			json_array_append_new(dl, json_pack("{s:s, s:s}",
			    "deadline", fsm_deadline_name(i), "due",
			    clock_format_utc(ac->c.due[i], tb, sizeof(tb))));
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:O}", "partner",
	    ac->partner, "case", ac->case_id, "kind",
	    fsm_kind_name(ac->c.kind), "role", fsm_role_name(ac->c.role),
	    "state", ac->exists ? fsm_state_name(ac->c.state) : "(never "
	    "opened)", "armed", dl, "fsm_case", record_case_to_json(&ac->c),
	    "timeline", ac->timeline);
	return j;
}

/* --compare: the store's cases against the replayed ones. */
struct audit_cmp {
	struct audit_replay	*rp;
	struct audit_set	 seen;
	uint64_t		 compared;
};

static int
audit_compare_case(void *arg, const struct store_case *sc)
{
	struct audit_cmp *cmp = arg;
	struct audit_case *ac;
	json_t *x, *y;
	char *a, *b;

	cmp->compared++;
	audit_set_put(&cmp->seen, sc->partner, sc->case_id, NULL);
	ac = audit_case_get(cmp->rp, sc->partner, sc->case_id, 0);
	if (ac == NULL || !ac->exists) {
		audit_finding(cmp->rp->pass.rep, NULL, "store case %s/%s (%s) "
		    "is not in the journal", sc->partner, sc->case_id,
		    fsm_state_name(sc->c.state));
		return 0;
	}
	x = record_case_to_json(&sc->c);
	y = record_case_to_json(&ac->c);
	if (x == NULL || y == NULL || !json_equal(x, y)) {
		a = json_dumps(x, JSON_COMPACT | JSON_SORT_KEYS);
		b = json_dumps(y, JSON_COMPACT | JSON_SORT_KEYS);
		audit_finding(cmp->rp->pass.rep, NULL, "case %s/%s: the store "
		    "holds %s %s, the replay %s %s", sc->partner, sc->case_id,
		    fsm_state_name(sc->c.state), a ? a : "?",
		    fsm_state_name(ac->c.state), b ? b : "?");
		free(a);
		free(b);
	}
	json_decref(x);
	json_decref(y);
	return 0;
}

static int
audit_compare(struct audit_replay *rp, const char *path)
{
	struct audit_cmp cmp;
	struct audit_case *ac;
	struct store *st;
	uint64_t applied;
	int rc;

	if (access(path, R_OK) == -1) {
		log_err(ATAG, "%s", path);
		return -1;
	}
	if ((st = store_open(path)) == NULL)
		return -1;
	memset(&cmp, 0, sizeof(cmp));
	cmp.rp = rp;
	applied = store_last_applied(st);
	if (applied != rp->pass.last_seq)
		audit_warning(rp->pass.rep, NULL, "the store applied the "
		    "journal up to record %" PRIu64 ", the journal read ends "
		    "at record %" PRIu64, applied, rp->pass.last_seq);
	rc = store_list_cases(st, NULL, audit_compare_case, &cmp);
	for (ac = rp->first; rc == 0 && ac != NULL; ac = ac->order)
		if (ac->exists && audit_set_get(&cmp.seen, ac->partner,
		    ac->case_id) == NULL)
			audit_finding(rp->pass.rep, NULL, "case %s/%s (%s) is "
			    "in the journal, not in the store", ac->partner,
			    ac->case_id, fsm_state_name(ac->c.state));
	json_object_set_new(json_object_get(rp->pass.rep->root, "summary"),
	    "store_cases_compared", json_integer((json_int_t)cmp.compared));
	audit_set_clear(&cmp.seen);
	store_close(st);
	return rc;
}

static void audit_html_write(FILE *, const char *, json_t *, json_t *);

static int
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

int
audit_replay(const struct audit_opts *o, struct audit_report *rep)
{
	struct audit_replay *rp;
	struct audit_case *ac, *next;
	json_t *sum, *cases;
	const char *cfile;
	size_t i;
	int rc = -1;

	rp = xcalloc(1, sizeof(*rp));
	rp->o = o;
	rp->pass.rep = rep;
	sum = json_object();
	json_object_set_new(rep->root, "summary", sum);
	if (o->config_file != NULL &&
	    (rp->conf = audit_config_load(o->config_file)) == NULL)
		goto done;
	if (rp->conf == NULL) {
		/* the configuration the journal names, if it is here: a
		 * first pass finds it */
		struct audit_replay probe;
		struct audit_report quiet;

		memset(&probe, 0, sizeof(probe));
		if (audit_report_init(&quiet, "probe") == -1)
			goto done;
		probe.pass.rep = &quiet;
		if (audit_read(o->files, o->nfiles, &probe.pass,
		    audit_replay_probe, &probe) == -1) {
			audit_report_free(&quiet);
			goto done;
		}
		audit_report_free(&quiet);
		cfile = probe.jconf.file;
		if (cfile[0] != '\0' && access(cfile, R_OK) == 0)
			rp->conf = audit_config_load(cfile);
		json_decref(probe.jconf.partners);
		if (rp->conf != NULL)
			json_object_set_new(sum, "configuration",
			    json_string(cfile));
		else
			audit_warning(rep, NULL, "no configuration (--config "
			    "accordd.xml): decisions are checked for their "
			    "chain of states only, not re-run");
	} else
		json_object_set_new(sum, "configuration",
		    json_string(o->config_file));
	if (audit_read(o->files, o->nfiles, &rp->pass, audit_replay_rec, rp) ==
	    -1)
		goto done;
	if (rp->conf != NULL && rp->jconf.seen &&
	    strcmp(rp->conf->country, rp->jconf.country) != 0)
		audit_finding(rep, NULL, "the configuration is %s's, the "
		    "journal %s's", rp->conf->country, rp->jconf.country);

	cases = json_array();
	for (ac = rp->first; ac != NULL; ac = ac->order) {
		if (o->case_id != NULL && strcmp(ac->case_id, o->case_id) != 0)
			continue;
		json_array_append_new(cases, audit_case_json(ac));
	}
	if (o->case_id != NULL && json_array_size(cases) == 0)
		audit_finding(rep, NULL, "no case %s in the journal",
		    o->case_id);
	json_object_set_new(rep->root, "cases", cases);
	json_object_set_new(sum, "records", json_integer(
	    (json_int_t)rp->pass.records));
	json_object_set_new(sum, "cases", json_integer(
	    (json_int_t)rp->ncases));
	json_object_set_new(sum, "decisions", json_integer(
	    (json_int_t)rp->decisions));
	json_object_set_new(sum, "decisions_rerun", json_integer(
	    (json_int_t)rp->rerun));
	json_object_set_new(sum, "divergences", json_integer(
	    (json_int_t)rp->divergent));
	json_object_set_new(sum, "fsm_version", json_integer(FSM_VERSION));
	if (o->store_path != NULL && audit_compare(rp, o->store_path) == -1)
		goto done;
	if (o->html_out != NULL && audit_html(o->html_out, o->case_id != NULL ?
	    o->case_id : "all cases", cases, rep->findings) == -1)
		goto done;
	rc = 0;
done:
	for (i = 0; i < AUDIT_BUCKETS; i++)
		for (ac = rp->b[i]; ac != NULL; ac = next) {
			next = ac->next;
			json_decref(ac->timeline);
			free(ac);
		}
	audit_set_clear(&rp->msgcase);
	json_decref(rp->jconf.partners);
	config_free(rp->conf);
	free(rp);
	return rc;
}

/* ---- witness ------------------------------------------------------------ */

/* One side's journal as the other side's receipts see it. */
struct audit_side {
	struct audit_pass	 pass;
	const char		*label;		/* "ours", "partner's" */
	struct audit_conf	 conf;
	struct audit_set	 cps;		/* chain hashes checkpointed */
	json_t			*claims;	/* receipts: who, hash, where */
};

static int
audit_side_rec(void *arg, const struct journal_rec *rec)
{
	struct audit_side *sd = arg;
	struct record_message rm;
	struct envelope_header h;
	struct envelope_error err;
	xmlDocPtr doc = NULL;
	xmlNodePtr body;
	char hex[65], cp[80];

	switch (rec->kind) {
	case JOURNAL_CONFIG_LOAD:
		audit_conf_take(&sd->conf, rec);
		break;
	case JOURNAL_CHECKPOINT:
		audit_set_put(&sd->cps, journal_hex(rec->prev, hex), NULL,
		    NULL);
		break;
	case JOURNAL_RECEIPT_GOT:
	case JOURNAL_RECEIPT_GIVEN:
		if (record_message_decode(rec->payload, rec->len, &rm) == -1 ||
		    rm.type != MSG_RECEIPT)
			break;
		if (envelope_parse((const char *)rm.body, rm.body_len, NULL,
		    &doc, &err) == -1)
			break;
		if (envelope_read(doc, &h, &body) == 0 &&
		    envelope_child_text(body, "CheckpointHash", cp,
		    sizeof(cp)) == 0)
			json_array_append_new(sd->claims, json_pack("{s:s, "
			    "s:b, s:s, s:s, s:I, s:I}", "partner", rm.partner,
			    "given", rec->kind == JOURNAL_RECEIPT_GIVEN,
			    "hash", cp, "file", rec->file, "offset",
			    (json_int_t)rec->offset, "seq",
			    (json_int_t)rec->seq));
		xmlFreeDoc(doc);
		break;
	default:
		break;
	}
	return 0;
}

/*
 * Every checkpoint hash that holder's receipts attribute to signer must
 * be a checkpoint of signer's journal.  given selects the receipts the
 * holder gave (its own hashes) or got (the signer's).
 */
static uint64_t
audit_witness_check(struct audit_report *rep, struct audit_side *holder,
    struct audit_side *signer, int given)
{
	struct journal_rec at;
	json_t *c;
	const char *hash;
	uint64_t checked = 0;
	size_t i;

	json_array_foreach(holder->claims, i, c) {
		if (json_is_true(json_object_get(c, "given")) != given)
			continue;
		/* a receipt got from someone else than signer */
		if (!given && strcmp(json_string_value(json_object_get(c,
		    "partner")), signer->conf.country) != 0)
			continue;
		hash = json_string_value(json_object_get(c, "hash"));
		if (strcmp(hash, ZERO_HASH) == 0)
			continue;
		checked++;
		if (audit_set_get(&signer->cps, hash, NULL) != NULL)
			continue;
		memset(&at, 0, sizeof(at));
		at.file = json_string_value(json_object_get(c, "file"));
		at.offset = (uint64_t)json_integer_value(json_object_get(c,
		    "offset"));
		at.seq = (uint64_t)json_integer_value(json_object_get(c,
		    "seq"));
		audit_finding(rep, &at, "a Receipt %s %s holds checkpoint hash "
		    "%s of %s (%s), which %s journal does not hold: %s",
		    given ? "given by" : "got by", holder->conf.country, hash,
		    signer->conf.country, signer->label, signer->label,
		    given ? "the journal contradicts its own receipts" :
		    "that journal was rewritten after the receipt");
	}
	return checked;
}

int
audit_witness(const struct audit_opts *o, struct audit_report *rep)
{
	struct audit_side ours, theirs;
	json_t *sum;
	uint64_t n1, n2, n3, n4;
	int rc = -1;

	memset(&ours, 0, sizeof(ours));
	memset(&theirs, 0, sizeof(theirs));
	ours.label = "our";
	theirs.label = "the partner's";
	ours.pass.rep = theirs.pass.rep = rep;
	ours.claims = json_array();
	theirs.claims = json_array();
	sum = json_object();
	json_object_set_new(rep->root, "summary", sum);
	if (o->npartner_files == 0) {
		log_errx(ATAG, "witness needs --partner FILE...");
		goto done;
	}
	if (audit_read(o->files, o->nfiles, &ours.pass, audit_side_rec,
	    &ours) == -1 || audit_read(o->partner_files, o->npartner_files,
	    &theirs.pass, audit_side_rec, &theirs) == -1)
		goto done;
	if (!ours.conf.seen || !theirs.conf.seen) {
		audit_finding(rep, NULL, "a journal without a configuration "
		    "load: whose it is cannot be told");
		rc = 0;
		goto done;
	}
	n1 = audit_witness_check(rep, &theirs, &ours, 0);
	n2 = audit_witness_check(rep, &ours, &theirs, 0);
	n3 = audit_witness_check(rep, &ours, &ours, 1);
	n4 = audit_witness_check(rep, &theirs, &theirs, 1);
	json_object_set_new(sum, "ours", json_string(ours.conf.country));
	json_object_set_new(sum, "partner", json_string(theirs.conf.country));
	json_object_set_new(sum, "our_checkpoints", json_integer(
	    (json_int_t)ours.cps.n));
	json_object_set_new(sum, "partner_checkpoints", json_integer(
	    (json_int_t)theirs.cps.n));
	json_object_set_new(sum, "our_hashes_the_partner_holds",
	    json_integer((json_int_t)n1));
	json_object_set_new(sum, "partner_hashes_we_hold",
	    json_integer((json_int_t)n2));
	json_object_set_new(sum, "own_receipts_checked",
	    json_integer((json_int_t)(n3 + n4)));
	if (n1 == 0 && n2 == 0)
		audit_warning(rep, NULL, "no receipt between %s and %s carries "
		    "a checkpoint hash: nothing to witness",
		    ours.conf.country, theirs.conf.country);
	rc = 0;
done:
	audit_set_clear(&ours.cps);
	audit_set_clear(&theirs.cps);
	json_decref(ours.claims);
	json_decref(theirs.claims);
	json_decref(ours.conf.partners);
	json_decref(theirs.conf.partners);
	return rc;
}

/* ---- export ------------------------------------------------------------- */

struct audit_export {
	struct audit_pass	 pass;
	const struct audit_opts	*o;
	struct audit_conf	 conf;
	struct audit_set	 msgs;		/* the case's message ids */
	uint64_t		 first, last, cp;
	X509			*own;
	/* pass 2 */
	FILE			*seg;
	uint64_t		 segoff;
	json_t			*index;
	json_t			*files;		/* exported messages */
	json_t			*certs;		/* fingerprints written */
	int			 nmsg;
	int			 failed;
};

/* Is rec about the case?  (Pass 1 also learns the case's messages.) */
static int
audit_export_match(struct audit_export *x, const struct journal_rec *rec,
    struct record_message *rm, int *is_msg)
{
	struct record_decision rd;
	struct record_deadline rdl;
	struct record_msgstate ms;
	json_t *j;
	const char *s;
	int match = 0;

	*is_msg = 0;
	switch (rec->kind) {
	case JOURNAL_MESSAGE_RECEIVED:
	case JOURNAL_MESSAGE_SENT:
	case JOURNAL_RECEIPT_GIVEN:
	case JOURNAL_RECEIPT_GOT:
		if (record_message_decode(rec->payload, rec->len, rm) == 0 &&
		    strcmp(rm->case_id, x->o->case_id) == 0) {
			match = *is_msg = 1;
			audit_set_put(&x->msgs, rm->partner, rm->message_id,
			    NULL);
		}
		break;
	case JOURNAL_DECISION:
	case JOURNAL_REFUSAL:
		match = record_decision_decode(rec->payload, rec->len, &rd) ==
		    0 && strcmp(rd.case_id, x->o->case_id) == 0;
		break;
	case JOURNAL_DEADLINE_FIRED:
		match = record_deadline_decode(rec->payload, rec->len, &rdl) ==
		    0 && strcmp(rdl.case_id, x->o->case_id) == 0;
		break;
	case JOURNAL_MESSAGE_STATE:
		match = record_msgstate_decode(rec->payload, rec->len, &ms) ==
		    0 && audit_set_get(&x->msgs, ms.partner, ms.message_id) !=
		    NULL;
		break;
	case JOURNAL_OPERATOR_COMMAND:
		j = json_loadb((const char *)rec->payload, rec->len, 0, NULL);
		match = (s = json_string_value(json_object_get(j, "case"))) !=
		    NULL && strcmp(s, x->o->case_id) == 0;
		json_decref(j);
		break;
	default:
		break;
	}
	return match;
}

static int
audit_export_scan(void *arg, const struct journal_rec *rec)
{
	struct audit_export *x = arg;
	struct audit_cert certs[AUDIT_MAX_CERTS];
	struct record_message rm;
	struct envelope_error err;
	xmlDocPtr doc;
	int is_msg, n, i;

	if (rec->kind == JOURNAL_CONFIG_LOAD)
		audit_conf_take(&x->conf, rec);
	if (rec->kind == JOURNAL_CHECKPOINT && x->last != 0 && x->cp == 0)
		x->cp = rec->seq;
	if (!audit_export_match(x, rec, &rm, &is_msg))
		return 0;
	if (x->first == 0)
		x->first = rec->seq;
	x->last = rec->seq;
	x->cp = 0;		/* the next checkpoint after this one */
	if (is_msg && x->own == NULL && (rec->kind == JOURNAL_MESSAGE_SENT ||
	    rec->kind == JOURNAL_RECEIPT_GIVEN) &&
	    envelope_parse((const char *)rm.body, rm.body_len, NULL, &doc,
	    &err) == 0) {
		n = audit_keyinfo_certs(doc, certs, AUDIT_MAX_CERTS, NULL);
		for (i = 0; i < n; i++)
			if (x->own == NULL &&
			    strcmp(certs[i].sha256, x->conf.signing) == 0) {
				X509_up_ref(certs[i].x);
				x->own = certs[i].x;
			}
		audit_certs_free(certs, n);
		xmlFreeDoc(doc);
	}
	return 0;
}

static int
audit_write_file(const char *dir, const char *name, const void *p,
    size_t len)
{
	char *path = conf_path(dir, name);
	FILE *fp;
	int rc = -1;

	if ((fp = fopen(path, "w")) == NULL) {
		log_err(ATAG, "%s", path);
		goto done;
	}
	if (fwrite(p, 1, len, fp) != len) {
		log_err(ATAG, "%s", path);
		fclose(fp);
		goto done;
	}
	if (fclose(fp) != 0) {
		log_err(ATAG, "%s", path);
		goto done;
	}
	rc = 0;
done:
	free(path);
	return rc;
}

static int
audit_write_pem(const char *dir, const char *name, X509 *x, int pubkey)
{
	char *path = conf_path(dir, name);
	FILE *fp;
	int ok;

	if ((fp = fopen(path, "w")) == NULL) {
		log_err(ATAG, "%s", path);
		free(path);
		return -1;
	}
	ok = pubkey ? PEM_write_PUBKEY(fp, X509_get0_pubkey(x)) :
	    PEM_write_X509(fp, x);
	if (fclose(fp) != 0)
		ok = 0;
	free(path);
	return ok ? 0 : -1;
}

/* The exact bytes of rec from its file. */
static unsigned char *
audit_raw(const struct journal_rec *rec, size_t *len)
{
	unsigned char *buf;
	ssize_t got;
	int fd;

	*len = JOURNAL_HEADER_LEN + rec->len + JOURNAL_HASH_LEN;
	buf = xmalloc(*len);
	if ((fd = open(rec->file, O_RDONLY | O_CLOEXEC)) == -1) {
		log_err(ATAG, "%s", rec->file);
		free(buf);
		return NULL;
	}
	got = pread(fd, buf, *len, (off_t)rec->offset);
	close(fd);
	if (got < 0 || (size_t)got != *len) {
		log_errx(ATAG, "%s: short read at %" PRIu64, rec->file,
		    rec->offset);
		free(buf);
		return NULL;
	}
	return buf;
}

static void
audit_export_message(struct audit_export *x, const struct journal_rec *rec,
    const struct record_message *rm, json_t *ent)
{
	struct audit_cert certs[AUDIT_MAX_CERTS];
	struct envelope_error err;
	xmlDocPtr doc;
	char name[256], cname[128], signer[128];
	int n, i;

	signer[0] = '\0';
	snprintf(name, sizeof(name), "%03d-%s-%s.xml", ++x->nmsg,
	    agreement_msg_type_name(rm->type), rm->message_id);
	if (audit_write_file(x->o->out_dir, name, rm->body, rm->body_len) ==
	    -1) {
		x->failed = 1;
		return;
	}
	if (envelope_parse((const char *)rm->body, rm->body_len, NULL, &doc,
	    &err) == 0) {
		n = audit_keyinfo_certs(doc, certs, AUDIT_MAX_CERTS, NULL);
		for (i = 0; i < n; i++) {
			snprintf(cname, sizeof(cname), "certs/%s.pem",
			    certs[i].sha256);
			if (i == 0)
				snprintf(signer, sizeof(signer), "%s", cname);
			if (audit_write_pem(x->o->out_dir, cname, certs[i].x,
			    0) == -1)
				x->failed = 1;
		}
		json_object_set_new(ent, "signer_cert", json_string(signer));
		audit_certs_free(certs, n);
		xmlFreeDoc(doc);
	}
	json_object_set_new(ent, "exported", json_string(name));
	json_object_set_new(ent, "sha256", json_string(rm->sha256));
	json_object_set_new(ent, "body_offset", json_integer((json_int_t)(
	    x->segoff + JOURNAL_HEADER_LEN +
	    (uint64_t)(rm->body - (const unsigned char *)rec->payload))));
	json_object_set_new(ent, "body_length", json_integer(
	    (json_int_t)rm->body_len));
	json_array_append_new(x->files, json_pack("{s:s, s:s, s:s, s:s, s:s, "
	    "s:s, s:I}", "file", name, "type",
	    agreement_msg_type_name(rm->type), "message_id", rm->message_id,
	    "direction", rec->kind == JOURNAL_MESSAGE_RECEIVED ||
	    rec->kind == JOURNAL_RECEIPT_GOT ? "in" : "out", "sha256",
	    rm->sha256, "signer_cert", json_string_value(json_object_get(ent,
	    "signer_cert")) ? json_string_value(json_object_get(ent,
	    "signer_cert")) : "", "seq", (json_int_t)rec->seq));
}

static int
audit_export_write(void *arg, const struct journal_rec *rec)
{
	struct audit_export *x = arg;
	struct record_message rm;
	struct journal_checkpoint jc;
	unsigned char *raw, signed_buf[128];
	char hex[65], tb[32];
	size_t len, n;
	json_t *ent;
	int is_msg, match;

	if (rec->seq < x->first || (x->cp != 0 && rec->seq > x->cp) ||
	    (x->cp == 0 && rec->seq > x->last))
		return 0;
	if ((raw = audit_raw(rec, &len)) == NULL ||
	    fwrite(raw, 1, len, x->seg) != len) {
		free(raw);
		x->failed = 1;
		return 1;
	}
	free(raw);
	match = audit_export_match(x, rec, &rm, &is_msg);
	clock_format_utc(rec->time, tb, sizeof(tb));
	ent = json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, "
	    "s:b}", "seq", (json_int_t)rec->seq, "kind",
	    journal_kind_name(rec->kind), "time", tb, "file", rec->file,
	    "file_offset", (json_int_t)rec->offset, "offset",
	    (json_int_t)x->segoff, "length", (json_int_t)len, "prev",
	    journal_hex(rec->prev, hex), "hash", "", "of_case", match);
	json_object_set_new(ent, "hash", json_string(journal_hex(rec->hash,
	    hex)));
	if (match && is_msg)
		audit_export_message(x, rec, &rm, ent);
	if (rec->seq == x->cp && journal_decode_checkpoint(rec, &jc) == 0) {
		n = strlen("accord-journal-checkpoint-1") + 1;
		memcpy(signed_buf, "accord-journal-checkpoint-1", n);
		memcpy(signed_buf + n, rec->payload, 8 + JOURNAL_HASH_LEN);
		if (audit_write_file(x->o->out_dir, "checkpoint-signed.bin",
		    signed_buf, n + 8 + JOURNAL_HASH_LEN) == -1 ||
		    audit_write_file(x->o->out_dir, "checkpoint.sig", jc.sig,
		    jc.siglen) == -1)
			x->failed = 1;
		json_object_set_new(ent, "checkpoint", json_pack("{s:I, s:s, "
		    "s:s, s:I}", "covers", (json_int_t)jc.seq, "chain",
		    journal_hex(jc.chain, hex), "key_id", "",
		    "signature_offset", (json_int_t)(x->segoff +
		    JOURNAL_HEADER_LEN + 8 + 2 * JOURNAL_HASH_LEN + 2)));
		json_object_set_new(json_object_get(ent, "checkpoint"),
		    "key_id", json_string(journal_hex(jc.key_id, hex)));
	}
	json_array_append_new(x->index, ent);
	x->segoff += len;
	return 0;
}

static void
audit_export_readme(struct audit_export *x, FILE *fp)
{
	json_t *f, *e, *first = json_array_get(x->index, 0);
	size_t i;

	fprintf(fp, "Accord audit export: case %s\n\n", x->o->case_id);
	fprintf(fp,
"Every command below runs without Accord (xmlsec1, openssl, coreutils).\n"
"Run them in this directory.\n\n"
"1. The signed messages and receipts, each exactly as it was received or\n"
"   sent.  Each signature verifies with the signer's certificate, which\n"
"   the message itself carries in ds:KeyInfo (saved under certs/, named by\n"
"   its SHA-256; compare that fingerprint with the agreement's pinned one):\n\n");
	json_array_foreach(x->files, i, f)
		fprintf(fp, "   xmlsec1 --verify --pubkey-cert-pem %s %s\n",
		    json_string_value(json_object_get(f, "signer_cert")),
		    json_string_value(json_object_get(f, "file")));
	fprintf(fp, "\n   With the partner's CA instead of the pinned "
	    "certificate:\n   xmlsec1 --verify --trusted-pem CA.pem "
	    "--enabled-key-data x509 FILE\n\n");
	fprintf(fp,
"2. Digests.  Each Receipt's <Sha256> is the SHA-256 of the exact bytes of\n"
"   the message it acknowledges (<ReceivedMessageId>):\n\n");
	json_array_foreach(x->files, i, f)
		fprintf(fp, "   openssl dgst -sha256 %s    # expect %s\n",
		    json_string_value(json_object_get(f, "file")),
		    json_string_value(json_object_get(f, "sha256")));
	fprintf(fp, "   grep -o '<Sha256>[0-9a-f]*</Sha256>' *-Receipt-*.xml\n\n");
	fprintf(fp,
"3. The chain.  chain.bin holds the journal records from the case's first\n"
"   record to the first signed checkpoint after its last one, byte for\n"
"   byte; chain.json lists each record's offset and length in chain.bin.\n"
"   A record is a 64-byte header, the payload, then the SHA-256 of header\n"
"   and payload; bytes 32-63 of each header are the previous record's hash.\n"
"   Each record's hash:\n\n"
"   dd if=chain.bin bs=1 skip=OFFSET count=$((LENGTH - 32)) 2>/dev/null |\n"
"       openssl dgst -sha256\n\n"
"   must equal its last 32 bytes and the next record's bytes 32-63:\n\n");
	json_array_foreach(x->index, i, e)
		fprintf(fp, "   record %lld (%s): offset %lld length %lld hash "
		    "%s\n", (long long)json_integer_value(json_object_get(e,
		    "seq")), json_string_value(json_object_get(e, "kind")),
		    (long long)json_integer_value(json_object_get(e,
		    "offset")),
		    (long long)json_integer_value(json_object_get(e,
		    "length")),
		    json_string_value(json_object_get(e, "hash")));
	fprintf(fp, "\n   The first record's previous hash is %s.\n",
	    first != NULL ? json_string_value(json_object_get(first, "prev")) :
	    "-");
	fprintf(fp,
"   Each exported message appears verbatim inside chain.bin at its record's\n"
"   body_offset (chain.json), e.g.:\n\n");
	json_array_foreach(x->index, i, e)
		if (json_object_get(e, "exported") != NULL)
			fprintf(fp, "   dd if=chain.bin bs=1 skip=%lld count=%lld "
			    "2>/dev/null | cmp - %s\n",
			    (long long)json_integer_value(json_object_get(e,
			    "body_offset")),
			    (long long)json_integer_value(json_object_get(e,
			    "body_length")),
			    json_string_value(json_object_get(e,
			    "exported")));
	if (x->cp == 0) {
		fprintf(fp, "\n4. No signed checkpoint follows the case's last "
		    "record yet: the segment is chained\n   but not signed.\n");
		return;
	}
	e = json_array_get(x->index, json_array_size(x->index) - 1);
	fprintf(fp,
"\n4. The checkpoint (the last record of chain.bin) signs the hash of the\n"
"   record before it with the gateway's key.  The signed bytes are the\n"
"   string \"accord-journal-checkpoint-1\", a NUL, then the first 40 bytes\n"
"   of the checkpoint's payload (covered sequence number, chain hash):\n\n"
"   { printf 'accord-journal-checkpoint-1\\000'; dd if=chain.bin bs=1 \\\n"
"       skip=%lld count=40 2>/dev/null; } | cmp - checkpoint-signed.bin\n"
"   openssl dgst -sha256 -verify gateway-pubkey.pem \\\n"
"       -signature checkpoint.sig checkpoint-signed.bin\n\n"
"   gateway-cert.pem is the gateway's signing certificate; its public key\n"
"   is gateway-pubkey.pem (openssl x509 -in gateway-cert.pem -pubkey\n"
"   -noout).  Its SHA-256 must be the one the partner pinned for it.\n",
	    (long long)(json_integer_value(json_object_get(e, "offset")) +
	    JOURNAL_HEADER_LEN));
}

int
audit_export(const struct audit_opts *o, struct audit_report *rep)
{
	struct audit_export x;
	struct audit_report sub;
	struct audit_opts ro;
	json_t *sum, *cases;
	X509 *pinned = NULL;
	FILE *fp;
	char *path = NULL, *s;
	int rc = -1;

	memset(&x, 0, sizeof(x));
	x.o = o;
	x.pass.rep = rep;
	x.index = json_array();
	x.files = json_array();
	sum = json_object();
	json_object_set_new(rep->root, "summary", sum);
	if (o->case_id == NULL || o->out_dir == NULL) {
		log_errx(ATAG, "export needs a case and --out DIR");
		goto done;
	}
	if (mkdir(o->out_dir, 0755) == -1 && errno != EEXIST) {
		log_err(ATAG, "%s", o->out_dir);
		goto done;
	}
	path = conf_path(o->out_dir, "certs");
	if (mkdir(path, 0755) == -1 && errno != EEXIST) {
		log_err(ATAG, "%s", path);
		goto done;
	}
	free(path);
	path = NULL;
	if (o->cert_file != NULL &&
	    (pinned = audit_cert_read(o->cert_file)) == NULL)
		goto done;
	if (audit_read(o->files, o->nfiles, &x.pass, audit_export_scan, &x) ==
	    -1)
		goto done;
	if (x.first == 0) {
		audit_finding(rep, NULL, "no case %s in the journal",
		    o->case_id);
		rc = 0;
		goto done;
	}
	if (x.cp == 0)
		audit_warning(rep, NULL, "no signed checkpoint after the case's "
		    "last record %" PRIu64 ": the segment is not yet signed",
		    x.last);

	path = conf_path(o->out_dir, "chain.bin");
	if ((x.seg = fopen(path, "w")) == NULL) {
		log_err(ATAG, "%s", path);
		goto done;
	}
	memset(&x.pass, 0, sizeof(x.pass));
	x.pass.rep = rep;
	audit_set_clear(&x.msgs);
	if (audit_read(o->files, o->nfiles, &x.pass, audit_export_write, &x) ==
	    -1 || fclose(x.seg) != 0) {
		x.seg = NULL;
		goto done;
	}
	x.seg = NULL;
	if (x.failed)
		goto done;
	s = json_dumps(x.index, JSON_INDENT(1));
	if (s == NULL || audit_write_file(o->out_dir, "chain.json", s,
	    strlen(s)) == -1) {
		free(s);
		goto done;
	}
	free(s);
	if (pinned != NULL || x.own != NULL) {
		if (audit_write_pem(o->out_dir, "gateway-cert.pem",
		    pinned != NULL ? pinned : x.own, 0) == -1 ||
		    audit_write_pem(o->out_dir, "gateway-pubkey.pem",
		    pinned != NULL ? pinned : x.own, 1) == -1)
			goto done;
	} else
		audit_warning(rep, NULL, "the gateway's certificate is unknown: "
		    "give it with --cert");
	free(path);
	path = conf_path(o->out_dir, "README.txt");
	if ((fp = fopen(path, "w")) == NULL) {
		log_err(ATAG, "%s", path);
		goto done;
	}
	audit_export_readme(&x, fp);
	if (fclose(fp) != 0)
		goto done;

	/* the case's timeline, replayed, as a page */
	ro = *o;
	ro.store_path = NULL;
	ro.html_out = NULL;
	if (audit_report_init(&sub, "replay") == -1)
		goto done;
	if (audit_replay(&ro, &sub) == 0) {
		cases = json_object_get(sub.root, "cases");
		json_object_set(rep->root, "cases", cases);
		free(path);
		path = conf_path(o->out_dir, "case.html");
		audit_html(path, o->case_id, cases, sub.findings);
		if (o->html_out != NULL)
			audit_html(o->html_out, o->case_id, cases,
			    sub.findings);
	}
	audit_report_free(&sub);

	json_object_set_new(sum, "case", json_string(o->case_id));
	json_object_set_new(sum, "directory", json_string(o->out_dir));
	json_object_set_new(sum, "messages_exported", json_integer(x.nmsg));
	json_object_set_new(sum, "first_record", json_integer(
	    (json_int_t)x.first));
	json_object_set_new(sum, "last_record", json_integer(
	    (json_int_t)x.last));
	json_object_set_new(sum, "checkpoint_record", json_integer(
	    (json_int_t)x.cp));
	json_object_set_new(sum, "segment_bytes", json_integer(
	    (json_int_t)x.segoff));
	json_object_set(rep->root, "exported", x.files);
	rc = 0;
done:
	if (x.seg != NULL)
		fclose(x.seg);
	free(path);
	audit_set_clear(&x.msgs);
	json_decref(x.index);
	json_decref(x.files);
	json_decref(x.conf.partners);
	X509_free(x.own);
	X509_free(pinned);
	return rc;
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
