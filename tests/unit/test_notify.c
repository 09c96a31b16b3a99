/*
 * test_notify.c -- what the root parent passes on to systemd of what the
 * engine sends it (programs/accordd_notify.c, issue 17 item 2).  Under
 * NotifyAccess=main systemd believes the parent alone; an engine taken
 * over by partner input must not be able to speak through it: a status
 * line with a newline could set MAINPID= or STOPPING=, an answer to no
 * ping would be a keep-alive the engine gives itself, an unknown frame
 * must change nothing.  Here a forked child plays that engine against
 * the real parent code, and the test's own datagram socket plays
 * systemd.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "programs/accordd_notify.h"
#include "util/frame.h"

static void
test_clean(void **state)
{
	char out[16];

	(void)state;
	accordd_notify_clean("a\nMAINPID=1", out, sizeof(out));
	assert_string_equal(out, "a MAINPID=1");
	accordd_notify_clean("tab\there\r\x7f!", out, sizeof(out));
	assert_string_equal(out, "tab here  !");
	accordd_notify_clean("0123456789abcdefghij", out, sizeof(out));
	assert_string_equal(out, "0123456789abcde");
}

/* The hostile engine: answers the ping with a status that tries to
 * set MAINPID, adds an answer to no ping, a frame of no known type and
 * a reload report that tries STOPPING=1, then waits to be killed. */
static void __attribute__((noreturn))
hostile_engine(void)
{
	static const char pong[] = "serving 1 partner\nMAINPID=1";
	static const char reloaded[] = "1reloaded\nSTOPPING=1";
	char *buf;
	uint32_t type;
	size_t len;
	int fd;

	accordd_notify_engine();
	fd = accordd_notify_fd();
	if (frame_read(fd, &type, &buf, &len, 64) != 1 || type != NOTIFY_PING)
		_exit(2);
	free(buf);
	if (frame_write(fd, NOTIFY_PONG, pong, sizeof(pong) - 1) == -1 ||
	    frame_write(fd, NOTIFY_PONG, "unasked", 7) == -1 ||
	    frame_write(fd, 99, "READY=1", 7) == -1 ||
	    frame_write(fd, NOTIFY_RELOADED, reloaded,
	    sizeof(reloaded) - 1) == -1)
		_exit(3);
	pause();
	_exit(0);
}

static volatile sig_atomic_t alarmed;

static void
on_alarm(int sig)
{
	(void)sig;
	alarmed = 1;
}

static void
test_parent_passes_on_only_clean_lines(void **state)
{
	struct sockaddr_un sun;
	struct sigaction sa;
	char name[64], dgram[512], all[2048] = "";
	socklen_t slen;
	ssize_t n;
	pid_t child, pid;
	int fd, status, ndgram = 0;

	(void)state;
	/* systemd's socket, in the abstract namespace */
	snprintf(name, sizeof(name), "@accord-test-notify-%ld",
	    (long)getpid());
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, name, strlen(name));
	sun.sun_path[0] = '\0';
	slen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(name));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(fd != -1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, slen), 0);
	setenv("NOTIFY_SOCKET", name, 1);
	unsetenv("WATCHDOG_USEC");

	assert_int_equal(accordd_notify_pair(), 0);
	if ((child = fork()) == 0)
		hostile_engine();
	assert_true(child > 0);
	accordd_notify_parent();

	/* SIGALRM, one the parent waits for, ends its wait once the
	 * child's frames are read */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	while (!alarmed) {
		pid = accordd_notify_waitpid(&status);
		assert_true(pid == -1 && errno == EINTR);
	}
	kill(child, SIGKILL);
	while ((pid = accordd_notify_waitpid(&status)) == -1 &&
	    errno == EINTR)
		;
	assert_int_equal(pid, child);

	while ((n = recv(fd, dgram, sizeof(dgram) - 1, 0)) > 0) {
		dgram[n] = '\0';
		strncat(all, dgram, sizeof(all) - strlen(all) - 2);
		strcat(all, "\n");
		ndgram++;
	}
	close(fd);
	/* READY=1 for the answer, READY=1 for the reload; nothing for the
	 * unasked answer or the unknown frame */
	assert_int_equal(ndgram, 2);
	assert_string_equal(all,
	    "READY=1\nSTATUS=serving 1 partner MAINPID=1\n"
	    "READY=1\nSTATUS=reloaded STOPPING=1\n");
	assert_null(strstr(all, "\nMAINPID="));
	assert_null(strstr(all, "\nSTOPPING="));
	assert_null(strstr(all, "WATCHDOG=1"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_parent_passes_on_only_clean_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
