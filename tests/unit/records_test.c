/*
 * records_test.c: the launcher's strbuf and the head<->agent protocol of
 * records.h: every record and command round trip, the HELLO and plan
 * lines, the node records (h, n) and the lines read one after another.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "records.h"
#include "strbuf.h"
#include "test.h"

/* The invariants of strbuf.h: never NULL, always NUL-terminated. */
static void
test_strbuf(void)
{
	struct lch_strbuf sb = LCH_STRBUF_INIT;
	int fds[2];

	CHECK_STR(sb.buf, "");
	CHECK_INT(sb.alloc, 0);
	lch_strbuf_reset(&sb);
	lch_strbuf_add(&sb, "ab", 2);
	lch_strbuf_addch(&sb, 'c');
	lch_strbuf_addf(&sb, "[%d]%s", 3, "x");
	CHECK_STR(sb.buf, "abc[3]x");
	CHECK_INT(sb.len, 7);
	CHECK(sb.alloc > sb.len);
	lch_strbuf_addf(&sb, "%0300d", 0);
	CHECK_INT(sb.len, 307);
	CHECK_INT(sb.buf[sb.len], '\0');
	lch_strbuf_consume(&sb, 300);
	CHECK_STR(sb.buf, "0000000");
	lch_strbuf_reset(&sb);
	CHECK_STR(sb.buf, "");
	CHECK(pipe(fds) == 0);
	CHECK(write(fds[1], "hello world", 11) == 11);
	CHECK_INT(lch_strbuf_read_once(&sb, fds[0], 5), 5);
	CHECK_STR(sb.buf, "hello");
	close(fds[1]);
	CHECK_INT(lch_strbuf_read_once(&sb, fds[0], 100), 6);
	CHECK_INT(lch_strbuf_read_once(&sb, fds[0], 100), 0);
	CHECK_STR(sb.buf, "hello world");
	close(fds[0]);
	lch_strbuf_release(&sb);
	CHECK_STR(sb.buf, "");
	CHECK_INT(sb.alloc, 0);
	/* a high cap costs nothing until the bytes come (records.h) */
	CHECK(pipe(fds) == 0);
	CHECK(write(fds[1], "short", 5) == 5);
	CHECK_INT(lch_strbuf_read_once(&sb, fds[0], LCH_REC_MAX), 5);
	CHECK(sb.alloc < 2 * 65536 + 8);
	close(fds[0]);
	close(fds[1]);
	lch_strbuf_release(&sb);
}

static void
check_rec(struct lch_strbuf *sb, const char *want, int type, int rank,
	  int nums, int a, int b)
{
	struct lch_rec r;

	CHECK_STR(sb->buf, want);
	CHECK_INT(lch_rec_decode(sb->buf, sb->len - 1, 8, &r), 0);
	CHECK_INT(r.type, type);
	CHECK_INT(r.rank, rank);
	CHECK_INT(r.nums, nums);
	CHECK_INT(r.num[0], a);
	CHECK_INT(r.num[1], b);
	lch_strbuf_reset(sb);
}

