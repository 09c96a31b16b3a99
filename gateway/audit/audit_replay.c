/*
 * audit_replay.c -- replay: fsm_decide() over the journalled events with
 * the rules in force at each record (those the last CONFIG_LOAD before it
 * journalled: conf/agreement_json.h), or with those of a configuration
 * file given as an override; each case's timeline; --compare, the
 * store's cases against the replayed ones (see audit.h).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libxml/tree.h>

#include "audit/audit_priv.h"
#include "conf/agreement.h"
#include "conf/agreement_json.h"
#include "conf/calendar.h"
#include "conf/config.h"
#include "conf/conffile.h"
#include "fsm/fsm.h"
#include "persist/journal.h"
#include "persist/record.h"
#include "persist/store.h"
#include "util/clock.h"
#include "util/errcode.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* ---- --config: the rules of a configuration file -------------------- */

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
	struct config		*conf;	/* --config: the override */
	char			 conf_sha[65];	/* its rules' digest */
	struct config		*rules;	/* journalled by the last
					 * CONFIG_LOAD; NULL: none */
	struct audit_conf	 jconf;
	json_t			*versions;	/* differences an fsm version
						 * change makes */
	struct audit_case	*b[AUDIT_BUCKETS];
	struct audit_case	*first, *last;
	struct audit_set	 msgcase;	/* partner/message -> case */
	size_t			 ncases;
	uint64_t		 decisions, rerun, divergent;
	uint64_t		 rules_loads;	/* CONFIG_LOADs with rules */
	uint64_t		 old_loads;	/* ... without (older builds) */
	uint64_t		 norules;	/* decisions with no rules to
						 * re-run them by */
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

/*
 * A decision the fsm version that made it confirms: would this build's
 * version decide otherwise?  That is a change of the rules in the
 * software, not a fault of the journal: reported apart (a warning and
 * the report's version_differences), never as a finding.
 */
static void
audit_replay_version(struct audit_replay *rp, const struct journal_rec *rec,
    const struct record_decision *rd, const struct fsm_case *c,
    const struct agreement *a, const struct config *conf)
{
	struct fsm_decision now;
	const struct calendar *cal;
	const char *diff;
	json_t *j;

	cal = c->role == fsm_calendar_role(c->kind, FSM_VERSION) ?
	    &conf->calendar : &a->calendar;
	memset(&now, 0, sizeof(now));
	fsm_decide_v(c, &rd->ev, a, cal, rd->now, FSM_VERSION, &now);
	if ((diff = audit_decision_diff(&rd->d, &now)) == NULL)
		return;
	j = json_pack("{s:s, s:I, s:I, s:s, s:s, s:i, s:i, s:s, s:o, s:o}",
	    "file", rec->file, "offset", (json_int_t)rec->offset, "record",
	    (json_int_t)rec->seq, "partner", rd->partner, "case", rd->case_id,
	    "journalled_version", rd->d.version, "current_version",
	    FSM_VERSION, "field", diff, "journalled",
	    audit_decision_json(&rd->d), "current", audit_decision_json(&now));
	if (j != NULL)
		json_array_append_new(rp->versions, j);
	audit_warning(rp->pass.rep, rec, "case %s/%s: decided by fsm %d as "
	    "journalled; fsm %d (this build's) would differ in its %s: a "
	    "change of the fsm's rules, not a finding", rd->partner,
	    rd->case_id, rd->d.version, FSM_VERSION, diff);
}

/*
 * A CONFIG_LOAD: the rules it journals are in force from here on.  Their
 * digest must match; a load written before rules were journalled leaves
 * none in force (--config, or the chain of states only).
 */
