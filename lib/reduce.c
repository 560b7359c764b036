/*
 * reduce.c: reduction kernels and what they know of dtypes (sizes,
 * accumulation types).  Built with -O3: every inner loop is a
 * plain elementwise loop over restrict pointers so the compiler
 * vectorizes it.  Work goes tile by tile through a small accumulator on
 * the stack, so dst may alias a source and the accumulator stays in L1.
 */
#include <string.h>
#include "reduce.h"

#define TILE 1024

static inline float
f_of(uint32_t u)
{
	float f;

	memcpy(&f, &u, 4);
	return f;
}

static inline uint32_t
u_of(float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	return u;
}

/* IEEE binary16 -> binary32, exact, branch-free (selects only). */
static inline float
h2f(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
	uint32_t em = h & 0x7fffu;
	uint32_t e = em & 0x7c00u;
	uint32_t o = em << 13;
	uint32_t norm = o + 0x38000000u;	/* rebias 15 -> 127 */
	uint32_t infnan = o + 0x70000000u;	/* exponent 31 -> 255 */
	uint32_t sub = u_of((float)em * 0x1p-24f);	/* subnormal/zero */
	uint32_t r = e == 0x7c00u ? infnan : norm;

	r = e == 0 ? sub : r;
	return f_of(r | sign);
}

/* binary32 -> binary16, round to nearest even, overflow to inf. */
static inline uint16_t
f2h(float f)
{
	uint32_t x = u_of(f);
	uint32_t sign = (x >> 16) & 0x8000u;
	uint32_t a = x & 0x7fffffffu;
	uint32_t big = a > 0x7f800000u ? 0x7e00u : 0x7c00u;
	/* subnormal result: let the FPU round a + 0.5 (ulp 2^-24) */
	uint32_t sub = u_of(f_of(a) + 0.5f) - 0x3f000000u;
	uint32_t norm = (a + 0xc8000fffu + ((a >> 13) & 1u)) >> 13;
	uint32_t r = a >= 0x47800000u ? big : (a < 0x38800000u ? sub : norm);

	return (uint16_t)(r | sign);
}

static inline float
bf2f(uint16_t h)
{
	return f_of((uint32_t)h << 16);
}

