/*
 * parser.c -- partner bytes into the verified message model: one DOM,
 * parsed and schema-validated (envelope_parse), its header read, its
 * signature verified (xmlsig_verify), and then read for the facts the
 * engine decides on.  Nothing here decides: the engine judges the model
 * (engine_in.c, engine_out.c, engine_facts.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "accord-build.h"
#include "msg/parser.h"
#include "msg/xmlsig.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/xmalloc.h"

static int parser_forbid_flag;

void
parser_forbid(void)
{
	parser_forbid_flag = 1;
}

int
parser_forbidden(void)
{
	return parser_forbid_flag;
}

/* ---- business facts ---------------------------------------------------- */

static int
parser_child_bool(xmlNodePtr body, const char *name)
{
	char buf[16];

	if (envelope_child_text(body, name, buf, sizeof(buf)) == -1)
		return 0;
	return strcmp(buf, "true") == 0 || strcmp(buf, "1") == 0;
}

static cal_day_t
parser_child_date(xmlNodePtr body, const char *name)
{
	char buf[32];
	cal_day_t d = 0;

	if (envelope_child_text(body, name, buf, sizeof(buf)) == 0)
		calendar_parse_date(buf, &d);
	return d;
}

static int
parser_count_children(xmlNodePtr parent, const char *name)
{
	xmlNodePtr n;
	int count = 0;

	if (parent == NULL)
		return 0;
	for (n = parent->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    xmlStrcmp(n->name, BAD_CAST name) == 0)
			count++;
	return count;
}

void
parser_grounds(enum msg_type type, xmlNodePtr body, struct model_grounds *g)
{
	xmlNodePtr n;
	xmlChar *v;

	memset(g, 0, sizeof(*g));
	if (type == MSG_READMISSION_REPLY)
		n = envelope_child(body, "Refused");
	else if (type == MSG_TRANSIT_REPLY)
		n = envelope_child(body, "Refusal");
	else
		return;
	for (n = n == NULL ? NULL : n->children; n != NULL &&
	    g->n < MODEL_GROUNDS_MAX; n = n->next) {
		if (n->type != XML_ELEMENT_NODE ||
		    xmlStrcmp(n->name, BAD_CAST "Ground") != 0 ||
		    (v = xmlNodeGetContent(n)) == NULL)
			continue;
		/* a schema-valid Ground is a short token; a longer one is
		 * cut, never dropped, so that the count stays true */
		snprintf(g->name[g->n++], sizeof(g->name[0]), "%s",
		    (const char *)v);
		xmlFree(v);
	}
}

/* Version 2: the end of the transfer window the requested side states. */
static void
parser_given_transfer(xmlNodePtr n, struct model *m)
{
	char buf[32];

	if (n != NULL && envelope_child_text(n, "TransferDeadline", buf,
	    sizeof(buf)) == 0)
		clock_parse_utc(buf, &m->given_transfer);
}

static void
parser_text(xmlNodePtr parent, const char *name, struct model_text *t)
{
	t->has = envelope_child_text(parent, name, t->text,
	    sizeof(t->text)) == 0;
	if (!t->has)
		t->text[0] = '\0';
}

/* A Receipt's and an Error's fields. */
static void
parser_signal(const struct envelope_header *h, xmlNodePtr body,
    struct model *m)
{
	struct model_deadline *dl;
	xmlNodePtr n;
	char buf[128];

	if (h->type == MSG_ERROR) {
		parser_text(body, "Code", &m->error_code);
		parser_text(body, "RefToMessageId", &m->error_ref);
		return;
	}
	parser_text(body, "ReceivedMessageId", &m->received_id);
	parser_text(body, "Sha256", &m->receipt_sha256);
	m->has_received_at = envelope_child_text(body, "ReceivedAt", buf,
	    sizeof(buf)) == 0 && clock_parse_utc(buf, &m->received_at) == 0;
	for (n = body->children; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE ||
		    xmlStrcmp(n->name, BAD_CAST "Deadline") != 0 ||
		    m->ndeadlines == MODEL_DEADLINES_MAX)
			continue;
		dl = &m->deadlines[m->ndeadlines];
		if (envelope_child_text(n, "Kind", dl->kind,
		    sizeof(dl->kind)) == -1)
			continue;
		if (envelope_child_text(n, "Due", buf, sizeof(buf)) == 0 &&
		    clock_parse_utc(buf, &dl->due) == 0)
			m->ndeadlines++;
	}
}

