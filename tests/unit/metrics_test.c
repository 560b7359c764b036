/*
 * metrics_test.c: the head's metrics sink (metrics.h): every line form
 * normalized into metrics.jsonl, bad lines counted (the first kept),
 * nan and inf as null, names at their bound, steps counted per rank and
 * name, the summary; and the agent's line splitting (a line too long is
 * dropped, the next kept).
 */
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "metrics.h"
#include "test.h"

static char path[64];

static struct lch_metrics *
sink(void)
{
	char err[256];
	struct lch_metrics *m;
	int fd;

	snprintf(path, sizeof(path), "/tmp/metrics_test.XXXXXX");
	fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	m = lch_metrics_open(path, err, sizeof(err));
	CHECK(m != NULL);
	return m;
}

/* The file's lines, parsed: a cJSON array (the file removed). */
static cJSON *
lines(void)
{
	static char buf[1 << 20];
	cJSON *a = cJSON_CreateArray();
	char *p, *nl;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	CHECK(n >= 0);
	buf[n < 0 ? 0 : n] = '\0';
	close(fd);
	unlink(path);
	for (p = buf; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		cJSON *j = cJSON_ParseWithLength(p, (size_t)(nl - p));

		CHECK_(j != NULL, "not JSON: %.*s", (int)(nl - p), p);
		if (j)
			cJSON_AddItemToArray(a, j);
	}
	CHECK(*p == '\0');	/* every line ends */
	return a;
}

static double
num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : -12345;
}

static const char *
str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "(none)";
}

#define ADD(m, r, s) lch_metrics_add(m, r, s, strlen(s), 1000.5)

static void
test_forms(void)
{
	struct lch_metrics *m = sink();
	const cJSON *l, *v;
	cJSON *a;

	CHECK_INT(ADD(m, 0, "loss 0.5"), 0);
	CHECK_INT(ADD(m, 0, "loss\t0.25  7 \r"), 0);
	CHECK_INT(ADD(m, 1, "{\"name\":\"acc\",\"value\":0.1,\"step\":3,"
	    "\"t\":12.25}"), 0);
	CHECK_INT(ADD(m, 1, "{\"name\":\"l\",\"values\":[1,2.5,\"nan\"]}"), 0);
	CHECK_INT(ADD(m, 2, "{\"name\":\"r\",\"row\":{\"a b\":1,\"c\":-2},"
	    "\"step\":4}"), 0);
	CHECK_INT(ADD(m, 0, "loss 0.125"), 0);
	CHECK_INT(ADD(m, 0, "{\"name\":\"t\",\"value\":1}  "), 0);
	lch_metrics_close(m);
	a = lines();
	CHECK_INT(cJSON_GetArraySize(a), 7);
	l = cJSON_GetArrayItem(a, 0);
	CHECK_STR(str(l, "name"), "loss");
	CHECK(num(l, "value") == 0.5);
	CHECK(num(l, "step") == 0);	/* the count */
	CHECK(num(l, "rank") == 0);
	CHECK(num(l, "t") == 1000.5);	/* when read */
	l = cJSON_GetArrayItem(a, 1);
	CHECK(num(l, "step") == 7 && num(l, "value") == 0.25);
	l = cJSON_GetArrayItem(a, 2);
	CHECK(num(l, "t") == 12.25 && num(l, "step") == 3 &&
	    num(l, "rank") == 1);
	CHECK(num(l, "value") == 0.1);	/* shortest digits read back */
	l = cJSON_GetArrayItem(a, 3);
	v = cJSON_GetObjectItem(l, "values");
	CHECK_INT(cJSON_GetArraySize(v), 3);
	CHECK(cJSON_IsNull(cJSON_GetArrayItem(v, 2)));
	CHECK(num(l, "nonfinite") == 1);
	CHECK(cJSON_GetObjectItem(l, "step") == NULL);
	l = cJSON_GetArrayItem(a, 4);
	v = cJSON_GetObjectItem(l, "row");
	CHECK(num(v, "a b") == 1 && num(v, "c") == -2);
	CHECK(num(l, "step") == 4);
	l = cJSON_GetArrayItem(a, 5);
	CHECK(num(l, "step") == 1);	/* the second without a step */
	cJSON_Delete(a);
}

static void
test_nonfinite(void)
{
	struct lch_metrics *m = sink();
	const char *name;
	double v;
	long step;
	cJSON *a, *j;

	CHECK_INT(ADD(m, 0, "x nan"), 0);
	CHECK_INT(ADD(m, 0, "x -inf 9"), 0);
	CHECK_INT(ADD(m, 0, "{\"name\":\"x\",\"value\":\"inf\"}"), 0);
	CHECK_INT(ADD(m, 0, "{\"name\":\"x\",\"value\":null}"), 0);
	CHECK_INT(ADD(m, 0, "x 1e999"), -1);	/* overflows: no number */
	CHECK_INT(lch_metrics_last(m, &name, &v, &step), 0);
	CHECK_STR(name, "x");
	CHECK(isnan(v));
	j = lch_metrics_json(m);
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(j, "summary"), "x"), "last")));
	CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j,
	    "summary"), "x"), "min") == NULL);
	cJSON_Delete(j);
	lch_metrics_close(m);
	a = lines();
	CHECK_INT(cJSON_GetArraySize(a), 4);
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(a, 0),
	    "value")));
	CHECK_STR(str(cJSON_GetArrayItem(a, 0), "nonfinite"), "nan");
	CHECK_STR(str(cJSON_GetArrayItem(a, 1), "nonfinite"), "-inf");
	CHECK(num(cJSON_GetArrayItem(a, 1), "step") == 9);
	CHECK_STR(str(cJSON_GetArrayItem(a, 2), "nonfinite"), "inf");
	CHECK_STR(str(cJSON_GetArrayItem(a, 3), "nonfinite"), "nan");
	cJSON_Delete(a);
}

