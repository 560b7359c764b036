/*
 * elastic.h: the nodes of an elastic job (--nodes MIN:MAX, torchrun's
 * --nnodes MIN:MAX, Horovod's --min-np/--max-np), generation by
 * generation.
 *
 * A generation is one run of the job's workers on a fixed set of nodes:
 * one attempt of head.c, one entry of run.json's "attempts" (runrec.h).
 * The first generation runs on up to MAX nodes: the hosts given (-H,
 * --hostfile, a Slurm allocation's under --launcher ssh), the first MAX
 * of them, the others kept as spares; or, without hosts, MAX virtual
 * nodes on this machine.  A generation ends for good when its ranks all
 * succeed (the job is done), on a signal, at --timeout, or when muster's
 * output is closed.  It ends and the next one starts:
 *
 *   - when nodes are lost: their agent or its ssh connection died, a
 *     relay's n record, their host refused to take part, or they did not
 *     come up in time (within --join-timeout, and once MIN nodes are up
 *     within LCH_ELASTIC_LAST_CALL more seconds; a generation's ranks
 *     start once all its nodes are up, its plan names them all).  The
 *     next generation runs on the nodes left, with spares (and hosts
 *     found since) filling up to MAX, as long as at least MIN remain;
 *     below MIN the job fails with one line naming the lost nodes.  A
 *     lost host is never used again (as Horovod blacklists it).  Losing
 *     nodes costs no --max-restarts (Horovod's membership changes: an
 *     elastic job is for that);
 *   - when a rank fails and no node was lost: the same nodes again, while
 *     --max-restarts is left (each such generation uses one, as torchrun);
 *   - when --host-discovery found new hosts and fewer than MAX nodes run:
 *     once the generation's ranks have run --discovery-interval, the
 *     workers are stopped and the next generation takes the new hosts in
 *     (Horovod restarts on membership change too), at no restart's cost.
 *
 * Every generation starts new agents (head.c's attempt: the old agents
 * end with their workers), with a plan rebuilt for its nodes (RANK,
 * WORLD_SIZE, LOCAL_RANK, NODE_RANK, GROUP_WORLD_SIZE, HOROVOD_* ...
 * recomputed), the same job id and secret, TORCHELASTIC_RESTART_COUNT and
 * MUSTER_GENERATION set to the generation's number (0, 1, ...), and the
 * rendezvous reset to a new generation (embed.h: its members, keys and
 * barriers forgotten; the embedded rendezvous' "generation" increments,
 * which libmuster's join reply carries).  A worker is a new process
 * each generation: a trainer resumes from its last checkpoint
 * (muster.h, examples/trainer.c).
 *
 * --host-discovery CMD (Horovod's convention) runs `sh -c CMD` every
 * --discovery-interval seconds while a generation runs; it prints one
 * "host:slots" (or "host") per line.  A host not known before is a
 * spare.  A host it printed before and no longer prints leaves the job
 * (Horovod's removed host): a spare at once; a member when the head
 * stops the generation for the next without it, at no restart's cost,
 * as long as MIN nodes remain (else it keeps running: said once).  Such
 * a host is not lost: printed again, it is a spare again.  A command that fails or prints junk is one line
 * naming it and what was wrong, said once until it succeeds again; the
 * job goes on with the hosts it has.  Without -H or --hostfile it gives
 * the first generation's hosts too: lch_opts_finish runs it once
 * (lch_elastic_discover_first); virtual nodes and discovered hosts do
 * not mix.  The embedded rendezvous then listens on every interface from
 * the start (embed.h), so that hosts that join reach it.
 *
 * A host joins on its own with `muster --join tcp://HOST:PORT` (join.h:
 * the job's join port, its secret file, the protocol): the head admits
 * it as a spare (lch_elastic_join) and it joins as a discovered host
 * does, once the generation has run --discovery-interval (the same
 * lch_elastic_can_grow / lch_elastic_fill).  Its node's agent is not
 * started by the head: the joiner starts it each generation that has
 * the host, and it dials back (slurm.h's dial-in, through head.c's
 * struct step).  A joiner that goes away while a spare is lost
 * (lch_elastic_lose_spare); while its node runs, the node is lost.
 *
 * The world size follows the nodes: --procs-per-node P on every node,
 * else each host's slots, else 1 per node (-n is refused).
 */
