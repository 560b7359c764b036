/* runrec.c: see runrec.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "muster.h"
#include "runrec.h"
#include "util.h"

#define LOCK_TRIES 50		/* a reader holds .lock for an instant */
#define LOCK_WAIT_US 2000
#define LOG_FIRST 1024		/* a log buffer's first size */

/* A log file: not opened yet, open, opened per write, given up. */
enum { LOG_NEW, LOG_OPEN, LOG_REOPEN, LOG_DEAD };

struct rr_log {
	int fd, state, dirty;
	int made;		/* opened once already (no O_TRUNC again) */
	char *buf;
	size_t len, cap;
};

enum rank_state { R_NOTSTARTED, R_RUNNING, R_COMPLETED, R_FAILED,
		  R_KILLED, R_LOST };
static const char *const rank_states[] = { "NotStarted", "Running",
	"Completed", "Failed", "Killed", "Lost" };

struct rr_rank {
	int pid, code, have_code;
	enum rank_state state;
	double start, end;
};

/*
 * The writes of run.json while the job runs go to a thread, so that the
 * head's loop never waits on fsync (a slow disk, NFS): it takes the
 * latest text (an older one not yet written is dropped) and writes it.
 */
struct rr_writer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int started, quit, busy;
	char *text;		/* to write next, or NULL */
	int err;		/* errno of a failed write, not said yet */
};

struct lch_runrec {
	const struct lch_opts *o;
	const struct lch_plan *p;
	char *dir;
	int dirfd, logsfd, lockfd;
	char kind[16];
	const char *status;
	double start, running, end;
	int code, have_code;
	struct rr_rank *ranks;
	int nstarted;
	int np_cap, nodes_cap;	/* room in ranks, logs, dirty; addr */
	char **addr;		/* per node, or NULL */
	cJSON *attempt_info;	/* the next attempt entry's extra members */
	cJSON *attempts, *failure, *extra;
	double attempt_start;
	int attempt;
	struct rr_log **logs;	/* 2 * np, made at a rank's first bytes */
	int *dirty, ndirty;
	long nopen, max_open;	/* logs kept open, and at most */
	int warned_write, warned_log, warned_files;
	struct rr_writer w;
	char *cwd;
};

static void write_later(struct lch_runrec *rr, const char *status);

/* Now, seconds since the epoch with milliseconds. */
static double
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000) /
	    1000.0;
}

static void
say_no_record(const char *dir, const char *what, int e)
{
	lch_msg("cannot keep the run record in '%s': %s%s%s (the job runs "
	    "without one)", dir, what ? what : "", what ? ": " : "",
	    strerror(e));
}

/*
 * Takes dir's .lock, retrying for a reader that holds it shared: 0, else
 * an errno (EWOULDBLOCK: another launcher holds it).
 */
