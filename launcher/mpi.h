/*
 * mpi.h: --mpi, spawning through Open MPI's mpirun.
 *
 * The head runs `mpirun ... muster --mpi-rank LAYOUT -- PROGRAM ARGS`; each
 * rank's wrapper reads OMPI_COMM_WORLD_RANK/SIZE, rebuilds the same plan
 * from LAYOUT and sets the muster, torchrun, Horovod and Azure ML names
 * beside the real OMPI_* ones, then runs PROGRAM as its child with
 * rank-tagged output, forwarding signals.  mpirun's own fail-fast stops the
 * other ranks; the failing rank's wrapper names it.
 *
 * There is no agent under mpirun to gather a host's facts, so across
 * hosts each wrapper chooses for its rank: MUSTER_ADDR (MUSTER_IFACE's
 * address, else the route toward the rendezvous host, else toward
 * another node's host) and GLOO_SOCKET_IFNAME, NCCL_SOCKET_IFNAME,
 * TP_SOCKET_IFNAME (that address's interface) unless the user set them;
 * without --master-port, rank 0's wrapper publishes MASTER_ADDR:PORT (its
 * address, a port free on its host) on the job's rendezvous and the
 * others wait for it.  With MUSTER_IFACE mpirun's own connections take
 * that interface too (oob_tcp_if_include, btl_tcp_if_include).
 */
#ifndef LCH_MPI_H
#define LCH_MPI_H

#include "options.h"
#include "plan.h"

int lch_mpi_run(const struct lch_opts *o, const struct lch_plan *p);
int lch_mpi_rank_main(struct lch_opts *o);

#endif /* LCH_MPI_H */