/* Each record the agent writes, as the head reads it back. */
static void
test_records(void)
{
	struct lch_strbuf sb = LCH_STRBUF_INIT;
	char prefix[LCH_REC_PREFIX_MAX];
	struct lch_rec r;

	lch_rec_add_start(&sb, 3, 100);
	check_rec(&sb, "s[3] 100\n", 's', 3, 1, 100, 0);
	lch_rec_add_end(&sb, LCH_REC_FAIL, 3, 100, 137);
	check_rec(&sb, "F[3] 100 137\n", 'F', 3, 2, 100, 137);
	lch_rec_add_end(&sb, LCH_REC_EXIT, 7, 101, 0);
	check_rec(&sb, "x[7] 101 0\n", 'x', 7, 2, 101, 0);
	CHECK_INT(lch_rec_decode("O[2] abc", 8, 8, &r), 0);
	CHECK_INT(r.type, LCH_REC_OUT_MORE);
	CHECK_INT(r.rank, 2);
	CHECK_INT((int)r.text_len, 3);
	CHECK_INT(lch_rec_decode("E[1] x", 6, 8, &r), 0);
	CHECK_INT(r.type, LCH_REC_ERR_MORE);
	lch_rec_add_end(&sb, LCH_REC_STOP, 5, 102, 19);
	check_rec(&sb, "z[5] 102 19\n", 'z', 5, 2, 102, 19);
	lch_rec_add_end(&sb, LCH_REC_STOP, 5, 102, 0);
	check_rec(&sb, "z[5] 102 0\n", 'z', 5, 2, 102, 0);
	lch_rec_add_end(&sb, LCH_REC_LOGERR, 6, 28, 1);
	check_rec(&sb, "w[6] 28 1\n", 'w', 6, 2, 28, 1);
	lch_rec_add_end(&sb, LCH_REC_NOEXEC, 0, 2, 127);
	check_rec(&sb, "f[0] 2 127\n", 'f', 0, 2, 2, 127);
	lch_rec_prefix(prefix, 1, 5);
	CHECK_STR(prefix, "e[5] ");
	lch_rec_tag(prefix, 5);
	CHECK_STR(prefix, "[5] ");
	CHECK_INT(lch_rec_decode("o[5] a line", 11, 8, &r), 0);
	CHECK_INT(r.type, 'o');
	CHECK_INT(r.text_len, 6);
	CHECK(strncmp(r.text, "a line", 6) == 0);
	CHECK_INT(r.tag_len, 10);
	CHECK(strncmp(r.tag, "[5] a line", 10) == 0);
	CHECK_INT(lch_rec_decode("o[5] ", 5, 8, &r), 0);
	CHECK_INT(r.text_len, 0);
	/* not records: passed on as they are */
	CHECK_INT(lch_rec_decode("o[8] x", 6, 8, &r), -1);
	CHECK_INT(lch_rec_decode("o[-1] x", 7, 8, &r), -1);
	CHECK_INT(lch_rec_decode("o[1]x", 5, 8, &r), -1);
	CHECK_INT(lch_rec_decode("o[1", 3, 8, &r), -1);
	CHECK_INT(lch_rec_decode("o[  \n5] x", 4, 8, &r), -1);
	CHECK_INT(lch_rec_decode("Welcome", 7, 8, &r), -1);
	lch_strbuf_release(&sb);
}

static void
test_commands(void)
{
	char line[LCH_REC_CTL_MAX];
	enum lch_rec_ctl cmd;
	int sig;

	lch_rec_ctl_encode(line, LCH_REC_TERM, 0);
	CHECK_STR(line, "term\n");
	lch_rec_ctl_encode(line, LCH_REC_KILL, 0);
	CHECK_STR(line, "kill\n");
	lch_rec_ctl_encode(line, LCH_REC_SIG, 10);
	CHECK_STR(line, "sig 10\n");
	CHECK_INT(lch_rec_ctl_decode("term", &cmd, &sig), 0);
	CHECK_INT(cmd, LCH_REC_TERM);
	CHECK_INT(lch_rec_ctl_decode("kill", &cmd, &sig), 0);
	CHECK_INT(cmd, LCH_REC_KILL);
	CHECK_INT(lch_rec_ctl_decode("sig 10", &cmd, &sig), 0);
	CHECK_INT(cmd, LCH_REC_SIG);
	CHECK_INT(sig, 10);
	CHECK_INT(lch_rec_ctl_decode("sig 65", &cmd, &sig), -1);
	CHECK_INT(lch_rec_ctl_decode("stop", &cmd, &sig), -1);
	lch_rec_ctl_encode(line, LCH_REC_STACKS, 0);
	CHECK_STR(line, "stacks\n");
	CHECK_INT(lch_rec_ctl_decode("stacks", &cmd, &sig), 0);
	CHECK_INT(cmd, LCH_REC_STACKS);
	CHECK_INT(lch_rec_ctl_decode("stacks 1", &cmd, &sig), -1);
	lch_rec_ctl_encode(line, LCH_REC_BEAT, 0);
	CHECK_STR(line, "beat\n");
	CHECK_INT(lch_rec_ctl_decode("beat", &cmd, &sig), 0);
	CHECK_INT(cmd, LCH_REC_BEAT);
	CHECK_INT(lch_rec_ctl_decode("beat 1", &cmd, &sig), -1);
}

