/*
 * muster-allreduce-perf: nccl-tests' all_reduce_perf for libmuster.
 * Same flags (-b -e -f -i -n -w -d -o -c) and the same columns, so the
 * numbers compare directly: time is the mean per iteration averaged over
 * ranks, algbw = S/t, busbw = algbw * 2(n-1)/n.  Run it under the
 * launcher:  muster -n 4 -- muster-allreduce-perf -b 8 -e 64M -f 4
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <muster.h>

static const char *const type_names[] = { "int8", "uint8", "int32",
	"uint32", "int64", "uint64", "half", "bfloat16", "float", "double" };
static const char *const op_names[] = { "sum", "prod", "min", "max",
	"avg" };

struct opts {
	size_t minb, maxb, stepb;
	double factor;
	int iters, warmup, check;
	muster_dtype dt;
	muster_op op;
};

static void
usage(void)
{
	fprintf(stderr, "usage: muster-allreduce-perf [-b minbytes] "
	    "[-e maxbytes] [-f factor | -i stepbytes] [-n iters] "
	    "[-w warmup] [-d type] [-o op] [-c 0|1]\n"
	    "  type: int8 uint8 int32 uint32 int64 uint64 half bfloat16 "
	    "float double\n  op: sum prod min max avg\n");
	exit(2);
}

static size_t
parse_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	switch (*end) {
	case 'K': case 'k': v *= 1024; end++; break;
	case 'M': case 'm': v *= 1024 * 1024; end++; break;
	case 'G': case 'g': v *= 1024.0 * 1024 * 1024; end++; break;
	}
	if (*end != '\0' || v < 0) {
		fprintf(stderr, "muster-allreduce-perf: bad size '%s'\n", s);
		exit(2);
	}
	return (size_t)v;
}

static int
lookup(const char *s, const char *const *names, int n, const char *what)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	fprintf(stderr, "muster-allreduce-perf: unknown %s '%s'\n", what, s);
	exit(2);
}

static void
parse(int argc, char **argv, struct opts *o)
{
	int ch;

	*o = (struct opts){ 32 * 1024 * 1024, 32 * 1024 * 1024, 1024 * 1024,
	    1, 20, 5, 1, MUSTER_FLOAT32, MUSTER_SUM };
	while ((ch = getopt(argc, argv, "b:e:f:i:n:w:d:o:c:a:g:t:m:z:h")) != -1) {
		switch (ch) {
		case 'b': o->minb = parse_size(optarg); break;
		case 'e': o->maxb = parse_size(optarg); break;
		case 'f': o->factor = atof(optarg); break;
		case 'i': o->stepb = parse_size(optarg); o->factor = 1; break;
		case 'n': o->iters = atoi(optarg); break;
		case 'w': o->warmup = atoi(optarg); break;
		case 'd': o->dt = lookup(optarg, type_names, 10, "type"); break;
		case 'o': o->op = lookup(optarg, op_names, 5, "op"); break;
		case 'c': o->check = atoi(optarg); break;
		case 'a': case 'g': case 't': case 'm': case 'z':
			break;	/* nccl-tests options with no meaning here */
		default: usage();
		}
	}
	if (optind != argc || o->iters < 1 || o->warmup < 0 ||
	    o->minb > o->maxb || (o->factor <= 1 && o->stepb == 0) ||
	    o->factor < 1)
		usage();
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Small exact values; the expected result is computable. */
static double
value(int rank, size_t i)
{
	return (double)((int)((i + (size_t)rank * 3) % 5) - 2);
}

/* float -> binary16, round to nearest even (no NaN here). */
static uint16_t
to_half(float f)
{
	uint32_t u, a, sign, r, rest;

	memcpy(&u, &f, 4);
	sign = (u >> 16) & 0x8000u;
	a = u & 0x7fffffffu;
	if (a >= 0x477ff000u)		/* rounds to 65536 or more */
		return (uint16_t)(sign | 0x7c00u);
	if (a < 0x38800000u)		/* below 2^-14: subnormal */
		return (uint16_t)(sign | (uint32_t)nearbyintf(fabsf(f) *
		    16777216.0f));
	r = a - 0x38000000u;		/* exponent bias 127 -> 15 */
	rest = r & 0x1fffu;
	r >>= 13;
	if (rest > 0x1000u || (rest == 0x1000u && (r & 1u)))
		r++;
	return (uint16_t)(sign | r);
}

