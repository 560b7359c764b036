/*
 * coll_harness.h: forks N ranks of one job on this machine, with the
 * environment muster gives its workers and a file:// bootstrap, and runs
 * a body in each.  Ranks are laid out on `nodes` virtual nodes in rank
 * order (node sizes differ by at most one), so nodes > 1 runs the TCP path.
 * Each rank reports into a shared page the parent reads after the join.
 * A rank fails (exits 1) when its body counted failures in me->failures or
 * a CHECK failed in it: the harness adds the rank's CHECK failures to
 * me->failures after the body, so bodies never add test_failures_.
 */
#ifndef COLL_HARNESS_H
#define COLL_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "muster.h"
#include "test.h"

#define H_MAXR 8
#define H_SLOTS 4096

struct h_report {
	int init_rv;
	int failures;		/* mismatches against the reference */
	uint64_t hash[H_SLOTS];	/* per case: hash of the result bytes */
	int rv[16];		/* free-form per-test results */
	double t[16];
	char msg[16][256];
};

typedef void (*h_body)(muster_comm *c, struct h_report *me, void *arg);

static struct h_report *h_rep;

static void
h_layout(int r, int n, int nodes, int *node, int *lr, int *ls)
{
	int base = n / nodes, extra = n % nodes, k, start = 0;

	for (k = 0; k < nodes; k++) {
		int sz = base + (k < extra);
		if (r < start + sz) {
			*node = k;
			*lr = r - start;
			*ls = sz;
			return;
		}
		start += sz;
	}
}

static void
h_setenv_int(const char *k, int v)
{
	char b[32];

	snprintf(b, sizeof(b), "%d", v);
	setenv(k, b, 1);
}

/*
 * One rank's child: its environment, the communicator, the body; exits 0
 * only when neither the body nor a CHECK in it counted a failure.
 */
static void __attribute__((noreturn))
h_rank(int r, int n, int nodes, const char *url, const char *timeout,
       h_body body, void *arg)
{
	struct h_report *me = &h_rep[r];
	int node = 0, lr = 0, ls = 1;
	muster_comm *c = NULL;

	test_failures_ = 0;	/* those before h_run are the parent case's */
	h_layout(r, n, nodes, &node, &lr, &ls);
	h_setenv_int("MUSTER_RANK", r);
	h_setenv_int("MUSTER_SIZE", n);
	h_setenv_int("MUSTER_LOCAL_RANK", lr);
	h_setenv_int("MUSTER_LOCAL_SIZE", ls);
	h_setenv_int("MUSTER_NODE_RANK", node);
	h_setenv_int("MUSTER_NUM_NODES", nodes);
	setenv("MUSTER_RENDEZVOUS", url, 1);
	setenv("MUSTER_TIMEOUT", timeout, 1);
	me->init_rv = muster_comm_init_from_env(&c);
	if (me->init_rv != MUSTER_OK) {
		fprintf(stderr, "# rank %d: init: %s\n", r,
		    muster_comm_last_error(NULL));
		_exit(3);
	}
	body(c, me, arg);
	me->failures += test_failures_;
	muster_comm_destroy(c);
	_exit(me->failures ? 1 : 0);
}

/* Runs body on n ranks; returns the number of ranks that exited badly. */
static int
h_run(int n, int nodes, const char *timeout, h_body body, void *arg)
{
	char dir[] = "/tmp/muster-coll.XXXXXX", url[64], cmd[128];
	pid_t pids[H_MAXR];
	int r, bad = 0;

	if (mkdtemp(dir) == NULL)
		return n;
	h_rep = mmap(NULL, sizeof(struct h_report) * H_MAXR,
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (h_rep == MAP_FAILED)
		return n;
	snprintf(url, sizeof(url), "file://%s", dir);
	fflush(stdout);
	fflush(stderr);
	for (r = 0; r < n; r++)
		if ((pids[r] = fork()) == 0)
			h_rank(r, n, nodes, url, timeout, body, arg);
	for (r = 0; r < n; r++) {
		int st;
		waitpid(pids[r], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad++;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		bad++;
	return bad;
}

static inline uint64_t
h_hash(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

#endif
