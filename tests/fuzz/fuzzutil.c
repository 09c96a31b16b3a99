/*
 * fuzzutil.c -- the harnesses' shared set-up (see fuzzutil.h).
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg/envelope.h"
#include "msg/xmlsig.h"
#include "util/log.h"
#include "fuzzutil.h"

const char *
fuzz_env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0') {
		fprintf(stderr, "fuzz: $%s is not set (tests/fuzz/run.sh "
		    "sets it)\n", name);
		exit(2);
	}
	return v;
}

void
fuzz_log_init(const char *name)
{
	log_init(name, 1, getenv("FUZZ_DEBUG") != NULL ? LOG_LVL_DEBUG :
	    LOG_LVL_ERR);
}

void
fuzz_envelope_init(void)
{
	char proto[4096];

	snprintf(proto, sizeof(proto), "%s/protocols",
	    fuzz_env("ACCORD_DATADIR"));
	if (envelope_init(proto) == -1 || xmlsig_init() == -1) {
		fprintf(stderr, "fuzz: cannot load the schemas of %s\n",
		    proto);
		exit(2);
	}
}

const char *
fuzz_scratch(void)
{
	static char dir[4096];

	if (dir[0] != '\0')
		return dir;
	snprintf(dir, sizeof(dir), "%s/scratch.XXXXXX", fuzz_env("FUZZ_TMP"));
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		exit(2);
	}
	return dir;
}

int
fuzz_write(const char *path, const void *p, size_t len)
{
	ssize_t n;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		return -1;
	n = len > 0 ? write(fd, p, len) : 0;
	if (close(fd) == -1 || n != (ssize_t)len)
		return -1;
	return 0;
}