static void
test_bad(void)
{
	static const char *bad[] = {
		"", "loss", "loss 0.5 3 4", "loss abc", "loss 0.5 -1",
		"loss 0.5 1.5", "lo\001ss 1", "{\"name\":\"x\"}", "{\"value\":1}",
		"{\"name\":\"x\",\"value\":1,\"values\":[1]}",
		"{\"name\":\"x\",\"values\":[\"a\"]}", "{\"name\":\"x\","
		"\"value\":1,\"step\":-2}", "{\"name\":\"x\",\"value\":1,"
		"\"step\":0.5}", "{\"name\":\"x\",\"row\":[1]}", "{broken",
		"{\"name\":\"a b\",\"value\":1}", "[1,2]", "x\xff 1",
		"{\"name\":\"x\",\"value\":1,\"t\":\"now\"}", "{\"name\":\"x\","
		"\"row\":{\"\":1}}", "x 0x", "{\"name\":\"x\",\"value\":1} tail",
		"{\"name\":\"x\",\"value\":1}{}", NULL
	};
	struct lch_metrics *m = sink();
	cJSON *a, *j;
	int i;

	for (i = 0; bad[i]; i++)
		CHECK_(ADD(m, 3, bad[i]) == -1, "taken: '%s'", bad[i]);
	CHECK_INT(ADD(m, 1, "ok 1"), 0);
	CHECK_INT(lch_metrics_bad(m), i);
	CHECK_INT(lch_metrics_lines(m), 1);
	j = lch_metrics_json(m);
	CHECK(num(j, "bad") == i && num(j, "lines") == 1);
	cJSON_Delete(j);
	lch_metrics_close(m);
	a = lines();
	CHECK_INT(cJSON_GetArraySize(a), 1);
	cJSON_Delete(a);
}

/* The message names the rank and the first bad line. */
static void
test_report(void)
{
	struct lch_metrics *m = sink();
	char out[4096];
	int p[2], saved = dup(2);
	ssize_t n;

	ADD(m, 0, "fine 1");
	ADD(m, 2, "not a metric line");
	ADD(m, 1, "also bad");
	CHECK(pipe(p) == 0);
	dup2(p[1], 2);
	lch_metrics_report(m);
	dup2(saved, 2);
	close(p[1]);
	n = read(p[0], out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	CHECK_(strstr(out, "2 metric lines") != NULL, "%s", out);
	CHECK_(strstr(out, "rank 2: 'not a metric line'") != NULL, "%s", out);
	lch_metrics_close(m);
	unlink(path);
}

static void
test_names(void)
{
	struct lch_metrics *m = sink();
	char line[600];
	cJSON *a;

	memset(line, 'n', 255);
	strcpy(line + 255, " 1");
	CHECK_INT(ADD(m, 0, line), 0);	/* 255 bytes: kept */
	memset(line, 'n', 256);
	strcpy(line + 256, " 1");
	CHECK_INT(ADD(m, 0, line), -1);	/* 256: bad */
	CHECK_INT(ADD(m, 0, "caf\xc3\xa9 2"), 0);
	CHECK_INT(ADD(m, 0, "{\"name\":\"q\\\"u\\\\o\",\"value\":3}"), 0);
	lch_metrics_close(m);
	a = lines();
	CHECK_INT(cJSON_GetArraySize(a), 3);
	CHECK_INT(strlen(str(cJSON_GetArrayItem(a, 0), "name")), 255);
	CHECK_STR(str(cJSON_GetArrayItem(a, 1), "name"), "caf\xc3\xa9");
	CHECK_STR(str(cJSON_GetArrayItem(a, 2), "name"), "q\"u\\o");
	cJSON_Delete(a);
}

static void
test_summary(void)
{
	struct lch_metrics *m = sink();
	const cJSON *s;
	cJSON *j;

	ADD(m, 0, "loss 3");
	ADD(m, 1, "loss 1 10");
	ADD(m, 0, "loss 2");
	ADD(m, 0, "acc 0.5");
	ADD(m, 0, "{\"name\":\"loss\",\"values\":[0,100]}");	/* no scalar */
	j = lch_metrics_json(m);
	s = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "summary"), "loss");
	CHECK(num(s, "count") == 3 && num(s, "last") == 2 &&
	    num(s, "min") == 1 && num(s, "max") == 3);
	CHECK(num(s, "last_step") == 1);	/* rank 0's second */
	s = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "summary"), "acc");
	CHECK(num(s, "count") == 1 && num(s, "last_step") == 0);
	cJSON_Delete(j);
	lch_metrics_close(m);
	unlink(path);
}

