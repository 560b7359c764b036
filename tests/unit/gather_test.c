/*
 * gather_test.c: the outputs protocol of gather.h, both sides: base64,
 * the paths the head takes, an agent's records for a real folder (files
 * of odd sizes, a stale one, a symbolic link, a FIFO, a nested folder)
 * received by the head, the node.I layout of a clash, what a symbolic
 * link in the head's folder cannot do, and an incomplete transfer.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "gather.h"
#include "records.h"
#include "test.h"

static void
test_base64(void)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 4, 5, LCH_GATHER_CHUNK,
	    LCH_GATHER_CHUNK + 1 };
	char *enc = malloc(4 * (LCH_GATHER_CHUNK / 3 + 2) + 1);
	unsigned char *raw = malloc(LCH_GATHER_CHUNK + 1);
	unsigned char *back = malloc(LCH_GATHER_CHUNK + 4);
	size_t i, k, n;

	CHECK_INT(lch_b64_encode(enc, "foobar", 6), 8);
	CHECK_STR(enc, "Zm9vYmFy");
	lch_b64_encode(enc, "fooba", 5);
	CHECK_STR(enc, "Zm9vYmE=");
	lch_b64_encode(enc, "f", 1);
	CHECK_STR(enc, "Zg==");
	srand(7);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (k = 0; k < sizes[i]; k++)
			raw[k] = (unsigned char)rand();
		n = lch_b64_encode(enc, raw, sizes[i]);
		CHECK_INT(n, 4 * ((sizes[i] + 2) / 3));
		CHECK_INT(strlen(enc), n);
		CHECK_INT(lch_b64_decode(back, enc, n), sizes[i]);
		CHECK(memcmp(raw, back, sizes[i]) == 0);
	}
	/* what is not base64 */
	CHECK_INT(lch_b64_decode(back, "Zm9", 3), -1);
	CHECK_INT(lch_b64_decode(back, "Zm9v!mFy", 8), -1);
	CHECK_INT(lch_b64_decode(back, "Zg==Zm9v", 8), -1);
	CHECK_INT(lch_b64_decode(back, "Z===", 4), -1);
	CHECK_INT(lch_b64_decode(back, "Zm 9", 4), -1);
	free(enc);
	free(raw);
	free(back);
}

/* g, b and G are node records; "gather N" a command (records.h). */
static void
test_records(void)
{
	char line[LCH_REC_CTL_MAX];
	enum lch_rec_ctl cmd;
	struct lch_rec r;
	int n;

	CHECK_INT(lch_rec_decode_node("g[3] {\"path\":\"a\"}", 17, 4, &r), 0);
	CHECK_INT(r.type, LCH_REC_GATHER);
	CHECK_INT(r.rank, 3);
	CHECK_INT(r.text_len, 12);
	CHECK_INT(lch_rec_decode_node("b[0] Zm9v", 9, 1, &r), 0);
	CHECK_INT(r.type, LCH_REC_GATHER_DATA);
	CHECK(strncmp(r.text, "Zm9v", r.text_len) == 0);
	CHECK_INT(lch_rec_decode_node("G[1] {}", 7, 2, &r), 0);
	CHECK_INT(r.type, LCH_REC_GATHER_END);
	CHECK_INT(lch_rec_decode_node("g[4] {}", 7, 4, &r), -1);
	CHECK_INT(lch_rec_decode_node("b[-1] x", 7, 4, &r), -1);
	lch_rec_ctl_encode(line, LCH_REC_GATHER_GO, 12);
	CHECK_STR(line, "gather 12\n");
	CHECK_INT(lch_rec_ctl_decode("gather 12", &cmd, &n), 0);
	CHECK_INT(cmd, LCH_REC_GATHER_GO);
	CHECK_INT(n, 12);
	CHECK_INT(lch_rec_ctl_decode("gather -1", &cmd, &n), -1);
	CHECK_INT(lch_rec_ctl_decode("gather", &cmd, &n), -1);
	CHECK_INT(lch_rec_ctl_decode("gather x", &cmd, &n), -1);
}

static void
test_paths(void)
{
	static const char *good[] = { "a", "a/b.c", "d\xc3\xa9j\xc3\xa0 vu",
	    "x y/'q\"\\", "..a", "a..", "a/.b", NULL };
	static const char *bad[] = { "", "/etc/passwd", "..", ".", "a/../b",
	    "a/..", "a//b", "a/", "./a", "a\nb", "a\tb", "\xff", "a\x7f",
	    "\xc2\x85", NULL };
	char longp[PATH_MAX + 8];
	int i;

	for (i = 0; good[i]; i++)
		CHECK_(lch_gather_path_check(good[i]) == NULL, "%s", good[i]);
	for (i = 0; bad[i]; i++)
		CHECK_(lch_gather_path_check(bad[i]) != NULL, "%s", bad[i]);
	CHECK(lch_gather_path_check(NULL) != NULL);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	CHECK(lch_gather_path_check(longp) != NULL);
	CHECK_STR(lch_gather_path_check("a/../b"), "a path with a '.' or "
	    "'..' part");
}