static int
take_lock(struct lch_runrec *rr)
{
	int i, e = EWOULDBLOCK;

	rr->lockfd = openat(rr->dirfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0644);
	if (rr->lockfd < 0)
		return errno;
	for (i = 0; i < LOCK_TRIES; i++) {
		if (flock(rr->lockfd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if ((e = errno) != EWOULDBLOCK && e != EINTR)
			break;
		usleep(LOCK_WAIT_US);
	}
	close(rr->lockfd);
	rr->lockfd = -1;
	return e;
}

/* Opens dir (made already) and takes it: 0 or errno, *what the step. */
static int
take_dir(struct lch_runrec *rr, const char *dir, const char **what)
{
	int e;

	*what = NULL;
	rr->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rr->dirfd < 0)
		return errno;
	*what = ".lock";
	if ((e = take_lock(rr)) != 0)
		goto bad;
	*what = "logs";
	if (mkdirat(rr->dirfd, "logs", 0755) != 0 && errno != EEXIST) {
		e = errno;
		goto bad;
	}
	rr->logsfd = openat(rr->dirfd, "logs", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC | O_NOFOLLOW);
	if (rr->logsfd < 0) {
		e = errno;
		goto bad;
	}
	*what = "outputs";
	if (mkdirat(rr->dirfd, "outputs", 0755) != 0 && errno != EEXIST) {
		e = errno;
		goto bad;
	}
	return 0;
bad:
	if (rr->logsfd >= 0)
		close(rr->logsfd);
	if (rr->lockfd >= 0)
		close(rr->lockfd);
	close(rr->dirfd);
	rr->dirfd = rr->logsfd = rr->lockfd = -1;
	return e;
}

/* Whether dir holds a run.json already (a run of the same id). */
static int
has_run(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/run.json", dir);
	return lstat(path, &st) == 0;
}

/*
 * ./muster-runs/JOBID ($MUSTER_RUNS_DIR/JOBID when set, as `muster runs`
 * reads), else JOBID.1, JOBID.2...: the first without a run.json whose
 * lock is free.  0, or an errno with *what and rr->dir saying where.
 */
static int
take_default(struct lch_runrec *rr, const char **what)
{
	const char *base = getenv("MUSTER_RUNS_DIR");
	char *dir;
	int i, e;

	if (base == NULL || *base == '\0')
		base = LCH_RUNREC_DEFAULT;
	for (i = 0; i <= LCH_RUNREC_SUFFIX_MAX; i++) {
		dir = i ? lch_xasprintf("%s/%s.%d", base, rr->p->job_id, i) :
		    lch_xasprintf("%s/%s", base, rr->p->job_id);
		free(rr->dir);
		rr->dir = dir;
		*what = NULL;
		if ((e = lch_mkdirs(dir, 0755)) != 0)
			return e;
		if (has_run(dir))
			continue;
		e = take_dir(rr, dir, what);
		if (e != EWOULDBLOCK)
			return e;
	}
	*what = "every suffix";
	return EEXIST;
}

/* --run-dir (or the config's run_dir): that directory as it is. */
static int
take_given(struct lch_runrec *rr, const char **what)
{
	int e;

	rr->dir = lch_xstrdup(rr->o->run_dir);
	*what = NULL;
	if ((e = lch_mkdirs(rr->dir, 0755)) != 0)
		return e;
	e = take_dir(rr, rr->dir, what);
	if (e == EWOULDBLOCK)
		*what = "another muster holds its .lock";
	return e;
}

/* How many logs may stay open, n wanted (RLIMIT_NOFILE raised for them). */
static long
log_room(long n)
{
	struct rlimit rl;

	lch_more_files(n + 256);
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return n;
	return (long)rl.rlim_cur > 512 ? (long)rl.rlim_cur - 256 :
	    (long)rl.rlim_cur / 4;
}

struct lch_runrec *
lch_runrec_open(const struct lch_opts *o, const struct lch_plan *p,
		const char *kind)
{
	struct lch_runrec *rr;
	const char *what;
	int e;

	if (o->no_record || o->dry_run)
		return NULL;
	rr = lch_xcalloc(1, sizeof(*rr));
	rr->o = o;
	rr->p = p;
	rr->dirfd = rr->logsfd = rr->lockfd = -1;
	snprintf(rr->kind, sizeof(rr->kind), "%s", kind ? kind :
	    p->launcher ? p->launcher : "local");
	e = o->run_dir ? take_given(rr, &what) : take_default(rr, &what);
	if (e != 0) {
		say_no_record(rr->dir, what, e);
		free(rr->dir);
		free(rr);
		return NULL;
	}
	rr->start = rr->attempt_start = wall_now();
	rr->status = LCH_RR_STARTING;
	rr->ranks = lch_xcalloc((size_t)p->np, sizeof(*rr->ranks));
	rr->addr = lch_xcalloc((size_t)p->nnodes, sizeof(*rr->addr));
	rr->logs = lch_xcalloc(2 * (size_t)p->np, sizeof(*rr->logs));
	rr->dirty = lch_xcalloc(2 * (size_t)p->np, sizeof(*rr->dirty));
	rr->attempts = cJSON_CreateArray();
	rr->extra = cJSON_CreateObject();
	rr->cwd = getcwd(NULL, 0);
	rr->max_open = log_room(2L * p->np);
	rr->np_cap = p->np;
	rr->nodes_cap = p->nnodes;
	rr->warned_write = 1;	/* said below, as no record */
	if (lch_runrec_write(rr, NULL) != 0) {
		say_no_record(rr->dir, "run.json", errno);
		lch_runrec_free(rr);
		return NULL;
	}
	rr->warned_write = 0;
	return rr;
}

const char *
lch_runrec_dir(const struct lch_runrec *rr)
{
	return rr ? rr->dir : NULL;
}

void
lch_runrec_node(struct lch_runrec *rr, int node, const char *addr)
{
	if (rr == NULL || node < 0 || node >= rr->p->nnodes || addr == NULL)
		return;
	free(rr->addr[node]);
	rr->addr[node] = lch_xstrdup(addr);
}

void
lch_runrec_attempt(struct lch_runrec *rr, int a)
{
	if (rr == NULL)
		return;
	memset(rr->ranks, 0, (size_t)rr->p->np * sizeof(*rr->ranks));
	rr->nstarted = 0;
	rr->attempt = a;
	rr->attempt_start = wall_now();
	cJSON_Delete(rr->failure);
	rr->failure = NULL;
}

void
lch_runrec_rank_start(struct lch_runrec *rr, int rank, int pid)
{
	struct rr_rank *r;

	if (rr == NULL || rank < 0 || rank >= rr->p->np)
		return;
	r = &rr->ranks[rank];
	if (r->state != R_NOTSTARTED || r->start != 0)
		return;
	r->pid = pid;
	r->start = wall_now();
	r->state = R_RUNNING;
	if (++rr->nstarted == rr->p->np) {
		rr->running = r->start;
		write_later(rr, LCH_RR_RUNNING);
	}
}

void
lch_runrec_rank_end(struct lch_runrec *rr, int rank, int pid, int code,
		    enum lch_rr_end how, int stopping)
{
	struct rr_rank *r;

	if (rr == NULL || rank < 0 || rank >= rr->p->np)
		return;
	r = &rr->ranks[rank];
	if (r->have_code && how == LCH_RR_EXIT) {	/* x after F */
		r->end = wall_now();
		return;
	}
	if (pid > 0)
		r->pid = pid;
	r->code = code;
	r->have_code = 1;
	r->end = wall_now();
	if (how == LCH_RR_NOEXEC)
		r->state = R_NOTSTARTED;
	else if (code == 0)
		r->state = R_COMPLETED;
	else
		r->state = stopping ? R_KILLED : R_FAILED;
}

/* "SIGKILL" for a code of 128 + a signal, or NULL. */
static const char *
code_signal(int code)
{
	return code > 128 && code < 128 + 65 ? lch_signame(code - 128) : NULL;
}

void
lch_runrec_failure(struct lch_runrec *rr, int rank, const char *host,
		   int pid, int code, const char *reason)
{
	cJSON *f;

	if (rr == NULL)
		return;
	f = cJSON_CreateObject();
	if (rank >= 0)
		cJSON_AddNumberToObject(f, "rank", rank);
	if (host)
		cJSON_AddStringToObject(f, "host", host);
	if (pid > 0)
		cJSON_AddNumberToObject(f, "pid", pid);
	cJSON_AddNumberToObject(f, "exit_code", code);
	if (code_signal(code))
		cJSON_AddStringToObject(f, "signal", code_signal(code));
	if (reason)
		cJSON_AddStringToObject(f, "reason", reason);
	cJSON_Delete(rr->failure);
	rr->failure = f;
}

/* An attempt's np, nnodes and hosts (the plan's), and what was noted. */
static void
attempt_hosts(struct lch_runrec *rr, cJSON *a)
{
	cJSON *hosts = cJSON_CreateArray(), *e;
	int i;

	cJSON_AddNumberToObject(a, "np", rr->p->np);
	cJSON_AddNumberToObject(a, "nnodes", rr->p->nnodes);
	for (i = 0; i < rr->p->nnodes; i++)
		cJSON_AddItemToArray(hosts, cJSON_CreateString(
		    rr->p->nodes[i].host ? rr->p->nodes[i].host : "localhost"));
	cJSON_AddItemToObject(a, "hosts", hosts);
	if (rr->attempt_info == NULL)
		return;
	cJSON_ArrayForEach(e, rr->attempt_info)
		cJSON_AddItemToObject(a, e->string, cJSON_Duplicate(e, 1));
	cJSON_Delete(rr->attempt_info);
	rr->attempt_info = NULL;
}

void
lch_runrec_attempt_note(struct lch_runrec *rr, const char *key, cJSON *val)
{
	if (rr == NULL) {
		cJSON_Delete(val);
		return;
	}
	if (rr->attempt_info == NULL)
		rr->attempt_info = cJSON_CreateObject();
	cJSON_DeleteItemFromObjectCaseSensitive(rr->attempt_info, key);
	cJSON_AddItemToObject(rr->attempt_info, key, val);
}

/* Zeroes *v's entries from old to new (of size each), grown to new. */
static void *
grow_zero(void *v, size_t old, size_t new, size_t size)
{
	v = lch_xrealloc(v, new * size);
	memset((char *)v + old * size, 0, (new - old) * size);
	return v;
}

void
lch_runrec_replan(struct lch_runrec *rr)
{
	int i;

	if (rr == NULL)
		return;
	for (i = 0; i < rr->nodes_cap; i++) {
		free(rr->addr[i]);
		rr->addr[i] = NULL;
	}
	if (rr->p->nnodes > rr->nodes_cap) {
		rr->addr = grow_zero(rr->addr, (size_t)rr->nodes_cap,
		    (size_t)rr->p->nnodes, sizeof(*rr->addr));
		rr->nodes_cap = rr->p->nnodes;
	}
	if (rr->p->np <= rr->np_cap)
		return;
	rr->ranks = grow_zero(rr->ranks, (size_t)rr->np_cap,
	    (size_t)rr->p->np, sizeof(*rr->ranks));
	rr->logs = grow_zero(rr->logs, 2 * (size_t)rr->np_cap,
	    2 * (size_t)rr->p->np, sizeof(*rr->logs));
	rr->dirty = grow_zero(rr->dirty, 2 * (size_t)rr->np_cap,
	    2 * (size_t)rr->p->np, sizeof(*rr->dirty));
	rr->np_cap = rr->p->np;
}

void
lch_runrec_attempt_end(struct lch_runrec *rr, int code, const char *reason,
		       int restart)
{
	cJSON *a;
	int i;

	if (rr == NULL)
		return;
	for (i = 0; i < rr->p->np; i++)
		if (rr->ranks[i].state == R_RUNNING)
			rr->ranks[i].state = R_LOST;
	a = cJSON_CreateObject();
	cJSON_AddNumberToObject(a, "attempt", rr->attempt);
	cJSON_AddNumberToObject(a, "start", rr->attempt_start);
	cJSON_AddNumberToObject(a, "end", wall_now());
	cJSON_AddNumberToObject(a, "exit_code", code);
	if (reason && *reason)
		cJSON_AddStringToObject(a, "reason", reason);
	attempt_hosts(rr, a);
	cJSON_AddItemToArray(rr->attempts, a);
	if (restart)
		write_later(rr, LCH_RR_STARTING);
}

/* --- logs --- */

static void
log_warn(struct lch_runrec *rr, int *warned, int idx, const char *what,
	 int e)
{
	if (*warned)
		return;
	*warned = 1;
	lch_msg("cannot %s '%s/logs/rank.%d.%s': %s (the run record's logs "
	    "are incomplete)", what, rr->dir, idx / 2, idx % 2 ? "stderr" :
	    "stdout", strerror(e));
}

/* Opens log idx (O_TRUNC the first time): the fd, or -1 with errno. */
static int
log_open(struct lch_runrec *rr, struct rr_log *l, int idx)
{
	char name[48];
	int fd;

	snprintf(name, sizeof(name), "rank.%d.%s", idx / 2,
	    idx % 2 ? "stderr" : "stdout");
	fd = openat(rr->logsfd, name, O_WRONLY | O_CREAT | O_APPEND |
	    O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | (l->made ? 0 : O_TRUNC), 0644);
	if (fd >= 0)
		l->made = 1;
	return fd;
}

/*
 * A log's first write: kept open while descriptors allow (max_open
 * leaves the head room for its pipes), else opened for each write,
 * said once.  -1 when it cannot be opened at all (said).
 */
static int
log_start(struct lch_runrec *rr, struct rr_log *l, int idx)
{
	if (rr->nopen < rr->max_open) {
		if ((l->fd = log_open(rr, l, idx)) >= 0) {
			l->state = LOG_OPEN;
			rr->nopen++;
			return 0;
		}
		if (errno != EMFILE && errno != ENFILE) {
			log_warn(rr, &rr->warned_log, idx, "open", errno);
			l->state = LOG_DEAD;
			return -1;
		}
	}
	l->state = LOG_REOPEN;
	if (!rr->warned_files)
		lch_msg("too few file descriptors to keep the run record's "
		    "%d logs open in '%s/logs': opening them for each write",
		    2 * rr->p->np, rr->dir);
	rr->warned_files = 1;
	return 0;
}

/* Writes n bytes of data to log idx (its buffer, or a large piece). */
static void
log_emit(struct lch_runrec *rr, int idx, const char *data, size_t n)
{
	struct rr_log *l = rr->logs[idx];
	int fd;

	if (l->state == LOG_DEAD || n == 0)
		return;
	if (l->state == LOG_NEW && log_start(rr, l, idx) != 0)
		return;
	fd = l->state == LOG_OPEN ? l->fd : log_open(rr, l, idx);
	if (fd < 0 || lch_write_all(fd, data, n) != 0) {
		log_warn(rr, &rr->warned_log, idx, fd < 0 ? "open" : "write",
		    errno);
		if (l->state == LOG_OPEN) {
			close(l->fd);
			rr->nopen--;
		}
		l->state = LOG_DEAD;
		l->cap = 0;	/* lch_runrec_log drops what comes */
	}
	if (fd >= 0 && l->state == LOG_REOPEN)
		close(fd);
}

/* Writes log idx's buffer out. */
static void
log_write(struct lch_runrec *rr, int idx)
{
	struct rr_log *l = rr->logs[idx];

	log_emit(rr, idx, l->buf, l->len);
	l->len = 0;
}

static void
log_dirty(struct lch_runrec *rr, struct rr_log *l, int idx)
{
	if (l->dirty)
		return;
	l->dirty = 1;
	rr->dirty[rr->ndirty++] = idx;
}

/*
 * lch_runrec_log's slow way, where the buffer lacks room: made, grown
 * (up to LCH_RUNREC_LOG_BUF), written out; a piece larger than it is
 * written at once.
 */
static void __attribute__((noinline))
log_slow(struct lch_runrec *rr, int idx, const char *data, size_t n,
	 int nl)
{
	struct rr_log *l = rr->logs[idx];
	size_t cap;

	if (l == NULL) {
		l = rr->logs[idx] = lch_xcalloc(1, sizeof(*l));
		l->fd = -1;
	}
	if (l->state == LOG_DEAD)
		return;
	if (l->len + n + 1 > l->cap && l->cap < LCH_RUNREC_LOG_BUF) {
		for (cap = l->cap ? l->cap : LOG_FIRST; cap < l->len + n + 1 &&
		    cap < LCH_RUNREC_LOG_BUF; cap *= 2)
			;
		l->cap = cap < LCH_RUNREC_LOG_BUF ? cap : LCH_RUNREC_LOG_BUF;
		l->buf = lch_xrealloc(l->buf, l->cap);
	}
	if (l->len + n + 1 > l->cap)
		log_write(rr, idx);
	if (n + 1 > l->cap) {
		log_emit(rr, idx, data, n);
		n = 0;
	}
	if (l->state == LOG_DEAD || n + (size_t)nl == 0)
		return;
	memcpy(l->buf + l->len, data, n);
	l->len += n;
	l->buf[l->len] = '\n';
	l->len += (size_t)nl;
	log_dirty(rr, l, idx);
}

/*
 * Once per line of the job's output: only a copy into the buffer, which
 * always has room for a newline more than it holds (written first, so
 * that the copy is the last thing done).
 */
void
lch_runrec_log(struct lch_runrec *rr, int rank, int stream,
	       const char *data, size_t n, int newline)
{
	struct rr_log *l;
	char *dst;
	int idx;

	if (rr == NULL || (unsigned)rank >= (unsigned)rr->p->np)
		return;
	idx = 2 * rank + (stream != 0);
	l = rr->logs[idx];
	if (l == NULL || l->len + n + 1 > l->cap) {
		log_slow(rr, idx, data, n, newline != 0);
		return;
	}
	dst = l->buf + l->len;
	dst[n] = '\n';
	l->len += n + (newline != 0);
	if (!l->dirty)
		log_dirty(rr, l, idx);
	memcpy(dst, data, n);
}

void
lch_runrec_flush(struct lch_runrec *rr)
{
	int i;

	if (rr == NULL)
		return;
	for (i = 0; i < rr->ndirty; i++) {
		log_write(rr, rr->dirty[i]);
		rr->logs[rr->dirty[i]]->dirty = 0;
	}
	rr->ndirty = 0;
}

/* --- run.json --- */

static cJSON *
strv_json(char *const *v, int n)
{
	cJSON *a = cJSON_CreateArray();
	int i;

	for (i = 0; v && (n < 0 ? v[i] != NULL : i < n); i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

static void
add_str(cJSON *obj, const char *key, const char *val)
{
	if (val)
		cJSON_AddStringToObject(obj, key, val);
}

static const char *
run_mode(const struct lch_opts *o)
{
	return o->mpi ? "mpi" : lch_opts_ps_mode(o) ? "ps" : "plain";
}

static cJSON *
options_json(const struct lch_runrec *rr)
{
	const struct lch_opts *o = rr->o;
	cJSON *j = cJSON_CreateObject();

	cJSON_AddNumberToObject(j, "np", rr->p->np);
	cJSON_AddNumberToObject(j, "nodes", rr->p->nnodes);
	if (o->ppn)
		cJSON_AddNumberToObject(j, "procs_per_node", (double)o->ppn);
	if (o->timeout > 0)
		cJSON_AddNumberToObject(j, "timeout", o->timeout);
	if (o->stall_timeout > 0) {
		cJSON_AddNumberToObject(j, "stall_timeout", o->stall_timeout);
		cJSON_AddStringToObject(j, "stall_action", o->stall_abort ?
		    "abort" : "report");
	}
	cJSON_AddNumberToObject(j, "max_restarts", (double)o->max_restarts);
	cJSON_AddStringToObject(j, "mode", run_mode(o));
	cJSON_AddStringToObject(j, "launcher", lch_launcher_name(o->launcher));
	cJSON_AddNumberToObject(j, "grace", o->grace);
	add_str(j, "hosts", o->hosts_arg);
	add_str(j, "hostfile", o->hostfile);
	add_str(j, "job_id", o->job_id);
	add_str(j, "run_dir", o->run_dir);
	add_str(j, "log_dir", o->log_dir);
	add_str(j, "output_dir", o->output_dir);
	if (lch_opts_ps_mode(o)) {
		cJSON_AddNumberToObject(j, "ps", (double)o->ps);
		cJSON_AddNumberToObject(j, "workers", (double)o->workers);
	}
	if (o->xvars.n)
		cJSON_AddItemToObject(j, "env", strv_json(o->xvars.v,
		    (int)o->xvars.n));
	if (!o->tag)
		cJSON_AddBoolToObject(j, "tag", 0);
	return j;
}

static cJSON *
launcher_json(const struct lch_runrec *rr)
{
	cJSON *j = cJSON_CreateObject();
	char host[256];

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	cJSON_AddStringToObject(j, "kind", rr->kind);
	cJSON_AddStringToObject(j, "host", host);
	cJSON_AddNumberToObject(j, "pid", (double)getpid());
	cJSON_AddStringToObject(j, "version", MUSTER_VERSION_STRING);
	return j;
}

static cJSON *
hosts_json(const struct lch_runrec *rr)
{
	cJSON *a = cJSON_CreateArray(), *h, *ranks;
	int i, r;

	for (i = 0; i < rr->p->nnodes; i++) {
		const struct lch_node *n = &rr->p->nodes[i];

		h = cJSON_CreateObject();
		cJSON_AddNumberToObject(h, "node", i);
		cJSON_AddStringToObject(h, "host", n->host ? n->host :
		    "localhost");
		add_str(h, "addr", rr->addr[i]);
		ranks = cJSON_AddArrayToObject(h, "ranks");
		for (r = n->first_rank; r < n->first_rank + n->nprocs; r++)
			cJSON_AddItemToArray(ranks, cJSON_CreateNumber(r));
		cJSON_AddItemToArray(a, h);
	}
	return a;
}

static cJSON *
ranks_json(const struct lch_runrec *rr)
{
	cJSON *a = cJSON_CreateArray(), *j;
	int i, node;

	for (i = 0; i < rr->p->np; i++) {
		const struct rr_rank *r = &rr->ranks[i];

		node = rr->p->ranks[i].node_rank;
		j = cJSON_CreateObject();
		cJSON_AddNumberToObject(j, "rank", i);
		cJSON_AddNumberToObject(j, "node", node);
		cJSON_AddStringToObject(j, "host", rr->p->nodes[node].host ?
		    rr->p->nodes[node].host : "localhost");
		if (r->pid > 0)
			cJSON_AddNumberToObject(j, "pid", r->pid);
		if (r->start != 0)
			cJSON_AddNumberToObject(j, "start", r->start);
		if (r->end != 0)
			cJSON_AddNumberToObject(j, "end", r->end);
		if (r->have_code)
			cJSON_AddNumberToObject(j, "exit_code", r->code);
		if (r->have_code && code_signal(r->code))
			cJSON_AddStringToObject(j, "signal",
			    code_signal(r->code));
		cJSON_AddStringToObject(j, "status", rank_states[r->state]);
		cJSON_AddItemToArray(a, j);
	}
	return a;
}

/* run.json as runrec.h lays it out. */
static cJSON *
run_json(const struct lch_runrec *rr)
{
	cJSON *j = cJSON_CreateObject(), *e;

	cJSON_AddNumberToObject(j, "version", LCH_RUNREC_VERSION);
	cJSON_AddStringToObject(j, "id", rr->p->job_id);
	cJSON_AddStringToObject(j, "status", rr->status);
	cJSON_AddItemToObject(j, "command", strv_json(rr->p->argv, -1));
	add_str(j, "cwd", rr->cwd);
	cJSON_AddItemToObject(j, "launcher", launcher_json(rr));
	cJSON_AddItemToObject(j, "options", options_json(rr));
	add_str(j, "config", rr->o->config);
	if (rr->o->spec)
		cJSON_AddItemToObject(j, "spec",
		    cJSON_Duplicate(rr->o->spec, 1));
	cJSON_AddNumberToObject(j, "np", rr->p->np);
	cJSON_AddNumberToObject(j, "nnodes", rr->p->nnodes);
	cJSON_AddItemToObject(j, "hosts", hosts_json(rr));
	cJSON_AddNumberToObject(j, "start", rr->start);
	if (rr->running != 0)
		cJSON_AddNumberToObject(j, "running", rr->running);
	if (rr->end != 0) {
		cJSON_AddNumberToObject(j, "end", rr->end);
		cJSON_AddNumberToObject(j, "duration", (double)(long long)
		    ((rr->end - rr->start) * 1000 + 0.5) / 1000.0);
	}
	if (rr->have_code)
		cJSON_AddNumberToObject(j, "exit_code", rr->code);
	if (strcmp(rr->kind, "mpi") != 0)	/* mpirun keeps them */
		cJSON_AddItemToObject(j, "ranks", ranks_json(rr));
	if (rr->failure)
		cJSON_AddItemToObject(j, "first_failure",
		    cJSON_Duplicate(rr->failure, 1));
	cJSON_AddItemToObject(j, "attempts", cJSON_Duplicate(rr->attempts,
	    1));
	cJSON_ArrayForEach(e, rr->extra)
		cJSON_AddItemToObject(j, e->string, cJSON_Duplicate(e, 1));
	return j;
}

/* text into dir/.run.json.tmp, fsync'ed, renamed over run.json. */
static int
replace_file(int dirfd, const char *text)
{
	int fd, e;

	fd = openat(dirfd, ".run.json.tmp", O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -1;
	if (lch_write_all(fd, text, strlen(text)) != 0 ||
	    lch_write_all(fd, "\n", 1) != 0 || fsync(fd) != 0) {
		e = errno;
		close(fd);
		(void)unlinkat(dirfd, ".run.json.tmp", 0);
		errno = e;
		return -1;
	}
	if (close(fd) != 0 ||
	    renameat(dirfd, ".run.json.tmp", dirfd, "run.json") != 0) {
		e = errno;
		(void)unlinkat(dirfd, ".run.json.tmp", 0);
		errno = e;
		return -1;
	}
	(void)fsync(dirfd);	/* the rename itself, on disk */
	return 0;
}

/* run.json's text now, status set first (NULL: as it is). */
static char *
run_text(struct lch_runrec *rr, const char *status)
{
	cJSON *j;
	char *text;

	if (status)
		rr->status = status;
	j = run_json(rr);
	text = cJSON_Print(j);
	cJSON_Delete(j);
	if (text == NULL)
		lch_oom();
	return text;
}

/* A failed write of run.json, said once (by the head's thread). */
static void
write_failed(struct lch_runrec *rr, int e)
{
	if (!rr->warned_write)
		lch_msg("cannot write the run record '%s/run.json': %s",
		    rr->dir, strerror(e));
	rr->warned_write = 1;
}

static void *
writer_main(void *arg)
{
	struct lch_runrec *rr = arg;
	struct rr_writer *w = &rr->w;
	char *text;
	int rc, e;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->text == NULL && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->text == NULL)
			break;
		text = w->text;
		w->text = NULL;
		w->busy = 1;
		pthread_mutex_unlock(&w->mu);
		rc = replace_file(rr->dirfd, text);
		e = errno;
		free(text);
		pthread_mutex_lock(&w->mu);
		w->busy = 0;
		if (rc != 0 && w->err == 0)
			w->err = e;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Starts the writer, every signal blocked in it (the head's to handle). */
static int
writer_start(struct lch_runrec *rr)
{
	sigset_t all, old;
	int rc;

	pthread_mutex_init(&rr->w.mu, NULL);
	pthread_cond_init(&rr->w.cv, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&rr->w.thread, NULL, writer_main, rr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&rr->w.cv);
		pthread_mutex_destroy(&rr->w.mu);
		return -1;
	}
	rr->w.started = 1;
	return 0;
}

/* run.json with status, written by the writer (here if it cannot run). */
static void
write_later(struct lch_runrec *rr, const char *status)
{
	struct rr_writer *w = &rr->w;
	char *text = run_text(rr, status);
	int e;

	if (!w->started && writer_start(rr) != 0) {
		if (replace_file(rr->dirfd, text) != 0)
			write_failed(rr, errno);
		free(text);
		return;
	}
	pthread_mutex_lock(&w->mu);
	free(w->text);	/* an older state, superseded */
	w->text = text;
	e = w->err;
	w->err = 0;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (e)
		write_failed(rr, e);
}

void
lch_runrec_sync(struct lch_runrec *rr)
{
	struct rr_writer *w;
	int e;

	if (rr == NULL || !rr->w.started)
		return;
	w = &rr->w;
	pthread_mutex_lock(&w->mu);
	while (w->text || w->busy)
		pthread_cond_wait(&w->cv, &w->mu);
	e = w->err;
	w->err = 0;
	pthread_mutex_unlock(&w->mu);
	if (e)
		write_failed(rr, e);
}

/* Ends the writer, what it holds written. */
static void
writer_stop(struct lch_runrec *rr)
{
	if (!rr->w.started)
		return;
	lch_runrec_sync(rr);
	pthread_mutex_lock(&rr->w.mu);
	rr->w.quit = 1;
	pthread_cond_broadcast(&rr->w.cv);
	pthread_mutex_unlock(&rr->w.mu);
	pthread_join(rr->w.thread, NULL);
	pthread_cond_destroy(&rr->w.cv);
	pthread_mutex_destroy(&rr->w.mu);
	rr->w.started = 0;
}

int
lch_runrec_write(struct lch_runrec *rr, const char *status)
{
	char *text;
	int rc, e;

	if (rr == NULL)
		return 0;
	lch_runrec_sync(rr);	/* an earlier state never lands after this */
	text = run_text(rr, status);
	rc = replace_file(rr->dirfd, text);
	e = errno;
	free(text);
	if (rc != 0)
		write_failed(rr, e);
	errno = e;
	return rc;
}

void
lch_runrec_set(struct lch_runrec *rr, const char *key, struct cJSON *val)
{
	if (rr == NULL || val == NULL || key == NULL) {
		cJSON_Delete(val);
		return;
	}
	if (cJSON_GetObjectItemCaseSensitive(rr->extra, key))
		cJSON_ReplaceItemInObjectCaseSensitive(rr->extra, key, val);
	else
		cJSON_AddItemToObject(rr->extra, key, val);
}

const char *
lch_runrec_final(int code, int interrupted, int timed_out)
{
	if (timed_out)
		return LCH_RR_TIMEDOUT;
	if (interrupted)
		return LCH_RR_CANCELED;
	return code == 0 ? LCH_RR_COMPLETED : LCH_RR_FAILED;
}

void
lch_runrec_finish(struct lch_runrec *rr, const char *status, int code)
{
	if (rr == NULL)
		return;
	lch_runrec_flush(rr);
	rr->end = wall_now();
	rr->code = code;
	rr->have_code = 1;
	(void)lch_runrec_write(rr, status);
}

void
lch_runrec_free(struct lch_runrec *rr)
{
	int i;

	if (rr == NULL)
		return;
	writer_stop(rr);
	lch_runrec_flush(rr);
	for (i = 0; i < 2 * rr->np_cap; i++) {
		if (rr->logs[i] && rr->logs[i]->state == LOG_OPEN)
			close(rr->logs[i]->fd);
		if (rr->logs[i])
			free(rr->logs[i]->buf);
		free(rr->logs[i]);
	}
	for (i = 0; i < rr->nodes_cap; i++)
		free(rr->addr[i]);
	free(rr->addr);
	cJSON_Delete(rr->attempt_info);
	free(rr->logs);
	free(rr->dirty);
	free(rr->ranks);
	cJSON_Delete(rr->attempts);
	cJSON_Delete(rr->failure);
	cJSON_Delete(rr->extra);
	if (rr->logsfd >= 0)
		close(rr->logsfd);
	if (rr->lockfd >= 0)
		close(rr->lockfd);	/* releases the lock */
	if (rr->dirfd >= 0)
		close(rr->dirfd);
	free(rr->cwd);
	free(rr->dir);
	free(rr);
}

/* --- readers --- */

int
lch_runrec_live(const char *run_dir)
{
	char path[PATH_MAX];
	struct stat st;
	int fd, rc;

	if (stat(run_dir, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	if (snprintf(path, sizeof(path), "%s/.lock", run_dir) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NOCTTY)) < 0)
		return errno == ENOENT ? 0 : -1;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		rc = 0;
	else
		rc = errno == EWOULDBLOCK ? 1 : -1;
	close(fd);	/* and with it the shared lock */
	return rc;
}

const char *
lch_runrec_shown(const char *status, int live)
{
	if (status && live == 0 && (strcmp(status, LCH_RR_STARTING) == 0 ||
	    strcmp(status, LCH_RR_RUNNING) == 0))
		return LCH_RR_INTERRUPTED;
	return status;
}