static void
put(muster_dtype dt, void *b, size_t i, double v)
{
	switch (dt) {
	case MUSTER_INT8: ((int8_t *)b)[i] = (int8_t)v; break;
	case MUSTER_UINT8: ((uint8_t *)b)[i] = (uint8_t)(v + 2); break;
	case MUSTER_INT32: ((int32_t *)b)[i] = (int32_t)v; break;
	case MUSTER_UINT32: ((uint32_t *)b)[i] = (uint32_t)(v + 2); break;
	case MUSTER_INT64: ((int64_t *)b)[i] = (int64_t)v; break;
	case MUSTER_UINT64: ((uint64_t *)b)[i] = (uint64_t)(v + 2); break;
	case MUSTER_FLOAT16:
		((uint16_t *)b)[i] = to_half((float)v);
		break;
	case MUSTER_BFLOAT16: {
		float f = (float)v;
		uint32_t u;
		memcpy(&u, &f, 4);
		((uint16_t *)b)[i] = (uint16_t)((u + 0x7fffu +
		    ((u >> 16) & 1u)) >> 16);
		break;
	}
	case MUSTER_FLOAT32: ((float *)b)[i] = (float)v; break;
	case MUSTER_FLOAT64: ((double *)b)[i] = v; break;
	}
}

static void
fill(muster_dtype dt, void *b, size_t n, int rank)
{
	size_t i;

	for (i = 0; i < n; i++)
		put(dt, b, i, value(rank, i));
}

/* Wrong elements against the expected result (exact for these inputs). */
static long
count_wrong(const struct opts *o, const void *got, size_t n, int size)
{
	size_t es = muster_dtype_size(o->dt), i;
	char *want = malloc(es * (n ? n : 1));
	long wrong = 0;
	int r;

	if (want == NULL)
		return (long)n;
	for (i = 0; i < n; i++) {
		int uns = o->dt == MUSTER_UINT8 || o->dt == MUSTER_UINT32 ||
		    o->dt == MUSTER_UINT64;
		double acc = value(0, i) + (uns ? 2 : 0), v;
		for (r = 1; r < size; r++) {
			v = value(r, i) + (uns ? 2 : 0);
			switch (o->op) {
			case MUSTER_SUM: case MUSTER_AVG: acc += v; break;
			case MUSTER_PROD: acc *= v; break;
			case MUSTER_MIN: acc = v < acc ? v : acc; break;
			case MUSTER_MAX: acc = v > acc ? v : acc; break;
			}
		}
		if (o->op == MUSTER_AVG && o->dt < MUSTER_FLOAT16)
			acc = (double)(long long)(acc / size);
		else if (o->op == MUSTER_AVG && o->dt == MUSTER_FLOAT64)
			acc = acc * (1.0 / size);
		else if (o->op == MUSTER_AVG)
			acc = (double)((float)acc * (1.0f / (float)size));
		put(o->dt, want, i, acc - (uns ? 2 : 0));
	}
	for (i = 0; i < n; i++)
		if (memcmp((const char *)got + i * es, want + i * es, es) != 0)
			wrong++;
	free(want);
	return wrong;
}

static double
timed(const struct opts *o, void *send, void *recv, size_t count,
      muster_comm *c, int *err)
{
	double t0;
	int i;

	for (i = 0; i < o->warmup && !*err; i++)
		*err = muster_allreduce(send, recv, count, o->dt, o->op, c);
	if (!*err)
		*err = muster_barrier(c);
	t0 = now();
	for (i = 0; i < o->iters && !*err; i++)
		*err = muster_allreduce(send, recv, count, o->dt, o->op, c);
	return (now() - t0) / o->iters;
}

static void
fmt(char *out, int width, double v)
{
	int prec;

	for (prec = 2; prec >= 0; prec--) {
		snprintf(out, 32, "%.*f", prec, v);
		if ((int)strlen(out) <= width)
			return;
	}
}

static void
header(const struct opts *o, muster_comm *c)
{
	int n = muster_comm_size(c), r;
	int32_t mine = (int32_t)getpid(), *pids = calloc((size_t)n, 4);
	char host[64] = "?";

	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	if (pids)
		muster_allgather(&mine, pids, 1, MUSTER_INT32, c);
	if (muster_comm_rank(c) != 0)
		goto out;
	printf("# nThread 1 nGpus 1 minBytes %zu maxBytes %zu step: ", o->minb,
	    o->maxb);
	if (o->factor > 1)
		printf("%g(factor)", o->factor);
	else
		printf("%zu(bytes)", o->stepb);
	printf(" warmup iters: %d iters: %d agg iters: 1 validation: %d "
	    "graph: 0\n#\n# Using devices\n", o->warmup, o->iters, o->check);
	for (r = 0; pids && r < n; r++)
		printf("#  Rank %2d Group  0 Pid %6d on %10s device  0 [cpu] "
		    "libmuster %s\n", r, (int)pids[r], host, muster_version());
	printf("#\n#%59s%-35s%s\n", "", "out-of-place", "in-place");
	printf("#%11s  %12s  %8s  %6s  %6s  %7s  %6s  %6s %6s  %7s  %6s  %6s "
	    "%6s\n", "size", "count", "type", "redop", "root", "time",
	    "algbw", "busbw", "#wrong", "time", "algbw", "busbw", "#wrong");
	printf("#%11s  %12s  %8s  %6s  %6s  %7s  %6s  %6s %6s  %7s  %6s  %6s "
	    "%6s\n", "(B)", "(elements)", "", "", "", "(us)", "(GB/s)",
	    "(GB/s)", "", "(us)", "(GB/s)", "(GB/s)", "");
out:
	free(pids);
}

