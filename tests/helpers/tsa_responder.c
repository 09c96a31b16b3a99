/*
 * tsa_responder.c -- a local RFC 3161 time-stamp authority for the tests
 * (tests/shell/timestamp.sh): HTTP on 127.0.0.1, one request at a time,
 * each POST body a TimeStampReq answered by OpenSSL's TS API with the
 * key and certificate given (application/timestamp-reply).
 *
 *	tsa_responder -k KEY -c CERT [-p PORT] [-P PORTFILE] [-m MODE]
 *
 * PORT 0 (the default) takes a free port; PORTFILE gets the port once
 * listening.  MODE: "ok" (the default), "500" (answer HTTP 500), "bad"
 * (answer 200 with bytes that are no TimeStampResp).  Runs until killed;
 * one line on stdout per request answered.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#define REQ_MAX		(64 * 1024)

static void
usage(void)
{
	fprintf(stderr, "usage: tsa_responder -k KEY -c CERT [-p PORT] "
	    "[-P PORTFILE] [-m ok|500|bad]\n");
	exit(2);
}

/* Write all of len bytes.  @return 0, or -1. */
static int
write_all(int fd, const void *p, size_t len)
{
	const char *c = p;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, c, len)) <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read one HTTP request's body into buf.  @return its length, or -1. */
static ssize_t
read_request(int fd, char *buf, size_t cap)
{
	size_t have = 0, head = 0, clen = 0;
	char *end, *cl;
	ssize_t n;

	for (;;) {
		if (have == cap - 1)
			return -1;
		if ((n = read(fd, buf + have, cap - 1 - have)) <= 0)
			return -1;
		have += (size_t)n;
		buf[have] = '\0';
		if (head == 0 && (end = strstr(buf, "\r\n\r\n")) != NULL) {
			head = (size_t)(end - buf) + 4;
			if ((cl = strcasestr(buf, "\r\nContent-Length:")) ==
			    NULL || cl > end)
				return -1;
			clen = strtoul(cl + 17, NULL, 10);
			if (clen > cap - 1 - head)
				return -1;
		}
		if (head != 0 && have >= head + clen) {
			memmove(buf, buf + head, clen);
			return (ssize_t)clen;
		}
	}
}

static void
answer(int fd, int status, const char *type, const void *body, size_t len)
{
	char h[256];
	int n;

	n = snprintf(h, sizeof(h), "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n", status,
	    status == 200 ? "OK" : "Error", type, len);
	if (write_all(fd, h, (size_t)n) == 0 && len > 0)
		write_all(fd, body, len);
}

int
main(int argc, char **argv)
{
	const char *keyf = NULL, *certf = NULL, *portf = NULL, *mode = "ok";
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	TS_RESP_CTX *ctx;
	TS_RESP *resp;
	EVP_PKEY *key;
	X509 *cert;
	ASN1_OBJECT *policy;
	BIO *b;
	FILE *fp;
	char *buf;
	unsigned char *der;
	ssize_t len;
	long served = 0;
	int ch, s, c, port = 0, one = 1, dlen;

	while ((ch = getopt(argc, argv, "k:c:p:P:m:")) != -1) {
		switch (ch) {
		case 'k': keyf = optarg; break;
		case 'c': certf = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'P': portf = optarg; break;
		case 'm': mode = optarg; break;
		default: usage();
		}
	}
	if (keyf == NULL || certf == NULL)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if ((fp = fopen(keyf, "r")) == NULL ||
	    (key = PEM_read_PrivateKey(fp, NULL, NULL, NULL)) == NULL) {
		fprintf(stderr, "tsa_responder: %s: no key\n", keyf);
		return 1;
	}
	fclose(fp);
	if ((fp = fopen(certf, "r")) == NULL ||
	    (cert = PEM_read_X509(fp, NULL, NULL, NULL)) == NULL) {
		fprintf(stderr, "tsa_responder: %s: no certificate\n", certf);
		return 1;
	}
	fclose(fp);
	policy = OBJ_txt2obj("1.3.6.1.4.1.99999.1.1", 1);
	if ((ctx = TS_RESP_CTX_new()) == NULL ||
	    TS_RESP_CTX_set_signer_cert(ctx, cert) != 1 ||
	    TS_RESP_CTX_set_signer_key(ctx, key) != 1 ||
	    TS_RESP_CTX_set_signer_digest(ctx, EVP_sha256()) != 1 ||
	    TS_RESP_CTX_set_def_policy(ctx, policy) != 1 ||
	    TS_RESP_CTX_add_md(ctx, EVP_sha256()) != 1 ||
	    TS_RESP_CTX_set_accuracy(ctx, 1, 0, 0) != 1) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(s, 16) == -1 ||
	    getsockname(s, (struct sockaddr *)&sa, &salen) == -1) {
		perror("tsa_responder: bind");
		return 1;
	}
	if (portf != NULL) {
		if ((fp = fopen(portf, "w")) == NULL)
			return 1;
		fprintf(fp, "%d\n", ntohs(sa.sin_port));
		fclose(fp);
	}
	buf = malloc(REQ_MAX);
	for (;;) {
		if ((c = accept(s, NULL, NULL)) == -1)
			continue;
		if ((len = read_request(c, buf, REQ_MAX)) < 0) {
			answer(c, 400, "text/plain", "", 0);
			close(c);
			continue;
		}
		if (strcmp(mode, "500") == 0)
			answer(c, 500, "text/plain", "down\n", 5);
		else if (strcmp(mode, "bad") == 0)
			answer(c, 200, "application/timestamp-reply",
			    "not a reply", 11);
		else {
			b = BIO_new_mem_buf(buf, (int)len);
			resp = TS_RESP_create_response(ctx, b);
			BIO_free(b);
			der = NULL;
			if (resp == NULL ||
			    (dlen = i2d_TS_RESP(resp, &der)) <= 0)
				answer(c, 500, "text/plain", "", 0);
			else
				answer(c, 200, "application/timestamp-reply",
				    der, (size_t)dlen);
			OPENSSL_free(der);
			TS_RESP_free(resp);
		}
		close(c);
		printf("answered request %ld (%s)\n", ++served, mode);
		fflush(stdout);
	}
}
