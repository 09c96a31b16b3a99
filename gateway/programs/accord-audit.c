/*
 * accord-audit.c -- verify, replay, witness and export journal files,
 * and list who accessed personal data, offline (DESIGN.md section 3;
 * issues 9 and 19).  Uses nothing of the network.
 *
 * Exit status: 0 nothing found, 1 findings, 2 usage or input that could
 * not be read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "conf/conffile.h"
#include "msg/envelope.h"
#include "util/log.h"
#include "msg/xmlsig.h"

#define EXIT_FINDINGS	1
#define EXIT_USAGE	2

static void
usage(void)
{
	fprintf(stderr,
"usage: accord-audit verify [--cert PEM] [--trust DIR] [--jobs N]\n"
"                           [--tsa-ca PEM] [--signer-log FILE]\n"
"                           [--master-key FILE [--keys DB] | --case-key FILE]\n"
"                           [--access-log FILE] [--reason TEXT]\n"
"                           [--json | --html OUT] FILE... | DIR\n"
"       accord-audit replay [--config accordd.xml] [--case ID]\n"
"                           [--compare STORE.db] [--json] [--html OUT]\n"
"                           FILE... | DIR\n"
"       accord-audit witness [--json] [--html OUT] OURS...\n"
"                           --partner THEIRS...\n"
"       accord-audit export CASE --out DIR [--cert PEM] [--config FILE]\n"
"                           [--master-key FILE [--keys DB] | --case-key FILE]\n"
"                           [--access-log FILE] [--reason TEXT]\n"
"                           [--json] [--html OUT] FILE... | DIR\n"
"       accord-audit access [--case ID] [--access-log FILE] [--json]\n"
"                           FILE... | DIR\n");
	exit(EXIT_USAGE);
}

/* The value of option argv[*i]. */
static const char *
optval(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		fprintf(stderr, "accord-audit: %s needs a value\n", argv[*i]);
		usage();
	}
	return argv[++*i];
}

int
main(int argc, char **argv)
{
	struct audit_opts o;
	struct audit_report rep;
	const char **files, **partner;
	const char *cmd, *jobs;
	char *proto, *end;
	long l;
	size_t nfiles = 0, npartner = 0;
	int i, json = 0, in_partner = 0, rc;

	if (argc < 2)
		usage();
	cmd = argv[1];
	if (strcmp(cmd, "verify") != 0 && strcmp(cmd, "replay") != 0 &&
	    strcmp(cmd, "witness") != 0 && strcmp(cmd, "export") != 0 &&
	    strcmp(cmd, "access") != 0)
		usage();
	memset(&o, 0, sizeof(o));
	files = calloc((size_t)argc, sizeof(*files));
	partner = calloc((size_t)argc, sizeof(*partner));
	if (files == NULL || partner == NULL)
		return EXIT_USAGE;
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--html") == 0)
			o.html_out = optval(argc, argv, &i);
		else if (strcmp(argv[i], "--cert") == 0)
			o.cert_file = optval(argc, argv, &i);
		else if (strcmp(argv[i], "--trust") == 0)
			o.trust_dir = optval(argc, argv, &i);
		else if (strcmp(argv[i], "--tsa-ca") == 0)
			o.tsa_ca_file = optval(argc, argv, &i);
		else if (strcmp(argv[i], "--signer-log") == 0)
			o.signer_log = optval(argc, argv, &i);
		else if (strcmp(argv[i], "--master-key") == 0)
			o.master_key = optval(argc, argv, &i);
		else if (strcmp(argv[i], "--keys") == 0)
			o.keys_db = optval(argc, argv, &i);
		else if (strcmp(argv[i], "--case-key") == 0)
			o.case_key = optval(argc, argv, &i);
		else if (strcmp(argv[i], "--access-log") == 0)
			o.access_log = optval(argc, argv, &i);
		else if (strcmp(argv[i], "--reason") == 0)
			o.reason = optval(argc, argv, &i);
		else if (strcmp(argv[i], "--config") == 0)
			o.config_file = optval(argc, argv, &i);
		else if (strcmp(argv[i], "--case") == 0)
			o.case_id = optval(argc, argv, &i);
		else if (strcmp(argv[i], "--compare") == 0)
			o.store_path = optval(argc, argv, &i);
		else if (strcmp(argv[i], "--jobs") == 0) {
			jobs = optval(argc, argv, &i);
			l = strtol(jobs, &end, 10);
			if (*jobs == '\0' || *end != '\0' || l < 1 || l > 64) {
				fprintf(stderr, "accord-audit: --jobs %s: not "
				    "a number from 1 to 64\n", jobs);
				usage();
			}
			o.jobs = (int)l;
		} else if (strcmp(argv[i], "--out") == 0)
			o.out_dir = optval(argc, argv, &i);
		else if (strcmp(argv[i], "--partner") == 0)
			in_partner = 1;
		else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)
			usage();
		else if (argv[i][0] == '-' && argv[i][1] == '-') {
			fprintf(stderr, "accord-audit: unknown option %s\n",
			    argv[i]);
			usage();
		} else if (strcmp(cmd, "export") == 0 && o.case_id == NULL)
			o.case_id = argv[i];
		else if (in_partner)
			partner[npartner++] = argv[i];
		else
			files[nfiles++] = argv[i];
	}
	if (nfiles == 0 || (strcmp(cmd, "witness") == 0 && npartner == 0) ||
	    (strcmp(cmd, "export") == 0 && (o.case_id == NULL ||
	    o.out_dir == NULL)) || (strcmp(cmd, "witness") != 0 &&
	    npartner > 0))
		usage();
	o.files = files;
	o.nfiles = nfiles;
	o.partner_files = partner;
	o.npartner_files = npartner;

	log_init("accord-audit", 1, LOG_LVL_WARN);
	proto = conf_path(conf_datadir(), "protocols");
	if (envelope_init(proto) == -1 || xmlsig_init() == -1) {
		free(proto);
		return EXIT_USAGE;
	}
	free(proto);
	if (audit_report_init(&rep, cmd) == -1)
		return EXIT_USAGE;
	/* sealed messages (issue 19): opened with these keys, if given,
	 * once the read is in the access log */
	if (strcmp(cmd, "access") == 0 && (o.master_key != NULL ||
	    o.case_key != NULL)) {
		fprintf(stderr, "accord-audit: access reads no message: it "
		    "takes no key\n");
		usage();
	}
	if (audit_access_log(&o, cmd) == -1 || audit_keys_open(&o) == -1)
		return EXIT_USAGE;
	if (strcmp(cmd, "verify") == 0)
		rc = audit_verify(&o, &rep);
	else if (strcmp(cmd, "replay") == 0)
		rc = audit_replay(&o, &rep);
	else if (strcmp(cmd, "witness") == 0)
		rc = audit_witness(&o, &rep);
	else if (strcmp(cmd, "access") == 0)
		rc = audit_access(&o, &rep);
	else
		rc = audit_export(&o, &rep);
	if (rc == -1) {
		audit_report_free(&rep);
		return EXIT_USAGE;
	}
	audit_report_count_kinds(&rep);
	audit_report_print(&rep, stdout, json);
	rc = audit_report_nfindings(&rep) > 0 ? EXIT_FINDINGS : 0;
	audit_report_free(&rep);
	audit_keys_close();
	xmlsig_shutdown();
	envelope_shutdown();
	free(files);
	free(partner);
	return rc;
}
