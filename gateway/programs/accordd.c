/*
 * accordd.c -- the Accord gateway daemon.
 *
 * accordd [-dnV] [-c file]
 *
 * One process, one libevent loop.  This file owns start-up, signals and
 * the configuration in force; the faces (inbound, outbound, control) hang
 * off the loop as they are built.
 */
#include "accord-build.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <getopt.h>
#include <libxml/parser.h>

#include "faces/casecmd.h"
#include "faces/keycmd.h"
#include "conf/config.h"
#include "util/clock.h"
#include "faces/control.h"
#include "engine/engine.h"
#include "msg/envelope.h"
#include "faces/inbound.h"
#include "faces/metrics_http.h"
#include "faces/opscmd.h"
#include "faces/outbound.h"
#include "persist/journal.h"
#include "persist/store.h"
#include "report/report.h"
#include "faces/tlspeer.h"
#include "faces/tsaclient.h"
#include "conf/conffile.h"
#include "msg/xmlsig.h"
#include "msg/signer.h"
#include "msg/parser.h"
#include "programs/accordd_notify.h"
#include "programs/accordd_keys.h"
#include "programs/accordd_listen.h"
#include "programs/accordd_sep.h"
#include "util/log.h"
#include "util/stage.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

struct accordd {
	struct signer_client	*signer;	/* privilege separation, or NULL */
	struct parser_client	*parser;	/* the same */
	struct accordd_listen	 listen;	/* the same: from the parent */
	struct event_base	*base;
	struct event		*ev_term;
	struct event		*ev_int;
	struct event		*ev_hup;
	struct config		*conf;
	struct control		*control;
	struct inbound		*inbound;
	struct outbound		*outbound;
	struct tsaclient	*tsa;		/* <timestamp>, or NULL */
	struct engine		*engine;
	struct casecmd_ctx	 cctx;
	struct report_ctx	 rctx;	/* the reports' (worker thread) */
	struct report_ctx	 lctx;	/* lookups of the loop's commands */
	struct report_ctx	 mctx;	/* the metrics endpoint's thread */
	struct metrics_http	*metrics;	/* <metrics listen=>, or NULL */
	/* the engine's counters as metrics (on the worker) shows them:
	 * the loop refreshes them after each commit and every 200 ms */
	pthread_mutex_t		 stats_mu;
	struct engine_stats	 stats;
	char			*journal_dir;
	struct event		*ev_deadline;
	struct event		*ev_store;	/* the store catches up */
	struct event		*ev_rotate;	/* master key re-wrapping */
	struct event		*ev_commit;	/* a journal flight landed */
	struct event		*ev_signed;	/* the signing pool is done */
	struct event		*ev_notify;	/* the parent pings (privsep) */
	struct event		*ev_alive;	/* the watchdog (one process) */
	accord_time_t		 started;
	const char		*conf_file;
	char			*pid_file;
	int			 reloads;
};

static void accordd_stats_snapshot(struct accordd *);

#define SPACE_WARN_DAYS	30	/* accordd -n warns below this */

/* TRANSPORT */
/* The transport's calls go at the places marked "TRANSPORT: ..." below. */

/* Group commit for the control socket: one fsync per read of requests. */
static uint64_t
accordd_commit_mark(void *arg)
{
	struct accordd *ad = arg;

	return engine_batch(ad->engine);
}

static int
accordd_commit_flush(void *arg)
{
	struct accordd *ad = arg;

	/* the fsync runs on the journal's writer thread: the responses
	 * leave when accordd_landed() is told it is through */
	return engine_flush_start(ad->engine) == ENGINE_FLUSH_FAILED ? -1 : 0;
}

static int
accordd_commit_settled(void *arg, uint64_t mark)
{
	struct accordd *ad = arg;

	return engine_batch_settled(ad->engine, mark);
}

static int
accordd_commit_done(void *arg, uint64_t mark)
{
	struct accordd *ad = arg;

	return engine_batch_committed(ad->engine, mark);
}

static const struct control_commit accordd_commit = {
	accordd_commit_mark, accordd_commit_flush, accordd_commit_settled,
	accordd_commit_done
};

/* The signing threads finished submits: journal and answer them. */
static void
accordd_signed(evutil_socket_t fd, short what, void *arg)
{
	struct accordd *ad = arg;

	/* the submits' own work, as when the control socket reads them */
	stage_begin(STAGE_OTHER);
	casecmd_signed(&ad->cctx);
	stage_end(STAGE_OTHER);
}

/* A journal flight landed (or a batch failed): what waited may go. */
static void
accordd_landed(void *arg, uint64_t batch, int ok)
{
	struct accordd *ad = arg;

	accordd_stats_snapshot(ad);
	inbound_committed(ad->inbound);
	control_committed(ad->control);
	/* submitted messages are in the outbox now */
	outbound_kick(ad->outbound);
	/* a checkpoint committed: its token, from the authority */
	tsaclient_checkpoint(ad->tsa);
}

/* The journal's writer thread finished an fdatasync. */
static void
accordd_commit_event(evutil_socket_t fd, short what, void *arg)
{
	struct accordd *ad = arg;

	engine_commit_done(ad->engine);
}

