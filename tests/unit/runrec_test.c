/*
 * runrec_test.c: the run record (runrec.h) in-process: run.json replaced
 * whole (a reader of the old one keeps a whole old one), its shape, the
 * JOBID.1, JOBID.2 names, a directory that cannot be made (one line, no
 * record), the logs' bytes, and the lock a reader sees.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "launcher_harness.h"
#include "muster.h"
#include "plan.h"
#include "runrec.h"

static struct lch_opts o;
static struct lch_plan p;
static char dir[64];

/* A scratch cwd, and options and a plan from words (as muster's). */
static void __attribute__((sentinel))
setup(const char *first, ...)
{
	const char *w[16] = { NULL };
	va_list ap;
	int n = 0;

	snprintf(dir, sizeof(dir), "/tmp/muster-rr-XXXXXX");
	if (mkdtemp(dir) == NULL || chdir(dir) != 0) {
		perror("# mkdtemp");
		_exit(1);
	}
	va_start(ap, first);
	w[n++] = first;
	while (n < 14 && (w[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	CHECK_INT(lh_opts(&o, 1, w[0], w[1], w[2], w[3], w[4], w[5], w[6],
	    w[7], w[8], w[9], w[10], w[11], w[12], w[13],
	    (const char *)NULL), 0);
	memset(&p, 0, sizeof(p));
	CHECK_INT(lch_plan_build(&p, &o), 0);
}

static void
teardown(void)
{
	char cmd[128];

	lch_plan_release(&p);
	lch_opts_release(&o);
	if (chdir("/") == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		(void)!system(cmd);
	}
}

/* A whole file, NUL-ended (malloc'ed), or NULL. */
static char *
slurp_fd(int fd, size_t *len)
{
	char *buf = malloc(1 << 22);
	ssize_t n;
	size_t k = 0;

	while ((n = read(fd, buf + k, (1 << 22) - 1 - k)) > 0)
		k += (size_t)n;
	buf[k] = '\0';
	if (len)
		*len = k;
	return buf;
}

static char *
slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	char *s;

	if (fd < 0)
		return NULL;
	s = slurp_fd(fd, len);
	close(fd);
	return s;
}

static cJSON *
run_json(const char *rundir)
{
	char path[256], *text;
	cJSON *j;

	snprintf(path, sizeof(path), "%s/run.json", rundir);
	if ((text = slurp(path, NULL)) == NULL)
		return NULL;
	j = cJSON_Parse(text);
	free(text);
	return j;
}

static const char *
jstr(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double
jnum(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* A reader that opened run.json before a write still reads a whole one. */
static void
test_atomic_write(void)
{
	struct lch_runrec *rr;
	struct stat a, b;
	cJSON *old, *cur;
	char *text;
	int fd;

	setup("-n", "2", "--job-id", "atom", "--", "true", NULL);
	CHECK((rr = lch_runrec_open(&o, &p, NULL)) != NULL);
	CHECK_STR(lch_runrec_dir(rr), "muster-runs/atom");
	CHECK((fd = open("muster-runs/atom/run.json", O_RDONLY)) >= 0);
	CHECK(fstat(fd, &a) == 0);
	lch_runrec_rank_start(rr, 0, 100);
	lch_runrec_rank_start(rr, 1, 101);	/* the last: Running, written */
	lch_runrec_sync(rr);	/* by the record's thread */
	CHECK(stat("muster-runs/atom/run.json", &b) == 0);
	CHECK(a.st_ino != b.st_ino);	/* replaced, not rewritten in place */
	text = slurp_fd(fd, NULL);
	CHECK((old = cJSON_Parse(text)) != NULL);
	CHECK_STR(jstr(old, "status"), "Starting");
	CHECK((cur = run_json("muster-runs/atom")) != NULL);
	CHECK_STR(jstr(cur, "status"), "Running");
	CHECK(access("muster-runs/atom/.run.json.tmp", F_OK) != 0);
	/* a stale temporary file (a launcher killed mid-write) is replaced */
	close(open("muster-runs/atom/.run.json.tmp", O_WRONLY | O_CREAT |
	    O_TRUNC, 0644));
	CHECK_INT(lch_runrec_write(rr, NULL), 0);
	CHECK(access("muster-runs/atom/.run.json.tmp", F_OK) != 0);
	cJSON_Delete(old);
	cJSON_Delete(cur);
	free(text);
	close(fd);
	lch_runrec_free(rr);
	teardown();
}

static const cJSON *
rank_of(const cJSON *j, int r)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j,
	    "ranks"), r);
}

/* Every field a reader needs, after a job whose rank 1 failed first. */
static void
test_json_shape(void)
{
	struct lch_runrec *rr;
	const cJSON *h, *f, *l;
	cJSON *j, *m;

	setup("--nodes", "2", "--procs-per-node", "2", "--max-restarts", "1",
	    "--timeout", "60", "--", "sh", "-c", "exit 3", NULL);
	CHECK((rr = lch_runrec_open(&o, &p, NULL)) != NULL);
	lch_runrec_attempt(rr, 0);
	lch_runrec_node(rr, 0, "10.0.0.1");
	lch_runrec_node(rr, 1, "10.0.0.2");
	lch_runrec_rank_start(rr, 0, 200);
	lch_runrec_rank_start(rr, 1, 201);
	lch_runrec_rank_start(rr, 2, 202);
	lch_runrec_rank_end(rr, 1, 201, 3, LCH_RR_FAIL, 0);
	lch_runrec_rank_end(rr, 1, 201, 3, LCH_RR_EXIT, 1);
	lch_runrec_rank_end(rr, 0, 200, 143, LCH_RR_EXIT, 1);
	lch_runrec_rank_end(rr, 2, 202, 0, LCH_RR_EXIT, 1);
	lch_runrec_rank_end(rr, 3, 0, 127, LCH_RR_NOEXEC, 1);
	lch_runrec_failure(rr, 1, "localhost", 201, 3,
	    "rank 1 (host localhost, pid 201) exited with code 3");
	lch_runrec_attempt_end(rr, 3, "rank 1 ... code 3", 1);
	lch_runrec_sync(rr);
	j = run_json(lch_runrec_dir(rr));
	CHECK_STR(jstr(j, "status"), "Starting");	/* restarting */
	cJSON_Delete(j);
	lch_runrec_attempt(rr, 1);
	lch_runrec_rank_start(rr, 0, 300);
	m = cJSON_CreateObject();
	cJSON_AddNumberToObject(m, "lines", 7);
	lch_runrec_set(rr, "metrics", m);
	lch_runrec_failure(rr, -1, "h9", 0, 255, "lost the agent of h9");
	lch_runrec_attempt_end(rr, 255, "lost the agent of h9", 0);
	lch_runrec_finish(rr, lch_runrec_final(255, 0, 0), 255);
	CHECK((j = run_json(lch_runrec_dir(rr))) != NULL);
	CHECK_INT(jnum(j, "version"), 1);
	CHECK_STR(jstr(j, "id"), p.job_id);
	CHECK_STR(jstr(j, "status"), "Failed");
	CHECK_INT(jnum(j, "exit_code"), 255);
	CHECK_INT(jnum(j, "np"), 4);
	CHECK_INT(jnum(j, "nnodes"), 2);
	CHECK_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "command"),
	    2)->valuestring, "exit 3");
	CHECK_STR(jstr(cJSON_GetObjectItem(j, "launcher"), "kind"), "local");
	CHECK_INT(jnum(cJSON_GetObjectItem(j, "launcher"), "pid"), getpid());
	CHECK_STR(jstr(cJSON_GetObjectItem(j, "launcher"), "version"),
	    MUSTER_VERSION_STRING);
	CHECK_INT(jnum(cJSON_GetObjectItem(j, "options"), "max_restarts"), 1);
	CHECK_INT(jnum(cJSON_GetObjectItem(j, "options"), "timeout"), 60);
	CHECK_STR(jstr(cJSON_GetObjectItem(j, "options"), "mode"), "plain");
	h = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "hosts"), 1);
	CHECK_STR(jstr(h, "addr"), "10.0.0.2");
	CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(h, "ranks")), 2);
	CHECK_INT(cJSON_GetArrayItem(cJSON_GetObjectItem(h, "ranks"),
	    0)->valueint, 2);
	CHECK(jnum(j, "end") >= jnum(j, "start"));
	CHECK(jnum(j, "duration") >= 0);
	/* the last attempt's ranks: 0 started and lost, the rest not */
	CHECK_STR(jstr(rank_of(j, 0), "status"), "Lost");
	CHECK_INT(jnum(rank_of(j, 0), "pid"), 300);
	CHECK_STR(jstr(rank_of(j, 1), "status"), "NotStarted");
	CHECK_INT(jnum(rank_of(j, 3), "node"), 1);
	f = cJSON_GetObjectItem(j, "first_failure");
	CHECK(cJSON_GetObjectItem(f, "rank") == NULL);
	CHECK_STR(jstr(f, "host"), "h9");
	CHECK_STR(jstr(f, "reason"), "lost the agent of h9");
	l = cJSON_GetObjectItem(j, "attempts");
	CHECK_INT(cJSON_GetArraySize(l), 2);
	CHECK_INT(jnum(cJSON_GetArrayItem(l, 0), "exit_code"), 3);
	CHECK_INT(jnum(cJSON_GetArrayItem(l, 1), "attempt"), 1);
	CHECK_INT(jnum(cJSON_GetObjectItem(j, "metrics"), "lines"), 7);
	cJSON_Delete(j);
	lch_runrec_free(rr);
	teardown();
}

