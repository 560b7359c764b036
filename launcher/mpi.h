/*
 * mpi.h: --mpi, spawning through Open MPI's mpirun.
 *
 * The head runs `mpirun ... muster --mpi-rank LAYOUT -- PROGRAM ARGS`; each
 * rank's wrapper reads OMPI_COMM_WORLD_RANK/SIZE, rebuilds the same plan
 * from LAYOUT and sets the muster, torchrun, Horovod and Azure ML names
 * beside the real OMPI_* ones, then runs PROGRAM as its child with
 * rank-tagged output, forwarding signals.  mpirun's own fail-fast stops the
 * other ranks; the failing rank's wrapper names it.
 */
#ifndef LCH_MPI_H
#define LCH_MPI_H

#include "options.h"
#include "plan.h"

int lch_mpi_run(const struct lch_opts *o, const struct lch_plan *p);
int lch_mpi_rank_main(struct lch_opts *o);

#endif /* LCH_MPI_H */
