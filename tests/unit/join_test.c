/*
 * join_test.c: launcher/join.h: the join URL, the MAC (against Python's
 * hashlib.blake2b), the joiner's answer and its checks, the head's lines,
 * secret files, and the head's join port over real TCP: the nonce, an
 * answer, the verdict, a joiner that leaves.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "elastic.h"
#include "join.h"
#include "options.h"
#include "test.h"
#include "util.h"

#define NONCE "abababababababababababababababababababababababababababababababab"

static char err[512];

static void
test_url(void)
{
	char host[64];
	long port = 0;

	CHECK_INT(lch_join_url("tcp://10.0.0.1:4000", host, sizeof(host),
	    &port, err, sizeof(err)), 0);
	CHECK_STR(host, "10.0.0.1");
	CHECK_INT(port, 4000);
	CHECK_INT(lch_join_url("node7:9", host, sizeof(host), &port, err,
	    sizeof(err)), 0);
	CHECK_STR(host, "node7");
	CHECK_INT(lch_join_url("http://a:1", host, sizeof(host), &port, err,
	    sizeof(err)), -1);
	CHECK_STR(err, "--join 'http://a:1': expected tcp://HOST:PORT");
	CHECK_INT(lch_join_url("tcp://a", host, sizeof(host), &port, err,
	    sizeof(err)), -1);
	CHECK_INT(lch_join_url("tcp://:5", host, sizeof(host), &port, err,
	    sizeof(err)), -1);
	CHECK_INT(lch_join_url("tcp://a:0", host, sizeof(host), &port, err,
	    sizeof(err)), -1);
	CHECK_INT(lch_join_url("tcp://a:65536", host, sizeof(host), &port,
	    err, sizeof(err)), -1);
	CHECK_INT(lch_join_url("tcp://-oProxy:5", host, sizeof(host), &port,
	    err, sizeof(err)), -1);
	CHECK_INT(lch_join_url("", host, sizeof(host), &port, err,
	    sizeof(err)), -1);
}

static void
test_mac(void)
{
	unsigned char k[LCH_JOIN_KEY_LEN], k2[LCH_JOIN_KEY_LEN];
	char mac[65], other[65];

	lch_join_key("s3cret", 6, k);
	lch_join_mac(k, NONCE, "h2", 4, mac);
	/* hashlib.blake2b(MSG, key=blake2b(b"s3cret", digest_size=32)
	   .digest(), digest_size=32) */
	CHECK_STR(mac, "cc9836e1ced6b5774510c157067aa916e0f112ef3a2d2f08ab8ac"
	    "00f53ec62d5");
	lch_join_mac(k, NONCE, "h3", 4, other);
	CHECK(strcmp(mac, other) != 0);
	lch_join_mac(k, NONCE, "h2", 5, other);
	CHECK(strcmp(mac, other) != 0);
	lch_join_mac(k, "cd", "h2", 4, other);
	CHECK(strcmp(mac, other) != 0);
	lch_join_key("s3cres", 6, k2);
	lch_join_mac(k2, NONCE, "h2", 4, other);
	CHECK(strcmp(mac, other) != 0);
}

/* Checks line (the joiner's answer) against key k for job "job1". */
static int
check(const unsigned char *k, const char *line, char *host, long *slots)
{
	return lch_join_check(line, strlen(line), k, NONCE, "job1", host, 64,
	    slots, err, sizeof(err));
}