/* Ranks' statuses, signals and the first failure of one attempt. */
static void
test_rank_statuses(void)
{
	struct lch_runrec *rr;
	const cJSON *f;
	cJSON *j;

	setup("-n", "4", "--", "true", NULL);
	CHECK((rr = lch_runrec_open(&o, &p, "ssh")) != NULL);
	lch_runrec_rank_start(rr, 0, 10);
	lch_runrec_rank_start(rr, 1, 11);
	lch_runrec_rank_start(rr, 2, 12);
	lch_runrec_rank_end(rr, 2, 12, 3, LCH_RR_FAIL, 0);
	lch_runrec_rank_end(rr, 0, 10, 143, LCH_RR_EXIT, 1);
	lch_runrec_rank_end(rr, 1, 11, 0, LCH_RR_EXIT, 1);
	lch_runrec_rank_end(rr, 3, 0, 127, LCH_RR_NOEXEC, 1);
	lch_runrec_failure(rr, 2, "localhost", 12, 3, "rank 2 failed");
	lch_runrec_attempt_end(rr, 3, "rank 2 failed", 0);
	lch_runrec_finish(rr, LCH_RR_FAILED, 3);
	j = run_json(lch_runrec_dir(rr));
	CHECK_STR(jstr(cJSON_GetObjectItem(j, "launcher"), "kind"), "ssh");
	CHECK_STR(jstr(rank_of(j, 0), "status"), "Killed");
	CHECK_STR(jstr(rank_of(j, 0), "signal"), "SIGTERM");
	CHECK_STR(jstr(rank_of(j, 1), "status"), "Completed");
	CHECK(cJSON_GetObjectItem(rank_of(j, 1), "signal") == NULL);
	CHECK_STR(jstr(rank_of(j, 2), "status"), "Failed");
	CHECK_INT(jnum(rank_of(j, 2), "exit_code"), 3);
	CHECK_STR(jstr(rank_of(j, 3), "status"), "NotStarted");
	CHECK_INT(jnum(rank_of(j, 3), "exit_code"), 127);
	CHECK(cJSON_GetObjectItem(j, "running") == NULL);	/* 3 of 4 */
	f = cJSON_GetObjectItem(j, "first_failure");
	CHECK_INT(jnum(f, "rank"), 2);
	CHECK_INT(jnum(f, "pid"), 12);
	CHECK_STR(jstr(f, "reason"), "rank 2 failed");
	cJSON_Delete(j);
	lch_runrec_free(rr);
	CHECK_STR(lch_runrec_final(0, 0, 0), "Completed");
	CHECK_STR(lch_runrec_final(130, 2, 0), "Canceled");
	CHECK_STR(lch_runrec_final(124, 0, 1), "TimedOut");
	CHECK_STR(lch_runrec_final(1, 0, 0), "Failed");
	teardown();
}

