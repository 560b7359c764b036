/*
 * coll_allreduce_test.c: allreduce against a reference computed here,
 * for every dtype x op x {out of place, in place} x sizes {0, 1, n-1, n,
 * odd, 1 MiB + 3} on 1-4 ranks of one node and on 2 virtual nodes (TCP
 * between them); results must also be bit-identical on every rank and
 * from run to run.
 */
#include <math.h>
#include "test.h"
#include "coll_harness.h"
#include "reduce.h"

static const muster_dtype dts[] = {
	MUSTER_INT8, MUSTER_UINT8, MUSTER_INT32, MUSTER_UINT32, MUSTER_INT64,
	MUSTER_UINT64, MUSTER_FLOAT16, MUSTER_BFLOAT16, MUSTER_FLOAT32,
	MUSTER_FLOAT64
};
static const char *const dtn[] = { "int8", "uint8", "int32", "uint32",
	"int64", "uint64", "half", "bfloat16", "float", "double" };
static const char *const opn[] = { "sum", "prod", "min", "max", "avg" };

static int
is_float(muster_dtype dt)
{
	return dt >= MUSTER_FLOAT16;
}

static uint32_t
mix(int r, size_t i, int salt)
{
	uint32_t x = (uint32_t)i * 2654435761u ^ (uint32_t)(r + 1) * 40503u ^
	    (uint32_t)salt * 97u;

	x ^= x >> 15;
	x *= 2246822519u;
	x ^= x >> 13;
	return x;
}

/* Integer inputs: wide for SUM/AVG/MIN/MAX (SUM wraps), tiny for PROD. */
static uint64_t
ival(muster_dtype dt, muster_op op, int r, size_t i)
{
	uint32_t x = mix(r, i, (int)dt * 5 + (int)op);
	int64_t v;

	if (op == MUSTER_PROD)
		return (uint64_t)(int64_t)((int)(x % 7) - 3 + (x % 7 == 3));
	switch (dt) {
	case MUSTER_INT8: v = (int)(x % 251) - 125; break;
	case MUSTER_UINT8: v = x % 251; break;
	case MUSTER_INT32: v = (int64_t)(x % 2000000001u) - 1000000000; break;
	case MUSTER_UINT32: v = x; break;
	default: v = (int64_t)((uint64_t)x << 30 | x); break;
	}
	return (uint64_t)v;
}

static double
fval(muster_op op, int r, size_t i, int salt)
{
	static const double pv[] = { -2, -1, -0.5, 0.5, 1, 2 };
	uint32_t x = mix(r, i, salt + (int)op);

	if (op == MUSTER_PROD)
		return pv[x % 6];
	if (op == MUSTER_MIN || op == MUSTER_MAX)
		return (double)((int)(x % 201) - 100);
	return (double)((int)(x % 17) - 8);
}

/* Reference rounding to bfloat16, nearest-even, by comparing candidates. */
static uint16_t
ref_bf16(float f)
{
	uint32_t u;
	uint16_t lo, hi;
	float fl, fh;

	memcpy(&u, &f, 4);
	lo = (uint16_t)(u >> 16);
	hi = (uint16_t)(lo + 1);
	fl = mst_bf16_to_float(lo);
	fh = mst_bf16_to_float(hi);
	if (fabs((double)f - fl) < fabs((double)fh - f))
		return lo;
	if (fabs((double)f - fl) > fabs((double)fh - f))
		return hi;
	return (lo & 1) ? hi : lo;
}

/*
 * Reference rounding to binary16: the compiler's _Float16 where it has
 * one (gcc), else nearest-even by comparing the two candidates.
 */
static uint16_t
ref_half(float f)
{
#ifdef __FLT16_MAX__
	_Float16 h = (_Float16)f;
	uint16_t u;

	memcpy(&u, &h, 2);
	return u;
#else
	uint16_t lo = 0, hi = 0x7c00, mid;
	float a = fabsf(f);
	uint16_t sign = signbit(f) ? 0x8000 : 0;

	/* largest lo with half(lo) <= a, by bisection over the ordered codes */
	while (hi - lo > 1) {
		mid = (uint16_t)((lo + hi) / 2);
		if (mst_half_to_float(mid) <= a)
			lo = mid;
		else
			hi = mid;
	}
	if (mst_half_to_float(lo) == a)
		return (uint16_t)(sign | lo);
	if (a - mst_half_to_float(lo) < mst_half_to_float(hi) - a ||
	    (a - mst_half_to_float(lo) == mst_half_to_float(hi) - a &&
	    !(lo & 1)))
		return (uint16_t)(sign | lo);
	return (uint16_t)(sign | hi);
#endif
}

