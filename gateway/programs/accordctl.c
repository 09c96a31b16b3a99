/*
 * accordctl.c -- the operator and back-office client of the control
 * socket.
 *
 * accordctl [-j] [-c accordd.xml | -s socket] command [argument ...]
 *     [key=value ...] [--flag ...]
 * accordctl --offline [-c accordd.xml | -S statedir] status|list|timeline|
 *     queues|alerts|stats ...
 *
 * Positional arguments travel as "argv", key=value pairs as string
 * fields and --flag as true; the daemon checks them against what the
 * command declares (protocols/control.md), and so does --offline.
 * Results print as the daemon's text (aligned tables); -j or --json
 * prints the JSON response lines instead.  Exit status: 0 ok, 1 an error
 * response or no daemon, 2 a usage error.
 *
 * --offline runs the read-only commands in this process on the store,
 * opened read-only, while the daemon is down: the same handlers as the
 * daemon's (report/), the same masking.  accordctl links the core only.
 *
 * accordctl -r [-s socket] sends each line of standard input as it is and
 * prints each response line: the raw protocol, for scripts.
 */
#include "accord-build.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libxml/parser.h>

#include "util/clock.h"
#include "conf/conffile.h"
#include "conf/config.h"
#include "util/file.h"
#include "util/log.h"
#include "persist/store.h"
#include "report/report.h"

#ifndef ACCORD_SOCKET
#define ACCORD_SOCKET "/run/accord/control.sock"
#endif
#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define CTL_MAX_LINE	(64 * 1024 * 1024)

static void
usage(void)
{
	fprintf(stderr, "usage: accordctl [-j] [-c file | -s socket] command "
	    "[argument ...] [key=value ...] [--flag ...]\n"
	    "       accordctl --offline [-j] [-c file | -S statedir] "
	    "status|list|timeline|stats|alerts ...\n"
	    "       accordctl -r [-s socket] < requests\n"
	    "  -c file     the daemon's accordd.xml: its socket and state "
	    "directory\n"
	    "  -j, --json  print the daemon's JSON responses as they are\n"
	    "  -r          raw: send stdin's lines, print the response lines\n"
	    "  -S dir      the state directory, for --offline\n"
	    "  -s socket   control socket (default $ACCORD_SOCKET or %s)\n"
	    "  --offline   read the store directly; the daemon must be down\n"
	    "  accordctl help   lists the commands this daemon serves; "
	    "help COMMAND: its usage\n"
	    "  accordctl stats [partner=CC] [since=YYYY-MM] [--csv]   "
	    "the ministry's\n"
	    "              figures; --csv: one row per figure, for a "
	    "spreadsheet\n",
	    ACCORD_SOCKET);
	exit(2);
}

/* Read one line from fp into a malloc'd buffer; NULL at EOF. */
static char *
ctl_readline(FILE *fp)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	n = getline(&line, &cap, fp);
	if (n <= 0 || n > CTL_MAX_LINE) {
		free(line);
		return NULL;
	}
	if (line[n - 1] == '\n')
		line[n - 1] = '\0';
	return line;
}

static int
ctl_connect(const char *path, int quiet)
{
	struct sockaddr_un sun;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "accordctl: socket path too long: %s\n", path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		perror("accordctl: socket");
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (quiet) {
			close(fd);
			return -1;
		}
		fprintf(stderr, "accordctl: cannot connect to %s: %s%s\n",
		    path, strerror(errno), errno == ENOENT ||
		    errno == ECONNREFUSED ? " (is accordd running?)" :
		    errno == EACCES ? " (are you in the control group?)" : "");
		close(fd);
		return -1;
	}
	return fd;
}

