/*
 * trainer: data-parallel SGD on a synthetic linear regression, the way a
 * C trainer embeds libmuster.  Every rank holds an equal shard of the
 * same global batch, computes the mean gradient of its shard, and the
 * ranks average gradients (and the loss) with MUSTER_AVG, fused into one
 * allreduce by a group.  The loss therefore follows the same curve as one
 * process on the whole batch.  Every rank logs the loss of each step
 * (muster_log_metric) into the job's run record.
 *
 *
 * Checkpoint and restore (what an elastic job needs, elastic.h): with
 * --checkpoint FILE or --checkpoint-every K (default 20), every K steps
 * rank 0 writes the weights and the step to FILE (default
 * $MUSTER_OUTPUT_DIR/trainer.ckpt, the node's outputs folder muster
 * gives), whole or not at all (a temporary file renamed over it).  At start every rank loads it when it is there and goes on
 * from the step after it.  muster restarts the workers as new processes
 * in each generation (a lost peer is MUSTER_EPEER or MUSTER_ETIMEDOUT in
 * the generation that lost it; the workers are stopped and started
 * again on the nodes left): the new generation resumes from the last
 * checkpoint.  The weights are kept bit for bit (C99 hex floats) and the
 * loss does not depend on the number of ranks, so a run restarted any
 * number of times, on any number of ranks, ends with the final loss of
 * an uninterrupted one (to rounding of the sums' order, 1e-9).
 * A checkpoint left by an earlier run is resumed as well: remove it to
 * start over.  --sleep-ms MS paces the steps (to watch, or to lose a
 * node mid-run).
 *
 *	muster -n 4 -- trainer [--steps N] [--lr X] [--samples N]
 *	    [--checkpoint FILE] [--checkpoint-every K] [--sleep-ms MS]
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <muster.h>

#define DIM 16

/* Deterministic uniform in [-1, 1) from (sample, feature). */
static double
unif(uint64_t a, uint64_t b)
{
	uint64_t x = a * 0x9e3779b97f4a7c15ULL ^ (b + 1) * 0xbf58476d1ce4e5b9ULL;

	x ^= x >> 31;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 29;
	return (double)(x >> 11) / (double)(1ULL << 52) - 1.0;
}

static void
sample(uint64_t i, double x[DIM], double *y)
{
	double dot = 0;
	int j;

	for (j = 0; j < DIM; j++) {
		x[j] = unif(i, (uint64_t)j);
		dot += x[j] * ((j % 5) - 2) * 0.5;
	}
	*y = dot + 0.01 * unif(i, 1000);
}

/* The last checkpoint: the step it was taken after and w; -1: none. */
static long
load_checkpoint(const char *path, double w[DIM])
{
	FILE *f = path ? fopen(path, "r") : NULL;
	long step = -1;
	int j, ok;

	if (f == NULL)
		return -1;
	ok = fscanf(f, "step %ld\n", &step) == 1;
	for (j = 0; ok && j < DIM; j++)
		ok = fscanf(f, "%la\n", &w[j]) == 1;
	fclose(f);
	if (!ok) {
		fprintf(stderr, "trainer: %s: not a checkpoint: starting over\n",
		    path);
		memset(w, 0, DIM * sizeof(*w));
		return -1;
	}
	return step;
}

/* w after step, into path whole (path.tmp renamed over it). */
static void
save_checkpoint(const char *path, long step, const double w[DIM])
{
	size_t n = strlen(path) + 5;
	char *tmp = malloc(n);
	FILE *f;
	int j, ok;

	if (tmp == NULL)
		return;
	snprintf(tmp, n, "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL) {
		perror(tmp);
		free(tmp);
		return;
	}
	fprintf(f, "step %ld\n", step);
	for (j = 0; j < DIM; j++)
		fprintf(f, "%a\n", w[j]);
	ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (fclose(f) != 0 || !ok || rename(tmp, path) != 0)
		perror(path);
	free(tmp);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	if (ms > 0)
		nanosleep(&ts, NULL);
}

static int
fail(muster_result rv, muster_comm *c, const char *what)
{
	fprintf(stderr, "trainer: %s: %s: %s\n", what, muster_strerror(rv),
	    muster_comm_last_error(c));
	muster_comm_destroy(c);
	return 1;
}

