/*
 * embed.h: the job's rendezvous.  Without --rendezvous the launcher runs
 * the rendezvous server in a thread of its own (loopback when every node is
 * this machine); with it, the job uses that musterd.  Either way every rank
 * gets MUSTER_RENDEZVOUS and MUSTER_JOB_SECRET (in its environment, never
 * on a command line).
 */
#ifndef LCH_EMBED_H
#define LCH_EMBED_H

#include "options.h"
#include "plan.h"

struct mst_rdv;

struct lch_rdv {
	struct rdv_server *server;	/* NULL: external or none */
	struct mst_rdv *client;		/* registered the job on musterd */
	/* tcp://, a host name (LCH_HOST_MAX) or --rendezvous, and :PORT */
	char endpoint[LCH_HOST_MAX + 32];
	char port[8];			/* the embedded one's */
};

int  lch_rdv_start(struct lch_rdv *r, const struct lch_opts *o,
		   struct lch_plan *p);
/*
 * A new generation of the job (elastic.h) on p, a plan rebuilt with the
 * job's id and secret: the rendezvous forgets the last generation's
 * members, keys, barriers and abort (the embedded one counts its
 * "generation" up; a musterd's job is ended and created again), and p's
 * ranks get MUSTER_JOB_SECRET, MUSTER_RENDEZVOUS and MUSTER_RDV_KEY as
 * lch_rdv_start gave the first plan; the embedded one's address is p's
 * head's (127.0.0.1 when p is all local).  With --host-discovery the
 * embedded rendezvous listens on every interface (CURVE on) from the
 * start, so that hosts that join later reach it.  -1 after a message.
 */
int  lch_rdv_regen(struct lch_rdv *r, struct lch_plan *p);
void lch_rdv_stop(struct lch_rdv *r);

#endif /* LCH_EMBED_H */