/* ---- dates: what engine_check_dates judges ------------------------------- */

struct parser_dates {
	struct model	*m;
	size_t		 cap;
};

static struct model_date *
parser_date_add(struct parser_dates *pd, enum model_date_kind kind,
    const char *path)
{
	struct model_date *d;

	pd->m->dates = xgrowarray(pd->m->dates, pd->m->ndates, &pd->cap,
	    sizeof(*pd->m->dates));
	d = &pd->m->dates[pd->m->ndates++];
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	snprintf(d->path, sizeof(d->path), "%s", path);
	return d;
}

static int
parser_date_of(xmlNodePtr parent, const char *name, cal_day_t *d)
{
	char buf[32];

	return envelope_child_text(parent, name, buf, sizeof(buf)) == 0 &&
	    calendar_parse_date(buf, d) == 0;
}

static int
parser_time_of(xmlNodePtr parent, const char *name, accord_time_t *t)
{
	char buf[64];

	return envelope_child_text(parent, name, buf, sizeof(buf)) == 0 &&
	    clock_parse_utc(buf, t) == 0;
}

/* from and until, children of n, both present and out of order? */
static int
parser_range_reversed(xmlNodePtr n, const char *from, const char *until,
    int instants)
{
	cal_day_t df, du;
	accord_time_t tf, tu;

	if (instants)
		return parser_time_of(n, from, &tf) &&
		    parser_time_of(n, until, &tu) && tf > tu;
	return parser_date_of(n, from, &df) && parser_date_of(n, until, &du) &&
	    df > du;
}

/* The date facts of one element (its path in path), in the order the
 * engine judges them; recurses. */
static void
parser_dates_walk(struct parser_dates *pd, xmlNodePtr n, char *path,
    size_t pathlen, size_t used)
{
	static const struct {
		const char	*from, *until;
		int		 instants;
	} ranges[] = {
		{ "ValidFrom", "ValidUntil", 0 },	/* TransitReply,
							 * TravelDocumentNotice */
		{ "IssuedOn", "ValidUntil", 0 },	/* MeansOfProof */
		{ "DepartureAt", "ArrivalAt", 1 },	/* EscortNotice legs */
	};
	struct model_date *d;
	xmlNodePtr k;
	cal_day_t day;
	accord_time_t t;
	size_t i;
	int w;

	w = snprintf(path + used, pathlen - used, "%s%s", used ? "/" : "",
	    (const char *)n->name);
	if (w < 0 || (size_t)w >= pathlen - used)
		w = (int)(pathlen - used - 1);
	used += (size_t)w;
	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (parser_range_reversed(n, ranges[i].from, ranges[i].until,
		    ranges[i].instants)) {
			d = parser_date_add(pd, MODEL_DATE_REVERSED, path);
			snprintf(d->from, sizeof(d->from), "%s",
			    ranges[i].from);
			snprintf(d->until, sizeof(d->until), "%s",
			    ranges[i].until);
		}
	if (parser_date_of(n, "BirthDate", &day))
		parser_date_add(pd, MODEL_DATE_BIRTH, path)->day = day;
	if (parser_time_of(n, "TransferAt", &t))
		parser_date_add(pd, MODEL_DATE_TRANSFER, path)->at = t;
	for (k = n->children; k != NULL; k = k->next)
		if (k->type == XML_ELEMENT_NODE && k->children != NULL)
			parser_dates_walk(pd, k, path, pathlen, used);
	path[used - (size_t)w] = '\0';
}

/* ---- the model ----------------------------------------------------------- */

