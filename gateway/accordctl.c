/*
 * accordctl.c -- the operator and back-office client of the control
 * socket.
 *
 * accordctl [-j] [-s socket] command [argument ...] [key=value ...]
 *
 * Positional arguments travel as "argv", key=value pairs as string
 * fields and --flag as true; the daemon checks them (protocols/control.md).
 *
 * accordctl -r [-s socket] sends each line of standard input as it is and
 * prints each response line: the raw protocol, for scripts.
 */
#include "accord-build.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#ifndef ACCORD_SOCKET
#define ACCORD_SOCKET "/run/accord/control.sock"
#endif

#define CTL_MAX_LINE	(64 * 1024 * 1024)

static void
usage(void)
{
	fprintf(stderr, "usage: accordctl [-j] [-s socket] command "
	    "[argument ...] [key=value ...] [--flag ...]\n"
	    "       accordctl -r [-s socket] < requests\n"
	    "  -j         print the daemon's JSON responses as they are\n"
	    "  -r         raw: send stdin's lines, print the response lines\n"
	    "  -s socket  control socket (default $ACCORD_SOCKET or %s)\n"
	    "  accordctl help   lists the commands this daemon serves\n",
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
ctl_connect(const char *path)
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
	FILE *fp;
	char *buf = NULL;
	size_t len = 0, n;
	char chunk[8192];

	if ((fp = fopen(file, "r")) == NULL) {
		fprintf(stderr, "accordctl: %s: %s\n", file, strerror(errno));
		exit(1);
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		char *nb = realloc(buf, len + n + 1);

		if (nb == NULL || len + n > CTL_MAX_LINE) {
			fprintf(stderr, "accordctl: %s is too large\n", file);
			exit(1);
		}
		buf = nb;
		memcpy(buf + len, chunk, n);
		len += n;
	}
	fclose(fp);
	if (buf == NULL && (buf = strdup("")) == NULL)
		exit(1);
	buf[len] = '\0';
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

int
main(int argc, char *argv[])
{
	const char *path;
	json_t *req, *resp, *err;
	json_error_t jerr;
	FILE *fp;
	char *line, *out;
	int ch, raw = 0, rawproto = 0, fd, rc = 1;

	path = getenv("ACCORD_SOCKET");
	if (path == NULL || *path == '\0')
		path = ACCORD_SOCKET;
	while ((ch = getopt(argc, argv, "+jrs:V")) != -1) {
		switch (ch) {
		case 'j':
			raw = 1;
			break;
		case 'r':
			rawproto = 1;
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
	if (argc < 1 && !rawproto)
		usage();

	if ((fd = ctl_connect(path)) == -1)
		return 1;
	if ((fp = fdopen(fd, "r+")) == NULL) {
		perror("accordctl: fdopen");
		return 1;
	}
	/* the greeting says who the daemon thinks we are */
	line = ctl_readline(fp);
	resp = line != NULL ? json_loads(line, 0, &jerr) : NULL;
	if (resp == NULL || json_object_get(resp, "hello") == NULL) {
		fprintf(stderr, "accordctl: %s did not greet us\n", path);
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
	resp = json_loads(line, 0, &jerr);
	if (resp == NULL) {
		fprintf(stderr, "accordctl: bad response: %s\n", jerr.text);
		free(line);
		return 1;
	}
	if (raw)
		puts(line);
	free(line);
	if (json_is_true(json_object_get(resp, "ok"))) {
		if (!raw)
			ctl_print(json_object_get(resp, "result"));
		rc = 0;
	} else {
		err = json_object_get(resp, "error");
		if (!raw)
			fprintf(stderr, "accordctl: %s: %s\n",
			    json_string_value(json_object_get(err, "code")),
			    json_string_value(json_object_get(err, "text")));
		rc = 1;
	}
	json_decref(resp);
	fclose(fp);
	return rc;
}