static void
store(muster_dtype dt, void *buf, size_t i, uint64_t iv, double fv)
{
	switch (dt) {
	case MUSTER_INT8: case MUSTER_UINT8:
		((uint8_t *)buf)[i] = (uint8_t)iv; break;
	case MUSTER_INT32: case MUSTER_UINT32:
		((uint32_t *)buf)[i] = (uint32_t)iv; break;
	case MUSTER_INT64: case MUSTER_UINT64:
		((uint64_t *)buf)[i] = iv; break;
	case MUSTER_FLOAT16:
		((uint16_t *)buf)[i] = ref_half((float)fv);
		break;
	case MUSTER_BFLOAT16:
		((uint16_t *)buf)[i] = ref_bf16((float)fv); break;
	case MUSTER_FLOAT32: ((float *)buf)[i] = (float)fv; break;
	case MUSTER_FLOAT64: ((double *)buf)[i] = fv; break;
	}
}

static void
fill(muster_dtype dt, muster_op op, int r, void *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		store(dt, buf, i, is_float(dt) ? 0 : ival(dt, op, r, i),
		    is_float(dt) ? fval(op, r, i, (int)dt * 5) : 0);
}

/* Integer reference with the dtype's wrap and signedness. */
static uint64_t
iref(muster_dtype dt, muster_op op, int n, size_t i)
{
	uint64_t acc = ival(dt, op, 0, i);
	int sgn = dt == MUSTER_INT8 || dt == MUSTER_INT32 || dt == MUSTER_INT64;
	int bits = dt <= MUSTER_UINT8 ? 8 : dt <= MUSTER_UINT32 ? 32 : 64;
	int r;

#define NORM(v) (bits == 64 ? (v) : sgn ? \
	(uint64_t)(((int64_t)((v) << (64 - bits))) >> (64 - bits)) : \
	(v) & ((1ULL << bits) - 1))
	acc = NORM(acc);
	for (r = 1; r < n; r++) {
		uint64_t v = NORM(ival(dt, op, r, i));
		switch (op) {
		case MUSTER_SUM: case MUSTER_AVG: acc += v; break;
		case MUSTER_PROD: acc *= v; break;
		case MUSTER_MIN:
			if (sgn ? (int64_t)v < (int64_t)acc : v < acc) acc = v;
			break;
		case MUSTER_MAX:
			if (sgn ? (int64_t)v > (int64_t)acc : v > acc) acc = v;
			break;
		}
		acc = NORM(acc);
	}
	if (op == MUSTER_AVG)
		acc = sgn ? (uint64_t)((int64_t)acc / n) : acc / (uint64_t)n;
	return acc;
#undef NORM
}

static double
fref(muster_dtype dt, muster_op op, int n, size_t i)
{
	double acc = fval(op, 0, i, (int)dt * 5);
	int r;

	for (r = 1; r < n; r++) {
		double v = fval(op, r, i, (int)dt * 5);
		switch (op) {
		case MUSTER_SUM: case MUSTER_AVG: acc += v; break;
		case MUSTER_PROD: acc *= v; break;
		case MUSTER_MIN: acc = v < acc ? v : acc; break;
		case MUSTER_MAX: acc = v > acc ? v : acc; break;
		}
	}
	if (op == MUSTER_AVG) {
		if (dt == MUSTER_FLOAT64)
			acc = acc * (1.0 / n);
		else
			acc = (double)((float)acc * (1.0f / (float)n));
	}
	return acc;
}

struct matrix {
	int sizes_all;		/* 1: every dtype gets the big size */
};

static size_t
sizes_for(int n, size_t out[6])
{
	out[0] = 0;
	out[1] = 1;
	out[2] = (size_t)(n - 1);
	out[3] = (size_t)n;
	out[4] = 1001;
	out[5] = (1u << 20) + 3;
	return 6;
}