static int nseen;
static size_t seen_len[8];

static void
seen(void *arg, const char *line, size_t n)
{
	(void)arg;
	(void)line;
	if (nseen < 8)
		seen_len[nseen] = n;
	nseen++;
}

/* The agent's splitting: lines across feeds, one too long dropped. */
static void
test_split(void)
{
	static char big[LCH_METRIC_LINE_MAX + 10];
	struct lch_metrics_in in;

	memset(&in, 0, sizeof(in));
	lch_strbuf_init(&in.lb, 0);
	lch_metrics_in_feed(&in, "a 1\nb ", 6, seen, NULL);
	lch_metrics_in_feed(&in, "2\n", 2, seen, NULL);
	CHECK_INT(nseen, 2);
	CHECK_INT(seen_len[1], 3);
	memset(big, 'x', sizeof(big));
	lch_metrics_in_feed(&in, big, sizeof(big), seen, NULL);
	lch_metrics_in_feed(&in, big, 100, seen, NULL);
	lch_metrics_in_feed(&in, "\nc 3\n", 5, seen, NULL);
	CHECK_INT(nseen, 3);
	CHECK_INT(seen_len[2], 3);
	CHECK_INT(in.dropped, 1);
	memset(big, 'y', LCH_METRIC_LINE_MAX);	/* at the bound: kept */
	big[LCH_METRIC_LINE_MAX] = '\n';
	lch_metrics_in_feed(&in, big, LCH_METRIC_LINE_MAX + 1, seen, NULL);
	CHECK_INT(nseen, 4);
	CHECK_INT(seen_len[3], LCH_METRIC_LINE_MAX);
	lch_strbuf_release(&in.lb);
}

/* A FIFO in a private directory: lines through it, all removed after. */
static void
test_fifo(void)
{
	char err[256], other[PATH_MAX + 16], *dir, *f;
	struct lch_metrics_in in;
	struct stat st;
	int w;

	CHECK((dir = lch_metrics_dir_make(err, sizeof(err))) != NULL);
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
	CHECK((f = lch_metrics_fifo_make(dir, 3, err, sizeof(err))) != NULL);
	free(lch_metrics_fifo_make(dir, 1000, err, sizeof(err)));
	CHECK(lch_metrics_in_open(&in, f) == 0);
	CHECK((w = open(f, O_WRONLY | O_APPEND)) >= 0);
	CHECK(write(w, "z 1\n", 4) == 4);
	close(w);	/* the writer goes: no EOF for us */
	nseen = 0;
	CHECK_INT(lch_metrics_in_read(&in, seen, NULL), 4);
	CHECK_INT(nseen, 1);
	CHECK_INT(lch_metrics_in_read(&in, seen, NULL), 0);
	lch_metrics_in_close(&in);
	snprintf(other, sizeof(other), "%s/rank.x", dir);
	CHECK((w = open(other, O_WRONLY | O_CREAT, 0600)) >= 0);
	close(w);
	lch_metrics_dir_remove(dir);	/* not a FIFO of ours: kept, dir too */
	CHECK(stat(other, &st) == 0);
	snprintf(other, sizeof(other), "%s/rank.1000", dir);
	CHECK(lstat(other, &st) != 0);	/* past rank.3, far past */
	snprintf(other, sizeof(other), "%s/rank.x", dir);
	unlink(other);
	lch_metrics_dir_remove(dir);	/* rank.1000 as rank.3 */
	CHECK(stat(dir, &st) != 0);
	free(f);
	free(dir);
}

/* --mpi: the run directory, seen on this kernel, or not (another host). */
static void
test_where(void)
{
	char dir[] = "/tmp/metrics_where.XXXXXX", v[512];
	const char *got;

	CHECK(mkdtemp(dir) != NULL);
	CHECK_INT(lch_metrics_where_set(dir), 0);
	got = lch_metrics_where_path();
	CHECK_STR(got, dir);
	snprintf(v, sizeof(v), "%s", getenv(LCH_METRICS_WHERE_ENV));
	memcpy(v, "00000000", 8);	/* another kernel's boot id */
	setenv(LCH_METRICS_WHERE_ENV, v, 1);
	CHECK(lch_metrics_where_path() == NULL);
	setenv(LCH_METRICS_WHERE_ENV, "garbage", 1);
	CHECK(lch_metrics_where_path() == NULL);
	CHECK_INT(lch_metrics_where_set("/nonexistent/dir"), -1);
	rmdir(dir);
	CHECK_INT(lch_metrics_where_set(dir), -1);
}

TEST_LIST = {
	{ "forms", test_forms },
	{ "nonfinite", test_nonfinite },
	{ "bad", test_bad },
	{ "report", test_report },
	{ "names", test_names },
	{ "summary", test_summary },
	{ "split", test_split },
	{ "fifo", test_fifo },
	{ "where", test_where },
	{ NULL, NULL }
};
