/*
 * dial_test.c: launcher/dial.h: the head's listening socket and token,
 * the first line's checks, and an agent that dials in over a real TCP
 * connection and then speaks on its stdin and stdout.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dial.h"
#include "slurm.h"
#include "test.h"
#include "util.h"

#define TOK "0123456789abcdef0123456789abcdef"

static void
test_token(void)
{
	char a[LCH_DIAL_TOKEN_LEN + 1], b[LCH_DIAL_TOKEN_LEN + 1];

	CHECK_INT(lch_dial_token(a), 0);
	CHECK_INT(lch_dial_token(b), 0);
	CHECK_INT(strlen(a), LCH_DIAL_TOKEN_LEN);
	CHECK_INT(strspn(a, "0123456789abcdef"), LCH_DIAL_TOKEN_LEN);
	CHECK(strcmp(a, b) != 0);
}

static void
test_listen(void)
{
	char err[256];
	int port = 0, fd;

	fd = lch_dial_listen("127.0.0.1", &port, err, sizeof(err));
	CHECK(fd >= 0);
	CHECK(port > 0 && port < 65536);
	close(fd);
	CHECK_INT(lch_dial_listen("n1", &port, err, sizeof(err)), -1);
	CHECK_STR(err, "'n1': not an IPv4 address");
	CHECK_INT(lch_dial_listen("10.254.254.254", &port, err, sizeof(err)),
	    -1);	/* not ours */
	CHECK(strstr(err, "cannot listen on 10.254.254.254") != NULL);
}

static int
check(const char *line, char *host, char *err)
{
	return lch_dial_check(line, strlen(line), TOK, host, 64, err, 160);
}

static void
test_check(void)
{
	char host[64], err[160];

	CHECK_INT(check("{\"dial\":1,\"token\":\"" TOK "\",\"host\":\"n3\","
	    "\"pid\":5}", host, err), 0);
	CHECK_STR(host, "n3");
	CHECK_INT(check("{\"dial\":1,\"token\":\"" TOK "0\",\"host\":\"n3\"}",
	    host, err), -1);
	CHECK_STR(err, "wrong token");
	CHECK_INT(check("{\"dial\":1,\"token\":\"1123456789abcdef0123456789"
	    "abcdef\",\"host\":\"n3\"}", host, err), -1);
	CHECK_STR(err, "wrong token");
	CHECK_INT(check("{\"dial\":1,\"token\":7,\"host\":\"n3\"}", host, err),
	    -1);
	CHECK_STR(err, "wrong token");
	CHECK_INT(check("{\"token\":\"" TOK "\",\"host\":\"n3\"}", host, err),
	    -1);
	CHECK_STR(err, "its first line has no \"dial\":1");
	CHECK_INT(check("{\"dial\":1,\"token\":\"" TOK "\"}", host, err), -1);
	CHECK_STR(err, "no \"host\" (a node name)");
	CHECK_INT(check("{\"dial\":1,\"token\":\"" TOK "\",\"host\":\"\"}",
	    host, err), -1);
	CHECK_INT(check("GET / HTTP/1.0", host, err), -1);
	CHECK_STR(err, "its first line is not a JSON object");
	CHECK_INT(check("[1]", host, err), -1);
	CHECK_INT(lch_dial_check("{\"dial\":1}", 4, TOK, host, 64, err, 160),
	    -1);
}

/* Reads one line from fd (at most len - 1 bytes). */
static void
read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len && read(fd, buf + n, 1) == 1 && buf[n] != '\n')
		n++;
	buf[n] = '\0';
}

static void
test_agent(void)
{
	char err[256], line[512], host[64];
	int port, lfd, fd, st;
	pid_t pid;

	lfd = lch_dial_listen("127.0.0.1", &port, err, sizeof(err));
	CHECK(lfd >= 0);
	(void)fcntl(lfd, F_SETFL, 0);
	snprintf(line, sizeof(line), "127.0.0.1:%d", port);
	pid = fork();
	if (pid == 0) {
		char got[64];

		setenv(LCH_DIAL_TOKEN_ENV, TOK, 1);
		if (lch_dial_agent(line, "n7") != 0)
			_exit(3);
		/* now stdin and stdout are the connection */
		printf("env %s\n", getenv(LCH_DIAL_TOKEN_ENV) ?
		    getenv(LCH_DIAL_TOKEN_ENV) : "unset");
		fflush(stdout);
		read_line(0, got, sizeof(got));
		printf("echo %s\n", got);
		fflush(stdout);
		_exit(0);
	}
	fd = accept(lfd, NULL, NULL);
	CHECK(fd >= 0);
	read_line(fd, line, sizeof(line));
	CHECK_INT(lch_dial_check(line, strlen(line), TOK, host, sizeof(host),
	    err, sizeof(err)), 0);
	CHECK_STR(host, "n7");
	CHECK(strstr(line, "\"pid\":") != NULL);
	read_line(fd, line, sizeof(line));
	CHECK_STR(line, "env unset");	/* not passed on to the workers */
	CHECK(write(fd, "HELLO\n", 6) == 6);
	read_line(fd, line, sizeof(line));
	CHECK_STR(line, "echo HELLO");
	CHECK_INT(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(fd);
	close(lfd);
}

/* Runs lch_dial_agent(where) without a token or with a bad address. */
static void
test_agent_bad(void)
{
	int po[2], st;
	char err[512];
	pid_t pid;
	ssize_t n;

	CHECK_INT(pipe(po), 0);
	pid = fork();
	if (pid == 0) {
		dup2(po[1], 2);
		unsetenv(LCH_DIAL_TOKEN_ENV);
		if (lch_dial_agent("127.0.0.1:9", "n2") == 0)
			_exit(0);
		setenv(LCH_DIAL_TOKEN_ENV, TOK, 1);
		if (lch_dial_agent("n1-9", "n2") == 0 ||
		    lch_dial_agent("127.0.0.1:70000", "n2") == 0)
			_exit(0);
		_exit(5);
	}
	close(po[1]);
	n = read(po[0], err, sizeof(err) - 1);
	err[n > 0 ? n : 0] = '\0';
	while (n > 0 && strstr(err, "70000") == NULL) {
		ssize_t more = read(po[0], err + strlen(err),
		    sizeof(err) - 1 - strlen(err));

		if (more <= 0)
			break;
		err[strlen(err) + (size_t)more] = '\0';
	}
	close(po[0]);
	CHECK_INT(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 5);
	CHECK(strstr(err, "muster: n2: --dial: no MUSTER_AGENT_TOKEN in the "
	    "environment\n") != NULL);
	CHECK(strstr(err, "muster: n2: --dial 'n1-9': expected ADDR:PORT\n")
	    != NULL);
	CHECK(strstr(err, "muster: n2: --dial '127.0.0.1:70000': expected "
	    "ADDR:PORT\n") != NULL);
}

TEST_LIST = {
	{ "token", test_token },
	{ "listen", test_listen },
	{ "check", test_check },
	{ "agent", test_agent },
	{ "agent_bad", test_agent_bad },
	{ NULL, NULL }
};
