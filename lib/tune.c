/*
 * tune.c: the tuning knobs from the environment (tune.h).
 */
#include "num.h"
#include "tune.h"

#define GiB (1L << 30)

muster_result
mst_tune_from_env(struct mst_tune *t, char *err, size_t errlen)
{
	long slot = 256 * 1024, small = 64 * 1024, seg = 256 * 1024;
	long buf = 0, check = 1;

	t->spin_us = -1;
	t->yield_us = 2000;
	t->shm_oneshot = -1;
	if (mst_env_double("MUSTER_SPIN_US", 0, 1e6, &t->spin_us, err,
	    errlen) != 0 ||
	    mst_env_double("MUSTER_YIELD_US", 0, 1e7, &t->yield_us, err,
	    errlen) != 0 ||
	    mst_env_long("MUSTER_SHM_SLOT", 4096, GiB, &slot, err,
	    errlen) != 0 ||
	    mst_env_long("MUSTER_SHM_ONESHOT", 0, GiB, &t->shm_oneshot, err,
	    errlen) != 0 ||
	    mst_env_long("MUSTER_TCP_SMALL", 0, GiB, &small, err,
	    errlen) != 0 ||
	    mst_env_long("MUSTER_TCP_SEG", 4096, GiB, &seg, err,
	    errlen) != 0 ||
	    mst_env_long("MUSTER_TCP_BUF", 4096, GiB, &buf, err,
	    errlen) != 0 ||
	    mst_env_long("MUSTER_CHECK_ARGS", 0, 1, &check, err,
	    errlen) != 0)
		return MUSTER_ENOENV;
	t->shm_slot = (size_t)slot & ~(size_t)4095;
	t->tcp_small = (size_t)small;
	t->tcp_seg = (size_t)seg;
	t->tcp_buf = (int)buf;
	t->check_args = (int)check;
	return MUSTER_OK;
}