/* The person a request or departure notice names, for the person index
 * (model.h): xs:token text, so already without leading, trailing or
 * doubled spaces. */
void
parser_person(enum msg_type type, xmlNodePtr body, struct model_person *p)
{
	xmlNodePtr n;

	memset(p, 0, sizeof(*p));
	if (type != MSG_READMISSION_REQUEST && type != MSG_TRANSIT_REQUEST &&
	    type != MSG_VOLUNTARY_DEPARTURE_NOTICE)
		return;
	if ((n = envelope_child(body, "Person")) == NULL ||
	    envelope_child_text(n, "Surname", p->surname,
	    sizeof(p->surname)) == -1 || envelope_child_text(n, "BirthDate",
	    p->birth_date, sizeof(p->birth_date)) == -1 ||
	    p->surname[0] == '\0' || p->birth_date[0] == '\0') {
		memset(p, 0, sizeof(*p));
		return;
	}
	if (envelope_child_text(n, "GivenNames", p->given,
	    sizeof(p->given)) == -1)
		p->given[0] = '\0';
	if (envelope_child_text(n, "BirthSurname", p->birth_surname,
	    sizeof(p->birth_surname)) == -1)
		p->birth_surname[0] = '\0';
	p->has = 1;
}

void
parser_facts(const struct envelope_header *h, xmlNodePtr body,
    struct model *m)
{
	struct parser_dates pd;
	xmlNodePtr n;
	char buf[64], path[256];
	long v;

	m->h = *h;
	if (body == NULL)
		return;
	parser_grounds(h->type, body, &m->ground_names);
	parser_person(h->type, body, &m->person);
	switch (h->type) {
	case MSG_READMISSION_REQUEST:
		n = envelope_child(body, "ReturnReason");
		if (envelope_child(n, "DeliberateViolation") != NULL)
			m->reason = MODEL_REASON_DELIBERATE;
		else if (envelope_child(n, "ObjectiveReason") != NULL)
			m->reason = MODEL_REASON_OBJECTIVE;
		break;
	case MSG_READMISSION_REPLY:
		m->positive = envelope_child(body, "Accepted") != NULL;
		parser_given_transfer(envelope_child(body, "Accepted"), m);
		m->grounds = parser_count_children(envelope_child(body,
		    "Refused"), "Ground");
		break;
	case MSG_TRANSIT_REPLY:
		m->positive = envelope_child(body, "Consent") != NULL;
		m->grounds = parser_count_children(envelope_child(body,
		    "Refusal"), "Ground");
		break;
	case MSG_EXTENSION_REQUEST:
	case MSG_EXTENSION_REPLY:
		m->ext_transfer_window = envelope_child_text(body, "Subject",
		    buf, sizeof(buf)) == 0 && strcmp(buf,
		    "TransferWindow") == 0;
		n = h->type == MSG_EXTENSION_REQUEST ? body :
		    envelope_child(body, "Granted");
		m->positive = h->type == MSG_EXTENSION_REPLY && n != NULL;
		if (h->type == MSG_EXTENSION_REPLY)
			parser_given_transfer(n, m);
		if (envelope_child_text(n, h->type == MSG_EXTENSION_REQUEST ?
		    "DaysRequested" : "Days", buf, sizeof(buf)) == 0) {
			v = strtol(buf, NULL, 10);
			m->ext_days = (int)(v > 0 && v < 100000 ? v : 0);
		}
		break;
	case MSG_TRAVEL_DOCUMENT_NOTICE:
		m->doc_extended = envelope_child_text(body, "Action", buf,
		    sizeof(buf)) == 0 && strcmp(buf, "Extended") == 0;
		m->doc_valid_from = parser_child_date(body, "ValidFrom");
		m->doc_valid_until = parser_child_date(body, "ValidUntil");
		break;
	case MSG_TRANSFER_NOTICE:
		if (envelope_child_text(body, "TransferAt", buf, sizeof(buf)) ==
		    0)
			clock_parse_utc(buf, &m->transfer_at);
		break;
	case MSG_PROTECTION_NOTICE:
		if (envelope_child_text(body, "Status", m->protection,
		    sizeof(m->protection)) == -1)
			m->protection[0] = '\0';
		break;
	case MSG_VOLUNTARY_DEPARTURE_NOTICE:
		m->departure_date = parser_child_date(body, "DepartureDate");
		m->passport = parser_child_bool(body, "PassportPresent");
		m->application = parser_child_bool(body,
		    "ApplicationPresent");
		m->ticket = parser_child_bool(body, "AirlineTicket");
		m->criminal_offence = parser_child_bool(body,
		    "CriminalOffence");
		m->entry_illegal = parser_child_bool(body, "EntryIllegal");
		m->entry_date = parser_child_date(body, "EntryDate");
		break;
	case MSG_RECEIPT:
	case MSG_ERROR:
		parser_signal(h, body, m);
		break;
	default:
		break;
	}
	memset(&pd, 0, sizeof(pd));
	pd.m = m;
	path[0] = '\0';
	parser_dates_walk(&pd, body, path, sizeof(path), 0);
}

