/*
 * test_pdmask.c -- personal data masked by allowlist (issue 19): every
 * element and attribute declared in every schema of protocols/ (both
 * versions) carries a decision; the walk of the schemas reaches every
 * declaration; the table built into the gateway says what the schemas
 * say; and masking a maximal instance of every document (every element
 * the schemas allow, a unique marker in every value) shows exactly the
 * values of allowlisted paths and no other marker.  The examples too.
 *
 * Finds protocols/ through ACCORD_SRCDIR (the top source directory).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "msg/envelope.h"
#include "msg/pdmask.h"
#include "util/log.h"
#include "msg/pdmask_schema.h"

#define XS_NS	"http://www.w3.org/2001/XMLSchema"
#define ENV1	"urn:accord:envelope:1"
#define MSG1	"urn:accord:msg:1"
#define ENV2	"urn:accord:envelope:2"
#define MSG2	"urn:accord:msg:2"
#define DS_NS	"http://www.w3.org/2000/09/xmldsig#"

static char	protocols[1024];

/* ---- what the walk gives ------------------------------------------------ */

struct path {
	char			*path;
	enum pdmask_class	 cls;
	char			 decl[160];	/* file:line */
};

struct paths {
	struct path	*v;
	size_t		 n, cap;
};

static int
collect_cb(void *arg, const char *path, enum pdmask_class cls,
    const char *file, int line)
{
	struct paths *p = arg;
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->v[i].path, path) == 0)
			return 0;
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 512;
		p->v = realloc(p->v, p->cap * sizeof(*p->v));
		assert_non_null(p->v);
	}
	p->v[p->n].path = strdup(path);
	p->v[p->n].cls = cls;
	snprintf(p->v[p->n].decl, sizeof(p->v[p->n].decl), "%s:%d", file,
	    line);
	p->n++;
	return 0;
}

/* Every declaration reached: its file:line as the path. */
static int
decls_cb(void *arg, const char *path, enum pdmask_class cls,
    const char *file, int line)
{
	char where[160];

	(void)cls;
	(void)path;
	snprintf(where, sizeof(where), "%s:%d", file, line);
	return collect_cb(arg, where, PDMASK_UNDECIDED, file, line);
}

static void
walk(struct paths *p)
{
	char err[512];
	int files;

	memset(p, 0, sizeof(*p));
	files = pdmask_schema_walk(protocols, collect_cb, p, err,
	    sizeof(err));
	if (files == -1)
		fail_msg("walk: %s", err);
	assert_true(p->n > 300);
}

static void
paths_free(struct paths *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->v[i].path);
	free(p->v);
}

/* Shown: the path and each of its ancestors are allowlisted. */
static int
shown(const struct paths *p, const char *path)
{
	char buf[1024];
	char *s;
	size_t i;

	snprintf(buf, sizeof(buf), "%s", path);
	for (;;) {
		for (i = 0; i < p->n; i++)
			if (strcmp(p->v[i].path, buf) == 0)
				break;
		if (i == p->n || p->v[i].cls != PDMASK_NONE)
			return 0;
		if ((s = strrchr(buf, '/')) == NULL)
			return 1;
		*s = '\0';
	}
}

/* ---- every declaration is decided ---------------------------------------- */

struct decl {
	char	where[160];
	char	name[64];
	int	reached;
};

static struct decl	decls[1024];
static int		ndecls, nfiles;

static void
scan_node(xmlNodePtr n, const char *file)
{
	xmlChar *name, *v;

	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (n->ns != NULL && xmlStrcmp(n->ns->href, BAD_CAST XS_NS) ==
		    0 && (xmlStrcmp(n->name, BAD_CAST "element") == 0 ||
		    xmlStrcmp(n->name, BAD_CAST "attribute") == 0) &&
		    (name = xmlGetProp(n, BAD_CAST "name")) != NULL) {
			v = xmlGetNsProp(n, BAD_CAST "data", BAD_CAST PDMASK_NS);
			if (pdmask_schema_class((const char *)v) ==
			    PDMASK_UNDECIDED)
				fail_msg("%s:%d: %s %s has no pd:data decision",
				    file, (int)xmlGetLineNo(n), n->name, name);
			assert_true(ndecls < (int)(sizeof(decls) /
			    sizeof(decls[0])));
			snprintf(decls[ndecls].where,
			    sizeof(decls[0].where), "%s:%d", file,
			    (int)xmlGetLineNo(n));
			snprintf(decls[ndecls].name, sizeof(decls[0].name),
			    "%s", (const char *)name);
			ndecls++;
			xmlFree(v);
			xmlFree(name);
		}
		scan_node(n->children, file);
	}
}