/*
 * Small allreduces for 0.2 s before the first size: a job's first
 * moments are busy (the launcher, the rendezvous, page faults).  Rank 0's
 * clock decides, through the allreduce itself, so all ranks stop together.
 */
static void
settle(muster_comm *c)
{
	double t0 = now();
	int32_t stop = 0;

	while (!stop) {
		stop = muster_comm_rank(c) == 0 && now() - t0 > 0.2;
		if (muster_allreduce(&stop, &stop, 1, MUSTER_INT32, MUSTER_MAX,
		    c) != MUSTER_OK)
			return;
	}
}

/* One size: out of place, then in place; prints a row on rank 0. */
static int
one_size(const struct opts *o, muster_comm *c, char *send, char *recv,
	 size_t count, double *busbw_sum, long *wrong_total)
{
	size_t es = muster_dtype_size(o->dt), bytes = count * es;
	int n = muster_comm_size(c), rank = muster_comm_rank(c), err = 0, k;
	double t[2], factor = 2.0 * (n - 1) / n;
	long wrong[2] = { 0, 0 };
	char cols[2][3][32], wr[2][32];

	for (k = 0; k < 2; k++) {
		void *out = k ? send : recv;
		fill(o->dt, send, count, rank);
		t[k] = timed(o, send, out, count, c, &err);
		if (!err)
			err = muster_allreduce(&t[k], &t[k], 1, MUSTER_FLOAT64,
			    MUSTER_AVG, c);
		if (o->check && !err) {
			fill(o->dt, send, count, rank);
			err = muster_allreduce(send, out, count, o->dt, o->op, c);
			wrong[k] = count_wrong(o, out, count, n);
			if (!err)
				err = muster_allreduce(&wrong[k], &wrong[k], 1,
				    MUSTER_INT64, MUSTER_SUM, c);
		}
		if (err)
			return err;
		fmt(cols[k][0], 7, t[k] * 1e6);
		fmt(cols[k][1], 6, (double)bytes / 1e9 / t[k]);
		fmt(cols[k][2], 6, (double)bytes / 1e9 / t[k] * factor);
		if (o->check)
			snprintf(wr[k], sizeof(wr[k]), "%6g", (double)wrong[k]);
		else
			snprintf(wr[k], sizeof(wr[k]), "%6s", "N/A");
		*busbw_sum += (double)bytes / 1e9 / t[k] * factor / 2;
		*wrong_total += wrong[k];
	}
	if (rank == 0)
		printf("%12zu  %12zu  %8s  %6s  %6s  %7s  %6s  %6s %6s  %7s  %6s"
		    "  %6s %6s\n", bytes, count, type_names[o->dt],
		    op_names[o->op], "-1", cols[0][0], cols[0][1], cols[0][2],
		    wr[0], cols[1][0], cols[1][1], cols[1][2], wr[1]);
	fflush(stdout);
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o;
	muster_comm *c;
	muster_result rv;
	size_t es, b, nsizes = 0;
	double busbw_sum = 0;
	long wrong_total = 0;
	char *send, *recv;

	parse(argc, argv, &o);
	if ((rv = muster_comm_init_from_env(&c)) != MUSTER_OK) {
		fprintf(stderr, "muster-allreduce-perf: %s: %s\n",
		    muster_strerror(rv), muster_comm_last_error(NULL));
		return 1;
	}
	es = muster_dtype_size(o.dt);
	if (posix_memalign((void **)&send, 4096, o.maxb + 4096) != 0 ||
	    posix_memalign((void **)&recv, 4096, o.maxb + 4096) != 0) {
		fprintf(stderr, "muster-allreduce-perf: out of memory\n");
		return 1;
	}
	header(&o, c);
	settle(c);
	for (b = o.minb; b <= o.maxb; ) {
		size_t count = b / es;
		if ((rv = one_size(&o, c, send, recv, count, &busbw_sum,
		    &wrong_total)) != MUSTER_OK) {
			fprintf(stderr, "muster-allreduce-perf: rank %d: %s: "
			    "%s\n", muster_comm_rank(c), muster_strerror(rv),
			    muster_comm_last_error(c));
			return 1;
		}
		nsizes++;
		if (o.factor > 1)
			b = (size_t)((double)b * o.factor);
		else
			b += o.stepb;
		if (b == 0)
			break;
	}
	if (muster_comm_rank(c) == 0) {
		printf("# Out of bounds values : %ld %s\n", wrong_total,
		    wrong_total ? "FAILED" : "OK");
		printf("# Avg bus bandwidth    : %g \n#\n",
		    nsizes ? busbw_sum / (double)nsizes : 0);
	}
	muster_comm_destroy(c);
	free(send);
	free(recv);
	return wrong_total ? 1 : 0;
}
