/*
 * fuzz_config.c -- the configuration loader, config_load(), on a file it
 * did not write: the input is an accordd.xml and, after a NUL byte if
 * any, one partner agreement.  They are written to conf/accordd.xml and
 * conf/partners/xx.xml of a scratch directory whose pki is the test PKI
 * ($ACCORD_PKI), so that the seeds (conf/accordd.xml and conf/partners'
 * files, joined by run.sh) load whole, certificates and calendars
 * included.  Without a NUL the partners directory is empty.
 */
#include <sys/stat.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/config.h"
#include "conf/conffile.h"
#include "util/clock.h"
#include "fuzzutil.h"

static char conf_file[4096], partner_file[4096];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *top;
	char path[4096];

	fuzz_log_init("fuzz_config");
	top = fuzz_scratch();
	snprintf(path, sizeof(path), "%s/conf", top);
	if (mkdir(path, 0700) == -1)
		goto fail;
	snprintf(path, sizeof(path), "%s/conf/partners", top);
	if (mkdir(path, 0700) == -1)
		goto fail;
	snprintf(path, sizeof(path), "%s/pki", top);
	if (symlink(fuzz_env("ACCORD_PKI"), path) == -1)
		goto fail;
	snprintf(conf_file, sizeof(conf_file), "%s/conf/accordd.xml", top);
	snprintf(partner_file, sizeof(partner_file),
	    "%s/conf/partners/xx.xml", top);
	return 0;
 fail:
	perror(path);
	exit(2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_diag d = { 0 };
	struct config *c;
	const uint8_t *nul;
	size_t len = size;

	if ((nul = memchr(data, '\0', size)) != NULL)
		len = (size_t)(nul - data);
	if (fuzz_write(conf_file, data, len) == -1)
		abort();
	if (nul != NULL) {
		if (fuzz_write(partner_file, nul + 1, size - len - 1) == -1)
			abort();
	} else
		(void)unlink(partner_file);
	c = config_load(conf_file, clock_now(), &d);
	config_free(c);
	conf_diag_free(&d);
	return 0;
}