/* Every .xsd file of protocols/, read as plain XML: not through the
 * walk, so that a file or a declaration the walk misses still counts. */
static void
scan_schemas(void)
{
	char path[2048];
	struct dirent *de;
	xmlDocPtr doc;
	DIR *d;
	size_t l;

	ndecls = nfiles = 0;
	assert_non_null(d = opendir(protocols));
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".xsd") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", protocols, de->d_name);
		doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
		if (doc == NULL)
			fail_msg("%s: not XML", path);
		scan_node(xmlDocGetRootElement(doc), de->d_name);
		xmlFreeDoc(doc);
		nfiles++;
	}
	closedir(d);
}

static void
test_every_declaration_decided(void **state)
{
	(void)state;
	scan_schemas();
	/* both versions' files, the documents, common.xsd, xmldsig */
	assert_true(nfiles >= 28);
	assert_true(ndecls > 200);
}

/* The walk reaches every declaration of every file, so the table made
 * from it leaves none out; and it reads every file. */
static void
test_walk_reaches_every_declaration(void **state)
{
	struct paths seen;
	char err[512];
	int files, i;
	size_t j;

	(void)state;
	scan_schemas();
	memset(&seen, 0, sizeof(seen));
	files = pdmask_schema_walk(protocols, decls_cb, &seen, err,
	    sizeof(err));
	if (files == -1)
		fail_msg("walk: %s", err);
	assert_int_equal(files, nfiles);
	for (i = 0; i < ndecls; i++) {
		for (j = 0; j < seen.n; j++)
			if (strcmp(seen.v[j].path, decls[i].where) == 0)
				break;
		if (j == seen.n)
			fail_msg("%s: %s is declared but no document can "
			    "hold it", decls[i].where, decls[i].name);
	}
	paths_free(&seen);
}

/* The table compiled in says what the schemas say, path by path. */
static void
test_table_is_the_schemas(void **state)
{
	struct paths p;
	size_t i;
	int none = 0, personal = 0;

	(void)state;
	walk(&p);
	for (i = 0; i < p.n; i++) {
		if (pdmask_lookup(p.v[i].path) != p.v[i].cls)
			fail_msg("%s (%s): the built table differs from the "
			    "schema", p.v[i].path, p.v[i].decl);
		if (p.v[i].cls == PDMASK_NONE)
			none++;
		else
			personal++;
	}
	assert_true(none > 100 && personal > 100);
	assert_int_equal(pdmask_lookup("ReadmissionRequest/Nonsense"),
	    PDMASK_UNDECIDED);
	/* what the blocklist showed (issue 19) */
	assert_int_equal(pdmask_lookup("ReadmissionRequest/HealthNotes"),
	    PDMASK_PERSONAL);
	assert_int_equal(pdmask_lookup(
	    "ReadmissionRequest/Person/BirthPlace/Locality"), PDMASK_PERSONAL);
	assert_int_equal(pdmask_lookup(
	    "ReadmissionRequest/Person/LastAddress/Locality"), PDMASK_PERSONAL);
	assert_int_equal(pdmask_lookup(
	    "ReadmissionRequest/ReturnReason/Details"), PDMASK_PERSONAL);
	assert_int_equal(pdmask_lookup("Message/Header/CaseId"), PDMASK_NONE);
	paths_free(&p);
}

/* ---- maximal instances ------------------------------------------------- */