/* --config: its path and its JSON as given ("spec"), in run.json. */
static void
test_spec(void)
{
	struct lch_runrec *rr;
	const char *cfg;
	char path[256];
	cJSON *j, *spec;

	cfg = lh_write_file("{\"np\": 3, \"job_id\": \"spec\", "
	    "\"env\": {\"A\": \"1\"}, \"program\": [\"true\", \"x\"]}");
	snprintf(path, sizeof(path), "%s", cfg);
	setup("--config", path, NULL);
	lh_remove_file();
	CHECK((rr = lch_runrec_open(&o, &p, NULL)) != NULL);
	CHECK((j = run_json("muster-runs/spec")) != NULL);
	CHECK_STR(jstr(j, "config"), path);
	spec = cJSON_GetObjectItem(j, "spec");
	CHECK_INT(jnum(spec, "np"), 3);
	CHECK_STR(jstr(cJSON_GetObjectItem(spec, "env"), "A"), "1");
	CHECK_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(spec, "program"),
	    1)->valuestring, "x");
	CHECK_INT(jnum(j, "np"), 3);
	CHECK_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "options"),
	    0)->string, "np");
	cJSON_Delete(j);
	lch_runrec_free(rr);
	teardown();
}

/* A job id whose directory holds a run gets .1, .2; --run-dir is as is. */
static void
test_names(void)
{
	struct lch_runrec *a, *b, *c;

	setup("-n", "1", "--job-id", "same", "--", "true", NULL);
	CHECK((a = lch_runrec_open(&o, &p, NULL)) != NULL);
	lch_runrec_finish(a, LCH_RR_COMPLETED, 0);
	lch_runrec_free(a);
	CHECK((b = lch_runrec_open(&o, &p, NULL)) != NULL);
	CHECK((c = lch_runrec_open(&o, &p, NULL)) != NULL);
	CHECK_STR(lch_runrec_dir(b), "muster-runs/same.1");
	CHECK_STR(lch_runrec_dir(c), "muster-runs/same.2");
	CHECK(access("muster-runs/same/run.json", F_OK) == 0);
	CHECK(access("muster-runs/same.2/logs", F_OK) == 0);
	CHECK(access("muster-runs/same.2/outputs", F_OK) == 0);
	lch_runrec_free(b);
	lch_runrec_free(c);
	/* a directory without run.json (made, never written) is taken */
	CHECK(mkdir("muster-runs/same.3", 0755) == 0);
	CHECK((a = lch_runrec_open(&o, &p, NULL)) != NULL);
	CHECK_STR(lch_runrec_dir(a), "muster-runs/same.3");
	lch_runrec_free(a);
	o.run_dir = lch_xstrdup("given/deeper");
	CHECK((a = lch_runrec_open(&o, &p, NULL)) != NULL);
	CHECK_STR(lch_runrec_dir(a), "given/deeper");
	CHECK(access("given/deeper/run.json", F_OK) == 0);
	lch_runrec_free(a);
	teardown();
}

