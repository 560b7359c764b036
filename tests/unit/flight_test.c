/*
 * flight_test.c: the flight record (common/flight_fmt.h): the agent's
 * file and libmuster's writer agree on the layout, a reader never sees
 * a torn entry while a thread writes, the q record round-trips, and the
 * stall report's lines (launcher/flight.h).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "comm.h"
#include "flight.h"
#include "flightrec.h"
#include "test.h"

static char dir[] = "/tmp/flight_test.XXXXXX";

static char *
mkpath(const char *name)
{
	static char p[256];

	if (mkdtemp(dir) == NULL && dir[0] == '\0')
		abort();
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

/* A file made by the agent's side, mapped by libmuster's. */
static muster_comm *
attached(const char *path, int rank)
{
	char err[256];
	muster_comm *c = calloc(1, sizeof(*c));

	CHECK_INT(lch_flight_create(path, rank, err, sizeof(err)), 0);
	setenv(MST_FLIGHT_ENV, path, 1);
	mst_flight_attach(rank);
	c->t.size = 4;
	c->t.rank = rank;
	c->flight_id = 0;
	return c;
}

static void
test_layout(void)
{
	char *path = mkpath("flight.3"), err[256];
	struct lch_flight_snap s;
	struct mst_flight_slot fs;
	struct stat st;
	muster_comm *c;
	char *json;

	CHECK_INT(lch_flight_create(path, 3, err, sizeof(err)), 0);
	CHECK_INT(stat(path, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0600);
	CHECK_INT(st.st_size, MST_FLIGHT_SIZE(MST_FLIGHT_RING));
	CHECK_INT(lch_flight_create(path, 3, err, sizeof(err)), -1);
	CHECK(strstr(err, path) != NULL);
	/* before libmuster: a record, no entries, no process */
	CHECK_INT(lch_flight_read(path, &s, err, sizeof(err)), 0);
	CHECK_INT(s.have, 0);
	CHECK_INT(s.rank, 3);
	unlink(path);
	c = attached(path, 3);
	CHECK(mst_flight != NULL);
	CHECK_INT(mst_flight->pid, getpid());
	mst_flight_begin(&fs, c, MST_FLIGHT_ALLREDUCE, MUSTER_FLOAT32,
	    MUSTER_SUM, 1048576, 0, mst_now());
	mst_flight_end(&fs, MUSTER_OK);
	mst_flight_begin(&fs, c, MST_FLIGHT_BROADCAST, MUSTER_INT32,
	    MUSTER_SUM, 7, 2, mst_now());
	CHECK_INT(lch_flight_read(path, &s, err, sizeof(err)), 0);
	CHECK_INT(s.have, 1);
	CHECK_INT(s.pid, getpid());
	CHECK_INT(s.n, 2);
	CHECK_INT(s.head, 2);
	CHECK_INT(s.last_started, 2);
	CHECK_INT(s.last_completed, 1);
	CHECK_INT(s.e[0].seq, 1);
	CHECK_INT(s.e[0].state, MST_FLIGHT_COMPLETED);
	CHECK_INT(s.e[0].count, 1048576);
	CHECK(s.e[0].t_end_ns >= s.e[0].t_start_ns);
	CHECK_INT(s.e[1].op, MST_FLIGHT_BROADCAST);
	CHECK_INT(s.e[1].extra, 2);
	CHECK_INT(s.e[1].state, MST_FLIGHT_STARTED);
	CHECK_INT(s.e[1].t_end_ns, 0);
	CHECK_INT(s.e[1].comm_size, 4);
	mst_flight_end(&fs, MUSTER_EPEER);
	CHECK_INT(lch_flight_read(path, &s, err, sizeof(err)), 0);
	CHECK_INT(s.e[1].state, MST_FLIGHT_FAILED);
	CHECK_INT(s.e[1].result, MUSTER_EPEER);
	/* the q record round-trips */
	{
		struct lch_flight_snap d;

		json = lch_flight_encode(&s);
		CHECK_INT(lch_flight_decode(json, strlen(json), &d), 0);
		CHECK_INT(d.n, 2);
		CHECK_INT(d.rank, 3);
		CHECK_INT(d.e[0].count, 1048576);
		CHECK_INT(d.e[1].t_start_ns, s.e[1].t_start_ns);
		CHECK_INT(d.e[0].t_end_ns, s.e[0].t_end_ns);
		CHECK_INT(d.e[1].result, MUSTER_EPEER);
		CHECK_INT(lch_flight_decode("{\"v\":2}", 7, &d), -1);
		CHECK_INT(lch_flight_decode(json, strlen(json) - 1, &d), -1);
		free(json);
	}
	/* the ring wraps: the newest 64, in order */
	for (int i = 0; i < 100; i++) {
		mst_flight_begin(&fs, c, MST_FLIGHT_BARRIER, MUSTER_UINT8,
		    MUSTER_MAX, 0, 0, mst_now());
		mst_flight_end(&fs, MUSTER_OK);
	}
	CHECK_INT(lch_flight_read(path, &s, err, sizeof(err)), 0);
	CHECK_INT(s.n, MST_FLIGHT_RING);
	CHECK_INT(s.e[0].seq, 102 - MST_FLIGHT_RING + 1);
	CHECK_INT(s.e[MST_FLIGHT_RING - 1].seq, 102);
	/* started in a slot that held an ended one: no end time (the
	 * writer leaves the old one there); a quick end is at its start */
	mst_flight_begin(&fs, c, MST_FLIGHT_ALLREDUCE, MUSTER_FLOAT32,
	    MUSTER_SUM, 2, 0, mst_now());
	CHECK_INT(lch_flight_read(path, &s, err, sizeof(err)), 0);
	CHECK_INT(s.e[s.n - 1].seq, 103);
	CHECK_INT(s.e[s.n - 1].state, MST_FLIGHT_STARTED);
	CHECK_INT(s.e[s.n - 1].t_end_ns, 0);
	CHECK_INT(s.last_started, 103);
	CHECK_INT(s.last_completed, 102);
	CHECK_INT(s.progress_ns, s.e[s.n - 1].t_start_ns);
	mst_flight_end_quick(&fs, MUSTER_OK);
	CHECK_INT(lch_flight_read(path, &s, err, sizeof(err)), 0);
	CHECK_INT(s.e[s.n - 1].state, MST_FLIGHT_COMPLETED);
	CHECK_INT(s.e[s.n - 1].t_end_ns, s.e[s.n - 1].t_start_ns);
	CHECK_INT(s.e[s.n - 1].result, 0);
	CHECK_INT(s.last_completed, 103);
	CHECK_INT(s.progress_ns, s.e[s.n - 1].t_end_ns);
	free(c);
}

/*
 * A record a live process attached to (the rank, for a child of it that
 * inherited MUSTER_FLIGHT and makes a communicator) stays its own.
 */
static void
test_attach_taken(void)
{
	char *path = mkpath("flight.5"), err[256];
	int32_t pid = (int32_t)getppid();
	int fd;

	CHECK_INT(lch_flight_create(path, 5, err, sizeof(err)), 0);
	fd = open(path, O_WRONLY);
	CHECK(pwrite(fd, &pid, sizeof(pid), offsetof(struct mst_flight_hdr,
	    pid)) == sizeof(pid));
	close(fd);
	setenv(MST_FLIGHT_ENV, path, 1);
	mst_flight_attach(5);
	CHECK(mst_flight == NULL);
}

static void
test_bad_files(void)
{
	char *path = mkpath("junk"), err[256], link[300];
	struct lch_flight_snap s;
	int fd;

	CHECK_INT(lch_flight_read(path, &s, err, sizeof(err)), -1);
	CHECK(strstr(err, "cannot open") != NULL);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	CHECK(write(fd, "0123456789", 10) == 10);
	close(fd);
	CHECK_INT(lch_flight_read(path, &s, err, sizeof(err)), -1);
	CHECK(strstr(err, "not a flight record") != NULL);
	CHECK(truncate(path, MST_FLIGHT_SIZE(MST_FLIGHT_RING)) == 0);
	CHECK_INT(lch_flight_read(path, &s, err, sizeof(err)), -1);
	CHECK(strstr(err, "bad magic") != NULL);
	/* libmuster maps no junk, and no symbolic link */
	snprintf(link, sizeof(link), "%s.link", path);
	CHECK(symlink(path, link) == 0);
	CHECK_INT(lch_flight_create(link, 0, err, sizeof(err)), -1);
	setenv(MST_FLIGHT_ENV, path, 1);
	mst_flight_attach(0);
	CHECK(mst_flight == NULL);
}

/* --- a writer thread, a reader --- */

static atomic_int stop_writer;

static void *
writer(void *arg)
{
	muster_comm *c = arg;
	struct mst_flight_slot fs;

	while (!atomic_load(&stop_writer)) {
		uint64_t next = c->flight_seq + 1;

		mst_flight_begin(&fs, c, 1 + (int)(next % 6), (int)(next % 10),
		    (int)(next % 5), next * 3, (uint32_t)(next * 7), mst_now());
		if (next % 2)	/* the timed end, and the quick one */
			mst_flight_end(&fs, next % 11 ? MUSTER_OK : MUSTER_EPEER);
		else
			mst_flight_end_quick(&fs, next % 11 ? MUSTER_OK :
			    MUSTER_EPEER);
	}
	return NULL;
}

static int
entry_whole(const struct lch_flight_ent *e)
{
	return e->count == e->seq * 3 && e->extra == (uint32_t)(e->seq * 7) &&
	    e->op == 1 + (int)(e->seq % 6) && e->dtype == (int)(e->seq % 10) &&
	    e->redop == (int)(e->seq % 5) && e->comm_size == 4 &&
	    e->idx + 1 == e->seq &&
	    (e->state == MST_FLIGHT_STARTED ? e->t_end_ns == 0 &&
	    e->result == 0 : e->t_end_ns >= e->t_start_ns &&
	    (e->seq % 2 || e->t_end_ns == e->t_start_ns) &&
	    (e->state == MST_FLIGHT_FAILED) == (e->seq % 11 == 0) &&
	    e->result == (e->seq % 11 ? 0 : MUSTER_EPEER));
}

static void
test_seqlock(void)
{
	char *path = mkpath("flight.1"), err[256];
	struct lch_flight_snap s;
	muster_comm *c = attached(path, 1);
	long reads = 0, entries = 0, bad = 0;
	double end = mst_now() + 1.5;
	pthread_t t;
	int i;

	CHECK(pthread_create(&t, NULL, writer, c) == 0);
	while (mst_now() < end) {
		CHECK_INT(lch_flight_read(path, &s, err, sizeof(err)), 0);
		reads++;
		for (i = 0; i < s.n; i++, entries++)
			if (!entry_whole(&s.e[i])) {
				if (bad++ == 0)
					printf("# torn: seq %llu count %llu\n",
					    (unsigned long long)s.e[i].seq,
					    (unsigned long long)s.e[i].count);
			}
		for (i = 1; i < s.n; i++)
			bad += s.e[i].idx <= s.e[i - 1].idx;
	}
	atomic_store(&stop_writer, 1);
	pthread_join(t, NULL);
	printf("# %ld reads, %ld entries, writer at #%llu\n", reads, entries,
	    (unsigned long long)c->flight_seq);
	CHECK_INT(bad, 0);
	CHECK(reads > 10 && entries > 1000 && c->flight_seq > 10000);
	free(c);
}

/* --- the report, on snapshots made by hand --- */

#define NS 1000000000LL
#define NOW (1000 * NS)

static struct lch_flight_snap snaps[16];

/* Rank r did collectives 1..done of (op, dt, count), then started
 * `started` (0: none) `ago` seconds before NOW. */
static void
mk(int r, int op, int dt, uint64_t count, uint64_t done, uint64_t started,
   int ago)
{
	struct lch_flight_snap *s = &snaps[r];
	uint64_t q, first = done > 40 ? done - 40 : 1;

	memset(s, 0, sizeof(*s));
	s->have = 1;
	s->rank = r;
	s->pid = 100 + r;
	s->taken_ns = NOW;
	for (q = first; q <= done; q++)
		s->e[s->n++] = (struct lch_flight_ent){ q - 1, q, count, op,
		    dt, 0, MST_FLIGHT_COMPLETED, 0, 0, 16, 0,
		    NOW - 100 * NS + (int64_t)q, NOW - 99 * NS };
	if (started)
		s->e[s->n++] = (struct lch_flight_ent){ started - 1, started,
		    count, op, dt, 0, MST_FLIGHT_STARTED, 0, 0, 16, 0,
		    NOW - ago * NS, 0 };
	s->last_completed = done;
	s->last_started = started ? started : done;
}

static void
report_is(int n, const char *want)
{
	struct lch_strbuf out = LCH_STRBUF_INIT;

	lch_flight_report(snaps, n, NOW, &out);
	CHECK_STR(out.buf, want);
	lch_strbuf_release(&out);
}

static void
test_report_completed(void)
{
	int r;

	for (r = 0; r < 4; r++)
		mk(r, MST_FLIGHT_ALLREDUCE, MUSTER_FLOAT32, 8, 12, 0, 0);
	report_is(4, "no collective in flight: ranks 0-3 last completed #12\n");
	mk(3, MST_FLIGHT_ALLREDUCE, MUSTER_FLOAT32, 8, 11, 0, 0);
	report_is(4, "no collective in flight: ranks 0-2 last completed #12, "
	    "rank 3 last completed #11\n");
}

static void
test_report_not_entered(void)
{
	int r;

	for (r = 0; r < 8; r++)
		mk(r, MST_FLIGHT_ALLREDUCE, MUSTER_FLOAT32, 1048576, 1233, 1234,
		    31);
	mk(3, MST_FLIGHT_ALLREDUCE, MUSTER_FLOAT32, 1048576, 1233, 0, 0);
	report_is(8, "allreduce #1234 (float32 x 1048576): ranks 0-2,4-7 "
	    "waiting 31 s; rank 3 has not entered it, last completed #1233\n");
	/* the longest wait; two behind */
	mk(5, MST_FLIGHT_ALLREDUCE, MUSTER_FLOAT32, 1048576, 1233, 1234, 2);
	mk(6, MST_FLIGHT_ALLREDUCE, MUSTER_FLOAT32, 1048576, 1233, 0, 0);
	mk(0, MST_FLIGHT_ALLREDUCE, MUSTER_FLOAT32, 1048576, 1233, 1234, 40);
	report_is(8, "allreduce #1234 (float32 x 1048576): ranks 0-2,4,5,7 "
	    "waiting 40 s; ranks 3,6 have not entered it, last completed "
	    "#1233\n");
}

static void
test_report_skipped(void)
{
	int r;

	for (r = 0; r < 4; r++)
		mk(r, MST_FLIGHT_ALLREDUCE, MUSTER_FLOAT32, 256, 1233, 1234, 5);
	mk(2, MST_FLIGHT_ALLREDUCE, MUSTER_FLOAT32, 256, 1234, 1235, 4);
	snaps[2].e[snaps[2].n - 2].count = 0;	/* its #1234, done alone */
	report_is(4, "allreduce #1234 (float32 x 256): ranks 0,1,3 waiting "
	    "5.0 s; rank 2 skipped it: waiting in #1235\n"
	    "allreduce #1235 (float32 x 256): rank 2 waiting 4.0 s; ranks 0,1,3 "
	    "have not entered it, waiting in #1234\n"
	    "rank 2 called another collective as #1234: its allreduce #1234 "
	    "(float32 x 0), the others' allreduce #1234 (float32 x 256)\n");
	/* rank 2 gave its part to #1234 and stopped in #1235: the others
	 * still finish #1234 */
	snaps[2].e[snaps[2].n - 2].count = 256;
	report_is(4, "allreduce #1234 (float32 x 256): ranks 0,1,3 waiting "
	    "5.0 s; rank 2 completed it, waiting in #1235\n"
	    "allreduce #1235 (float32 x 256): rank 2 waiting 4.0 s; ranks 0,1,3 "
	    "have not entered it, waiting in #1234\n");
	/* no entry #1234 at all (the ring forgot it, or never made) */
	mk(2, MST_FLIGHT_ALLREDUCE, MUSTER_FLOAT32, 256, 1233, 1235, 4);
	snaps[2].e[snaps[2].n - 1].seq = 1235;
	report_is(4, "allreduce #1234 (float32 x 256): ranks 0,1,3 waiting "
	    "5.0 s; rank 2 skipped it: waiting in #1235\n"
	    "allreduce #1235 (float32 x 256): rank 2 waiting 4.0 s; ranks 0,1,3 "
	    "have not entered it, waiting in #1234\n");
}

static void
test_report_mixed(void)
{
	struct lch_strbuf out = LCH_STRBUF_INIT;

	mk(0, MST_FLIGHT_BROADCAST, MUSTER_INT32, 10, 6, 7, 3);
	mk(1, MST_FLIGHT_BROADCAST, MUSTER_INT32, 10, 6, 7, 3);
	mk(2, MST_FLIGHT_BARRIER, MUSTER_UINT8, 0, 6, 7, 3);
	snaps[2].e[snaps[2].n - 1].redop = MUSTER_MAX;
	snaps[0].e[snaps[0].n - 1].extra = 1;
	snaps[1].e[snaps[1].n - 1].extra = 1;
	mk(3, MST_FLIGHT_ALLGATHER, MUSTER_FLOAT64, 4, 5, 6, 12);
	memset(&snaps[4], 0, sizeof(snaps[4]));
	snaps[4].rank = 4;
	memset(&snaps[5], 0, sizeof(snaps[5]));
	snaps[5].rank = 5;
	lch_flight_report(snaps, 6, NOW, &out);
	CHECK_STR(out.buf, "allgather #6 (float64 x 4 per rank): rank 3 "
	    "waiting 12 s; ranks 0-2 skipped it: waiting in #7\n"
	    "broadcast #7 (int32 x 10, root 1): ranks 0-2 waiting 3.0 s; "
	    "rank 2 entered it as barrier #7; rank 3 has not entered it, "
	    "waiting in #6\n"
	    /* their histories differ from #1 on: not the next ones */
	    "rank 2 called another collective as #1: its barrier #1, the "
	    "others' broadcast #1 (int32 x 10, root 0)\n"
	    "rank 3 called another collective as #1: its allgather #1 "
	    "(float64 x 4 per rank), the others' broadcast #1 (int32 x 10, "
	    "root 0)\n"
	    "ranks 4,5: no flight record (no libmuster, or not started)\n");
	lch_strbuf_release(&out);
	/* a group and a reduction that is not a sum; a failure */
	mk(0, MST_FLIGHT_GROUP, MUSTER_BFLOAT16, 3000, 1, 2, 1);
	snaps[0].e[1].extra = 3;
	snaps[0].e[1].redop = MUSTER_AVG;
	mk(1, MST_FLIGHT_GROUP, MUSTER_BFLOAT16, 3000, 1, 2, 1);
	snaps[1].e[1].extra = 3;
	snaps[1].e[1].redop = MUSTER_AVG;
	snaps[1].e[1].state = MST_FLIGHT_FAILED;
	snaps[1].e[1].result = MUSTER_ETIMEDOUT;
	report_is(2, "group #2 (3 fused, bfloat16 x 3000, avg): rank 0 "
	    "waiting 1.0 s; rank 1 failed in it (code 3)\n");
}

static void
test_report_ranges(void)
{
	int r;

	for (r = 0; r < 16; r++)
		mk(r, MST_FLIGHT_ALLREDUCE, MUSTER_FLOAT32, 8, 99, 100, 9);
	mk(3, MST_FLIGHT_ALLREDUCE, MUSTER_FLOAT32, 8, 99, 0, 0);
	mk(4, MST_FLIGHT_ALLREDUCE, MUSTER_FLOAT32, 8, 99, 0, 0);
	mk(9, MST_FLIGHT_ALLREDUCE, MUSTER_FLOAT32, 8, 99, 0, 0);
	mk(15, MST_FLIGHT_ALLREDUCE, MUSTER_FLOAT32, 8, 98, 0, 0);
	report_is(16, "allreduce #100 (float32 x 8): ranks 0-2,5-8,10-14 "
	    "waiting 9.0 s; ranks 3,4,9 have not entered it, last completed "
	    "#99; rank 15 has not entered it, last completed #98\n");
	/* no collective at all yet */
	for (r = 0; r < 3; r++) {
		memset(&snaps[r], 0, sizeof(snaps[r]));
		snaps[r].have = 1;
		snaps[r].rank = r;
	}
	report_is(3, "ranks 0-2: no collective yet\n");
}

/* Ranks that paired off by one (unchecked): the one that skipped. */
static void
test_report_shifted(void)
{
	int r, k;

	for (r = 0; r < 4; r++) {
		mk(r, MST_FLIGHT_ALLREDUCE, MUSTER_FLOAT32, 4, 19, 20, 6);
		for (k = 0; k < snaps[r].n; k++)	/* iteration k: 4+k%3 */
			snaps[r].e[k].count = 4 + (snaps[r].e[k].seq - 1) % 3;
	}
	/* rank 2 skipped iteration 5 (#6): its #6.. are their #7.. */
	mk(2, MST_FLIGHT_ALLREDUCE, MUSTER_FLOAT32, 4, 19, 0, 0);
	for (k = 0; k < snaps[2].n; k++)
		snaps[2].e[k].count = 4 + (snaps[2].e[k].seq - 1 +
		    (snaps[2].e[k].seq >= 6)) % 3;
	report_is(4, "allreduce #20 (float32 x 5): ranks 0,1,3 waiting "
	    "6.0 s; rank 2 has not entered it, last completed #19\n"
	    "rank 2 skipped #6: its allreduce #6 (float32 x 4) is the others' "
	    "next, allreduce #7 (float32 x 4)\n");
	/* the same 99 calls in: the record keeps the last 41, the shift
	   began before them */
	for (r = 0; r < 4; r++) {
		mk(r, MST_FLIGHT_ALLREDUCE, MUSTER_FLOAT32, 4, 99,
		    r == 2 ? 0 : 100, 6);
		for (k = 0; k < snaps[r].n; k++)
			snaps[r].e[k].count = 4 + (snaps[r].e[k].seq - 1 +
			    (r == 2 && snaps[r].e[k].seq >= 6)) % 3;
	}
	report_is(4, "allreduce #100 (float32 x 4): ranks 0,1,3 waiting "
	    "6.0 s; rank 2 has not entered it, last completed #99\n"
	    "rank 2 skipped one at or before #59 (older calls are not kept): "
	    "its allreduce #59 (float32 x 6) is the others' next, allreduce "
	    "#60 (float32 x 6)\n");
}

TEST_LIST = {
	{ "layout", test_layout },
	{ "attach_taken", test_attach_taken },
	{ "bad_files", test_bad_files },
	{ "seqlock", test_seqlock },
	{ "report_completed", test_report_completed },
	{ "report_not_entered", test_report_not_entered },
	{ "report_skipped", test_report_skipped },
	{ "report_mixed", test_report_mixed },
	{ "report_ranges", test_report_ranges },
	{ "report_shifted", test_report_shifted },
	{ NULL, NULL }
};
