/*
 * audit.h -- offline audit of journal files: verify, replay, witness,
 * export (issue 9).
 *
 * Uses journal, xmlsig, envelope, fsm, record and store, and nothing of
 * the network.  Every command reads journal files (a directory, or files
 * given in order), builds one report (a JSON object: command, findings,
 * warnings, summary and the command's own sections) and says whether it
 * found anything.  A finding names the file, the offset of the record's
 * header in it and the record number (sequence number).
 *
 * What each command trusts:
 *   verify   the hash chain (journal reader); every checkpoint against
 *            the gateway's own certificate (--cert; otherwise the
 *            certificate the journal's own messages carry, which is
 *            reported as unpinned); every message and receipt against
 *            the certificates journalled by the CONFIG_LOAD in force
 *            when it was journalled (the certificate bytes come from
 *            the message's KeyInfo and must have a journalled
 *            fingerprint); --trust DIR also checks their chains.
 *   replay   fsm_decide() over the journalled events, by the fsm
 *            version journalled with each decision and the rules the
 *            last CONFIG_LOAD before it journalled (checked against
 *            their digest; conf/agreement_json.h); --config FILE
 *            overrides them for every decision, which every output
 *            says.  A CONFIG_LOAD without rules (an older build's)
 *            leaves the decisions after it to --config, or to a check
 *            of their chain of states.  From a configuration file only
 *            agreements and calendars are read: keys need not be
 *            there, and expired certificates do not matter.
 *   witness  the checkpoint hashes each side's receipts carry.
 */
#ifndef ACCORD_AUDIT_H
#define ACCORD_AUDIT_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* What a command is asked to do. */
struct audit_opts {
	const char *const *files;	/* journal files, or one directory */
	size_t		 nfiles;
	const char *const *partner_files;	/* witness: the partner's */
	size_t		 npartner_files;
	const char	*cert_file;	/* the gateway's signing cert (PEM) */
	const char	*trust_dir;	/* CA certificates (*.pem) */
	const char	*tsa_ca_file;	/* verify: the time-stamp
					 * authority's CA (PEM) */
	const char	*signer_log;	/* verify: the signer's log */
	const char	*config_file;	/* replay: accordd.xml, the
					 * override of the rules journalled */
	const char	*case_id;	/* replay --case, export */
	const char	*store_path;	/* replay --compare */
	const char	*out_dir;	/* export */
	const char	*html_out;	/* one-page case timeline */
	const char	*master_key;	/* sealed messages: the master key */
	const char	*keys_db;	/* ... and the key store (default:
					 * keys.db beside the journal DIR) */
	const char	*case_key;	/* ... or one exported case key */
	const char	*access_log;	/* plaintext reads logged here
					 * (default: access.log of the
					 * state directory) */
	const char	*reason;	/* ... with this reason */
	int		 jobs;		/* verify: threads checking messages
					 * (0: the default, 2; 1: none but
					 * the caller's) */
};

/* A report; see audit_report_print(). */
struct audit_report {
	json_t		*root;		/* the whole report */
	json_t		*findings;	/* array, also in root */
	json_t		*warnings;	/* array, also in root */
};

/* Start the report of command.  @return 0, or -1 (out of memory). */
int audit_report_init(struct audit_report *rep, const char *command);
void audit_report_free(struct audit_report *rep);
/* Number of findings so far. */
size_t audit_report_nfindings(const struct audit_report *rep);
/* Count the findings by kind into the summary ("findings",
 * "findings_by_kind", "warnings"): once, when the command is done. */
void audit_report_count_kinds(struct audit_report *rep);
/* The report as text (json 0) or as one JSON document (json 1). */
void audit_report_print(const struct audit_report *rep, FILE *fp, int json);

/*
 * The commands.  Each fills rep and @return 0 when it could run (whether
 * or not it found anything: see audit_report_nfindings()), -1 when it
 * could not (unreadable input, bad option; logged).
 */
int audit_verify(const struct audit_opts *o, struct audit_report *rep);

/* Open the keys o names for sealed messages (none: 0), for every command
 * of this run (audit_keys.c).  @return 0, or -1 (logged). */
int audit_keys_open(const struct audit_opts *o);
void audit_keys_close(void);
int audit_replay(const struct audit_opts *o, struct audit_report *rep);
int audit_witness(const struct audit_opts *o, struct audit_report *rep);
int audit_export(const struct audit_opts *o, struct audit_report *rep);

/*
 * Who read personal data (audit_access.c): with a key (--master-key,
 * --case-key) a line goes to the access log before anything sealed is
 * read (@return 0, or -1 when it cannot: nothing may be read then); and
 * the access report, every journalled reveal, export-key, find-person
 * and erase by case, with the access log's lines.
 */
int audit_access_log(const struct audit_opts *o, const char *command);
int audit_access(const struct audit_opts *o, struct audit_report *rep);
void audit_access_print(FILE *fp, const json_t *root);

#endif