/* Who signed, as the model carries it. */
static void
parser_signer(const struct xmlsig_result *vr, struct model *m)
{
	const struct signing_cert *sc = vr->signer;

	m->signed_at = vr->signed_at;
	if (sc == NULL)
		return;
	snprintf(m->signer_sha256, sizeof(m->signer_sha256), "%s",
	    sc->sha256);
	m->signer_not_before = sc->not_before;
	m->signer_not_after = sc->not_after;
	if (sc->cert != NULL)
		X509_NAME_oneline(X509_get_subject_name(sc->cert),
		    m->signer_subject, sizeof(m->signer_subject));
}

void
parser_read(const char *bytes, size_t len, const struct envelope_limits *lim,
    const struct agreement *a, accord_time_t now, struct model *m)
{
	struct envelope_error err;
	struct xmlsig_result vr;
	xmlDocPtr doc = NULL;
	xmlNodePtr body = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	memset(m, 0, sizeof(*m));
	if (parser_forbid_flag) {
		log_errx("parser", "this process must not read partner XML");
#ifdef ACCORD_TEST_CLOCK
		abort();
#endif
		m->code = AE_INTERNAL;
		snprintf(m->text, sizeof(m->text), "not read here");
		return;
	}
	/* the digest of the bytes as they came, before anything reads them */
	if (EVP_Digest(bytes, len, md, &mdlen, EVP_sha256(), NULL) == 1 &&
	    mdlen == 32)
		hex_encode(md, mdlen, m->sha256);
	m->stage = MODEL_REFUSED;
	if (envelope_parse(bytes, len, lim, &doc, &err) == -1) {
		m->code = err.code;
		snprintf(m->text, sizeof(m->text), "%s", err.text);
		return;
	}
	m->stage = MODEL_NO_HEADER;
	if (envelope_read(doc, &m->h, &body) == -1) {
		m->code = AE_SCHEMA_INVALID;
		snprintf(m->text, sizeof(m->text), "unreadable header");
		goto done;
	}
	m->stage = MODEL_UNSIGNED;
	if (xmlsig_verify(doc, a, now, &vr) == -1) {
		m->code = vr.code;
		snprintf(m->text, sizeof(m->text), "%s", vr.text);
		goto done;
	}
	m->stage = MODEL_VERIFIED;
	m->code = AE_OK;
	parser_signer(&vr, m);
	/* the facts of the DOM just verified, never of another */
	parser_facts(&m->h, body, m);
	if (m->h.type == MSG_REDELIVERY &&
	    envelope_redelivery_read(body, lim != NULL ? lim->max_size : 0,
	    &m->rdv, &err) == -1) {
		envelope_redelivery_clear(&m->rdv);
		m->rdv_code = err.code;
		snprintf(m->rdv_text, sizeof(m->rdv_text), "%s", err.text);
	}
done:
	xmlFreeDoc(doc);
}