/* lch_runrec_open gives no record and says want, one line. */
static void
refused(const char *want)
{
	struct lch_runrec *rr;

	lh_capture(2);
	rr = lch_runrec_open(&o, &p, NULL);
	lh_captured();
	CHECK(rr == NULL);
	CHECK_STR(lh_err, want);
	lch_runrec_free(rr);
}

/* No record where it cannot be made: one line naming it, NULL. */
static void
test_unwritable(void)
{
	int fd;

	setup("-n", "1", "--", "true", NULL);
	CHECK((fd = open("file", O_WRONLY | O_CREAT, 0644)) >= 0);
	close(fd);
	o.run_dir = lch_xstrdup("file/run");
	refused("muster: cannot keep the run record in 'file/run': Not a "
	    "directory (the job runs without one)\n");
	/* a .lock that is a directory: the directory is made, not usable */
	free(o.run_dir);
	o.run_dir = lch_xstrdup("d");
	CHECK(mkdir("d", 0755) == 0 && mkdir("d/.lock", 0755) == 0);
	refused("muster: cannot keep the run record in 'd': .lock: Is a "
	    "directory (the job runs without one)\n");
	/* run.json a directory: the first write fails */
	CHECK(rmdir("d/.lock") == 0 && mkdir("d/run.json", 0755) == 0);
	refused("muster: cannot keep the run record in 'd': run.json: Is a "
	    "directory (the job runs without one)\n");
	/* --no-record: nothing made, nothing said */
	free(o.run_dir);
	o.run_dir = NULL;
	o.no_record = 1;
	refused("");
	CHECK(access("muster-runs", F_OK) != 0);
	teardown();
}