#ifndef LCH_ELASTIC_H
#define LCH_ELASTIC_H

#include <stddef.h>
#include <sys/types.h>

#include "hosts.h"
#include "options.h"

#define LCH_DISCOVERY_OUT_MAX (1 << 20)	/* bytes --host-discovery prints */
/* once MIN nodes are up, the others have this long (torchrun's
   last_call_timeout), within --join-timeout */
#define LCH_ELASTIC_LAST_CALL 30.0

struct lch_member {
	char *host;		/* the host, or "localhost" (virtual) */
	int slots;		/* -1: not given */
	int id;			/* virtual: its number, for messages */
	int disc;		/* --host-discovery printed it */
	int unlisted;		/* ... and its last run no longer did */
};

struct lch_elastic {
	int min, max;
	int virt;		/* virtual nodes: no hosts */
	struct lch_member *m;	/* this generation's nodes, in node order */
	int n;
	struct lch_member *spare;	/* known hosts not in use */
	int nspare;
	char **lost;		/* the hosts (names) lost, never used again */
	int nlost;
	struct lch_hostlist prev;	/* o's hosts before the last apply:
					   the plan still in use borrows them */
	int generation;		/* of the plan lch_elastic_apply made */
	long restarts;		/* generations after a rank failure */
};

/*
 * Starts `sh -c cmd` (its own process group, stdin /dev/null, stderr
 * ours) with its stdout into a pipe, *out_fd (O_CLOEXEC); its pid, or -1
 * with err.
 */
pid_t lch_discovery_start(const char *cmd, int *out_fd, char *err,
			  size_t errlen);
/*
 * --host-discovery without hosts given: runs the command once (at most
 * 2 --discovery-interval and a second) for o's hosts; -1 after one line
 * naming it and what was wrong (it failed, printed junk or no host).
 */
int  lch_elastic_discover_first(struct lch_opts *o);
/* The first generation's members from o (lch_opts_finish'ed). */
void lch_elastic_init(struct lch_elastic *e, const struct lch_opts *o);
void lch_elastic_release(struct lch_elastic *e);
/*
 * Sets o's hosts, nodes and np to the members', for lch_plan_build; o's
 * hosts before are kept until the next call (a plan built on them stays
 * valid until then); -1 after a message when they cannot be.
 */
int  lch_elastic_apply(struct lch_elastic *e, struct lch_opts *o);
/* How member i is named in messages: its host, or "node K" (virtual). */
void lch_elastic_name(const struct lch_elastic *e, int i, char *buf,
		      size_t len);
/*
 * Drops the members i with gone[i] set (node i of the plan is member i),
 * their names into names ("a, b"); returns how many were dropped.
 */
int  lch_elastic_drop(struct lch_elastic *e, const unsigned char *gone,
		      char *names, size_t len);
/* Members --host-discovery no longer prints (unlisted). */
int  lch_elastic_unlisted(const struct lch_elastic *e);
/*
 * Drops the unlisted members (not lost: they may come back), their names
 * into names; returns how many.
 */
int  lch_elastic_drop_unlisted(struct lch_elastic *e, char *names,
			       size_t len);
/* Spares that would join now (fewer than MAX members), or 0. */
int  lch_elastic_can_grow(const struct lch_elastic *e);
/* Moves spares into the members up to MAX, names into names; a count. */
int  lch_elastic_fill(struct lch_elastic *e, char *names, size_t len);
/*
 * The output of --host-discovery: new hosts become spares.  Returns how
 * many, or -1 with one line in err (the line and what was expected).
 */
int  lch_elastic_discovered(struct lch_elastic *e, const char *text,
			    size_t len, char *err, size_t errlen);

/*
 * A host that joined (join.h) becomes a spare: 0, or -1 with why (it is
 * a member or a spare already, it was lost, the nodes are virtual).
 */
int  lch_elastic_join(struct lch_elastic *e, const char *host, int slots,
		      char *why, size_t len);
/* A spare that went away is lost (never used again): 1, or 0 (no spare). */
int  lch_elastic_lose_spare(struct lch_elastic *e, const char *host);

#endif /* LCH_ELASTIC_H */