/* Reference result of (dt, op) on cnt elements into ref. */
static void
reference(muster_dtype dt, muster_op op, int n, char *ref, size_t cnt)
{
	size_t i;

	for (i = 0; i < cnt; i++) {
		if (is_float(dt))
			store(dt, ref, i, 0, fref(dt, op, n, i));
		else
			store(dt, ref, i, iref(dt, op, n, i), 0);
	}
}

static void
matrix_body(muster_comm *c, struct h_report *me, void *arg)
{
	int n = muster_comm_size(c), r = muster_comm_rank(c);
	size_t sizes[6], ns = sizes_for(n, sizes), k, i;
	int d, o, inplace, slot = 0;
	size_t big = ((size_t)1 << 20) + 3;
	char *send = malloc(big * 8), *recv = malloc(big * 8);
	char *ref = malloc(big * 8);

	(void)arg;
	for (d = 0; d < 10; d++)
	for (o = 0; o < 5; o++)
	for (k = 0; k < ns; k++) {
		muster_dtype dt = dts[d];
		muster_op op = (muster_op)o;
		size_t cnt = sizes[k], es = muster_dtype_size(dt);

		reference(dt, op, n, ref, cnt);
		for (inplace = 0; inplace < 2; inplace++, slot++) {
			void *out = inplace ? send : recv;
			muster_result rv;

			fill(dt, op, r, send, cnt);
			memset(recv, 0xee, cnt * es);
			rv = muster_allreduce(send, out, cnt, dt, op, c);
			if (rv != MUSTER_OK) {
				fprintf(stderr, "# rank %d %s %s n=%zu: %s: %s\n",
				    r, dtn[d], opn[o], cnt, muster_strerror(rv),
				    muster_comm_last_error(c));
				me->failures++;
				continue;
			}
			if (memcmp(ref, out, cnt * es) != 0) {
				for (i = 0; i < cnt; i++)
					if (memcmp(ref + i * es,
					    (char *)out + i * es, es))
						break;
				fprintf(stderr, "# rank %d %s %s %s n=%zu: wrong "
				    "at element %zu\n", r, dtn[d], opn[o],
				    inplace ? "in-place" : "out-of-place", cnt, i);
				me->failures++;
			}
			me->hash[slot] = h_hash(out, cnt * es);
		}
	}
	free(send);
	free(recv);
	free(ref);
}

static void
check_same_hashes(int n)
{
	int r, s;

	for (r = 1; r < n; r++)
		for (s = 0; s < H_SLOTS; s++)
			if (h_rep[r].hash[s] != h_rep[0].hash[s]) {
				CHECK_(0, "rank %d differs from rank 0 in case "
				    "%d", r, s);
				return;
			}
}

static void
run_matrix(int n, int nodes)
{
	CHECK_INT(h_run(n, nodes, "30", matrix_body, NULL), 0);
	check_same_hashes(n);
}

static void test_1rank(void) { run_matrix(1, 1); }
static void test_2ranks(void) { run_matrix(2, 1); }
static void test_3ranks(void) { run_matrix(3, 1); }
static void test_4ranks(void) { run_matrix(4, 1); }
static void test_2nodes_2ranks(void) { run_matrix(2, 2); }
static void test_2nodes_3ranks(void) { run_matrix(3, 2); }
static void test_2nodes_4ranks(void) { run_matrix(4, 2); }
static void test_3nodes_4ranks(void) { run_matrix(4, 3); }

/*
 * Inexact float sums (random inputs): identical on every rank and in
 * two separate runs, and close to a double-precision reference.
 */