/* The whole content of a file named by key=@FILE, malloc'd. */
static char *
ctl_slurp(const char *file)
{
	size_t len;
	char *buf;

	if ((buf = file_read(file, CTL_MAX_LINE, &len)) == NULL) {
		if (errno == EFBIG)
			fprintf(stderr, "accordctl: %s is too large\n", file);
		else
			fprintf(stderr, "accordctl: %s: %s\n", file,
			    strerror(errno));
		exit(1);
	}
	return buf;
}

/* The request object for argv (command first). */
static json_t *
ctl_request(int argc, char *argv[])
{
	json_t *req, *args, *pos;
	char *eq;
	int i;

	args = json_object();
	pos = json_array();
	for (i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) == 0 && argv[i][2] != '\0')
			json_object_set_new(args, argv[i] + 2, json_true());
		else if ((eq = strchr(argv[i], '=')) != NULL &&
		    eq != argv[i]) {
			*eq = '\0';
			if (eq[1] == '@') {
				/* key=@FILE: the file's content */
				char *content = ctl_slurp(eq + 2);
				json_t *v = json_string(content);

				if (v == NULL) {
					fprintf(stderr, "accordctl: %s is not "
					    "UTF-8 text\n", eq + 2);
					exit(1);
				}
				json_object_set_new(args, argv[i], v);
				free(content);
			} else
				json_object_set_new(args, argv[i],
				    json_string(eq + 1));
			*eq = '=';
		} else
			json_array_append_new(pos, json_string(argv[i]));
	}
	if (json_array_size(pos) > 0)
		json_object_set_new(args, "argv", pos);
	else
		json_decref(pos);
	req = json_pack("{s:s, s:o}", "cmd", argv[0], "args", args);
	return req;
}

/* Print a result for a person: text fields as they are, the rest as
 * indented JSON. */