static void
usage(void)
{
	fprintf(stderr, "usage: accordd [-dnV] [-c file] [--rebuild-store]\n"
	    "  -c file  configuration (default %s/accord/accordd.xml)\n"
	    "  -d       stay in the foreground and log to stderr\n"
	    "  -n       check the configuration and exit\n"
	    "  -V       print the version and exit\n"
	    "  --rebuild-store  rebuild the SQLite store from the journal "
	    "and exit\n", SYSCONFDIR);
	exit(2);
}

/*
 * The deadline timer: fire what is due, then sleep until the next due
 * time but never more than a minute, recomputing from the clock, so that
 * a clock jump (or the test clock) is noticed (DESIGN.md 4).
 */
static void
accordd_deadline_tick(evutil_socket_t fd, short what, void *arg)
{
	struct accordd *ad = arg;
	accord_time_t now = clock_now(), next;
	struct timeval tv = { 60, 0 };
	int fired;

	if ((fired = engine_deadlines(ad->engine, now)) == -1)
		log_errx("accordd", "firing deadlines failed; retrying in a "
		    "minute");
	next = engine_next_deadline(ad->engine);
	if (next != 0 && next - now < 60)
		tv.tv_sec = next > now ? (long)(next - now) : 1;
	/* a backlog: the next slice once the loop has run (DESIGN.md 3) */
	if (fired == ENGINE_DEADLINES_SLICE)
		tv.tv_sec = 0;
	/* the retention job, a slice at a time: while more cases are due
	 * the timer comes back in a second, not in a minute */
	if (engine_retain(ad->engine, now) == 1)
		tv.tv_sec = 1;
	evtimer_add(ad->ev_deadline, &tv);
}

/*
 * The store could not apply committed records (a lock held by another
 * process, a full disk): try again every STORE_RETRY_MS from the loop,
 * never by waiting inside SQLite (DESIGN.md 3).
 */
#define STORE_RETRY_MS	200
static void
accordd_store_tick(evutil_socket_t fd, short what, void *arg)
{
	struct accordd *ad = arg;

	if (engine_store_behind(ad->engine) &&
	    engine_store_retry(ad->engine) == 0) {
		/* caught up: what waited may go now */
		outbound_kick(ad->outbound);
		evtimer_del(ad->ev_deadline);
		accordd_deadline_tick(-1, 0, ad);
	}
	log_flush_suppressed();
	accordd_stats_snapshot(ad);
}

/*
 * A master key rotation under way: one slice of keys re-wrapped, then
 * the loop runs what waits before the next (DESIGN.md 3).  A failed
 * slice is tried again in a minute.
 */
static void
accordd_rotate_tick(evutil_socket_t fd, short what, void *arg)
{
	struct accordd *ad = arg;
	struct timeval tv = { 0, 0 };
	int r;

	if ((r = engine_rotate_step(ad->engine)) == 0)
		return;
	if (r == -1)
		tv.tv_sec = 60;
	else if (r == 2)
		tv.tv_usec = 5000;	/* keys.db's checkpoint runs */
#ifdef ACCORD_TEST_CLOCK
	/* test builds: slices far apart, to see the loop between them */
	else if (getenv("ACCORD_TEST_ROTATE_PAUSE_MS") != NULL) {
		r = atoi(getenv("ACCORD_TEST_ROTATE_PAUSE_MS"));
		tv.tv_sec = r / 1000;
		tv.tv_usec = 1000L * (r % 1000);
	}
#endif
	evtimer_add(ad->ev_rotate, &tv);
}

static void
accordd_rotating(void *arg)
{
	struct accordd *ad = arg;
	struct timeval tv = { 0, 0 };

	evtimer_add(ad->ev_rotate, &tv);
}

/* A partner sent us an authenticated message: it is up again. */
static void
accordd_partner_alive(void *arg, const char *partner)
{
	struct accordd *ad = arg;

	outbound_partner_alive(ad->outbound, partner);
}

static void
accordd_clock_moved(void *arg)
{
	struct accordd *ad = arg;

	evtimer_del(ad->ev_deadline);
	accordd_deadline_tick(-1, 0, ad);
}

static void
accordd_queued(void *arg, const struct engine_outgoing *out)
{
	struct accordd *ad = arg;

	/* TRANSPORT: enqueue */
	outbound_enqueue(ad->outbound, out);
	log_debug("accordd", "%s queued for %s", out->message_id,
	    out->partner);
}

static void
accordd_log_diag(const struct conf_diag *d)
{
	int i;

	for (i = 0; i < d->nerrors; i++)
		log_errx("config", "%s", d->errors[i]);
	for (i = 0; i < d->nwarnings; i++)
		log_warnx("config", "%s", d->warnings[i]);
}

static void
accordd_log_partners(const struct config *c)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *fp;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		return;
	config_print_summary(c, fp);
	fclose(fp);
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		log_info("config", "%s", line);
	free(buf);
}

/* The message schemas, compiled once for the daemon's life. */
static int
accordd_protocols(void)
{
	char *dir = conf_path(conf_datadir(), "protocols");
	int rc;

	rc = envelope_init(dir);
	if (rc == -1)
		log_errx("accordd", "cannot compile the message schemas in %s",
		    dir);
	free(dir);
	return rc;
}

/* -n: check, print, exit 0 or 1. */
/* accordd -n: a warning when the journal's disk would fill within
 * SPACE_WARN_DAYS at the recent write rate. */
