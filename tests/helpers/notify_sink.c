/*
 * notify_sink.c -- a stand-in for systemd's notification socket, for
 * tests/shell/systemd_notify.sh (no machine here runs systemd as PID 1).
 *
 * notify_sink [-r command] socket
 *
 * Binds an AF_UNIX datagram socket (a leading '@': the abstract
 * namespace, as NOTIFY_SOCKET spells it) and prints each datagram as it
 * arrives, until killed: "# pid N" (its sender, from SCM_CREDENTIALS: under
 * NotifyAccess=main systemd hears the main pid only), then each of its
 * lines on a line of its own.  With -r,
 * the first datagram that holds READY=1 runs `sh -c command` before
 * anything else is read, and "ready-check: exit N" is printed: what the
 * daemon claims (ready) is checked while it can still be wrong.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
sink_ready_in(const char *buf)
{
	const char *p;

	for (p = buf; (p = strstr(p, "READY=1")) != NULL; p++)
		if ((p == buf || p[-1] == '\n') &&
		    (p[7] == '\0' || p[7] == '\n'))
			return 1;
	return 0;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un sun;
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *cm;
	struct ucred cred;
	union {
		struct cmsghdr	align;
		char		buf[CMSG_SPACE(sizeof(struct ucred))];
	} cbuf;
	const char *check = NULL, *path;
	char buf[4096];
	socklen_t slen;
	ssize_t n;
	int ch, fd, status, checked = 0, on = 1;
	long pid;

	while ((ch = getopt(argc, argv, "r:")) != -1) {
		switch (ch) {
		case 'r':
			check = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	path = argv[optind];
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "notify_sink: %s: too long\n", path);
		return 1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	slen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	else {
		unlink(path);
		slen++;
	}
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, slen) == -1) {
		fprintf(stderr, "notify_sink: %s: %s\n", path, strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		memset(&msg, 0, sizeof(msg));
		iov.iov_base = buf;
		iov.iov_len = sizeof(buf) - 1;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = sizeof(cbuf.buf);
		n = recvmsg(fd, &msg, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fprintf(stderr, "notify_sink: recvmsg: %s\n",
			    strerror(errno));
			return 1;
		}
		buf[n] = '\0';
		pid = -1;
		for (cm = CMSG_FIRSTHDR(&msg); cm != NULL;
		    cm = CMSG_NXTHDR(&msg, cm))
			if (cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SCM_CREDENTIALS) {
				memcpy(&cred, CMSG_DATA(cm), sizeof(cred));
				pid = (long)cred.pid;
			}
		printf("# pid %ld\n", pid);
		printf("%s%s", buf, n > 0 && buf[n - 1] == '\n' ? "" : "\n");
		fflush(stdout);
		if (check != NULL && !checked && sink_ready_in(buf)) {
			checked = 1;
			status = system(check);
			printf("ready-check: exit %d\n", WIFEXITED(status) ?
			    WEXITSTATUS(status) : 128);
			fflush(stdout);
		}
	}
usage:
	fprintf(stderr, "usage: notify_sink [-r command] socket\n");
	return 2;
}