static void
ctl_print(json_t *result)
{
	json_t *text = json_object_get(result, "text");
	char *s;

	if (json_is_string(text)) {
		fputs(json_string_value(text), stdout);
		if (json_string_length(text) > 0 &&
		    json_string_value(text)[json_string_length(text) - 1] !=
		    '\n')
			putchar('\n');
		return;
	}
	s = json_dumps(result, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (s != NULL) {
		puts(s);
		free(s);
	}
}

/* -r: one request line in, one response line out, until EOF. */
static int
ctl_raw(FILE *fp)
{
	char *line, *resp;
	int rc = 0;

	while ((line = ctl_readline(stdin)) != NULL) {
		if (fprintf(fp, "%s\n", line) < 0 || fflush(fp) != 0) {
			free(line);
			return 1;
		}
		free(line);
		if ((resp = ctl_readline(fp)) == NULL) {
			fprintf(stderr, "accordctl: connection closed\n");
			return 1;
		}
		puts(resp);
		if (strstr(resp, "\"ok\":true") == NULL)
			rc = 1;
		free(resp);
	}
	return rc;
}

/* What -c says: the socket and the state directory (read without the
 * keys, which only the daemon's user may read). */
static int
ctl_read_conf(const char *file, char **sock, char **state_dir)
{
	struct conf_diag d = { 0 };
	xmlDocPtr doc;
	xmlNodePtr root;
	char *dir = NULL, *s = NULL;
	int rc = -1;

	if ((doc = conf_load_xml(file, "accordd.xsd", &d)) == NULL) {
		conf_diag_print(&d, stderr);
		goto done;
	}
	root = xmlDocGetRootElement(doc);
	dir = conf_dirname(file);
	if ((s = conf_text(conf_child(root, "state-directory"))) != NULL)
		*state_dir = conf_path(dir, s);
	free(s);
	if ((s = conf_attr(conf_child(root, "control"), "socket")) != NULL)
		*sock = conf_path(dir, s);
	free(s);
	rc = 0;
done:
	if (doc != NULL)
		xmlFreeDoc(doc);
	free(dir);
	conf_diag_free(&d);
	return rc;
}

/* export-key's out=FILE, set by main. */
static const char *ctl_key_out;

/*
 * export-key: the key's text goes to out=FILE (created, mode 0600, never
 * over a file), not to the screen; it is taken out of result.
 * @return 0, or 1 (said why).
 */
static int
ctl_key_file(json_t *result)
{
	const char *key = json_string_value(json_object_get(result,
	    "key_file"));
	size_t n;
	int fd, rc = 1;

	if (key == NULL)
		return 0;
	n = strlen(key);
	if (ctl_key_out == NULL)
		fprintf(stderr, "accordctl: export-key needs out=FILE\n");
	else if ((fd = open(ctl_key_out, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		fprintf(stderr, "accordctl: %s: %s\n", ctl_key_out,
		    strerror(errno));
	else {
		if (write(fd, key, n) == (ssize_t)n && fsync(fd) == 0)
			rc = 0;
		else
			fprintf(stderr, "accordctl: writing %s: %s\n",
			    ctl_key_out, strerror(errno));
		close(fd);
	}
	json_object_del(result, "key_file");
	return rc;
}

/* Print a response line: JSON as it is, or for people.  @return 0 for an
 * ok response, 1 for an error, 2 for a usage error (an error with the
 * command's usage), -1 if it is not a response. */
static int
ctl_response(const char *line, int json)
{
	json_t *resp, *err;
	json_error_t jerr;
	const char *ustr;
	int rc, secret;

	if ((resp = json_loads(line, 0, &jerr)) == NULL) {
		fprintf(stderr, "accordctl: bad response: %s\n", jerr.text);
		return -1;
	}
	if (json && !json_is_true(json_object_get(resp, "ok")))
		puts(line);
	if (json_is_true(json_object_get(resp, "ok"))) {
		secret = json_object_get(json_object_get(resp, "result"),
		    "key_file") != NULL;
		rc = ctl_key_file(json_object_get(resp, "result"));
		if (json && !secret)
			puts(line);
		else if (json && rc == 0) {
			/* the line without the key */
			char *s = json_dumps(resp, JSON_COMPACT);

			if (s != NULL)
				puts(s);
			free(s);
		} else if (!json && rc == 0)
			ctl_print(json_object_get(resp, "result"));
	} else {
		err = json_object_get(resp, "error");
		ustr = json_string_value(json_object_get(err, "usage"));
		if (!json) {
			fprintf(stderr, "accordctl: %s: %s\n",
			    json_string_value(json_object_get(err, "code")),
			    json_string_value(json_object_get(err, "text")));
			if (ustr != NULL)
				fprintf(stderr, "%s\n", ustr);
		}
		rc = ustr != NULL ? 2 : 1;
	}
	json_decref(resp);
	return rc;
}

/* inbox --follow, monitor: one event line after another until the daemon
 * closes the stream (or we are interrupted). */
static int
ctl_follow(FILE *fp, int json)
{
	json_t *ev, *data;
	char *line;

	fflush(stdout);
	while ((line = ctl_readline(fp)) != NULL) {
		if (json) {
			puts(line);
		} else if ((ev = json_loads(line, 0, NULL)) != NULL) {
			data = json_object_get(ev, "data");
			if (json_is_string(json_object_get(data, "line")))
				puts(json_string_value(json_object_get(data,
				    "line")));
			else if (json_object_get(ev, "error") != NULL)
				ctl_response(line, 0);
			json_decref(ev);
		}
		fflush(stdout);
		free(line);
	}
	fprintf(stderr, "accordctl: the daemon closed the stream\n");
	return 1;
}

/*
 * --offline: the handler runs here, on the store opened read-only.  The
 * caller is whoever we run as; reading the files already took the
 * permission a read role gives, and revealing needs root since nothing
 * can journal it while the daemon is down.
 */
static int
ctl_offline(const char *state_dir, const char *conf_file, const char *sock,
    int argc, char *argv[], int json)
{
	const struct cmd_command *cmd;
	struct cmd_caller who;
	struct report_ctx ctx;
	struct conf_diag d = { 0 };
	const struct config *cptr = NULL;
	struct config *conf = NULL;
	json_t *req, *args, *res, *resp;
	const char *code = "INTERNAL";
	char *db = NULL, *journal = NULL, *line, text[CMD_TEXT_MAX];
	char ubuf[256];
	int fd, rc = 1;

	for (cmd = report_commands; cmd->name != NULL; cmd++)
		if (strcmp(cmd->name, argv[0]) == 0)
			break;
	if (cmd->name == NULL) {
		fprintf(stderr, "accordctl: '%s' does not run offline (the "
		    "reports do:", argv[0]);
		for (cmd = report_commands; cmd->name != NULL; cmd++)
			fprintf(stderr, " %s", cmd->name);
		fprintf(stderr, ")\n");
		return 2;
	}
	if (state_dir == NULL) {
		fprintf(stderr, "accordctl: --offline needs the state "
		    "directory: -S DIR or -c accordd.xml\n");
		return 2;
	}
	if (sock != NULL && (fd = ctl_connect(sock, 1)) != -1) {
		close(fd);
		fprintf(stderr, "accordctl: accordd is running (%s): ask it, "
		    "without --offline\n", sock);
		return 1;
	}
	req = ctl_request(argc, argv);
	args = json_object_get(req, "args");
	if (json_is_true(json_object_get(args, "reveal")) && getuid() != 0) {
		fprintf(stderr, "accordctl: FORBIDDEN: revealing personal data "
		    "offline needs root\n");
		json_decref(req);
		return 1;
	}
	/* the daemon's check, here: the same table, the same words */
	if (cmd_check_args(cmd, args, text, sizeof(text)) == -1) {
		fprintf(stderr, "accordctl: BAD_REQUEST: %s\n%s\n", text,
		    cmd_usage(cmd, ubuf, sizeof(ubuf)));
		json_decref(req);
		return 2;
	}
	db = conf_path(state_dir, "store.db");
	journal = conf_path(state_dir, "journal");
	memset(&ctx, 0, sizeof(ctx));
	ctx.journal_dir = journal;
	if ((ctx.store = store_open_readonly(db)) == NULL) {
		fprintf(stderr, "accordctl: offline: cannot read the store at "
		    "%s\n", db);
		goto done;
	}
	/* the partners' certificates and calendars, for alerts, when this
	 * user may load the configuration */
	if (conf_file != NULL && (conf = config_load(conf_file, clock_now(),
	    &d)) != NULL) {
		cptr = conf;
		ctx.conf = &cptr;
	}
	conf_diag_free(&d);
	fprintf(stderr, "accordctl: offline: read from the store at %s; the "
	    "daemon is down\n", db);

	memset(&who, 0, sizeof(who));
	who.uid = getuid();
	who.gid = getgid();
	who.pid = getpid();
	who.roles = CMD_ROLE_READ | (who.uid == 0 ? CMD_ROLE_SUBMIT |
	    CMD_ROLE_ADMIN : 0);
	who.command = cmd->name;
	text[0] = '\0';
	res = cmd->handler(&ctx, &who, args, &code, text, sizeof(text));
	if (res != NULL)
		resp = json_pack("{s:b, s:o, s:b}", "ok", 1, "result", res,
		    "offline", 1);
	else
		resp = json_pack("{s:b, s:{s:s, s:s}, s:b}", "ok", 0, "error",
		    "code", code, "text", text[0] ? text : "command failed",
		    "offline", 1);
	line = json_dumps(resp, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(resp);
	rc = line != NULL ? ctl_response(line, json) : 1;
	free(line);
	if (rc == -1)
		rc = 1;
done:
	json_decref(req);
	store_close(ctx.store);
	config_free(conf);
	free(db);
	free(journal);
	return rc;
}

/* Ask the daemon at path: one request, or the raw protocol (-r).
 * @return the exit status. */
static int
ctl_online(const char *path, int rawproto, int argc, char *argv[], int json)
{
	json_t *req, *resp;
	json_error_t jerr;
	FILE *fp;
	char *line, *out;
	int fd, rc;

	if ((fd = ctl_connect(path, 0)) == -1)
		return 1;
	if ((fp = fdopen(fd, "r+")) == NULL) {
		perror("accordctl: fdopen");
		return 1;
	}
	/* the greeting says who the daemon thinks we are */
	line = ctl_readline(fp);
	resp = line != NULL ? json_loads(line, 0, &jerr) : NULL;
	if (resp == NULL || json_object_get(resp, "hello") == NULL) {
		const char *why = json_string_value(json_object_get(
		    json_object_get(resp, "error"), "text"));

		/* a connection over a limit is refused with why */
		if (why != NULL)
			fprintf(stderr, "accordctl: %s refused the connection: "
			    "%s\n", path, why);
		else
			fprintf(stderr, "accordctl: %s did not greet us\n",
			    path);
		return 1;
	}
	json_decref(resp);
	if (rawproto) {
		puts(line);	/* the greeting, then one line per request */
		free(line);
		return ctl_raw(fp);
	}
	free(line);

	req = ctl_request(argc, argv);
	out = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (out == NULL || fprintf(fp, "%s\n", out) < 0 || fflush(fp) != 0) {
		fprintf(stderr, "accordctl: cannot send the request\n");
		return 1;
	}
	free(out);

	line = ctl_readline(fp);
	if (line == NULL) {
		fprintf(stderr, "accordctl: the daemon closed the connection\n");
		return 1;
	}
	rc = ctl_response(line, json);
	if (rc == -1)
		rc = 1;
	/* a stream follows an ok response with "following": true */
	if (rc == 0 && strstr(line, "\"following\":true") != NULL)
		rc = ctl_follow(fp, json);
	free(line);
	fclose(fp);
	return rc;
}

int
main(int argc, char *argv[])
{
	const char *path = NULL, *conf_file = NULL, *state_dir = NULL;
	char *conf_sock = NULL, *conf_state = NULL;
	int ch, i, j, json = 0, rawproto = 0, offline = 0, rc = 1;
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "offline", no_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 }
	};

	while ((ch = getopt_long(argc, argv, "+c:jrS:s:V", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_file = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'O':
			offline = 1;
			break;
		case 'r':
			rawproto = 1;
			break;
		case 'S':
			state_dir = optarg;
			break;
		case 's':
			path = optarg;
			break;
		case 'V':
			printf("accordctl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	/* --json and --offline are ours wherever they stand */
	for (i = j = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--offline") == 0)
			offline = 1;
		else
			argv[j++] = argv[i];
	}
	argc = j;
	if (argc < 1 && !rawproto)
		usage();
	for (i = 1; i < argc; i++)
		if (strncmp(argv[i], "out=", 4) == 0)
			ctl_key_out = argv[i] + 4;

	log_init("accordctl", 1, LOG_LVL_WARN);
	if (conf_file != NULL || (offline && state_dir == NULL)) {
		if (conf_file == NULL)
			conf_file = SYSCONFDIR "/accord/accordd.xml";
		xmlInitParser();
		if (ctl_read_conf(conf_file, &conf_sock, &conf_state) == -1)
			return 1;
	}
	if (path == NULL)
		path = conf_sock;
	if (path == NULL && (path = getenv("ACCORD_SOCKET")) != NULL &&
	    *path == '\0')
		path = NULL;
	if (path == NULL)
		path = ACCORD_SOCKET;
	if (state_dir == NULL)
		state_dir = conf_state;
	if (offline)
		rc = ctl_offline(state_dir, conf_file, path, argc, argv, json);
	else
		rc = ctl_online(path, rawproto, argc, argv, json);
	free(conf_sock);
	free(conf_state);
	return rc;
}