static void
accordd_check_space(const struct config *c)
{
	struct journal_space sp;
	char *dir = conf_path(c->state_dir, "journal");
	const char *where = dir;

	/* before the first start there is no journal directory yet */
	if (access(dir, F_OK) == -1)
		where = c->state_dir;
	if (access(where, F_OK) == 0 && journal_space(where, clock_now(),
	    &sp) == 0 && sp.days_left >= 0 && sp.days_left < SPACE_WARN_DAYS)
		fprintf(stderr, "warning: %s: %.1f GB free on the journal's "
		    "disk, about %.1f days at the last %d days' rate (%.1f "
		    "MB/day): add space or archive sealed files\n", dir,
		    sp.free_bytes / 1e9, sp.days_left, JOURNAL_RATE_DAYS,
		    sp.bytes_per_day / 1e6);
	free(dir);
}

static int
accordd_check(const char *file)
{
	struct conf_diag d = { 0 };
	struct config *c;

	if (accordd_protocols() == -1)
		return 1;
	c = config_load(file, clock_now(), &d);
	if (c == NULL) {
		conf_diag_print(&d, stderr);
		fprintf(stderr, "%s: configuration has %d error%s\n", file,
		    d.nerrors, d.nerrors == 1 ? "" : "s");
		conf_diag_free(&d);
		return 1;
	}
	conf_diag_print(&d, stderr);
	accordd_check_space(c);
	if (c->user[0] == '\0' && geteuid() == 0)
		fprintf(stderr, "%s: warning: no <user>: started as root, "
		    "accordd would run as one process as root, the signing key "
		    "in the process that parses partner input (README, "
		    "\"Process model\")\n", file);
	printf("configuration OK\n");
	config_print_summary(c, stdout);
	conf_diag_free(&d);
	config_free(c);
	return 0;
}

/* Reload the configuration; why (may be NULL) is told what was wrong
 * with a refused one, as accordd -n prints it. */
static void
accordd_reload(struct accordd *ad, FILE *why)
{
	struct conf_diag d = { 0 };
	struct config *nc, *old;
	char tb[32];

	log_info("accordd", "SIGHUP: reloading %s", ad->conf_file);
	nc = config_load(ad->conf_file, clock_now(), &d);
	accordd_log_diag(&d);
	if (nc == NULL) {
		clock_format_utc(ad->conf->loaded_at, tb, sizeof(tb));
		log_errx("accordd", "reload refused: %d error%s in the new "
		    "configuration; keeping the configuration loaded at %s "
		    "(%d partners)", d.nerrors, d.nerrors == 1 ? "" : "s", tb,
		    ad->conf->npartners);
		if (why != NULL) {
			conf_diag_print(&d, why);
			fprintf(why, "%s: configuration has %d error%s\n",
			    ad->conf_file, d.nerrors, d.nerrors == 1 ? "" :
			    "s");
		}
		conf_diag_free(&d);
		return;
	}
	conf_diag_free(&d);
	if (strcmp(nc->country, ad->conf->country) != 0 ||
	    strcmp(nc->state_dir, ad->conf->state_dir) != 0) {
		log_errx("accordd", "reload refused: the identity and state "
		    "directory cannot change while running; restart instead");
		if (why != NULL)
			fprintf(why, "%s: the identity and state directory "
			    "cannot change while running; restart instead\n",
			    ad->conf_file);
		config_free(nc);
		return;
	}
	/* privilege-separated: the keys only the root parent may read */
	if (accordd_notify_fd() != -1 && accordd_keys_fetch(ad->conf, nc,
	    ad->lctx.store, why) == -1) {
		config_free(nc);
		return;
	}
	if (engine_set_config(ad->engine, nc) == -1) {
		log_errx("accordd", "reload refused: the configuration load "
		    "could not be journalled");
		if (why != NULL)
			fprintf(why, "the configuration load could not be "
			    "journalled\n");
		config_free(nc);
		return;
	}
	if ((nc->metrics_address == NULL) != (ad->conf->metrics_address ==
	    NULL) || (nc->metrics_address != NULL &&
	    (strcmp(nc->metrics_address, ad->conf->metrics_address) != 0 ||
	    nc->metrics_port != ad->conf->metrics_port)))
		log_warnx("accordd", "<metrics> changed: the metrics endpoint "
		    "changes at the next restart");
	control_set_config(ad->control, nc);
	/* TRANSPORT: set_config */
	inbound_set_config(ad->inbound, nc);
	outbound_set_config(ad->outbound, nc);
	old = ad->conf;
	ad->conf = nc;
	control_drain(ad->control);	/* a report may still read old */
	metrics_http_drain(ad->metrics);	/* and a scrape */
	config_free(old);
	ad->reloads++;
	/* the parser verifies with the agreements: a new one reads them */
	if (ad->parser != NULL)
		parser_client_reload(ad->parser);
	log_info("accordd", "configuration reloaded: %d partners",
	    nc->npartners);
	accordd_log_partners(nc);
}

/* ---- control commands served by the daemon itself ------------------ */

static const struct cmd_command accordd_commands[];