static char tmp[64];

static void
make_tmp(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/gather_test.XXXXXX");
	CHECK(mkdtemp(tmp) != NULL);
}

static void
rm_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	CHECK(system(cmd) == 0);
}

static void
put(const char *dir, const char *name, const void *data, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	CHECK((f = fopen(path, "w")) != NULL);
	CHECK(fwrite(data, 1, n, f) == n);
	fclose(f);
}

/* Whether file path holds the n bytes data. */
static int
holds(const char *path, const void *data, size_t n)
{
	char *buf = malloc(n + 1);
	FILE *f = fopen(path, "r");
	size_t got;

	if (f == NULL) {
		free(buf);
		return 0;
	}
	got = fread(buf, 1, n + 1, f);
	fclose(f);
	got = got == n && memcmp(buf, data, n) == 0;
	free(buf);
	return (int)got;
}

/* Whether dir/rel holds the n bytes data. */
static int
has(const char *dir, const char *rel, const void *data, size_t n)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return holds(path, data, n);
}

/* Whether dir/rel is not there. */
static int
absent(const char *dir, const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return access(path, F_OK) != 0;
}

/* Feeds the records in file path to rx: how many lines. */
static int
feed(struct lch_gather_rx *rx, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	struct lch_rec r;
	int lines = 0;

	CHECK(f != NULL);
	while (f && (n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			n--;
		CHECK_(lch_rec_decode_node(line, (size_t)n, 4, &r) == 0,
		    "%.40s", line);
		lch_gather_rx_record(rx, &r);
		lines++;
	}
	free(line);
	if (f)
		fclose(f);
	return lines;
}

/* Sends node's folder dir into file out: lch_gather_send's result. */
static int
send_to(const char *out, int node, const char *dir, long long since)
{
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600), rc;

	CHECK(fd >= 0);
	rc = lch_gather_send(fd, node, dir, since);
	close(fd);
	return rc;
}

static const cJSON *
listed(const cJSON *j, const char *path)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "list"))
		if (strcmp(cJSON_GetObjectItem(e, "path")->valuestring,
		    path) == 0)
			return e;
	return NULL;
}

static int
num(const cJSON *o, const char *name)
{
	const cJSON *n = cJSON_GetObjectItem(o, name);

	return cJSON_IsNumber(n) ? n->valueint : -1;
}

/* The error entry of path, or NULL. */
static const char *
error_of(const cJSON *j, const char *path)
{
	const cJSON *e, *p;

	cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "errors")) {
		p = cJSON_GetObjectItem(e, "path");
		if (cJSON_IsString(p) && strcmp(p->valuestring, path) == 0)
			return cJSON_GetObjectItem(e, "error")->valuestring;
	}
	return NULL;
}

