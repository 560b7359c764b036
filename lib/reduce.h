/*
 * reduce.h: the reduction kernels of the allreduce core (lib/reduce.c,
 * built with -O3).  Every kernel combines its sources in the order given,
 * so a caller that always passes ranks 0..n-1 gets the same bits on every
 * rank and in every run.  float16 and bfloat16 accumulate in float32.
 */
#ifndef MST_REDUCE_H
#define MST_REDUCE_H

#include <stddef.h>
#include <stdint.h>
#include "muster.h"

/*
 * The type partial results travel in: float32 for the 16-bit floats.
 * muster_dtype_size (muster.h) is defined here too.
 */
muster_dtype mst_acc_dtype(muster_dtype dt);
int          mst_dtype_valid(muster_dtype dt);
int          mst_op_valid(muster_op op);

/*
 * dst[i] = src[0][i] op src[1][i] op ... op src[nsrc-1][i], then for
 * MUSTER_AVG scaled by 1/avg_n (integers: divided).  avg_n 0 skips the
 * scaling (a partial result).  dst may equal one of the sources.
 */
void mst_reduce(muster_dtype dt, muster_op op, void *dst,
		const void *const *src, int nsrc, size_t count, int avg_n);

/*
 * Like mst_reduce, but dst holds mst_acc_dtype(dt) elements (float32 for
 * the 16-bit floats) and no scaling is applied: the first stage of a
 * hierarchical allreduce.
 */
void mst_reduce_to_acc(muster_dtype dt, muster_op op, void *dst,
		       const void *const *src, int nsrc, size_t count);

/* dst (dt) = acc (mst_acc_dtype(dt)), scaled by 1/avg_n for AVG. */
void mst_finalize(muster_dtype dt, muster_op op, void *dst, const void *acc,
		  size_t count, int avg_n);

/* Scalar conversions, exposed for tests. */
float    mst_half_to_float(uint16_t h);
uint16_t mst_float_to_half(float f);
float    mst_bf16_to_float(uint16_t h);
uint16_t mst_float_to_bf16(float f);

#endif /* MST_REDUCE_H */