static json_t *
accordd_cmd_help(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct accordd *ad = arg;
	const struct control_table *tables;
	const struct cmd_command *c;
	const char *which = cmd_arg(args, 0), *role;
	json_t *list = json_array(), *res;
	char *buf = NULL, usage[256];
	size_t blen = 0;
	FILE *fp;
	int t, nt, found = 0;

	if ((fp = open_memstream(&buf, &blen)) == NULL)
		return NULL;
	tables = control_tables(ad->control, &nt);
	for (t = 0; t < nt; t++)
	for (c = tables[t].cmds; c->name != NULL; c++) {
		if (which != NULL && strcmp(which, c->name) != 0)
			continue;
		found++;
		role = c->role & CMD_ROLE_ADMIN ? "admin" :
		    c->role & CMD_ROLE_SUBMIT ? "submit" : "read";
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}",
		    "name", c->name, "role", role, "help", c->help, "usage",
		    c->usage != NULL ? c->usage : ""));
		if (which != NULL)
			fprintf(fp, "%s\n  %s\n  role: %s\n",
			    cmd_usage(c, usage, sizeof(usage)), c->help, role);
		else
			fprintf(fp, "%-10s %-7s %s\n", c->name, role, c->help);
	}
	if (which == NULL)
		fprintf(fp, "(help COMMAND: its usage)\n");
	fclose(fp);
	if (which != NULL && !found) {
		free(buf);
		json_decref(list);
		return cmd_fail(code, text, len, "UNKNOWN_COMMAND", "no command "
		    "'%.64s' (help lists them)", which);
	}
	res = json_pack("{s:o, s:s%}", "commands", list, "text", buf, blen);
	free(buf);	/* s% copied it */
	return res;
}

static json_t *
accordd_cmd_ping(void *arg, const struct cmd_caller *who, json_t *args,
    const char **code, char *text, size_t len)
{
	struct accordd *ad = arg;
	char now[32], started[32], roles[64];
	json_t *res;

	clock_format_utc(clock_now(), now, sizeof(now));
	clock_format_utc(ad->started, started, sizeof(started));
	control_roles_string(who->roles, roles, sizeof(roles));
	res = json_pack("{s:s, s:s, s:s, s:s, s:b, s:i, s:s, s:i, s:i}",
	    "version", PACKAGE_VERSION, "gateway", ad->conf->country,
	    "now", now, "started", started, "test_clock", clock_is_test(),
	    "partners", ad->conf->npartners, "roles", roles,
	    "uid", (int)who->uid, "reloads", ad->reloads);
	/* what an operator would wonder at: keys being re-wrapped */
	if (res != NULL && engine_rotating(ad->engine))
		json_object_set_new(res, "master_key_rotation",
		    json_string("under way"));
	return res;
}

/* Days from now to t, rounded down (negative once past). */
static json_int_t
accordd_days_left(accord_time_t t, accord_time_t now)
{
	return (json_int_t)((t - now) / 86400);
}

static json_t *
accordd_cmd_partners(void *arg, const struct cmd_caller *who,
    json_t *args, const char **code, char *text, size_t len)
{
	struct accordd *ad = arg;
	const struct agreement *a;
	accord_time_t now = clock_now(), nb, na;
	json_t *list = json_array(), *p, *certs;
	char *buf = NULL, tb[32];
	size_t blen = 0;
	FILE *fp;
	int i, j;

	if ((fp = open_memstream(&buf, &blen)) == NULL)
		return NULL;
	fprintf(fp, "%-3s %-30s %-18s %s\n", "CC", "AGREEMENT", "ZONE",
	    "SIGNING CERTIFICATES (days left)");
	for (i = 0; i < ad->conf->npartners; i++) {
		a = &ad->conf->partners[i];
		certs = json_array();
		fprintf(fp, "%-3s %-30s %-18s", a->country, a->agreement_id,
		    a->calendar.zone);
		for (j = 0; j < a->nsigning; j++) {
			clock_format_utc(a->signing[j].not_after, tb,
			    sizeof(tb));
			json_array_append_new(certs, json_pack("{s:s, s:s, "
			    "s:s, s:I}", "file", a->signing[j].path, "sha256",
			    a->signing[j].sha256, "not_after", tb, "days_left",
			    accordd_days_left(a->signing[j].not_after, now)));
			fprintf(fp, " %lld", (long long)accordd_days_left(
			    a->signing[j].not_after, now));
		}
		fputc('\n', fp);
		p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "country",
		    a->country, "authority", a->authority, "agreement",
		    a->agreement_id, "endpoint", a->endpoint, "zone",
		    a->calendar.zone, "signing", certs);
		if (a->tls_ca != NULL && conf_cert_times(a->tls_ca, &nb,
		    &na) == 0)
			json_object_set_new(p, "tls_ca_days_left",
			    json_integer(accordd_days_left(na, now)));
		json_array_append_new(list, p);
	}
	fclose(fp);
	return json_pack("{s:o, s:s%}", "partners", list, "text", buf, blen);
}

static void accordd_reload(struct accordd *, FILE *);