/* Node 0's folder and node 1's, sent in that order or (b_first) not. */
static void
round_trip(int b_first)
{
	char a[128], b[128], out[128], path[256], recs[128];
	unsigned char *big = malloc(LCH_GATHER_CHUNK * 2 + 1);
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	struct lch_gather_rx *rx;
	long long since;
	cJSON *j;
	size_t i;

	make_tmp();
	snprintf(a, sizeof(a), "%s/a", tmp);
	snprintf(b, sizeof(b), "%s/b", tmp);
	snprintf(out, sizeof(out), "%s/out", tmp);
	snprintf(recs, sizeof(recs), "%s/recs", tmp);
	CHECK(mkdir(a, 0755) == 0 && mkdir(b, 0755) == 0 &&
	    mkdir(out, 0755) == 0);
	put(a, "stale", "old", 3);
	nanosleep(&pause, NULL);
	since = lch_gather_clock();
	nanosleep(&pause, NULL);
	for (i = 0; i < LCH_GATHER_CHUNK * 2 + 1; i++)
		big[i] = (unsigned char)(i * 7 + 3);
	put(a, "empty", "", 0);
	put(a, "big.bin", big, LCH_GATHER_CHUNK * 2 + 1);
	put(a, "same", "same bytes", 10);
	put(a, "clash", "from a", 6);
	put(a, "we\"ird \\ n\xc3\xa9", "w", 1);
	snprintf(path, sizeof(path), "%s/sub", a);
	CHECK(mkdir(path, 0755) == 0);
	put(path, "deep", "deep", 4);
	snprintf(path, sizeof(path), "%s/run.sh", a);
	put(a, "run.sh", "#!/bin/sh\n", 10);
	CHECK(chmod(path, 0700) == 0);
	snprintf(path, sizeof(path), "%s/link", a);
	CHECK(symlink("/etc/passwd", path) == 0);
	snprintf(path, sizeof(path), "%s/fifo", a);
	CHECK(mkfifo(path, 0600) == 0);
	snprintf(path, sizeof(path), "%s/bad\xff", a);
	put(a, "bad\xff", "x", 1);
	put(b, "same", "same bytes", 10);
	put(b, "clash", "from b!", 7);
	put(b, "only-b", "b", 1);

	CHECK((rx = lch_gather_rx_new(out, 2)) != NULL);
	lch_gather_rx_expect(rx, 0);
	lch_gather_rx_expect(rx, 1);
	if (b_first) {	/* node 1 takes REL first, node 0 takes it over */
		CHECK_INT(send_to(recs, 1, b, since), 0);
		feed(rx, recs);
	}
	CHECK_INT(send_to(recs, 0, a, since), 0);
	/* 7 g records, 3 + 1 + 1... b records, the G */
	CHECK(feed(rx, recs) >= 7 + 8 + 1);
	if (!b_first) {
		CHECK_INT(send_to(recs, 1, b, since), 0);
		feed(rx, recs);
	}
	lch_gather_rx_finish(rx);
	j = lch_gather_rx_json(rx);

	CHECK(has(out, "big.bin", big, LCH_GATHER_CHUNK * 2 + 1));
	CHECK(has(out, "empty", "", 0));
	CHECK(has(out, "sub/deep", "deep", 4));
	CHECK(has(out, "we\"ird \\ n\xc3\xa9", "w", 1));
	CHECK(has(out, "clash", "from a", 6));
	CHECK(has(out, "node.1/clash", "from b!", 7));
	CHECK(has(out, "only-b", "b", 1));
	CHECK(absent(out, "node.1/same"));	/* the same bytes: kept once */
	CHECK(absent(out, "stale"));
	CHECK(absent(out, "link"));
	{
		struct stat st;

		snprintf(path, sizeof(path), "%s/run.sh", out);
		CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0755);
		snprintf(path, sizeof(path), "%s/same", out);
		CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
	}

	CHECK_INT(num(j, "files"), 9);
	CHECK_INT(num(j, "bytes"), LCH_GATHER_CHUNK * 2 + 1 + 10 + 6 + 1 +
	    4 + 10 + 7 + 1);
	CHECK_INT(num(j, "skipped_old"), 1);
	CHECK(listed(j, "same") && num(listed(j, "same"), "node") == 0);
	CHECK(listed(j, "node.1/same") == NULL);
	CHECK(listed(j, "node.1/clash") &&
	    num(listed(j, "node.1/clash"), "node") == 1 &&
	    num(listed(j, "node.1/clash"), "size") == 7);
	CHECK(listed(j, "only-b") && num(listed(j, "only-b"), "node") == 1);
	CHECK(listed(j, "big.bin") && num(listed(j, "big.bin"), "size") ==
	    LCH_GATHER_CHUNK * 2 + 1);
	CHECK(error_of(j, "link") && strstr(error_of(j, "link"), "symbolic"));
	CHECK(error_of(j, "fifo") && strstr(error_of(j, "fifo"), "FIFO"));
	CHECK(error_of(j, "bad\\xff") != NULL);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "errors")), 3);
	CHECK_INT(lch_gather_rx_errors(rx, NULL, 0), 3);
	cJSON_Delete(j);
	lch_gather_rx_free(rx);
	free(big);
	rm_tmp();
}

static void
test_round_trip(void)
{
	round_trip(0);
	round_trip(1);
}

/* Records as the head gets them, one line each. */
static void
feed_lines(struct lch_gather_rx *rx, const char *const *lines)
{
	struct lch_rec r;
	int i;

	for (i = 0; lines[i]; i++) {
		CHECK_(lch_rec_decode_node(lines[i], strlen(lines[i]), 4, &r) ==
		    0, "%s", lines[i]);
		lch_gather_rx_record(rx, &r);
	}
}