/* A node's plan, from the head's encoder through the agent's decoder. */
static void
test_plan(void)
{
	char a0[] = "prog", a1[] = "-x", *argv[] = { a0, a1, NULL };
	struct lch_rank ranks[3];
	struct lch_node node = { "h1", 0, 1, 2, 4, 0, 0, { "", "" }, NULL,
	    NULL };
	struct lch_plan p;
	struct lch_rec_plan d;
	struct lch_rec_plan_opts po;
	char *line;

	memset(&p, 0, sizeof(p));
	memset(&po, 0, sizeof(po));
	memset(ranks, 0, sizeof(ranks));
	p.argv = argv;
	p.ranks = ranks;
	p.place.gpus_per_proc = -1;	/* the defaults: no "place" */
	lch_env_set(&ranks[1].env, "RANK", "1");
	lch_env_set(&ranks[2].env, "RANK", "2");
	lch_env_set(&ranks[2].env, "X", "a=b");
	po.cwd = "/w";
	po.grace_ms = 1500;
	line = lch_rec_plan_encode(&p, &node, &po);
	CHECK_STR(line, "{\"node\":4,\"host\":\"h1\",\"cwd\":\"/w\",\"grace_ms\":1500,"
	    "\"argv\":[\"prog\",\"-x\"],\"ranks\":[{\"rank\":1,\"env\":"
	    "[\"RANK=1\"]},{\"rank\":2,\"env\":[\"RANK=2\",\"X=a=b\"]}]}");
	CHECK_INT(lch_rec_plan_decode(line, &d), 0);
	CHECK_INT(d.node, 4);
	CHECK_STR(d.host, "h1");
	CHECK_STR(d.cwd, "/w");
	CHECK(d.log_dir == NULL);
	CHECK_INT(d.grace_ms, 1500);
	CHECK_STR(d.argv[1], "-x");
	CHECK(d.argv[2] == NULL);
	CHECK_INT(d.nranks, 2);
	CHECK_INT(d.ranks[1].rank, 2);
	CHECK_STR(d.ranks[1].env[1], "X=a=b");
	CHECK_INT(d.place.bind, LCH_BIND_AUTO);
	CHECK_INT(d.place.gpus_per_proc, -1);
	CHECK(d.place.topology == NULL);
	lch_rec_plan_release(&d);
	CHECK_INT(lch_rec_plan_decode("{\"argv\":[\"p\"],\"ranks\":[]}", &d), 0);
	CHECK_INT(d.node, -1);
	CHECK_STR(d.host, "localhost");
	CHECK_INT(d.grace_ms, 3000);
	lch_rec_plan_release(&d);
	CHECK_INT(lch_rec_plan_decode("{\"argv\":[\"p\"],\"ranks\":[],"
	    "\"place\":{\"bind\":\"sideways\"}}", &d), -2);
	lch_rec_plan_release(&d);
	CHECK_INT(lch_rec_plan_decode("{\"argv\":[\"p\"],\"ranks\":[],"
	    "\"place\":{\"gpus_per_proc\":-5}}", &d), -2);
	lch_rec_plan_release(&d);
	CHECK_INT(lch_rec_plan_decode("{\"argv\":[],\"ranks\":[]}", &d), -2);
	lch_rec_plan_release(&d);
	CHECK_INT(lch_rec_plan_decode("{\"argv\":[\"p\"],\"ranks\":[{\"rank\":0}]}",
	    &d), -2);
	lch_rec_plan_release(&d);
	CHECK_INT(lch_rec_plan_decode("{", &d), -1);
	lch_rec_plan_release(&d);
	free(line);
	/* "place": the placement request, through both ends */
	p.place.bind = LCH_BIND_L3CACHE;
	p.place.map = LCH_MAP_SOCKET;
	p.place.gpus_per_proc = 0;
	p.place.topology = "/t/n.xml";
	p.place.report = p.place.omp_user = 1;
	po.cwd = NULL;
	po.grace_ms = 3000;
	line = lch_rec_plan_encode(&p, &node, &po);
	CHECK(strstr(line, "\"place\":{\"bind\":\"l3cache\",\"map\":"
	    "\"socket\",\"gpus_per_proc\":0,\"topology\":\"/t/n.xml\","
	    "\"report\":1,\"omp_user\":1}") != NULL);
	CHECK_INT(lch_rec_plan_decode(line, &d), 0);
	CHECK_INT(d.place.bind, LCH_BIND_L3CACHE);
	CHECK_INT(d.place.map, LCH_MAP_SOCKET);
	CHECK_INT(d.place.gpus_per_proc, 0);
	CHECK_STR(d.place.topology, "/t/n.xml");
	CHECK_INT(d.place.report, 1);
	CHECK_INT(d.place.verbose, 0);
	CHECK_INT(d.place.omp_user, 1);
	lch_rec_plan_release(&d);
	free(line);
	lch_env_clear(&ranks[1].env);
	lch_env_clear(&ranks[2].env);
}

