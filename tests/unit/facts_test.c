/*
 * facts_test.c: launcher/facts.h: what a host gathers about itself (the
 * port reservation really holds the ports, the program check says what
 * execvp would), and the "h" record's JSON, decoded strictly.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "facts.h"
#include "muster.h"
#include "test.h"
#include "util.h"

/* Binds a fresh socket to port on every address: 0, or the errno. */
static int
try_bind(int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), e = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		e = errno;
	close(fd);
	return e;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Every field, all local; the ports are held until released, then free. */
static void
test_gather(void)
{
	struct lch_facts_req rq = { NULL, NULL, 3, NULL, NULL };
	struct lch_facts f;
	char err[256] = "", host[256] = "";
	long long t0 = now_ms();
	int i;

	CHECK_INT(lch_facts_gather(&rq, &f, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_STR(f.net.addr, "127.0.0.1");
	CHECK_STR(f.version, MUSTER_VERSION_STRING);
	gethostname(host, sizeof(host) - 1);
	CHECK_STR(f.host, host);
	CHECK_INT(f.cpus, sysconf(_SC_NPROCESSORS_ONLN));
	CHECK(f.time_ms >= t0 && f.time_ms <= now_ms());
	CHECK_INT(f.prog_ok, 0);
	CHECK_INT(f.nports, 3);
	for (i = 0; i < 3; i++) {
		CHECK(f.ports[i] > 0 && f.ports[i] < 65536);
		CHECK(f.ports[i] != f.ports[(i + 1) % 3]);
		/* held: nobody else binds it; CLOEXEC: workers do not keep it */
		CHECK_INT(try_bind(f.ports[i]), EADDRINUSE);
		CHECK(fcntl(f.port_fds[i], F_GETFD) & FD_CLOEXEC);
	}
	lch_facts_free_ports(&f);
	CHECK(f.port_fds == NULL);
	CHECK_INT(f.nports, 3);	/* the numbers stay: the head needs them */
	for (i = 0; i < 3; i++)
		CHECK_INT(try_bind(f.ports[i]), 0);
	lch_facts_free_ports(&f);	/* twice is harmless */
	lch_facts_release(&f);
	CHECK(f.ports == NULL);
}

/* Reserved, not listening: a connection to the port is refused. */
static void
test_not_listening(void)
{
	struct lch_facts_req rq = { NULL, NULL, 1, NULL, NULL };
	struct sockaddr_in sa;
	struct lch_facts f;
	char err[256];
	int fd;

	CHECK_INT(lch_facts_gather(&rq, &f, err, sizeof(err)), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((unsigned short)f.ports[0]);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0);
	CHECK_INT(errno, ECONNREFUSED);
	close(fd);
	lch_facts_release(&f);
}

static void
test_bad_requests(void)
{
	struct lch_facts_req rq = { NULL, NULL, LCH_FACTS_PORTS_MAX + 1, NULL,
	    NULL };
	struct lch_facts f;
	char err[256] = "";

	CHECK_INT(lch_facts_gather(&rq, &f, err, sizeof(err)), -1);
	CHECK_STR(err, "4097 ports asked for: expected 0 to 4096");
	rq.nports = -1;
	CHECK_INT(lch_facts_gather(&rq, &f, err, sizeof(err)), -1);
	rq.nports = 1;
	rq.iface = "nosuch9";
	err[0] = '\0';
	CHECK_INT(lch_facts_gather(&rq, &f, err, sizeof(err)), -1);
	CHECK_(strstr(err, "nosuch9") != NULL, "err names the interface: %s",
	    err);
	CHECK(f.ports == NULL && f.port_fds == NULL);
	rq.iface = "lo";
	CHECK_INT(lch_facts_gather(&rq, &f, err, sizeof(err)), 0);
	CHECK_STR(f.net.addr, "127.0.0.1");
	CHECK_STR(f.net.ifname, "lo");
	lch_facts_release(&f);
}

/* prog_ok and prog_msg for program, run in cwd with PATH path. */
static void
check_prog(const char *program, const char *cwd, const char *path, int want,
	   const char *msg)
{
	struct lch_facts_req rq = { NULL, NULL, 0, program, cwd };
	struct lch_facts f;
	char err[256];

	if (path)
		setenv("PATH", path, 1);
	else
		unsetenv("PATH");
	CHECK_INT(lch_facts_gather(&rq, &f, err, sizeof(err)), 0);
	CHECK_(f.prog_ok == want, "%s: prog_ok %d, want %d (%s)", program,
	    f.prog_ok, want, f.prog_msg);
	CHECK_STR(f.prog_msg, msg);
	lch_facts_release(&f);
}

static void
write_file(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	CHECK(fd >= 0);
	CHECK(write(fd, "#!/bin/sh\n", 10) == 10);
	close(fd);
	chmod(path, mode);
}

/* As execvp would: a path as is (from cwd), a name through PATH. */
static void
test_program(void)
{
	char dir[] = "/tmp/facts_test.XXXXXX", *p[8];
	int i;

	CHECK(mkdtemp(dir) != NULL);
	p[0] = lch_xasprintf("%s/a", dir);
	p[1] = lch_xasprintf("%s/b", dir);
	p[2] = lch_xasprintf("%s/sub", dir);
	CHECK(mkdir(p[0], 0755) == 0 && mkdir(p[1], 0755) == 0 &&
	    mkdir(p[2], 0755) == 0);
	p[3] = lch_xasprintf("%s/a/prog", dir);
	write_file(p[3], 0644);		/* not executable in a/ */
	p[4] = lch_xasprintf("%s/b/prog", dir);
	write_file(p[4], 0755);		/* executable in b/ */
	p[5] = lch_xasprintf("%s/run", dir);
	write_file(p[5], 0755);
	p[6] = lch_xasprintf("%s:%s", p[0], p[1]);

	check_prog("prog", NULL, p[6], 0, p[4]);	/* a/'s is passed over */
	p[7] = lch_xasprintf("'prog': not executable (%s: Permission denied)",
	    p[3]);
	check_prog("prog", NULL, p[0], 126, p[7]);
	free(p[7]);
	check_prog("prog", NULL, "/nonexistent", 127,
	    "'prog': not found in PATH");
	check_prog("sh", NULL, NULL, 0, "/bin/sh");	/* PATH unset */
	/* a relative path is taken from cwd, not from ours */
	check_prog("./run", dir, "/bin", 0, p[5]);
	check_prog("./run", p[0], "/bin", 127,
	    "'./run': No such file or directory");
	check_prog(p[5], "/", "/bin", 0, p[5]);
	check_prog("a/prog", dir, "/bin", 126,
	    "'a/prog': not executable (Permission denied)");
	check_prog("sub", dir, "/bin", 127, "'sub': not found in PATH");
	check_prog("", dir, "/bin", 127,
	    "'': not found (an empty program name)");
	/* an empty PATH entry is the folder the program runs in */
	check_prog("run", dir, "/nonexistent:", 0, p[5]);
	p[7] = lch_xasprintf("'sub': not executable (%s: Is a directory)",
	    p[2]);
	check_prog("sub", dir, ":/nonexistent", 126, p[7]);
	free(p[7]);
	p[7] = lch_xasprintf("'%s': not executable (Is a directory)", p[2]);
	check_prog(p[2], NULL, "/bin", 126, p[7]);
	free(p[7]);
	for (i = 5; i >= 0; i--) {
		(void)remove(p[i]);
		free(p[i]);
	}
	free(p[6]);
	(void)rmdir(dir);
}

static struct lch_facts
sample(void)
{
	struct lch_facts f;
	static int ports[] = { 1, 40000, 65535 };

	memset(&f, 0, sizeof(f));
	strcpy(f.net.addr, "10.200.0.3");
	strcpy(f.net.ifname, "eth1");
	f.nports = 3;
	f.ports = ports;
	strcpy(f.version, "0.1.0");
	strcpy(f.host, "h3");
	f.cpus = 16;
	f.time_ms = 1764590000123LL;
	f.prog_ok = 126;
	strcpy(f.prog_msg, "'x': not \"executable\"");
	return f;
}

/* What the agent encodes, the head decodes to the same facts. */
static void
test_roundtrip(void)
{
	struct lch_facts f = sample(), g;
	char *s = lch_facts_encode(&f);

	CHECK(strchr(s, '\n') == NULL);
	CHECK_INT(lch_facts_decode(s, strlen(s), &g), 0);
	CHECK_STR(g.net.addr, "10.200.0.3");
	CHECK_STR(g.net.ifname, "eth1");
	CHECK_INT(g.nports, 3);
	CHECK_INT(g.ports[0], 1);
	CHECK_INT(g.ports[1], 40000);
	CHECK_INT(g.ports[2], 65535);
	CHECK(g.port_fds == NULL);
	CHECK_STR(g.version, "0.1.0");
	CHECK_STR(g.host, "h3");
	CHECK_INT(g.cpus, 16);
	CHECK_INT(g.time_ms, 1764590000123LL);
	CHECK_INT(g.prog_ok, 126);
	CHECK_STR(g.prog_msg, "'x': not \"executable\"");
	lch_facts_release(&g);
	free(s);
	/* no ports, no program: still whole */
	f.nports = 0;
	f.prog_ok = 0;
	f.prog_msg[0] = '\0';
	s = lch_facts_encode(&f);
	CHECK_INT(lch_facts_decode(s, strlen(s), &g), 0);
	CHECK_INT(g.nports, 0);
	lch_facts_release(&g);
	free(s);
}

static int
dec(const char *json)
{
	struct lch_facts g;
	int rc = lch_facts_decode(json, strlen(json), &g);

	CHECK(rc != 0 || g.ports != NULL);
	lch_facts_release(&g);
	return rc;
}

#define GOOD_HEAD "{\"addr\":\"10.0.0.1\",\"ifname\":\"eth0\",\"ports\":[5]," \
	"\"version\":\"0.1.0\",\"host\":\"h\",\"cpus\":1"
#define GOOD GOOD_HEAD ",\"time_ms\":5}"

/* Strict: a wrong type, a missing field, a bad value: -1, never a guess. */
static void
test_decode_strict(void)
{
	static const char *bad[] = {
		"", "null", "[]", "\"x\"", "{", GOOD "x", GOOD "{}",
		GOOD_HEAD "}",					/* no time_ms */
		"{\"ifname\":\"eth0\",\"ports\":[],\"version\":\"0\","
		    "\"host\":\"h\",\"cpus\":1,\"time_ms\":5}",	/* no addr */
		GOOD_HEAD ",\"time_ms\":\"5\"}",
		GOOD_HEAD ",\"time_ms\":5.5}",
		GOOD_HEAD ",\"time_ms\":1e300}",
		GOOD_HEAD ",\"time_ms\":5,\"prog\":\"0\"}",
		GOOD_HEAD ",\"time_ms\":5,\"prog\":1}",
		GOOD_HEAD ",\"time_ms\":5,\"prog_msg\":7}",
		"{\"addr\":\"h1\",\"ifname\":\"eth0\",\"ports\":[5],"
		    "\"version\":\"0.1.0\",\"host\":\"h\",\"cpus\":1,"
		    "\"time_ms\":5}",
		"{\"addr\":7,\"ifname\":\"eth0\",\"ports\":[5],"
		    "\"version\":\"0.1.0\",\"host\":\"h\",\"cpus\":1,"
		    "\"time_ms\":5}",
		"{\"addr\":\"10.0.0.1\",\"ifname\":\"eth0123456789abcdef\","
		    "\"ports\":[5],\"version\":\"0.1.0\",\"host\":\"h\","
		    "\"cpus\":1,\"time_ms\":5}",
		"{\"addr\":\"10.0.0.1\",\"ifname\":\"eth0\",\"ports\":5,"
		    "\"version\":\"0.1.0\",\"host\":\"h\",\"cpus\":1,"
		    "\"time_ms\":5}",
		"{\"addr\":\"10.0.0.1\",\"ifname\":\"eth0\",\"ports\":[0],"
		    "\"version\":\"0.1.0\",\"host\":\"h\",\"cpus\":1,"
		    "\"time_ms\":5}",
		"{\"addr\":\"10.0.0.1\",\"ifname\":\"eth0\",\"ports\":[65536],"
		    "\"version\":\"0.1.0\",\"host\":\"h\",\"cpus\":1,"
		    "\"time_ms\":5}",
		"{\"addr\":\"10.0.0.1\",\"ifname\":\"eth0\",\"ports\":[\"5\"],"
		    "\"version\":\"0.1.0\",\"host\":\"h\",\"cpus\":1,"
		    "\"time_ms\":5}",
		"{\"addr\":\"10.0.0.1\",\"ifname\":\"eth0\",\"ports\":[5],"
		    "\"version\":1,\"host\":\"h\",\"cpus\":1,\"time_ms\":5}",
		"{\"addr\":\"10.0.0.1\",\"ifname\":\"eth0\",\"ports\":[5],"
		    "\"version\":\"0.1.0\",\"host\":[],\"cpus\":1,"
		    "\"time_ms\":5}",
		"{\"addr\":\"10.0.0.1\",\"ifname\":\"eth0\",\"ports\":[5],"
		    "\"version\":\"0.1.0\",\"host\":\"h\",\"cpus\":-1,"
		    "\"time_ms\":5}",
		"{\"addr\":\"10.0.0.1\",\"ifname\":\"eth0\",\"ports\":[5],"
		    "\"version\":\"0.1.0\",\"host\":\"h\",\"cpus\":true,"
		    "\"time_ms\":5}",
		NULL
	};
	struct lch_facts g;
	char *big;
	int i;

	CHECK_INT(dec(GOOD), 0);
	CHECK_INT(dec(GOOD "\n"), 0);
	/* an unknown key is a newer muster's: ignored */
	CHECK_INT(dec(GOOD_HEAD ",\"time_ms\":5,\"gpus\":8}"), 0);
	for (i = 0; bad[i]; i++)
		CHECK_(dec(bad[i]) == -1, "bad[%d] decoded: %s", i, bad[i]);
	/* a NUL inside the given length */
	CHECK_INT(lch_facts_decode(GOOD "\0", sizeof(GOOD), &g), -1);
	/* a host name longer than the struct holds: refused, not cut */
	big = lch_xasprintf("{\"addr\":\"10.0.0.1\",\"ifname\":\"e\","
	    "\"ports\":[],\"version\":\"0\",\"host\":\"%0300d\",\"cpus\":1,"
	    "\"time_ms\":5}", 0);
	CHECK_INT(dec(big), -1);
	free(big);
}

TEST_LIST = {
	{ "gather", test_gather },
	{ "not_listening", test_not_listening },
	{ "bad_requests", test_bad_requests },
	{ "program", test_program },
	{ "roundtrip", test_roundtrip },
	{ "decode_strict", test_decode_strict },
	{ NULL, NULL }
};
