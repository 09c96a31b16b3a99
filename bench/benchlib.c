/*
 * benchlib.c -- helpers shared by the benchmark programs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchlib.h"
#include "util/clock.h"
#include "msg/envelope.h"
#include "util/errcode.h"

#define BENCH_TARGET_SIZE	4096

double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *
bench_slurp(const char *path, size_t *lenp)
{
	FILE *f;
	char *buf = NULL;
	long n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			if (lenp != NULL)
				*lenp = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

xmlDocPtr
bench_request(const char *srcdir, size_t *size, char **body)
{
	static const char item[] =
	    "        <EntryStayEvidence>\n"
	    "          <Kind>TravelTicket</Kind>\n"
	    "          <Description>Boarding pass Almaty-Istanbul-Paris, "
	    "seat 23C</Description>\n"
	    "          <Date>2025-11-03</Date>\n"
	    "        </EntryStayEvidence>\n";
	static const char open[] = "<ReadmissionRequest ";
	static const char close[] = "</ReadmissionRequest>";
	struct envelope_error err;
	xmlDocPtr doc = NULL;
	char path[2048], ts[32], *buf, *out, *p, *q;
	size_t len;

	snprintf(path, sizeof(path),
	    "%s/protocols/examples/valid/ReadmissionRequest.xml", srcdir);
	if ((buf = bench_slurp(path, NULL)) == NULL) {
		perror(path);
		return NULL;
	}
	clock_format_utc(clock_now(), ts, sizeof(ts));
	if ((p = strstr(buf, "2026-03-02T09:15:00Z")) != NULL)
		memcpy(p, ts, strlen(ts));
	while (strlen(buf) < BENCH_TARGET_SIZE) {
		if ((p = strstr(buf, "      </Evidence>")) == NULL)
			break;
		len = strlen(buf);
		if ((out = malloc(len + sizeof(item))) == NULL)
			exit(2);
		memcpy(out, buf, (size_t)(p - buf));
		memcpy(out + (p - buf), item, sizeof(item) - 1);
		memcpy(out + (p - buf) + sizeof(item) - 1, p,
		    strlen(p) + 1);
		free(buf);
		buf = out;
	}
	*size = strlen(buf);
	if (body != NULL) {
		if ((p = strstr(buf, open)) == NULL ||
		    (q = strstr(p, close)) == NULL) {
			fprintf(stderr, "%s: no ReadmissionRequest element\n",
			    path);
			free(buf);
			return NULL;
		}
		q += sizeof(close) - 1;
		if ((*body = strndup(p, (size_t)(q - p))) == NULL)
			exit(2);
	}
	if (envelope_parse(buf, *size, NULL, &doc, &err) == -1) {
		fprintf(stderr, "bench message refused: %s: %s\n",
		    errcode_name(err.code), err.text);
		doc = NULL;
	}
	free(buf);
	return doc;
}