static json_t *
accordd_cmd_reload(void *arg, const struct cmd_caller *who,
    json_t *args, const char **code, char *text, size_t len)
{
	struct accordd *ad = arg;
	int before = ad->reloads;
	char *why = NULL;
	size_t wlen = 0;
	FILE *fp;

	log_info("accordd", "reload requested by uid %u", (unsigned)who->uid);
	fp = open_memstream(&why, &wlen);
	accordd_notify_reloading();
	accordd_reload(ad, fp);
	accordd_notify_reloaded(ad->conf, ad->lctx.store,
	    ad->reloads != before);
	if (fp != NULL)
		fclose(fp);
	if (ad->reloads == before) {
		/* the errors themselves, as accordd -n prints them: the
		 * operator need not go and find the log */
		*code = "CONFIG_INVALID";
		snprintf(text, len, "the new configuration was refused; the "
		    "old one stays in force:\n%s", why != NULL ? why : "");
		if (strlen(text) == len - 1 && len > 5)
			memcpy(text + len - 5, "...\n", 5);
		if ((wlen = strlen(text)) > 0 && text[wlen - 1] == '\n')
			text[wlen - 1] = '\0';
		free(why);
		return NULL;
	}
	free(why);
	return json_pack("{s:i, s:s}", "partners", ad->conf->npartners,
	    "text", "configuration reloaded");
}

static const struct cmd_command accordd_commands[] = {
	{ "help", CMD_ROLE_READ, accordd_cmd_help,
	    "list the commands, or one command's usage", 0, "[COMMAND]" },
	{ "ping", CMD_ROLE_READ, accordd_cmd_ping,
	    "daemon version, clock, start time and your roles", 0, "" },
	{ "partners", CMD_ROLE_READ, accordd_cmd_partners,
	    "agreements in force and their certificates", 0, "" },
	{ "reload", CMD_ROLE_ADMIN, accordd_cmd_reload,
	    "re-read the configuration (as SIGHUP); its errors if refused",
	    0, "" },
	{ NULL, 0, NULL, NULL, 0, NULL }
};

static void
accordd_signal(evutil_socket_t sig, short what, void *arg)
{
	struct accordd *ad = arg;
	int reloads;

	switch (sig) {
	case SIGHUP:
		reloads = ad->reloads;
		accordd_notify_reloading();
		accordd_reload(ad, NULL);
		accordd_notify_reloaded(ad->conf, ad->lctx.store,
		    ad->reloads != reloads);
		break;
	case SIGTERM:
	case SIGINT:
		log_info("accordd", "%s: shutting down",
		    sig == SIGTERM ? "SIGTERM" : "SIGINT");
		accordd_notify_stopping();
		event_base_loopexit(ad->base, NULL);
		break;
	}
}

/* mkdir -p: the state directory (mode) and any missing parent (0755, as
 * /var/lib is: a privilege-separated engine passes through them). */
static int
accordd_mkdirs(const char *dir, mode_t mode)
{
	char *p, *s;
	int rc = 0;

	if ((s = strdup(dir)) == NULL)
		return -1;
	for (p = s + 1; *p != '\0' && rc == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(s, 0755) == -1 && errno != EEXIST)
			rc = -1;
		*p = '/';
	}
	if (rc == 0 && mkdir(s, mode) == -1 && errno != EEXIST)
		rc = -1;
	free(s);
	return rc;
}