static void
determinism_body(muster_comm *c, struct h_report *me, void *arg)
{
	static const muster_dtype fd[] = { MUSTER_FLOAT16, MUSTER_BFLOAT16,
		MUSTER_FLOAT32, MUSTER_FLOAT64 };
	static const size_t cnts[] = { 7, 1001, 70000, (1u << 20) + 3 };
	int n = muster_comm_size(c), r = muster_comm_rank(c), slot = 0;
	size_t big = ((size_t)1 << 20) + 3, i;
	char *buf = malloc(big * 8);
	int d, k, o;

	(void)arg;
	for (d = 0; d < 4; d++)
	for (o = 0; o < 2; o++)
	for (k = 0; k < 4; k++, slot++) {
		muster_op op = o ? MUSTER_AVG : MUSTER_SUM;
		size_t es = muster_dtype_size(fd[d]);
		double worst = 0;
		for (i = 0; i < cnts[k]; i++)
			store(fd[d], buf, i, 0,
			    (double)(mix(r, i, 9) % 100000) / 7777.0 - 6);
		if (muster_allreduce(buf, buf, cnts[k], fd[d], op, c)) {
			me->failures++;
			continue;
		}
		me->hash[slot] = h_hash(buf, cnts[k] * es);
		for (i = 0; i < cnts[k]; i += 97) {
			double want = 0, got;
			int q;
			for (q = 0; q < n; q++)
				want += (double)(mix(q, i, 9) % 100000) / 7777.0 - 6;
			if (op == MUSTER_AVG)
				want /= n;
			switch (fd[d]) {
			case MUSTER_FLOAT16:
				got = mst_half_to_float(((uint16_t *)buf)[i]);
				break;
			case MUSTER_BFLOAT16:
				got = mst_bf16_to_float(((uint16_t *)buf)[i]);
				break;
			case MUSTER_FLOAT32: got = ((float *)buf)[i]; break;
			default: got = ((double *)buf)[i]; break;
			}
			/* inputs are rounded to the dtype first, then summed */
			if (fabs(got - want) > worst)
				worst = fabs(got - want);
		}
		if (worst > (fd[d] == MUSTER_BFLOAT16 ? 0.3 :
		    fd[d] == MUSTER_FLOAT16 ? 0.05 : 1e-4)) {
			fprintf(stderr, "# %s: error %g\n", dtn[6 + d], worst);
			me->failures++;
		}
	}
	free(buf);
}

static void
run_determinism(int n, int nodes)
{
	static uint64_t first[H_MAXR][32];
	int r;

	CHECK_INT(h_run(n, nodes, "30", determinism_body, NULL), 0);
	check_same_hashes(n);
	for (r = 0; r < n; r++)
		memcpy(first[r], h_rep[r].hash, sizeof(first[r]));
	CHECK_INT(h_run(n, nodes, "30", determinism_body, NULL), 0);
	for (r = 0; r < n; r++)
		CHECK(memcmp(first[r], h_rep[r].hash, sizeof(first[r])) == 0);
}

static void test_determinism_1node(void) { run_determinism(4, 1); }
static void test_determinism_2nodes(void) { run_determinism(4, 2); }
static void test_determinism_3nodes(void) { run_determinism(3, 3); }

/* The conversions against the compiler's _Float16. */
static void
test_half_conversions(void)
{
#ifndef __FLT16_MAX__
	SKIP("the compiler has no _Float16 to check against");
#else
	uint32_t h, i, bad = 0;

	for (h = 0; h < 65536; h++) {
		_Float16 x;
		uint16_t hh = (uint16_t)h;
		float a;
		memcpy(&x, &hh, 2);
		a = mst_half_to_float(hh);
		if (!isnan(a) && a != (float)x)
			bad++;
		if (!isnan(a) && mst_float_to_half(a) != hh)
			bad++;
	}
	for (i = 0; i < 2000000; i++) {
		uint32_t u = mix(1, i, 3) & 0xcfffffffu;
		float f;
		_Float16 x;
		uint16_t want;
		memcpy(&f, &u, 4);
		if (isnan(f))
			continue;
		x = (_Float16)f;
		memcpy(&want, &x, 2);
		if (mst_float_to_half(f) != want)
			bad++;
		if (mst_float_to_bf16(f) != ref_bf16(f) && !isinf(f))
			bad++;
	}
	CHECK_INT(bad, 0);
#endif
}

TEST_LIST = {
	{ "half_conversions", test_half_conversions },
	{ "allreduce_1rank", test_1rank },
	{ "allreduce_2ranks", test_2ranks },
	{ "allreduce_3ranks", test_3ranks },
	{ "allreduce_4ranks", test_4ranks },
	{ "allreduce_2nodes_2ranks", test_2nodes_2ranks },
	{ "allreduce_2nodes_3ranks", test_2nodes_3ranks },
	{ "allreduce_2nodes_4ranks", test_2nodes_4ranks },
	{ "allreduce_3nodes_4ranks", test_3nodes_4ranks },
	{ "determinism_1node", test_determinism_1node },
	{ "determinism_2nodes", test_determinism_2nodes },
	{ "determinism_3nodes", test_determinism_3nodes },
	{ NULL, NULL }
};