static void
test_check(void)
{
	unsigned char k[LCH_JOIN_KEY_LEN], bad[LCH_JOIN_KEY_LEN];
	char host[64], mac[65], *a, line[400];
	long slots = 0;

	lch_join_key("s3cret", 6, k);
	lch_join_key("wrong", 5, bad);
	a = lch_join_answer(k, NONCE, "h2", 4, NULL);
	CHECK_INT(check(k, a, host, &slots), 0);
	CHECK_STR(host, "h2");
	CHECK_INT(slots, 4);
	CHECK(strstr(a, "s3cret") == NULL);	/* never the secret */
	CHECK_INT(check(bad, a, host, &slots), -1);
	CHECK_STR(err, "wrong secret (its MAC does not match the job's "
	    "secret file)");
	free(a);
	a = lch_join_answer(k, NONCE, "h2", -1, "job1");
	CHECK_INT(check(k, a, host, &slots), 0);
	CHECK_INT(slots, -1);
	free(a);
	a = lch_join_answer(k, NONCE, "h2", -1, "job2");
	CHECK_INT(check(k, a, host, &slots), -1);
	CHECK_STR(err, "unknown job 'job2' (this is job job1)");
	free(a);
	/* a MAC made for h2 does not admit h3 */
	lch_join_mac(k, NONCE, "h2", 4, mac);
	snprintf(line, sizeof(line), "{\"join\":1,\"host\":\"h3\",\"slots\":4,"
	    "\"mac\":\"%s\"}", mac);
	CHECK_INT(check(k, line, host, &slots), -1);
	CHECK(strstr(err, "wrong secret") != NULL);
	snprintf(line, sizeof(line), "{\"join\":1,\"host\":\"h2\",\"slots\":4,"
	    "\"mac\":\"%.63s\"}", mac);
	CHECK_INT(check(k, line, host, &slots), -1);
	CHECK(strstr(err, "wrong secret") != NULL);
	CHECK_INT(check(k, "GET / HTTP/1.0", host, &slots), -1);
	CHECK(strstr(err, "a malformed answer") == err);
	CHECK_INT(check(k, "{\"join\":1,\"host\":\"h2\",\"slots\":0,\"mac\":"
	    "\"x\"}", host, &slots), -1);
	CHECK(strstr(err, "a malformed answer") == err);
	CHECK_INT(check(k, "{\"join\":1,\"host\":\"h2\",\"slots\":1.5,"
	    "\"mac\":\"x\"}", host, &slots), -1);
	CHECK_INT(check(k, "{\"join\":2,\"host\":\"h2\",\"slots\":1,\"mac\":"
	    "\"x\"}", host, &slots), -1);
	CHECK_INT(check(k, "{\"join\":1,\"host\":\"-oX\",\"slots\":1,\"mac\":"
	    "\"x\"}", host, &slots), -1);
	CHECK_STR(err, "host '-oX': expected a host name");
	CHECK_INT(check(k, "[]", host, &slots), -1);
}

static int
parse(const char *line, struct lch_join_msg *m)
{
	return lch_join_parse(line, strlen(line), m, err, sizeof(err));
}

static void
test_parse(void)
{
	struct lch_join_msg m;

	CHECK_INT(parse("{\"muster\":\"join\",\"v\":1,\"job\":\"j\",\"nonce\":"
	    "\"ab\"}", &m), 0);
	CHECK_INT(m.kind, LCH_JOIN_NONCE);
	CHECK_STR(m.nonce, "ab");
	CHECK_STR(m.job, "j");
	CHECK_INT(parse("{\"ok\":1,\"job\":\"j\"}", &m), 0);
	CHECK_INT(m.kind, LCH_JOIN_OK);
	CHECK_INT(parse("{\"error\":\"wrong secret\"}", &m), 0);
	CHECK_INT(m.kind, LCH_JOIN_ERROR);
	CHECK_STR(m.why, "wrong secret");
	CHECK_INT(parse("{\"start\":3,\"token\":\"t\",\"dial\":\"1.2.3.4:5\"}",
	    &m), 0);
	CHECK_INT(m.kind, LCH_JOIN_START);
	CHECK_INT(m.generation, 3);
	CHECK_STR(m.token, "t");
	CHECK_STR(m.dial, "1.2.3.4:5");
	CHECK_INT(parse("{\"end\":1,\"code\":3}", &m), 0);
	CHECK_INT(m.kind, LCH_JOIN_END);
	CHECK_INT(m.code, 3);
	CHECK_INT(parse("{\"end\":1,\"code\":256}", &m), -1);
	CHECK_INT(parse("{\"start\":1,\"token\":\"t\"}", &m), -1);
	CHECK_INT(parse("{\"muster\":\"join\",\"job\":\"j\"}", &m), -1);
	CHECK_INT(parse("{\"what\":1}", &m), -1);
	CHECK_INT(parse("not json", &m), -1);
	CHECK_STR(err, "a malformed line from the head: 'not json'");
}