/* The plan line and the commands read with it. */
static void
test_plan_read(void)
{
	char *rest = NULL, *line;
	size_t rest_len = 0;
	int fds[2];

	CHECK(pipe(fds) == 0);
	CHECK(write(fds[1], "{}\nterm\nsig", 11) == 11);
	close(fds[1]);
	line = lch_rec_plan_read(fds[0], &rest, &rest_len);
	CHECK_STR(line, "{}");
	CHECK_INT(rest_len, 8);
	CHECK(rest && memcmp(rest, "term\nsig", 8) == 0);
	free(line);
	free(rest);
	rest = NULL;	/* what it holds on entry comes first */
	rest_len = 0;
	close(fds[0]);
	CHECK(pipe(fds) == 0);
	CHECK(write(fds[1], "{}", 2) == 2);
	close(fds[1]);
	CHECK(lch_rec_plan_read(fds[0], &rest, &rest_len) == NULL);
	CHECK(rest == NULL);
	close(fds[0]);
	/* HELLO, then plans: what was read with one line comes first */
	CHECK(pipe(fds) == 0);
	CHECK(write(fds[1], "H\nP1\nP2\nte", 10) == 10);
	line = lch_rec_plan_read(fds[0], &rest, &rest_len);
	CHECK_STR(line, "H");
	free(line);
	line = lch_rec_plan_read(fds[0], &rest, &rest_len);
	CHECK_STR(line, "P1");	/* from what was read already */
	free(line);
	line = lch_rec_plan_read(fds[0], &rest, &rest_len);
	CHECK_STR(line, "P2");
	free(line);
	CHECK(write(fds[1], "rm\n", 3) == 3);	/* a line across reads */
	line = lch_rec_plan_read(fds[0], &rest, &rest_len);
	CHECK_STR(line, "term");
	CHECK_INT(rest_len, 0);
	free(line);
	close(fds[1]);
	CHECK(lch_rec_plan_read(fds[0], &rest, &rest_len) == NULL);
	close(fds[0]);
}

/* HELLO from the head's encoder through the agent's decoder. */
static void
test_hello(void)
{
	struct lch_rec_hello h, d;
	char *line;

	memset(&h, 0, sizeof(h));
	h.node = 3;
	h.host = "h4";
	h.version = "0.9.1";
	h.toward = "10.200.0.1";
	h.ports = 2;
	line = lch_rec_hello_encode(&h);
	CHECK_STR(line, "{\"hello\":1,\"node\":3,\"host\":\"h4\","
	    "\"version\":\"0.9.1\",\"toward\":\"10.200.0.1\",\"ports\":2}");
	CHECK_INT(lch_rec_hello_decode(line, &d), 0);
	CHECK_INT(d.node, 3);
	CHECK_STR(d.host, "h4");
	CHECK_STR(d.version, "0.9.1");
	CHECK_STR(d.toward, "10.200.0.1");
	CHECK(d.iface == NULL && d.ssh == NULL && d.tree == NULL);
	CHECK_INT(d.ports, 2);
	lch_rec_hello_release(&d);
	free(line);
	h.toward = NULL;	/* all local */
	h.iface = "10.200.1.0/24";
	h.self = "/opt/m/muster";
	line = lch_rec_hello_encode(&h);
	CHECK_INT(lch_rec_hello_decode(line, &d), 0);
	CHECK(d.toward == NULL);
	CHECK_STR(d.iface, "10.200.1.0/24");
	CHECK_STR(d.self, "/opt/m/muster");
	lch_rec_hello_release(&d);
	free(line);
	CHECK_INT(lch_rec_hello_decode("{\"hello\":1,\"node\":0,\"ports\":0,"
	    "\"tree\":[{\"node\":1}]}", &d), 0);
	CHECK(d.tree != NULL);
	lch_rec_hello_release(&d);
	/* an old head's plan is no HELLO; nor is garbage */
	CHECK_INT(lch_rec_hello_decode("{\"argv\":[\"p\"],\"ranks\":[]}", &d),
	    -2);
	lch_rec_hello_release(&d);
	CHECK_INT(lch_rec_hello_decode("{\"hello\":1,\"ports\":1}", &d), -2);
	lch_rec_hello_release(&d);
	CHECK_INT(lch_rec_hello_decode("{\"hello\":1,\"node\":1,\"ports\":-1}",
	    &d), -2);
	lch_rec_hello_release(&d);
	CHECK_INT(lch_rec_hello_decode("hello", &d), -1);
	lch_rec_hello_release(&d);
}