static inline uint16_t
f2bf(float f)
{
	uint32_t x = u_of(f);
	uint32_t r = (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
	uint32_t qnan = (x >> 16) | 0x40u;

	return (uint16_t)((x & 0x7fffffffu) > 0x7f800000u ? qnan : r);
}

float
mst_half_to_float(uint16_t h)
{
	return h2f(h);
}

uint16_t
mst_float_to_half(float f)
{
	return f2h(f);
}

float
mst_bf16_to_float(uint16_t h)
{
	return bf2f(h);
}

uint16_t
mst_float_to_bf16(float f)
{
	return f2bf(f);
}

muster_dtype
mst_acc_dtype(muster_dtype dt)
{
	return dt == MUSTER_FLOAT16 || dt == MUSTER_BFLOAT16 ?
	    MUSTER_FLOAT32 : dt;
}

size_t
muster_dtype_size(muster_dtype dtype)
{
	switch (dtype) {
	case MUSTER_INT8: case MUSTER_UINT8: return 1;
	case MUSTER_FLOAT16: case MUSTER_BFLOAT16: return 2;
	case MUSTER_INT32: case MUSTER_UINT32: case MUSTER_FLOAT32: return 4;
	case MUSTER_INT64: case MUSTER_UINT64: case MUSTER_FLOAT64: return 8;
	}
	return 0;
}

int
mst_dtype_valid(muster_dtype dt)
{
	return (unsigned)dt <= (unsigned)MUSTER_FLOAT64;
}

int
mst_op_valid(muster_op op)
{
	return (unsigned)op <= (unsigned)MUSTER_AVG;
}

#define MIN_(x, y) ((y) < (x) ? (y) : (x))
#define MAX_(x, y) ((y) > (x) ? (y) : (x))

/*
 * combine_T(op, acc, src, m): acc[i] = acc[i] op src[i].  Integers add
 * and multiply in their unsigned type (two's complement wrap, no UB).
 */
#define DEF_COMBINE_INT(NAME, T, U)					\
static void								\
NAME(muster_op op, T *restrict acc, const T *restrict s, size_t m)	\
{									\
	size_t i;							\
									\
	switch (op) {							\
	case MUSTER_SUM: case MUSTER_AVG:				\
		for (i = 0; i < m; i++)					\
			acc[i] = (T)((U)acc[i] + (U)s[i]);		\
		break;							\
	case MUSTER_PROD:						\
		for (i = 0; i < m; i++)					\
			acc[i] = (T)((U)((U)acc[i] * (U)s[i]));		\
		break;							\
	case MUSTER_MIN:						\
		for (i = 0; i < m; i++)					\
			acc[i] = MIN_(acc[i], s[i]);			\
		break;							\
	case MUSTER_MAX:						\
		for (i = 0; i < m; i++)					\
			acc[i] = MAX_(acc[i], s[i]);			\
		break;							\
	}								\
}

#define DEF_COMBINE_FLT(NAME, T, LOAD, ST)				\
static void								\
NAME(muster_op op, T *restrict acc, const ST *restrict s, size_t m)	\
{									\
	size_t i;							\
									\
	switch (op) {							\
	case MUSTER_SUM: case MUSTER_AVG:				\
		for (i = 0; i < m; i++)					\
			acc[i] += LOAD(s[i]);				\
		break;							\
	case MUSTER_PROD:						\
		for (i = 0; i < m; i++)					\
			acc[i] *= LOAD(s[i]);				\
		break;							\
	case MUSTER_MIN:						\
		for (i = 0; i < m; i++)					\
			acc[i] = MIN_(acc[i], LOAD(s[i]));		\
		break;							\
	case MUSTER_MAX:						\
		for (i = 0; i < m; i++)					\
			acc[i] = MAX_(acc[i], LOAD(s[i]));		\
		break;							\
	}								\
}

#define ID_(x) (x)
DEF_COMBINE_INT(comb_i8, int8_t, uint8_t)
DEF_COMBINE_INT(comb_u8, uint8_t, uint8_t)
DEF_COMBINE_INT(comb_i32, int32_t, uint32_t)
DEF_COMBINE_INT(comb_u32, uint32_t, uint32_t)
DEF_COMBINE_INT(comb_i64, int64_t, uint64_t)
DEF_COMBINE_INT(comb_u64, uint64_t, uint64_t)
DEF_COMBINE_FLT(comb_f32, float, ID_, float)
DEF_COMBINE_FLT(comb_f64, double, ID_, double)
DEF_COMBINE_FLT(comb_h16, float, h2f, uint16_t)
DEF_COMBINE_FLT(comb_b16, float, bf2f, uint16_t)

/* Scaling for AVG: integers divide (truncating), floats multiply. */
#define DEF_SCALE_INT(NAME, T)						\
static void								\
NAME(T *restrict acc, size_t m, int n)					\
{									\
	size_t i;							\
	T d = (T)n;							\
									\
	for (i = 0; i < m; i++)						\
		acc[i] = (T)(acc[i] / d);				\
}
DEF_SCALE_INT(scale_i8, int8_t)
DEF_SCALE_INT(scale_u8, uint8_t)
DEF_SCALE_INT(scale_i32, int32_t)
DEF_SCALE_INT(scale_u32, uint32_t)
DEF_SCALE_INT(scale_i64, int64_t)
DEF_SCALE_INT(scale_u64, uint64_t)

static void
scale_f32(float *restrict acc, size_t m, int n)
{
	float k = 1.0f / (float)n;
	size_t i;

	for (i = 0; i < m; i++)
		acc[i] *= k;
}

static void
scale_f64(double *restrict acc, size_t m, int n)
{
	double k = 1.0 / (double)n;
	size_t i;

	for (i = 0; i < m; i++)
		acc[i] *= k;
}

/*
 * One reduction over same-typed data: RED_SAME(T, comb, scale).
 * MODE 0 writes dst in T with scaling, MODE 1 without (partial).
 */
#define DEF_RED_SAME(NAME, T, COMB, SCALE)				\
static void								\
NAME(muster_op op, void *dst, const void *const *src, int nsrc,		\
     size_t count, int avg_n)						\
{									\
	T acc[TILE];							\
	size_t off, m;							\
	int k;								\
									\
	for (off = 0; off < count; off += m) {				\
		m = count - off < TILE ? count - off : TILE;		\
		memcpy(acc, (const T *)src[0] + off, m * sizeof(T));	\
		for (k = 1; k < nsrc; k++)				\
			COMB(op, acc, (const T *)src[k] + off, m);	\
		if (op == MUSTER_AVG && avg_n > 1)			\
			SCALE(acc, m, avg_n);				\
		memcpy((T *)dst + off, acc, m * sizeof(T));		\
	}								\
}
DEF_RED_SAME(red_i8, int8_t, comb_i8, scale_i8)
DEF_RED_SAME(red_u8, uint8_t, comb_u8, scale_u8)
DEF_RED_SAME(red_i32, int32_t, comb_i32, scale_i32)
DEF_RED_SAME(red_u32, uint32_t, comb_u32, scale_u32)
DEF_RED_SAME(red_i64, int64_t, comb_i64, scale_i64)
DEF_RED_SAME(red_u64, uint64_t, comb_u64, scale_u64)
DEF_RED_SAME(red_f32, float, comb_f32, scale_f32)
DEF_RED_SAME(red_f64, double, comb_f64, scale_f64)

/*
 * 16-bit floats: load into a float32 accumulator; OUT_ACC 1 stores the
 * float32 accumulator (hierarchical first stage), 0 rounds back.
 */
#define DEF_RED_HALF(NAME, LOAD, STORE, COMB)				\
static void								\
NAME(muster_op op, void *dst, const void *const *src, int nsrc,		\
     size_t count, int avg_n, int out_acc)				\
{									\
	float acc[TILE];						\
	size_t off, m, i;						\
	int k;								\
									\
	for (off = 0; off < count; off += m) {				\
		const uint16_t *s0 = (const uint16_t *)src[0] + off;	\
		m = count - off < TILE ? count - off : TILE;		\
		for (i = 0; i < m; i++)					\
			acc[i] = LOAD(s0[i]);				\
		for (k = 1; k < nsrc; k++)				\
			COMB(op, acc, (const uint16_t *)src[k] + off, m); \
		if (out_acc) {						\
			memcpy((float *)dst + off, acc, m * sizeof(float)); \
			continue;					\
		}							\
		if (op == MUSTER_AVG && avg_n > 1)			\
			scale_f32(acc, m, avg_n);			\
		uint16_t *d = (uint16_t *)dst + off;			\
		for (i = 0; i < m; i++)					\
			d[i] = STORE(acc[i]);				\
	}								\
}
DEF_RED_HALF(red_h16, h2f, f2h, comb_h16)
DEF_RED_HALF(red_b16, bf2f, f2bf, comb_b16)

void
mst_reduce(muster_dtype dt, muster_op op, void *dst, const void *const *src,
	   int nsrc, size_t count, int avg_n)
{
	switch (dt) {
	case MUSTER_INT8: red_i8(op, dst, src, nsrc, count, avg_n); break;
	case MUSTER_UINT8: red_u8(op, dst, src, nsrc, count, avg_n); break;
	case MUSTER_INT32: red_i32(op, dst, src, nsrc, count, avg_n); break;
	case MUSTER_UINT32: red_u32(op, dst, src, nsrc, count, avg_n); break;
	case MUSTER_INT64: red_i64(op, dst, src, nsrc, count, avg_n); break;
	case MUSTER_UINT64: red_u64(op, dst, src, nsrc, count, avg_n); break;
	case MUSTER_FLOAT16:
		red_h16(op, dst, src, nsrc, count, avg_n, 0);
		break;
	case MUSTER_BFLOAT16:
		red_b16(op, dst, src, nsrc, count, avg_n, 0);
		break;
	case MUSTER_FLOAT32: red_f32(op, dst, src, nsrc, count, avg_n); break;
	case MUSTER_FLOAT64: red_f64(op, dst, src, nsrc, count, avg_n); break;
	}
}

void
mst_reduce_to_acc(muster_dtype dt, muster_op op, void *dst,
		  const void *const *src, int nsrc, size_t count)
{
	if (dt == MUSTER_FLOAT16)
		red_h16(op, dst, src, nsrc, count, 0, 1);
	else if (dt == MUSTER_BFLOAT16)
		red_b16(op, dst, src, nsrc, count, 0, 1);
	else
		mst_reduce(dt, op, dst, src, nsrc, count, 0);
}

void
mst_finalize(muster_dtype dt, muster_op op, void *dst, const void *acc,
	     size_t count, int avg_n)
{
	float tmp[TILE];
	size_t off, m, i;

	if (dt != MUSTER_FLOAT16 && dt != MUSTER_BFLOAT16) {
		const void *s[1] = { acc };
		mst_reduce(dt, op, dst, s, 1, count, avg_n);
		return;
	}
	for (off = 0; off < count; off += m) {
		uint16_t *d = (uint16_t *)dst + off;
		m = count - off < TILE ? count - off : TILE;
		memcpy(tmp, (const float *)acc + off, m * sizeof(float));
		if (op == MUSTER_AVG && avg_n > 1)
			scale_f32(tmp, m, avg_n);
		if (dt == MUSTER_FLOAT16)
			for (i = 0; i < m; i++)
				d[i] = f2h(tmp[i]);
		else
			for (i = 0; i < m; i++)
				d[i] = f2bf(tmp[i]);
	}
}