static void
test_secret_file(void)
{
	char dir[] = "/tmp/join_test.XXXXXX", path[128], link[128], buf[600];
	struct stat st;
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/secret", dir);
	CHECK_INT(lch_join_secret_write(path, "abc", err, sizeof(err)), 0);
	CHECK_INT(stat(path, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0600);
	CHECK_INT(lch_join_secret_read(path, buf, sizeof(buf), err,
	    sizeof(err)), 3);
	CHECK_STR(buf, "abc");
	/* never over an existing file, nor through a link */
	CHECK_INT(lch_join_secret_write(path, "x", err, sizeof(err)), -1);
	CHECK(strstr(err, "File exists") != NULL);
	snprintf(link, sizeof(link), "%s/link", dir);
	CHECK_INT(symlink("/tmp/join_test_nowhere", link), 0);
	CHECK_INT(lch_join_secret_write(link, "x", err, sizeof(err)), -1);
	CHECK_INT(access("/tmp/join_test_nowhere", F_OK), -1);
	unlink(link);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	CHECK_INT(write(fd, "\n", 1), 1);
	close(fd);
	CHECK_INT(lch_join_secret_read(path, buf, sizeof(buf), err,
	    sizeof(err)), -1);
	CHECK(strstr(err, "empty") != NULL);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	memset(buf, 'a', sizeof(buf));
	CHECK_INT(write(fd, buf, sizeof(buf)), (long long)sizeof(buf));
	close(fd);
	CHECK_INT(lch_join_secret_read(path, buf, sizeof(buf), err,
	    sizeof(err)), -1);
	CHECK(strstr(err, "longer than 512 bytes") != NULL);
	unlink(path);
	CHECK_INT(lch_join_secret_read(path, buf, sizeof(buf), err,
	    sizeof(err)), -1);
	CHECK(strstr(err, "No such file") != NULL);
	rmdir(dir);
}

/* --- the join port, with a client here --- */

static int admitted, left_k = -1;

static int
admit(void *arg, const char *host, long slots, char *why, size_t len)
{
	(void)arg;
	(void)slots;
	if (strcmp(host, "taken") == 0) {
		snprintf(why, len, "host taken is a node of this job already");
		return -1;
	}
	admitted++;
	return 0;
}

static void
left(void *arg, int k)
{
	(void)arg;
	left_k = k;
}

/* Polls the port's fds and handles what came, for up to ms. */
static void
serve(struct lch_joinsrv *s, int ms)
{
	struct pollfd pfd[16];
	int n = lch_joinsrv_pollfds(s, pfd);

	if (poll(pfd, (nfds_t)n, ms) > 0)
		lch_joinsrv_events(s, pfd, n);
}

static int
connect_port(const char *url)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)atoi(strrchr(url, ':') + 1));
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	CHECK_INT(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* One line from fd, after serving s while it comes. */
static void
read_line(struct lch_joinsrv *s, int fd, char *buf, size_t len)
{
	size_t n = 0;
	int i;

	for (i = 0; i < 50 && (n == 0 || buf[n - 1] != '\n'); i++) {
		ssize_t r;

		serve(s, 20);
		while (n + 1 < len && (r = recv(fd, buf + n, 1,
		    MSG_DONTWAIT)) == 1 && buf[n] != '\n')
			n++;
		if (n + 1 < len && buf[n] == '\n')
			n++;
	}
	buf[n] = '\0';
}

/* A client answers the nonce as host with secret; the verdict line. */
static int
client(struct lch_joinsrv *s, const char *secret, const char *host,
       char *verdict, size_t len)
{
	unsigned char k[LCH_JOIN_KEY_LEN];
	struct lch_join_msg m;
	char line[600], *a;
	int fd = connect_port(s->url);

	read_line(s, fd, line, sizeof(line));
	CHECK_INT(lch_join_parse(line, strlen(line) - 1, &m, err,
	    sizeof(err)), 0);
	CHECK_INT(m.kind, LCH_JOIN_NONCE);
	CHECK_STR(m.job, "job1");
	CHECK_INT(strlen(m.nonce), 64);
	lch_join_key(secret, strlen(secret), k);
	a = lch_join_answer(k, m.nonce, host, 2, NULL);
	CHECK(write(fd, a, strlen(a)) == (ssize_t)strlen(a));
	CHECK(write(fd, "\n", 1) == 1);
	free(a);
	read_line(s, fd, verdict, len);
	return fd;
}

static void
test_port(void)
{
	struct lch_joinsrv s;
	char v[600];
	int fd, fd2, fd3;

	CHECK_INT(lch_joinsrv_open(&s, "127.0.0.1", "s3cret", 6, "job1", err,
	    sizeof(err)), 0);
	s.admit = admit;
	s.left = left;
	CHECK(strncmp(s.url, "tcp://127.0.0.1:", 16) == 0);
	fd = client(&s, "s3cret", "h2", v, sizeof(v));
	CHECK_STR(v, "{\"ok\":1,\"job\":\"job1\"}\n");
	CHECK_INT(admitted, 1);
	CHECK_INT(lch_joinsrv_find(&s, "h2"), 0);
	CHECK_INT(s.j[0].slots, 2);
	CHECK_STR(s.j[0].local, "127.0.0.1");
	fd2 = client(&s, "wrong", "h3", v, sizeof(v));
	CHECK(strstr(v, "{\"error\":\"wrong secret") == v);
	fd3 = client(&s, "s3cret", "taken", v, sizeof(v));
	CHECK_STR(v, "{\"error\":\"host taken is a node of this job "
	    "already\"}\n");
	CHECK_INT(admitted, 1);
	CHECK_INT(lch_joinsrv_find(&s, "h3"), -1);
	/* the start line, where its agent dials */
	CHECK_INT(lch_joinsrv_start(&s, 0, 1, "tok", 4321), 0);
	read_line(&s, fd, v, sizeof(v));
	CHECK_STR(v, "{\"start\":1,\"token\":\"tok\",\"dial\":"
	    "\"127.0.0.1:4321\"}\n");
	close(fd);	/* it leaves */
	serve(&s, 200);
	CHECK_INT(left_k, 0);
	CHECK_INT(s.j[0].fd, -1);
	CHECK_INT(lch_joinsrv_start(&s, 0, 2, "tok", 4321), -1);
	lch_joinsrv_end(&s, 3);
	lch_joinsrv_close(&s);
	close(fd2);
	close(fd3);
}

static void
test_end(void)
{
	struct lch_joinsrv s;
	char v[600];
	int fd;

	CHECK_INT(lch_joinsrv_open(&s, "127.0.0.1", "k", 1, "job1", err,
	    sizeof(err)), 0);
	fd = client(&s, "k", "h2", v, sizeof(v));
	CHECK(strstr(v, "\"ok\"") != NULL);
	lch_joinsrv_end(&s, 7);
	read_line(&s, fd, v, sizeof(v));
	CHECK_STR(v, "{\"end\":1,\"code\":7}\n");
	CHECK_INT(read(fd, v, 1), 0);	/* then closed */
	lch_joinsrv_close(&s);
	close(fd);
}

static void
test_silent(void)
{
	struct lch_joinsrv s;
	char v[600];
	int fd;

	CHECK_INT(lch_joinsrv_open(&s, "127.0.0.1", "k", 1, "job1", err,
	    sizeof(err)), 0);
	fd = connect_port(s.url);
	read_line(&s, fd, v, sizeof(v));	/* the nonce; no answer */
	CHECK_INT(s.npend, 1);
	CHECK(lch_joinsrv_wake(&s) > 0);
	lch_joinsrv_tick(&s, lch_joinsrv_wake(&s));
	CHECK_INT(s.npend, 0);
	read_line(&s, fd, v, sizeof(v));
	CHECK_STR(v, "{\"error\":\"no answer within 10 s\"}\n");
	lch_joinsrv_close(&s);
	close(fd);
}

/* Options of "--nodes MIN:MAX -H hosts", parsed and finished. */
static void
opts(struct lch_opts *o, const char *nodes, const char *hosts)
{
	char *argv[] = { (char *)"muster", (char *)"--nodes", (char *)nodes,
	    (char *)"-H", (char *)hosts, (char *)"true", NULL };

	lch_opts_init(o);
	CHECK(lch_opts_parse(o, 6, argv) == 0);
	CHECK(lch_opts_finish(o) == 0);
}

static void
test_elastic(void)
{
	struct lch_opts o;
	struct lch_elastic e;
	char names[256];

	opts(&o, "1:2", "a");
	CHECK(lch_join_wanted(&o));
	lch_elastic_init(&e, &o);
	CHECK_INT(lch_elastic_join(&e, "a", 1, err, sizeof(err)), -1);
	CHECK_STR(err, "host a is a node of this job already");
	CHECK_INT(lch_elastic_join(&e, "b", 2, err, sizeof(err)), 0);
	CHECK_INT(lch_elastic_join(&e, "b", 2, err, sizeof(err)), -1);
	CHECK_INT(lch_elastic_join(&e, "c", 2, err, sizeof(err)), 0);
	CHECK_INT(lch_elastic_can_grow(&e), 2);
	CHECK_INT(lch_elastic_lose_spare(&e, "c"), 1);
	CHECK_INT(lch_elastic_lose_spare(&e, "c"), 0);
	CHECK_INT(lch_elastic_join(&e, "c", 2, err, sizeof(err)), -1);
	CHECK_STR(err, "host c was lost by this job, which does not use it "
	    "again");
	CHECK_INT(lch_elastic_fill(&e, names, sizeof(names)), 1);
	CHECK_STR(names, "b");
	CHECK_INT(e.m[1].slots, 2);
	lch_elastic_release(&e);
	lch_opts_release(&o);
	opts(&o, "1:2", "a,b");	/* no room: no join port */
	CHECK(!lch_join_wanted(&o));
	lch_opts_release(&o);
}

TEST_LIST = {
	{ "url", test_url },
	{ "mac", test_mac },
	{ "check", test_check },
	{ "parse", test_parse },
	{ "secret_file", test_secret_file },
	{ "port", test_port },
	{ "end", test_end },
	{ "silent", test_silent },
	{ "elastic", test_elastic },
	{ NULL, NULL }
};
