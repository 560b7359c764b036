/*
 * trainer: data-parallel SGD on a synthetic linear regression, the way a
 * C trainer embeds libmuster.  Every rank holds an equal shard of the
 * same global batch, computes the mean gradient of its shard, and the
 * ranks average gradients (and the loss) with MUSTER_AVG, fused into one
 * allreduce by a group.  The loss therefore follows the same curve as one
 * process on the whole batch.  Every rank logs the loss of each step
 * (muster_log_metric) into the job's run record.
 *
 *	muster -n 4 -- trainer [--steps N] [--lr X] [--samples N]
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	long steps = 200, samples = 4800, lo, hi, i, s;
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
	}
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
	for (s = 0; s <= steps; s++) {
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
	}
	if (rank == 0)
		printf("final loss %.9g\n", loss);
	muster_comm_destroy(c);
	return 0;
}