static void
audit_replay_rules(struct audit_replay *rp, const struct journal_rec *rec)
{
	struct config *c;
	json_t *j, *rules;
	const char *want;
	char got[65], why[256];

	config_free(rp->rules);
	rp->rules = NULL;
	/* not JSON: verify's finding; no rules in force */
	if ((j = json_loadb((const char *)rec->payload, rec->len, 0,
	    NULL)) == NULL)
		return;
	if ((rules = json_object_get(j, "rules")) == NULL) {
		rp->old_loads++;
		goto done;
	}
	want = json_string_value(json_object_get(j, "rules_sha256"));
	if (agreement_json_digest(rules, got) == -1 || want == NULL ||
	    strcmp(want, got) != 0) {
		audit_finding(rp->pass.rep, rec, "the rules journalled by this "
		    "configuration load do not match their digest (%s "
		    "journalled, %s computed): not used", want ? want : "none",
		    got);
		goto done;
	}
	if ((c = agreement_json_config(rules, why, sizeof(why))) == NULL) {
		audit_finding(rp->pass.rep, rec, "the rules journalled by this "
		    "configuration load cannot be read: %s", why);
		goto done;
	}
	rp->rules = c;
	rp->rules_loads++;
	if (rp->conf != NULL && strcmp(got, rp->conf_sha) != 0)
		audit_warning(rp->pass.rep, rec, "the rules journalled here "
		    "(%.16s) are not those of --config %s (%.16s): the "
		    "decisions under them are re-run with --config's",
		    got, rp->o->config_file, rp->conf_sha);
done:
	json_decref(j);
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
	const struct config *conf;
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
	/* the override, else the rules in force at this record */
	conf = rp->conf != NULL ? rp->conf : rp->rules;
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
	} else if (conf == NULL) {
		/* no rules (a journal from before they were journalled,
		 * and no --config): only the chain of states */
		rp->norules++;
		diff = rd.d.old_state == c.state && (rd.d.refusal != AE_OK ||
		    rd.d.next.kind == c.kind) ? NULL : "old state";
		if (diff != NULL)
			audit_finding(rp->pass.rep, rec, "case %s/%s: decision "
			    "starts from %s, the case was %s", rd.partner,
			    rd.case_id, fsm_state_name(rd.d.old_state),
			    fsm_state_name(c.state));
	} else if ((a = config_partner(conf, rd.partner)) == NULL) {
		diff = NULL;
		audit_finding(rp->pass.rep, rec, "case %s/%s: no agreement "
		    "with %s in %s: decision not re-run", rd.partner,
		    rd.case_id, rd.partner, rp->conf != NULL ? "--config" :
		    "the rules in force");
	} else if (rd.d.version < FSM_VERSION_MIN ||
	    rd.d.version > FSM_VERSION) {
		/* a journal from a newer (or broken) build: its rules are
		 * not in this one */
		diff = "version";
		audit_finding(rp->pass.rep, rec, "case %s/%s: decision "
		    "journalled by fsm version %d, which this build (fsm %d "
		    "to %d) does not know: not re-run", rd.partner,
		    rd.case_id, rd.d.version, FSM_VERSION_MIN, FSM_VERSION);
	} else {
		/* each decision by the rules of the fsm that made it, in
		 * the calendar that version counts the case in */
		cal = c.role == fsm_calendar_role(c.kind, rd.d.version) ?
		    &conf->calendar : &a->calendar;
		fsm_decide_v(&c, &rd.ev, a, cal, rd.now, rd.d.version, &d);
		rp->rerun++;
		diff = audit_decision_diff(&rd.d, &d);
		/* the engine's own checks (a RefToMessageId, dates) refuse
		 * as INVALID_FIELD, before the fsm or after it allowed the
		 * message, and a refusal leaves the case as it was */
		if (diff != NULL && rd.d.refusal == AE_INVALID_FIELD &&
		    rec->kind == JOURNAL_REFUSAL &&
		    rd.d.old_state == c.state && rd.d.new_state == c.state)
			diff = NULL;
		if (diff == NULL && (rd.d.refusal != AE_OK) !=
		    (rec->kind == JOURNAL_REFUSAL))
			diff = "record kind";
		if (diff != NULL) {
			j1 = audit_decision_json(&rd.d);
			j2 = audit_decision_json(&d);
			js1 = json_dumps(j1, JSON_COMPACT | JSON_SORT_KEYS);
			js2 = json_dumps(j2, JSON_COMPACT | JSON_SORT_KEYS);
			audit_finding_diff(rp->pass.rep, rec, j1, j2,
			    "case %s/%s: the "
			    "replayed decision differs in its %s: journalled "
			    "(fsm %d) %s; replayed (fsm %d) %s", rd.partner,
			    rd.case_id, diff, rd.d.version, js1 ? js1 : "?",
			    d.version, js2 ? js2 : "?");
			free(js1);
			free(js2);
			json_decref(j1);
			json_decref(j2);
		} else if (rd.d.version != FSM_VERSION)
			audit_replay_version(rp, rec, &rd, &c, a, conf);
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
		audit_replay_rules(rp, rec);
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
		/* REFUSALS_COUNTED, TIMESTAMP, SIGNATURE_VOID: no case's
		 * event, nothing to re-decide */
		break;
	}
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