int
main(int argc, char **argv)
{
	long steps = 200, samples = 4800, lo, hi, i, s, every = 0, pace = 0;
	long from;
	const char *ckpt = NULL, *outdir = getenv("MUSTER_OUTPUT_DIR");
	char def[4096];
	double lr = 0.2, w[DIM] = { 0 }, grad[DIM], loss;
	muster_comm *c = NULL;
	int log_failed = 0;
	muster_result rv;
	int rank, size, k, j;

	for (k = 1; k + 1 < argc; k += 2) {
		if (strcmp(argv[k], "--steps") == 0)
			steps = atol(argv[k + 1]);
		else if (strcmp(argv[k], "--lr") == 0)
			lr = atof(argv[k + 1]);
		else if (strcmp(argv[k], "--samples") == 0)
			samples = atol(argv[k + 1]);
		else if (strcmp(argv[k], "--checkpoint") == 0)
			ckpt = argv[k + 1];
		else if (strcmp(argv[k], "--checkpoint-every") == 0)
			every = atol(argv[k + 1]);
		else if (strcmp(argv[k], "--sleep-ms") == 0)
			pace = atol(argv[k + 1]);
	}
	if (ckpt && every == 0)
		every = 20;
	if (ckpt == NULL && every > 0 && outdir && *outdir) {
		snprintf(def, sizeof(def), "%s/trainer.ckpt", outdir);
		ckpt = def;
	}
	if (ckpt && *ckpt == '\0')
		ckpt = NULL;	/* --checkpoint '': none */
	if ((rv = muster_comm_init_from_env(&c)) != MUSTER_OK)
		return fail(rv, NULL, "init");
	rank = muster_comm_rank(c);
	size = muster_comm_size(c);
	if (samples % size != 0) {
		fprintf(stderr, "trainer: --samples %ld is not a multiple of "
		    "%d ranks\n", samples, size);
		muster_comm_destroy(c);
		return 2;
	}
	lo = samples / size * rank;
	hi = lo + samples / size;
	loss = 0;
	if ((from = load_checkpoint(ckpt, w) + 1) > steps) {
		fprintf(stderr, "trainer: %s is past step %ld: starting over\n",
		    ckpt, steps);
		memset(w, 0, sizeof(w));
		from = 0;
	}
	if (rank == 0 && from > 0)
		printf("resuming at step %ld (generation %s, %d ranks)\n", from,
		    getenv("MUSTER_GENERATION") ? getenv("MUSTER_GENERATION") :
		    "?", size);
	for (s = from; s <= steps; s++) {
		memset(grad, 0, sizeof(grad));
		loss = 0;
		for (i = lo; i < hi; i++) {
			double x[DIM], y, err = 0;
			sample((uint64_t)i, x, &y);
			for (j = 0; j < DIM; j++)
				err += w[j] * x[j];
			err -= y;
			loss += 0.5 * err * err;
			for (j = 0; j < DIM; j++)
				grad[j] += err * x[j];
		}
		for (j = 0; j < DIM; j++)
			grad[j] /= (double)(hi - lo);
		loss /= (double)(hi - lo);
		/* one fused allreduce for the gradient and the loss */
		muster_group_start();
		muster_allreduce(grad, grad, DIM, MUSTER_FLOAT64, MUSTER_AVG, c);
		muster_allreduce(&loss, &loss, 1, MUSTER_FLOAT64, MUSTER_AVG, c);
		if ((rv = muster_group_end()) != MUSTER_OK)
			return fail(rv, c, "allreduce");
		if (rank == 0 && (s % 20 == 0 || s == steps))
			printf("step %ld loss %.9g\n", s, loss);
		/* into the run record (metrics.jsonl); a no-op outside
		 * muster: a metric that cannot be written stops no training */
		if (!log_failed && (rv = muster_log_metric(c, "loss", loss,
		    s)) != MUSTER_OK) {
			fprintf(stderr, "trainer: muster_log_metric: %s: %s\n",
			    muster_strerror(rv), muster_comm_last_error(c));
			log_failed = 1;
		}
		for (j = 0; j < DIM; j++)
			w[j] -= lr * grad[j];
		if (rank == 0 && ckpt && every > 0 && (s + 1) % every == 0 &&
		    s < steps)
			save_checkpoint(ckpt, s, w);
		sleep_ms(pace);
	}
	if (rank == 0)
		printf("final loss %.9g\n", loss);
	muster_comm_destroy(c);
	return 0;
}