static xmlNsPtr
ns_for(xmlDocPtr doc, xmlNodePtr parent, const char *name, int version)
{
	const char *href;
	xmlNodePtr root = xmlDocGetRootElement(doc);
	static const char *const ds_roots[] = { "Signature", "SignedInfo",
	    "Reference", "SignatureValue", "KeyInfo", NULL };
	int i, ds = strcmp(name, "Signature") == 0;

	if (parent == NULL)
		for (i = 0; ds_roots[i] != NULL; i++)
			if (strcmp(name, ds_roots[i]) == 0)
				ds = 1;
	if (ds || (parent != NULL && xmlStrcmp(parent->ns->href,
	    BAD_CAST DS_NS) == 0))
		href = DS_NS;
	else if ((parent == NULL && strcmp(name, "Message") == 0) ||
	    (parent != NULL && xmlStrncmp(parent->ns->href,
	    BAD_CAST "urn:accord:envelope:", 20) == 0 &&
	    xmlStrcmp(parent->name, BAD_CAST "Body") != 0))
		href = version == 1 ? ENV1 : ENV2;
	else
		href = version == 1 ? MSG1 : MSG2;
	if (root == NULL)
		return NULL;
	return xmlSearchNsByHref(doc, root, BAD_CAST href);
}

static xmlNodePtr
child(xmlDocPtr doc, xmlNodePtr parent, const char *name, int version)
{
	xmlNodePtr c, n;

	for (c = parent->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE &&
		    xmlStrcmp(c->name, BAD_CAST name) == 0)
			return c;
	n = xmlNewChild(parent, ns_for(doc, parent, name, version),
	    BAD_CAST name, NULL);
	assert_non_null(n);
	return n;
}

/* Build the document of every path under root: each element once, a
 * marker "PDMARK<i>#" in each leaf and attribute (i: the path's index).
 * The document is not valid (all branches of each choice, markers where
 * patterns allow none): masking reads no schema. */
static xmlDocPtr
maximal(const struct paths *p, const char *root, int version)
{
	char buf[1024], mark[32];
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr r, n;
	char *tok, *save, *at;
	size_t i, rl = strlen(root);

	r = xmlNewDocNode(doc, NULL, BAD_CAST root, NULL);
	xmlDocSetRootElement(doc, r);
	xmlSetNs(r, xmlNewNs(r, BAD_CAST (version == 1 ? ENV1 : ENV2),
	    BAD_CAST "e"));
	xmlNewNs(r, BAD_CAST (version == 1 ? MSG1 : MSG2), BAD_CAST "m");
	xmlNewNs(r, BAD_CAST DS_NS, BAD_CAST "ds");
	xmlSetNs(r, ns_for(doc, NULL, root, version));
	for (i = 0; i < p->n; i++) {
		if (strncmp(p->v[i].path, root, rl) != 0 ||
		    (p->v[i].path[rl] != '/' && p->v[i].path[rl] != '\0'))
			continue;
		snprintf(buf, sizeof(buf), "%s", p->v[i].path + rl);
		snprintf(mark, sizeof(mark), "PDMARK%zu#", i);
		n = r;
		at = NULL;
		for (tok = strtok_r(buf, "/", &save); tok != NULL;
		    tok = strtok_r(NULL, "/", &save)) {
			if (tok[0] == '@')
				at = tok + 1;
			else
				n = child(doc, n, tok, version);
		}
		if (at != NULL)
			xmlSetProp(n, BAD_CAST at, BAD_CAST mark);
	}
	/* markers in the leaves, now that the tree is whole */
	for (i = 0; i < p->n; i++) {
		if (strncmp(p->v[i].path, root, rl) != 0 ||
		    strchr(p->v[i].path, '@') != NULL)
			continue;
		snprintf(buf, sizeof(buf), "%s", p->v[i].path + rl);
		n = r;
		for (tok = strtok_r(buf, "/", &save); tok != NULL;
		    tok = strtok_r(NULL, "/", &save))
			n = child(doc, n, tok, version);
		if (xmlFirstElementChild(n) == NULL) {
			snprintf(mark, sizeof(mark), "PDMARK%zu#", i);
			xmlNodeSetContent(n, BAD_CAST mark);
		}
	}
	return doc;
}

/* Is the path at n (root-relative, names of n's ancestors) marked as
 * expected?  @return leaves and attributes checked. */