/* A write that fails while the job runs: one warning, the job goes on. */
static void
test_write_fails(void)
{
	struct lch_runrec *rr;

	setup("-n", "1", "--job-id", "wf", "--", "true", NULL);
	CHECK((rr = lch_runrec_open(&o, &p, NULL)) != NULL);
	CHECK(unlink("muster-runs/wf/run.json") == 0);
	CHECK(mkdir("muster-runs/wf/run.json", 0755) == 0);
	lh_capture(2);
	lch_runrec_rank_start(rr, 0, 5);	/* Running, by the thread */
	lch_runrec_sync(rr);
	lch_runrec_finish(rr, LCH_RR_COMPLETED, 0);
	lch_runrec_free(rr);
	lh_captured();
	CHECK_STR(lh_err, "muster: cannot write the run record "
	    "'muster-runs/wf/run.json': Is a directory\n");
	CHECK(access("muster-runs/wf/.run.json.tmp", F_OK) != 0);
	teardown();
}

/* The logs hold the bytes as written: lines, pieces, big ones. */
static void
test_logs(void)
{
	static char big[200000];
	struct lch_runrec *rr;
	char *got;
	size_t len;

	setup("-n", "2", "--job-id", "logs", "--", "true", NULL);
	memset(big, 'x', sizeof(big));
	CHECK((rr = lch_runrec_open(&o, &p, NULL)) != NULL);
	lch_runrec_log(rr, 1, 0, "one", 3, 1);
	lch_runrec_log(rr, 1, 0, "tw", 2, 0);
	lch_runrec_log(rr, 1, 0, "o\r", 2, 1);
	lch_runrec_log(rr, 1, 1, "err", 3, 1);
	/* buffered until a flush */
	CHECK(access("muster-runs/logs/logs/rank.1.stdout", F_OK) != 0);
	lch_runrec_flush(rr);
	got = slurp("muster-runs/logs/logs/rank.1.stdout", &len);
	CHECK_STR(got, "one\ntwo\r\n");
	free(got);
	got = slurp("muster-runs/logs/logs/rank.1.stderr", &len);
	CHECK_STR(got, "err\n");
	free(got);
	/* past LCH_RUNREC_LOG_BUF it goes at once, then the partial end */
	lch_runrec_log(rr, 0, 0, big, sizeof(big), 0);
	got = slurp("muster-runs/logs/logs/rank.0.stdout", &len);
	CHECK_INT(len, sizeof(big));
	free(got);
	lch_runrec_log(rr, 0, 0, "end", 3, 0);
	lch_runrec_free(rr);	/* flushes */
	got = slurp("muster-runs/logs/logs/rank.0.stdout", &len);
	CHECK_INT(len, sizeof(big) + 3);
	CHECK(memcmp(got + sizeof(big), "end", 3) == 0);
	free(got);
	teardown();
}

/* A held .lock is live; freed, not; no such directory, an error. */
static void
test_live(void)
{
	struct lch_runrec *rr;
	char path[256];

	setup("-n", "1", "--job-id", "lk", "--", "true", NULL);
	CHECK((rr = lch_runrec_open(&o, &p, NULL)) != NULL);
	snprintf(path, sizeof(path), "%s/%s", dir, lch_runrec_dir(rr));
	CHECK_INT(lch_runrec_live(path), 1);
	if (fork() == 0)	/* another process sees it too */
		_exit(lch_runrec_live(path) == 1 ? 0 : 1);
	{
		int st;

		CHECK(wait(&st) > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	lch_runrec_free(rr);
	CHECK_INT(lch_runrec_live(path), 0);
	errno = 0;
	CHECK_INT(lch_runrec_live("/nonexistent/muster-run"), -1);
	CHECK_INT(errno, ENOENT);
	CHECK_STR(lch_runrec_shown("Running", 0), "Interrupted");
	CHECK_STR(lch_runrec_shown("Starting", 0), "Interrupted");
	CHECK_STR(lch_runrec_shown("Running", 1), "Running");
	CHECK_STR(lch_runrec_shown("Failed", 0), "Failed");
	teardown();
}

TEST_LIST = {
	{ "atomic_write", test_atomic_write },
	{ "json_shape", test_json_shape },
	{ "rank_statuses", test_rank_statuses },
	{ "spec", test_spec },
	{ "names", test_names },
	{ "unwritable", test_unwritable },
	{ "write_fails", test_write_fails },
	{ "logs", test_logs },
	{ "live", test_live },
	{ NULL, NULL }
};
