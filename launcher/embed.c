/* embed.c: see embed.h. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "embed.h"
#include "rdv_client.h"
#include "server.h"
#include "util.h"

/* Registers the job with a running musterd (the first creator owns it). */
static int
create_external(struct lch_rdv *r, const struct lch_plan *p)
{
	struct mst_rdv_opts ro;
	muster_result rv;

	memset(&ro, 0, sizeof(ro));
	ro.endpoint = r->endpoint;
	ro.job = p->job_id;
	ro.secret = p->secret;
	ro.timeout_ms = 5000;
	ro.no_keepalive = 1;
	if ((rv = mst_rdv_open(&r->client, &ro)) == MUSTER_OK)
		rv = mst_rdv_create(r->client);
	if (rv != MUSTER_OK) {
		lch_msg("--rendezvous %s: %s", r->endpoint,
		    r->client ? mst_rdv_error(r->client) : muster_strerror(rv));
		if (r->client)
			mst_rdv_close(r->client);
		r->client = NULL;
		return -1;
	}
	return 0;
}

/* Beyond loopback: every interface, CURVE on, agents told the key. */
static int
start_embedded(struct lch_rdv *r, const struct lch_opts *o, struct lch_plan *p)
{
	struct rdv_server_opts so;
	char *port;

	memset(&so, 0, sizeof(so));
	so.bind = p->all_local ? "tcp://127.0.0.1:0" : "tcp://0.0.0.0:0";
	so.verbose = o->verbose;
	if (rdv_server_start(&r->server, &so, r->endpoint,
	    sizeof(r->endpoint)) != 0) {
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
	if (!p->all_local && (port = strrchr(r->endpoint, ':')) != NULL) {
		char ep[sizeof(r->endpoint)];

		snprintf(ep, sizeof(ep), "tcp://%s%s", p->here, port);
		snprintf(r->endpoint, sizeof(r->endpoint), "%s", ep);
	}
	if (*rdv_server_public_key(r->server))
		lch_plan_setenv(p, "MUSTER_RDV_KEY",
		    rdv_server_public_key(r->server));
	return 0;
}

int
lch_rdv_start(struct lch_rdv *r, const struct lch_opts *o, struct lch_plan *p)
{
	memset(r, 0, sizeof(*r));
	lch_plan_setenv(p, "MUSTER_JOB_SECRET", p->secret);
	if (o->rendezvous) {
		snprintf(r->endpoint, sizeof(r->endpoint), "%s", o->rendezvous);
		if (create_external(r, p) != 0)
			return -1;
	} else if (start_embedded(r, o, p) != 0) {
		return -1;
	}
	lch_plan_setenv(p, "MUSTER_RENDEZVOUS", r->endpoint);
	return 0;
}

void
lch_rdv_stop(struct lch_rdv *r)
{
	if (r->client) {
		(void)mst_rdv_end(r->client);	/* musterd forgets the job */
		mst_rdv_close(r->client);
	}
	if (r->server)
		rdv_server_stop(r->server);
	r->server = NULL;
	r->client = NULL;
}