static int
check_masked(const struct paths *p, xmlNodePtr n, char *buf, size_t len,
    int *n_shown, int *n_masked)
{
	xmlNodePtr c;
	xmlAttrPtr a;
	xmlChar *v;
	size_t l;
	int checked = 0;

	l = strlen(buf);
	snprintf(buf + l, len - l, "%s%s", l > 0 ? "/" : "", n->name);
	for (a = n->properties; a != NULL; a = a->next) {
		size_t l2 = strlen(buf);

		snprintf(buf + l2, len - l2, "/@%s", a->name);
		v = xmlNodeGetContent((xmlNodePtr)a);
		if (shown(p, buf)) {
			if (strncmp((const char *)v, "PDMARK", 6) != 0)
				fail_msg("%s: allowlisted, changed to %s", buf,
				    v);
			(*n_shown)++;
		} else {
			if (strcmp((const char *)v, PDMASK_MARKER) != 0)
				fail_msg("%s: personal, shown as %s", buf, v);
			(*n_masked)++;
		}
		xmlFree(v);
		buf[l2] = '\0';
		checked++;
	}
	if (xmlFirstElementChild(n) == NULL) {
		v = xmlNodeGetContent(n);
		if (shown(p, buf)) {
			if (strncmp((const char *)v, "PDMARK", 6) != 0)
				fail_msg("%s: allowlisted, changed to %s", buf,
				    v);
			(*n_shown)++;
		} else {
			if (strcmp((const char *)v, PDMASK_MARKER) != 0)
				fail_msg("%s: personal, shown as %s", buf, v);
			(*n_masked)++;
		}
		xmlFree(v);
		checked++;
	}
	for (c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			checked += check_masked(p, c, buf, len, n_shown,
			    n_masked);
	buf[l] = '\0';
	return checked;
}

/* Every global element a document or a message starts from: Message,
 * the business documents, and XML-DSig's. */
static void
test_maximal_instances(void **state)
{
	struct paths p;
	char buf[1024], root[128], *s;
	xmlDocPtr doc;
	xmlChar *out;
	size_t i, j;
	int version, n_shown, n_masked, size, roots = 0;

	(void)state;
	walk(&p);
	for (version = 1; version <= 2; version++)
	for (i = 0; i < p.n; i++) {
		if (strchr(p.v[i].path, '/') != NULL)
			continue;		/* not a root */
		snprintf(root, sizeof(root), "%s", p.v[i].path);
		doc = maximal(&p, root, version);
		assert_true(pdmask_doc(doc) >= 0);
		n_shown = n_masked = 0;
		buf[0] = '\0';
		assert_true(check_masked(&p, xmlDocGetRootElement(doc), buf,
		    sizeof(buf), &n_shown, &n_masked) > 0);
		/* and no marker of a personal path anywhere in the text */
		xmlDocDumpMemory(doc, &out, &size);
		for (j = 0; j < p.n; j++) {
			char mark[32];

			if (strncmp(p.v[j].path, root, strlen(root)) != 0 ||
			    shown(&p, p.v[j].path))
				continue;
			snprintf(mark, sizeof(mark), "PDMARK%zu#", j);
			if ((s = strstr((const char *)out, mark)) != NULL)
				fail_msg("%s: marker of %s survived", root,
				    p.v[j].path);
		}
		xmlFree(out);
		xmlFreeDoc(doc);
		if (strcmp(root, "Message") == 0 ||
		    strcmp(root, "ReadmissionRequest") == 0)
			assert_true(n_shown > 0 && n_masked > 0);
		roots++;
	}
	/* Message, 20 documents, 5 of XML-DSig; both versions */
	assert_true(roots >= 2 * 26);
	paths_free(&p);
}

/* ---- the examples -------------------------------------------------------- */

/* Masked m against original o, element by element (masking keeps the
 * elements): a value is kept where its path is shown, else the marker. */
static void
check_example(const struct paths *p, const char *file, xmlNodePtr o,
    xmlNodePtr m, char *buf, size_t len, int *n_shown, int *n_masked)
{
	xmlAttrPtr a;
	xmlChar *ov, *mv;
	size_t l = strlen(buf), l2;
	int leaf;

	assert_non_null(m);
	assert_string_equal(o->name, m->name);
	snprintf(buf + l, len - l, "%s%s", l > 0 ? "/" : "", o->name);
	for (a = o->properties; a != NULL; a = a->next) {
		l2 = strlen(buf);
		snprintf(buf + l2, len - l2, "/@%s", a->name);
		ov = xmlGetProp(o, a->name);
		mv = xmlGetProp(m, a->name);
		if (shown(p, buf) ? xmlStrcmp(ov, mv) != 0 :
		    xmlStrcmp(mv, BAD_CAST PDMASK_MARKER) != 0)
			fail_msg("%s: %s: %s became %s", file, buf, ov, mv);
		xmlFree(ov);
		xmlFree(mv);
		buf[l2] = '\0';
	}
	if ((leaf = xmlFirstElementChild(o) == NULL)) {
		ov = xmlNodeGetContent(o);
		mv = xmlNodeGetContent(m);
		if (shown(p, buf)) {
			if (xmlStrcmp(ov, mv) != 0)
				fail_msg("%s: %s is allowlisted: %s became %s",
				    file, buf, ov, mv);
			(*n_shown)++;
		} else {
			if (xmlStrcmp(mv, BAD_CAST PDMASK_MARKER) != 0)
				fail_msg("%s: %s is personal: shown as %s",
				    file, buf, mv);
			(*n_masked)++;
		}
		xmlFree(ov);
		xmlFree(mv);
	}
	for (o = xmlFirstElementChild(o), m = xmlFirstElementChild(m);
	    !leaf && o != NULL; o = xmlNextElementSibling(o),
	    m = xmlNextElementSibling(m))
		check_example(p, file, o, m, buf, len, n_shown, n_masked);
	buf[l] = '\0';
}

/* Every valid example, both versions: what the issue found shown
 * (HealthNotes, BirthPlace, LastAddress/Locality, Details) is masked. */
static void
test_examples(void **state)
{
	char path[2048], buf[1024];
	struct paths p;
	struct dirent *de;
	xmlDocPtr doc, masked;
	xmlChar *out;
	int n_shown = 0, n_masked = 0, files = 0, size;
	DIR *d;
	size_t l;

	(void)state;
	walk(&p);
	snprintf(path, sizeof(path), "%s/examples/valid", protocols);
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".xml") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/examples/valid/%s",
		    protocols, de->d_name);
		doc = xmlReadFile(path, NULL, XML_PARSE_NONET |
		    XML_PARSE_NOBLANKS);
		assert_non_null(doc);
		masked = xmlCopyDoc(doc, 1);
		assert_true(pdmask_doc(masked) >= 0);
		buf[0] = '\0';
		check_example(&p, de->d_name, xmlDocGetRootElement(doc),
		    xmlDocGetRootElement(masked), buf, sizeof(buf), &n_shown,
		    &n_masked);
		if (strcmp(de->d_name, "ReadmissionRequest.xml") == 0) {
			xmlDocDumpMemory(masked, &out, &size);
			assert_null(strstr((const char *)out, "Shymkent"));
			assert_non_null(strstr((const char *)out,
			    "<HealthNotes>***</HealthNotes>"));
			assert_non_null(strstr((const char *)out,
			    "<Details>***</Details>"));
			xmlFree(out);
		}
		xmlFreeDoc(masked);
		xmlFreeDoc(doc);
		files++;
	}
	closedir(d);
	assert_true(files >= 20);
	assert_true(n_shown > 100 && n_masked > 50);
	paths_free(&p);
}

