/* embed.c: see embed.h. */
#include <stdio.h>
#include <string.h>

#include "embed.h"
#include "server.h"
#include "util.h"

int
lch_rdv_start(struct lch_rdv *r, const struct lch_opts *o, struct lch_plan *p)
{
	struct rdv_server_opts so;
	int rc;

	memset(r, 0, sizeof(*r));
	lch_plan_setenv(p, "MUSTER_JOB_SECRET", p->secret);
	if (o->rendezvous) {
		snprintf(r->endpoint, sizeof(r->endpoint), "%s", o->rendezvous);
		return 0;
	}
	memset(&so, 0, sizeof(so));
	/* beyond loopback the server encrypts (CURVE); multi-host later */
	so.bind = p->all_local ? "tcp://127.0.0.1:0" : "tcp://0.0.0.0:0";
	so.verbose = o->verbose;
	if ((rc = rdv_server_start(&r->server, &so, r->endpoint,
	    sizeof(r->endpoint))) != 0) {
		lch_msg("cannot start the embedded rendezvous: %s", r->endpoint);
		r->server = NULL;
		return -1;
	}
	if (rdv_server_add_job(r->server, p->job_id, p->secret) != 0) {
		lch_msg("cannot register job %s with the embedded rendezvous",
		    p->job_id);
		lch_rdv_stop(r);
		return -1;
	}
	lch_plan_setenv(p, "MUSTER_RENDEZVOUS", r->endpoint);
	return 0;
}

void
lch_rdv_stop(struct lch_rdv *r)
{
	if (r->server)
		rdv_server_stop(r->server);
	r->server = NULL;
}