int
audit_replay(const struct audit_opts *o, struct audit_report *rep)
{
	struct audit_replay *rp;
	struct audit_case *ac, *next;
	json_t *sum, *cases, *rules;
	char what[1200], title[1400];
	size_t i;
	int rc = -1;

	rp = xcalloc(1, sizeof(*rp));
	rp->o = o;
	rp->pass.rep = rep;
	rp->versions = json_array();
	sum = json_object();
	json_object_set_new(rep->root, "summary", sum);
	if (o->config_file != NULL) {
		/* an explicit override, said in every output */
		if ((rp->conf = audit_config_load(o->config_file)) == NULL)
			goto done;
		if ((rules = agreement_json_rules(rp->conf)) == NULL ||
		    agreement_json_digest(rules, rp->conf_sha) == -1) {
			json_decref(rules);
			log_errx(ATAG, "%s: its rules cannot be serialised",
			    o->config_file);
			goto done;
		}
		json_decref(rules);
		snprintf(what, sizeof(what), "overridden by --config %s",
		    o->config_file);
		audit_warning(rep, NULL, "rules overridden by --config %s: "
		    "every decision is re-run with its agreements and "
		    "calendars, not with the rules journalled",
		    o->config_file);
		json_object_set_new(sum, "configuration",
		    json_string(o->config_file));
	}
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
	if (rp->conf == NULL)
		snprintf(what, sizeof(what), "journalled (%" PRIu64 " "
		    "configuration load%s with rules, %" PRIu64 " without)",
		    rp->rules_loads, rp->rules_loads == 1 ? "" : "s",
		    rp->old_loads);
	json_object_set_new(sum, "rules", json_string(what));
	json_object_set_new(sum, "decisions_without_rules", json_integer(
	    (json_int_t)rp->norules));
	json_object_set_new(sum, "version_differences", json_integer(
	    (json_int_t)json_array_size(rp->versions)));
	json_object_set_new(rep->root, "version_differences",
	    json_incref(rp->versions));
	if (rp->norules > 0)
		audit_warning(rep, NULL, "%" PRIu64 " decision%s had no rules "
		    "to be re-run by: the configuration loads before them "
		    "journal none (written by a build from before rules were "
		    "journalled), so they were checked for their chain of "
		    "states only; give --config accordd.xml, the "
		    "configuration in force then, to re-run them",
		    rp->norules, rp->norules == 1 ? "" : "s");
	if (o->store_path != NULL && audit_compare(rp, o->store_path) == -1)
		goto done;
	snprintf(title, sizeof(title), "%s%s%s%s", o->case_id != NULL ?
	    o->case_id : "all cases", rp->conf != NULL ? " (rules " : "",
	    rp->conf != NULL ? what : "", rp->conf != NULL ? ")" : "");
	if (o->html_out != NULL && audit_html(o->html_out, title, rep,
	    NULL) == -1)
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
	json_decref(rp->versions);
	config_free(rp->conf);
	config_free(rp->rules);
	free(rp);
	return rc;
}
