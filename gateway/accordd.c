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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <libxml/parser.h>

#include "config.h"
#include "clock.h"
#include "envelope.h"
#include "log.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

struct accordd {
	struct event_base	*base;
	struct event		*ev_term;
	struct event		*ev_int;
	struct event		*ev_hup;
	struct config		*conf;
	const char		*conf_file;
	char			*pid_file;
	int			 reloads;
};

static void
usage(void)
{
	fprintf(stderr, "usage: accordd [-dnV] [-c file]\n"
	    "  -c file  configuration (default %s/accord/accordd.xml)\n"
	    "  -d       stay in the foreground and log to stderr\n"
	    "  -n       check the configuration and exit\n"
	    "  -V       print the version and exit\n", SYSCONFDIR);
	exit(2);
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
	printf("configuration OK\n");
	config_print_summary(c, stdout);
	conf_diag_free(&d);
	config_free(c);
	return 0;
}

static void
accordd_reload(struct accordd *ad)
{
	struct conf_diag d = { 0 };
	struct config *nc;
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
		conf_diag_free(&d);
		return;
	}
	conf_diag_free(&d);
	if (strcmp(nc->country, ad->conf->country) != 0 ||
	    strcmp(nc->state_dir, ad->conf->state_dir) != 0) {
		log_errx("accordd", "reload refused: the identity and state "
		    "directory cannot change while running; restart instead");
		config_free(nc);
		return;
	}
	config_free(ad->conf);
	ad->conf = nc;
	ad->reloads++;
	log_info("accordd", "configuration reloaded: %d partners",
	    nc->npartners);
	accordd_log_partners(nc);
}

static void
accordd_signal(evutil_socket_t sig, short what, void *arg)
{
	struct accordd *ad = arg;

	switch (sig) {
	case SIGHUP:
		accordd_reload(ad);
		break;
	case SIGTERM:
	case SIGINT:
		log_info("accordd", "%s: shutting down",
		    sig == SIGTERM ? "SIGTERM" : "SIGINT");
		event_base_loopexit(ad->base, NULL);
		break;
	}
}

/* mkdir -p: the state directory and any missing parent. */
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
		if (mkdir(s, mode) == -1 && errno != EEXIST)
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

int
main(int argc, char *argv[])
{
	struct accordd ad;
	struct conf_diag d = { 0 };
	int ch, check = 0, foreground = 0;

	memset(&ad, 0, sizeof(ad));
	ad.conf_file = SYSCONFDIR "/accord/accordd.xml";
	while ((ch = getopt(argc, argv, "c:dnV")) != -1) {
		switch (ch) {
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
	if (check)
		return accordd_check(ad.conf_file);

	ad.conf = config_load(ad.conf_file, clock_now(), &d);
	accordd_log_diag(&d);
	if (ad.conf == NULL) {
		log_errx("accordd", "%s: %d error%s, not starting",
		    ad.conf_file, d.nerrors, d.nerrors == 1 ? "" : "s");
		conf_diag_free(&d);
		return 1;
	}
	conf_diag_free(&d);
	if (accordd_protocols() == -1)
		return 1;
	if (accordd_state_dir(ad.conf) == -1)
		return 1;

	if (!foreground) {
		if (daemon(0, 0) == -1) {
			log_err("accordd", "daemon");
			return 1;
		}
		log_init("accordd", 0, LOG_LVL_INFO);
	}
	signal(SIGPIPE, SIG_IGN);
	if (accordd_write_pid(&ad) == -1)
		return 1;

	ad.base = event_base_new();
	if (ad.base == NULL) {
		log_errx("accordd", "event_base_new failed");
		return 1;
	}
	ad.ev_term = evsignal_new(ad.base, SIGTERM, accordd_signal, &ad);
	ad.ev_int = evsignal_new(ad.base, SIGINT, accordd_signal, &ad);
	ad.ev_hup = evsignal_new(ad.base, SIGHUP, accordd_signal, &ad);
	if (ad.ev_term == NULL || ad.ev_int == NULL || ad.ev_hup == NULL ||
	    evsignal_add(ad.ev_term, NULL) == -1 ||
	    evsignal_add(ad.ev_int, NULL) == -1 ||
	    evsignal_add(ad.ev_hup, NULL) == -1) {
		log_errx("accordd", "cannot install signal handlers");
		return 1;
	}

	log_info("accordd", "accordd %s started: %s/%s, %d partners, pid %ld",
	    PACKAGE_VERSION, ad.conf->country, ad.conf->authority,
	    ad.conf->npartners, (long)getpid());
	accordd_log_partners(ad.conf);

	event_base_dispatch(ad.base);

	event_free(ad.ev_term);
	event_free(ad.ev_int);
	event_free(ad.ev_hup);
	event_base_free(ad.base);
	unlink(ad.pid_file);
	free(ad.pid_file);
	config_free(ad.conf);
	envelope_shutdown();
	xmlCleanupParser();
	log_info("accordd", "stopped");
	return 0;
}