static int
accordd_state_dir(const struct config *c)
{
	struct stat st;

	if (accordd_mkdirs(c->state_dir, 0750) == -1) {
		log_err("accordd", "cannot create state directory %s",
		    c->state_dir);
		return -1;
	}
	if (stat(c->state_dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		log_errx("accordd", "state directory %s is not a directory",
		    c->state_dir);
		return -1;
	}
	if (st.st_mode & 002) {
		log_errx("accordd", "state directory %s is world-writable",
		    c->state_dir);
		return -1;
	}
	return 0;
}

/* A fresh copy of the engine's counters for metrics (the loop's). */
static void
accordd_stats_snapshot(struct accordd *ad)
{
	struct engine_stats es;

	engine_stats(ad->engine, &es);
	pthread_mutex_lock(&ad->stats_mu);
	ad->stats = es;
	pthread_mutex_unlock(&ad->stats_mu);
}

/* metrics, on the worker thread: the snapshot, with the journal's read
 * counters (atomic) as they are now. */
static void
accordd_more_metrics(void *arg, FILE *fp)
{
	struct accordd *ad = arg;
	struct engine_stats es;

	pthread_mutex_lock(&ad->stats_mu);
	es = ad->stats;
	pthread_mutex_unlock(&ad->stats_mu);
	es.direct_reads = journal_read_count(&es.journal_scans);
	opscmd_engine_metrics(&es, fp);
	tlspeer_metrics(fp);
}

/* retry PARTNER, on the loop. */
static int
accordd_retry(void *arg, const char *partner)
{
	struct accordd *ad = arg;

	return outbound_retry_now(ad->outbound, partner);
}

/* The metrics endpoint (<metrics listen=>): the reports' handler on a
 * thread and a read-only store connection of its own.  @return 0/-1. */
static int
accordd_metrics(struct accordd *ad)
{
	char *db;
	int failed;

	if (ad->conf->metrics_address == NULL)
		return 0;
	db = conf_path(ad->conf->state_dir, "store.db");
	ad->mctx = ad->rctx;
	ad->mctx.store = store_open_readonly(db);
	free(db);
	if (ad->mctx.store == NULL) {
		log_errx("accordd", "cannot open the store read-only for the "
		    "metrics");
		return -1;
	}
	ad->metrics = metrics_http_start_fd(ad->base, ad->conf, &ad->mctx,
	    ad->listen.metrics, &failed);
	ad->listen.metrics = -1;	/* the endpoint's, or closed */
	return failed ? -1 : 0;
}

/* The reports (status, list, queues...) read the store on a read-only
 * connection of their own, never the engine's. */
static int
accordd_reports(struct accordd *ad)
{
	char *db = conf_path(ad->conf->state_dir, "store.db");

	/* one connection per thread: the worker's, and the loop's */
	ad->rctx.store = store_open_readonly(db);
	ad->lctx.store = store_open_readonly(db);
	free(db);
	if (ad->rctx.store == NULL || ad->lctx.store == NULL) {
		log_errx("accordd", "cannot open the store read-only for "
		    "the reports");
		return -1;
	}
	ad->journal_dir = conf_path(ad->conf->state_dir, "journal");
	ad->rctx.journal_dir = ad->lctx.journal_dir = ad->journal_dir;
	ad->rctx.conf = ad->lctx.conf = (const struct config **)&ad->conf;
	/* the loop's connection never waits on a lock (DESIGN.md 3) */
	store_set_busy_ms(ad->lctx.store, 0);
	pthread_mutex_init(&ad->stats_mu, NULL);
	accordd_stats_snapshot(ad);
	ad->rctx.more_metrics = accordd_more_metrics;
	ad->rctx.more_arg = ad;
	/* the transport's live links (a table under its own lock) */
	ad->rctx.link = ad->lctx.link = outbound_link;
	ad->rctx.attempts = ad->lctx.attempts = outbound_attempts;
	if (ad->conf->tsa_url != NULL)
		ad->rctx.tsa = ad->lctx.tsa = tsaclient_state;
	return 0;
}

static int
accordd_write_pid(struct accordd *ad)
{
	char buf[32];
	int fd, n;

	if (asprintf(&ad->pid_file, "%s/accordd.pid",
	    ad->conf->state_dir) == -1)
		return -1;
	fd = open(ad->pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644);
	if (fd == -1) {
		log_err("accordd", "%s", ad->pid_file);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		log_err("accordd", "%s", ad->pid_file);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Read the configuration and prepare what it names.  @return 0/-1. */
static int
accordd_load(struct accordd *ad)
{
	struct conf_diag d = { 0 };

	ad->conf = config_load(ad->conf_file, clock_now(), &d);
	accordd_log_diag(&d);
	if (ad->conf == NULL) {
		log_errx("accordd", "%s: %d error%s, not starting",
		    ad->conf_file, d.nerrors, d.nerrors == 1 ? "" : "s");
		conf_diag_free(&d);
		return -1;
	}
	conf_diag_free(&d);
	if (accordd_protocols() == -1 || accordd_state_dir(ad->conf) == -1 ||
	    xmlsig_init() == -1)
		return -1;
	return 0;
}

/* accordd --rebuild-store: the journal is the truth: drop the index and
 * replay it.  @return the exit status. */
static int
accordd_rebuild(struct accordd *ad)
{
	char *db = conf_path(ad->conf->state_dir, "store.db");

	if (store_remove(db) == -1) {
		log_errx("accordd", "cannot remove %s", db);
		return 1;
	}
	free(db);
	if ((ad->engine = engine_open(ad->conf)) == NULL)
		return 1;
	log_info("accordd", "store rebuilt from the journal");
	engine_close(ad->engine);
	config_free(ad->conf);
	return 0;
}

/* The event loop and everything on it: signals, the engine, the
 * reports, the control socket, the faces, the timers.  @return 0/-1. */
static int
accordd_start(struct accordd *ad)
{
	int failed;

	ad->base = event_base_new();
	if (ad->base == NULL) {
		log_errx("accordd", "event_base_new failed");
		return -1;
	}
	ad->ev_term = evsignal_new(ad->base, SIGTERM, accordd_signal, ad);
	ad->ev_int = evsignal_new(ad->base, SIGINT, accordd_signal, ad);
	ad->ev_hup = evsignal_new(ad->base, SIGHUP, accordd_signal, ad);
	if (ad->ev_term == NULL || ad->ev_int == NULL || ad->ev_hup == NULL ||
	    evsignal_add(ad->ev_term, NULL) == -1 ||
	    evsignal_add(ad->ev_int, NULL) == -1 ||
	    evsignal_add(ad->ev_hup, NULL) == -1) {
		log_errx("accordd", "cannot install signal handlers");
		return -1;
	}

	ad->started = clock_now();
	if ((ad->engine = engine_open_signed(ad->conf, ad->signer)) == NULL) {
		log_errx("accordd", "cannot open the journal and store in %s",
		    ad->conf->state_dir);
		return -1;
	}
	if (accordd_reports(ad) == -1)
		return -1;
	ad->cctx.engine = ad->engine;
	ad->cctx.report = &ad->lctx;
	ad->cctx.queued = accordd_queued;
	ad->cctx.queued_arg = ad;
	ad->cctx.retry = accordd_retry;
	ad->cctx.retry_arg = ad;
	ad->cctx.clock_moved = accordd_clock_moved;
	ad->cctx.clock_arg = ad;
	ad->cctx.rotating = accordd_rotating;
	ad->cctx.rotating_arg = ad;
	ad->control = control_start(ad->base, ad->conf, accordd_commands, ad);
	if (ad->control == NULL)
		return -1;
	control_add_commands(ad->control, report_commands, &ad->rctx);
	control_add_commands(ad->control, casecmd_commands, &ad->cctx);
	control_add_commands(ad->control, keycmd_commands, &ad->cctx);
	control_set_commit(ad->control, &accordd_commit, ad);
	ad->cctx.group_commit = 1;
	/* TRANSPORT: start */
	ad->inbound = inbound_start(ad->base, ad->conf, ad->engine,
	    ad->listen.inbound);
	ad->listen.inbound = -1;	/* the server's */
	ad->outbound = outbound_start(ad->base, ad->conf, ad->engine);
	if (ad->inbound == NULL || ad->outbound == NULL)
		return -1;
	if (accordd_metrics(ad) == -1)
		return -1;
	ad->tsa = tsaclient_start(ad->base, ad->conf, ad->engine, &failed);
	if (failed)
		return -1;
	/* the checkpoint engine_open() wrote */
	tsaclient_checkpoint(ad->tsa);
	/* deadlines that passed while we were down fire now, at their time */
	ad->ev_deadline = evtimer_new(ad->base, accordd_deadline_tick, ad);
	accordd_deadline_tick(-1, 0, ad);
	/* a rotation a crash or a stop interrupted goes on */
	if ((ad->ev_rotate = evtimer_new(ad->base, accordd_rotate_tick,
	    ad)) == NULL) {
		log_errx("accordd", "cannot make the rotation timer");
		return -1;
	}
	if (engine_rotating(ad->engine)) {
		log_warnx("accordd", "a master key rotation is under way: "
		    "going on with it");
		accordd_rotating(ad);
	}
	ad->ev_store = event_new(ad->base, -1, EV_PERSIST, accordd_store_tick,
	    ad);
	{
		struct timeval tv = { 0, STORE_RETRY_MS * 1000 };

		if (ad->ev_store == NULL ||
		    event_add(ad->ev_store, &tv) == -1) {
			log_errx("accordd", "cannot arm the store timer");
			return -1;
		}
	}
	engine_set_partner_cb(ad->engine, accordd_partner_alive, ad);
	engine_set_commit_cb(ad->engine, accordd_landed, ad);
	if (engine_commit_fd(ad->engine) == -1 ||
	    (ad->ev_commit = event_new(ad->base, engine_commit_fd(ad->engine),
	    EV_READ | EV_PERSIST, accordd_commit_event, ad)) == NULL ||
	    event_add(ad->ev_commit, NULL) == -1) {
		log_errx("accordd", "cannot watch the journal's writer thread");
		return -1;
	}
	/* submits signed off the loop come back here (one process) */
	if (engine_sign_fd(ad->engine) != -1 &&
	    ((ad->ev_signed = event_new(ad->base, engine_sign_fd(ad->engine),
	    EV_READ | EV_PERSIST, accordd_signed, ad)) == NULL ||
	    event_add(ad->ev_signed, NULL) == -1)) {
		log_errx("accordd", "cannot watch the signing threads");
		return -1;
	}

	return 0;
}

/* The parent pings (privilege separation): answer from the loop. */
static void
accordd_notify_event(evutil_socket_t fd, short what, void *arg)
{
	struct accordd *ad = arg;

	if (accordd_notify_answer(ad->conf, ad->lctx.store) == -1)
		event_del(ad->ev_notify);	/* the parent is gone */
}

/* One process: the loop turned, systemd may hear it. */
static void
accordd_alive_tick(evutil_socket_t fd, short what, void *arg)
{
	struct accordd *ad = arg;

	accordd_notify_alive(ad->conf, ad->lctx.store);
}

/*
 * The service manager (accordd_notify.c), once everything is started:
 * the parent's channel, or the single process's own keep-alive, and
 * READY=1 (which the parent sends for the engine).  @return 0/-1.
 */
static int
accordd_notify_start(struct accordd *ad)
{
	unsigned long long period = accordd_notify_period();
	struct timeval tv;
	int fd = accordd_notify_fd();

	if (fd != -1 && ((ad->ev_notify = event_new(ad->base, fd,
	    EV_READ | EV_PERSIST, accordd_notify_event, ad)) == NULL ||
	    event_add(ad->ev_notify, NULL) == -1)) {
		log_errx("accordd", "cannot watch the parent's channel");
		return -1;
	}
	if (period != 0) {
		tv.tv_sec = (long)(period / 1000000);
		tv.tv_usec = (long)(period % 1000000);
		if ((ad->ev_alive = event_new(ad->base, -1, EV_PERSIST,
		    accordd_alive_tick, ad)) == NULL ||
		    event_add(ad->ev_alive, &tv) == -1) {
			log_errx("accordd", "cannot arm the watchdog timer");
			return -1;
		}
	}
	accordd_notify_ready(ad->conf, ad->lctx.store);
	return 0;
}

/*
 * Detach.  daemon() points stderr at /dev/null; when the lines are to go
 * to stderr (systemd's journal, or no syslog socket: log_daemon_dest())
 * stderr stays as it was and only stdin and stdout go to /dev/null.
 * @return 0/-1.
 */
static int
accordd_detach(void)
{
	int keep = log_daemon_dest() != LOG_DEST_SYSLOG, fd;

	if (daemon(0, keep) == -1) {
		log_err("accordd", "daemon");
		return -1;
	}
	if (keep) {
		if ((fd = open("/dev/null", O_RDWR)) == -1) {
			log_err("accordd", "/dev/null");
			return -1;
		}
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	log_init("accordd", 0, LOG_LVL_INFO);
	return 0;
}

/* Stop everything accordd_start() started, and free the rest. */
static void
accordd_stop(struct accordd *ad)
{
	/* TRANSPORT: stop */
	/* the faces go one by one: nobody is told of late commits */
	engine_set_commit_cb(ad->engine, NULL, NULL);
	/* no reader begins another message: a stuck parser holds the stop
	 * up for one answer's timeout at most, not one per reader */
	inbound_stop_reading(ad->inbound);
	outbound_stop_reading(ad->outbound);
	inbound_stop(ad->inbound);	/* commits and answers what it holds */
	outbound_stop(ad->outbound);
	tsaclient_stop(ad->tsa);
	/* submits being signed are journalled and answered */
	engine_submit_drain(ad->engine);
	casecmd_signed(&ad->cctx);
	if (engine_flush(ad->engine) == -1)
		log_errx("accordd", "the last commit failed");
	control_committed(ad->control);
	control_stop(ad->control);
	metrics_http_stop(ad->metrics);
	event_free(ad->ev_deadline);
	event_free(ad->ev_store);
	if (ad->ev_rotate != NULL)
		event_free(ad->ev_rotate);
	event_free(ad->ev_commit);
	if (ad->ev_signed != NULL)
		event_free(ad->ev_signed);
	if (ad->ev_notify != NULL)
		event_free(ad->ev_notify);
	if (ad->ev_alive != NULL)
		event_free(ad->ev_alive);
	store_close(ad->rctx.store);
	store_close(ad->lctx.store);
	store_close(ad->mctx.store);
	free(ad->journal_dir);
	engine_close(ad->engine);
	parser_client_free(ad->parser);
	xmlsig_shutdown();
	event_free(ad->ev_term);
	event_free(ad->ev_int);
	event_free(ad->ev_hup);
	event_base_free(ad->base);
	unlink(ad->pid_file);
	free(ad->pid_file);
	config_free(ad->conf);
	envelope_shutdown();
	xmlCleanupParser();
}

int
main(int argc, char *argv[])
{
	struct accordd ad;
	int ch, check = 0, foreground = 0, rebuild = 0;
	int parser_fd = -1;
	static const struct option longopts[] = {
		{ "rebuild-store", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 }
	};

	memset(&ad, 0, sizeof(ad));
	accordd_listen_init(&ad.listen);
	ad.conf_file = SYSCONFDIR "/accord/accordd.xml";
	while ((ch = getopt_long(argc, argv, "c:dnV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'R':
			rebuild = 1;
			break;
		case 'c':
			ad.conf_file = optarg;
			break;
		case 'd':
			foreground = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'V':
			printf("accordd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	xmlInitParser();
	log_init("accordd", 1, LOG_LVL_INFO);
	/* SIGHUP re-reads it after daemon() moved us to / */
	{
		static char abs[PATH_MAX];

		if (realpath(ad.conf_file, abs) != NULL)
			ad.conf_file = abs;
	}
	if (check)
		return accordd_check(ad.conf_file);

	if (accordd_load(&ad) == -1)
		return 1;
	if (rebuild)
		return accordd_rebuild(&ad);
	if (!foreground && accordd_detach() == -1)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	if (accordd_write_pid(&ad) == -1)
		return 1;
	if (ad.conf->user[0] != '\0' && geteuid() == 0) {
		if (accordd_sep_start(ad.conf, ad.conf_file, &ad.signer,
		    &parser_fd, &ad.listen) == -1)
			return 1;
	} else if (ad.conf->user[0] != '\0')
		log_warnx("accordd", "not started as root: one process, as uid "
		    "%u, instead of becoming %s", (unsigned)geteuid(),
		    ad.conf->user);

	/* the engine, <user> since the fork, opens the journal and the
	 * store by path, now and later: within its reach, or a clear stop */
	if (ad.signer != NULL && accordd_sep_reach(ad.conf) == -1)
		return 1;
	/* partner XML is the parser's, never ours: not even the journal's,
	 * which the store catches up with as the engine opens */
	if (parser_fd != -1)
		parser_forbid();
	if (accordd_start(&ad) == -1)
		return 1;
	if (parser_fd != -1) {
		ad.parser = parser_client_new(parser_fd);
		engine_set_parser(ad.engine, ad.parser);
	}

	if (ad.signer != NULL)
		accordd_sep_probe(ad.conf, ad.signer);
	log_info("accordd", "accordd %s started: %s/%s, %d partners, pid %ld",
	    PACKAGE_VERSION, ad.conf->country, ad.conf->authority,
	    ad.conf->npartners, (long)getpid());
	accordd_log_partners(ad.conf);

	if (accordd_notify_start(&ad) == -1)
		return 1;
	/* what the loop does outside every other stage is its I/O: partners'
	 * HTTP and TLS (evhttp, bufferevents, curl), the control socket's */
	stage_begin(STAGE_HTTP);
	event_base_dispatch(ad.base);
	stage_end(STAGE_HTTP);
	accordd_stop(&ad);
	log_info("accordd", "stopped");
	return 0;
}