/* h and n records: by node, not by rank. */
static void
test_node_records(void)
{
	struct lch_strbuf sb = LCH_STRBUF_INIT;
	char big[3000];
	struct lch_rec r;

	lch_rec_add_facts(&sb, 2, "{\"addr\":\"10.0.0.2\"}");
	CHECK_STR(sb.buf, "h[2] {\"addr\":\"10.0.0.2\"}\n");
	CHECK_INT(lch_rec_decode_node(sb.buf, sb.len - 1, 3, &r), 0);
	CHECK_INT(r.type, LCH_REC_FACTS);
	CHECK_INT(r.rank, 2);
	CHECK_INT(r.text_len, 19);
	CHECK(strncmp(r.text, "{\"addr\":", 8) == 0);
	/* node 2 of 2 nodes is none */
	CHECK_INT(lch_rec_decode_node(sb.buf, sb.len - 1, 2, &r), -1);
	/* the agent's beat: y[I] and a blank */
	CHECK_INT(lch_rec_decode_node("y[1] ", 5, 2, &r), 0);
	CHECK_INT(r.type, LCH_REC_ALIVE);
	CHECK_INT(r.rank, 1);
	CHECK_INT(lch_rec_decode_node("y[2] ", 5, 2, &r), -1);
	lch_strbuf_reset(&sb);
	lch_rec_add_lost(&sb, 5, LCH_REC_LOST_EARLY, 255, "ssh: connect: "
	    "refused\nagain\n", 28);
	CHECK_STR(sb.buf, "n[5] 0 255 ssh: connect: refused; again\n");
	CHECK_INT(lch_rec_decode_node(sb.buf, sb.len - 1, 6, &r), 0);
	CHECK_INT(r.type, LCH_REC_LOST);
	CHECK_INT(r.rank, 5);
	CHECK_INT(r.nums, 2);
	CHECK_INT(r.num[0], 0);
	CHECK_INT(r.num[1], 255);
	CHECK_INT(r.more_len, 28);
	CHECK(strncmp(r.more, "ssh: connect: refused; again", 28) == 0);
	lch_strbuf_reset(&sb);
	lch_rec_add_lost(&sb, 1, LCH_REC_LOST_RANKS, 137, "", 0);
	CHECK_STR(sb.buf, "n[1] 1 137 \n");
	CHECK_INT(lch_rec_decode_node(sb.buf, sb.len - 1, 6, &r), 0);
	CHECK_INT(r.num[0], 1);
	CHECK_INT(r.more_len, 0);
	lch_strbuf_reset(&sb);
	/* TEXT is cut, and never holds a control byte */
	memset(big, 'x', sizeof(big));
	big[10] = '\t';
	lch_rec_add_lost(&sb, 0, 0, 1, big, sizeof(big));
	CHECK_INT(sb.len, strlen("n[0] 0 1 ") + LCH_REC_LOST_TEXT + 1);
	CHECK(strchr(sb.buf, '\t') == NULL);
	lch_strbuf_reset(&sb);
	/* rank records are not node records, nor is "n" without numbers */
	CHECK_INT(lch_rec_decode_node("o[1] x", 6, 6, &r), -1);
	CHECK_INT(lch_rec_decode_node("n[1] x", 6, 6, &r), -1);
	CHECK_INT(lch_rec_decode_node("h[1]", 4, 6, &r), -1);
	lch_strbuf_release(&sb);
}

TEST_LIST = {
	{ "strbuf", test_strbuf },
	{ "records", test_records },
	{ "commands", test_commands },
	{ "plan", test_plan },
	{ "plan_read", test_plan_read },
	{ "hello", test_hello },
	{ "node_records", test_node_records },
	{ NULL, NULL }
};