/* What the schemas do not know is never shown: another namespace, an
 * element no schema has, a comment in an allowlisted value. */
static void
test_unknown_is_masked(void **state)
{
	static const char doc_text[] =
	    "<Message xmlns='urn:accord:envelope:1'><Header>"
	    "<MessageId>m-1<!-- Ivanov --></MessageId>"
	    "<CaseId xmlns='urn:other'>Ivanov</CaseId>"
	    "<Nickname>Ivanov</Nickname></Header></Message>";
	xmlDocPtr doc;
	xmlChar *out;
	int size;

	(void)state;
	doc = xmlReadMemory(doc_text, sizeof(doc_text) - 1, "t.xml", NULL,
	    XML_PARSE_NONET);
	assert_non_null(doc);
	assert_int_equal(pdmask_doc(doc), 2);
	xmlDocDumpMemory(doc, &out, &size);
	assert_null(strstr((const char *)out, "Ivanov"));
	assert_non_null(strstr((const char *)out, "<MessageId>m-1<"));
	xmlFree(out);
	xmlFreeDoc(doc);
}

/* ---- errors name the element and the rule, never the value ------------- */

static char	logbuf[65536];

static char *
read_example(const char *name)
{
	char path[2048];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/examples/valid/%s", protocols, name);
	assert_non_null(f = fopen(path, "rb"));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	assert_true((n = ftell(f)) > 0);
	rewind(f);
	assert_non_null(buf = malloc((size_t)n + 1));
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* buf with the first "from" replaced by "to" (malloc'd). */
static char *
replace(const char *buf, const char *from, const char *to)
{
	const char *p = strstr(buf, from);
	char *out;

	assert_non_null(p);
	assert_non_null(out = malloc(strlen(buf) + strlen(to) + 1));
	memcpy(out, buf, (size_t)(p - buf));
	strcpy(out + (p - buf), to);
	strcat(out, p + strlen(from));
	return out;
}

/*
 * A partner's schema-invalid BirthDate, passport number, sex or name, a
 * marker in each: the refusal's text (logged, journalled, sent back in
 * the Error) names the element and the rule and holds no marker; nor
 * does the log.  An allowlisted value (the header's) stays.
 */
static void
test_schema_errors_hold_no_value(void **state)
{
	static const struct {
		const char	*from, *to, *path;
	} cases[] = {
		{ "<BirthDate>1991-07-14<", "<BirthDate>N12345678#<",
		    "Person/BirthDate" },
		{ "<BirthDate>1991-07-14<", "<BirthDate>1990-13-45N12345678#<",
		    "Person/BirthDate" },
		{ "<Number>N12345678<", "<Number>#N12345678#<", "/Number" },
		{ "<Sex>M<", "<Sex>N12345678#<", "Person/Sex" },
		{ "<Surname>Nurlanov<", "<Surname>N12345678#"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx<",
		    "Person/Surname" },
		{ "<Surname>Nurlanov<", "<Surname>&N12345678#;<", NULL },
		{ "<Surname>Nurlanov<", "<Surname><N12345678/><", NULL },
	};
	char proto[1100];
	struct envelope_error err;
	xmlDocPtr doc = NULL;
	char *buf, *bad;
	size_t i;

	(void)state;
	snprintf(proto, sizeof(proto), "%s", protocols);
	log_init("test_pdmask", 1, LOG_LVL_DEBUG);
	log_capture(logbuf, sizeof(logbuf));
	assert_int_equal(envelope_init(proto), 0);
	buf = read_example("ReadmissionRequest.xml");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bad = replace(buf, cases[i].from, cases[i].to);
		assert_int_equal(envelope_parse(bad, strlen(bad), NULL, &doc,
		    &err), -1);
		print_message("# %s\n", err.text);
		if (strstr(err.text, "N12345678") != NULL)
			fail_msg("the value is in the error: %s", err.text);
		if (cases[i].path != NULL) {
			assert_int_equal(err.code, AE_SCHEMA_INVALID);
			assert_non_null(strstr(err.text, cases[i].path));
		}
		free(bad);
	}
	/* a header value is no one's personal data: it stays */
	bad = replace(buf, "<Procedure>standard<", "<Procedure>slowly<");
	assert_int_equal(envelope_parse(bad, strlen(bad), NULL, &doc, &err),
	    -1);
	assert_non_null(strstr(err.text, "slowly"));
	assert_non_null(strstr(err.text, "Header/Procedure"));
	free(bad);
	free(buf);
	assert_null(strstr(logbuf, "N12345678"));
	envelope_shutdown();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_declaration_decided),
		cmocka_unit_test(test_walk_reaches_every_declaration),
		cmocka_unit_test(test_table_is_the_schemas),
		cmocka_unit_test(test_maximal_instances),
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_unknown_is_masked),
		cmocka_unit_test(test_schema_errors_hold_no_value),
	};
	const char *s = getenv("ACCORD_SRCDIR");

	snprintf(protocols, sizeof(protocols), "%s/protocols",
	    s != NULL ? s : ".");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