static void
test_refused(void)
{
	static const char *const lines[] = {
		"g[0] {\"path\":\"../evil\",\"size\":1,\"mode\":\"0644\"}",
		"b[0] eA==",
		"g[0] {\"path\":\"/tmp/evil\",\"size\":1,\"mode\":\"0644\"}",
		"b[0] eA==",
		"g[0] {\"path\":\"esc\\u0001\",\"size\":1}",
		"g[0] not json",
		"g[0] {\"path\":\"over\",\"size\":1,\"mode\":\"0644\"}",
		"b[0] eHh4",	/* 3 bytes, 1 said */
		"g[0] {\"path\":\"notb64\",\"size\":3,\"mode\":\"0644\"}",
		"b[0] e!!!",
		"g[0] {\"path\":\"link\",\"size\":2,\"mode\":\"0644\"}",
		"b[0] b2s=",
		"g[0] {\"path\":\"dirlink/f\",\"size\":2,\"mode\":\"0644\"}",
		"b[0] b2s=",
		"G[0] {\"files\":0,\"bytes\":0,\"skipped_old\":0,\"errors\":[]}",
		NULL
	};
	char out[128], path[256], target[128];
	struct lch_gather_rx *rx;
	cJSON *j;

	make_tmp();
	snprintf(out, sizeof(out), "%s/out", tmp);
	snprintf(target, sizeof(target), "%s/target", tmp);
	CHECK(mkdir(out, 0755) == 0 && mkdir(target, 0755) == 0);
	/* links in the head's folder lead nowhere (O_NOFOLLOW, O_EXCL) */
	snprintf(path, sizeof(path), "%s/link", out);
	CHECK(symlink("../target/victim", path) == 0);
	snprintf(path, sizeof(path), "%s/dirlink", out);
	CHECK(symlink("../target", path) == 0);
	CHECK((rx = lch_gather_rx_new(out, 1)) != NULL);
	feed_lines(rx, lines);
	lch_gather_rx_finish(rx);
	j = lch_gather_rx_json(rx);
	CHECK(absent(target, "victim"));
	CHECK(absent(target, "f"));
	CHECK(absent(tmp, "evil"));
	CHECK(absent(out, "over"));
	CHECK(absent(out, "notb64"));
	CHECK(has(out, "node.0/link", "ok", 2));
	CHECK(has(out, "node.0/dirlink/f", "ok", 2));
	CHECK(error_of(j, "../evil") && strstr(error_of(j, "../evil"),
	    "refused"));
	CHECK(error_of(j, "/tmp/evil") != NULL);
	CHECK(error_of(j, "esc\\x01") != NULL);
	CHECK(error_of(j, "over") && strstr(error_of(j, "over"), "more"));
	CHECK(error_of(j, "notb64") != NULL);
	CHECK_INT(num(j, "files"), 2);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "errors")), 6);
	cJSON_Delete(j);
	lch_gather_rx_free(rx);
	rm_tmp();
}

static void
test_incomplete(void)
{
	static const char *const lines[] = {
		"g[1] {\"path\":\"done\",\"size\":2,\"mode\":\"0644\"}",
		"b[1] b2s=",
		"g[1] {\"path\":\"d/half\",\"size\":100,\"mode\":\"0644\"}",
		"b[1] eHh4",
		NULL
	};
	char out[128];
	struct lch_gather_rx *rx;
	cJSON *j;

	make_tmp();
	snprintf(out, sizeof(out), "%s/out", tmp);
	CHECK(mkdir(out, 0755) == 0);
	CHECK((rx = lch_gather_rx_new(out, 3)) != NULL);
	lch_gather_rx_expect(rx, 1);
	lch_gather_rx_expect(rx, 2);	/* sends nothing at all */
	feed_lines(rx, lines);
	/* the connections end: no G from node 1 nor 2 */
	lch_gather_rx_finish(rx);
	j = lch_gather_rx_json(rx);
	CHECK(has(out, "done", "ok", 2));
	CHECK(absent(out, "d/half"));
	CHECK(absent(out, "d"));	/* its folder went with it */
	CHECK(error_of(j, "d/half") && strstr(error_of(j, "d/half"),
	    "incomplete: 3 of 100 bytes"));
	CHECK_INT(num(j, "files"), 1);
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "errors")), 2);
	cJSON_Delete(j);
	lch_gather_rx_free(rx);
	/* a folder that cannot be opened: NULL, said */
	CHECK(lch_gather_rx_new("/nonexistent/outputs", 1) == NULL);
	rm_tmp();
}

TEST_LIST = {
	{ "base64", test_base64 },
	{ "records", test_records },
	{ "paths", test_paths },
	{ "round_trip", test_round_trip },
	{ "refused", test_refused },
	{ "incomplete", test_incomplete },
	{ NULL, NULL }
};
