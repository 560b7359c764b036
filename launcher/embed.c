/* embed.c: see embed.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "embed.h"
#include "join.h"
#include "rdv_client.h"
#include "rdv_proto.h"
#include "server.h"
#include "util.h"

/*
 * Registers the job with a running musterd, with musterd's admin secret
 * from $MUSTER_ADMIN_SECRET_FILE (none: musterd must run --open).  The
 * client's keepalive thread keeps the job registered while we live.
 */
static int
create_external(struct lch_rdv *r, struct lch_plan *p)
{
	struct mst_rdv_opts ro;
	char admin[RDV_SECRET_MAX + 2];
	muster_result rv;

	memset(&ro, 0, sizeof(ro));
	ro.endpoint = r->endpoint;
	ro.job = p->job_id;
	ro.secret = p->secret;
	ro.timeout_ms = 5000;
	rv = mst_rdv_load_admin_secret(admin, sizeof(admin));
	if (rv != MUSTER_OK && rv != MUSTER_ENOENV) {
		lch_msg("MUSTER_ADMIN_SECRET_FILE: cannot read '%s' (want the "
		    "admin secret on its first line)",
		    getenv("MUSTER_ADMIN_SECRET_FILE"));
		return -1;
	}
	ro.admin_secret = rv == MUSTER_OK ? admin : NULL;
	if ((rv = mst_rdv_open(&r->client, &ro)) == MUSTER_OK)
		rv = mst_rdv_create(r->client);
	memset(admin, 0, sizeof(admin));
	if (rv != MUSTER_OK && r->client &&
	    strcmp(mst_rdv_code(r->client), "EEXIST") == 0) {
		lch_msg("job id '%s' is already in use on %s", p->job_id,
		    r->endpoint);
		mst_rdv_close(r->client);
		r->client = NULL;
		return -1;
	}
	if (rv != MUSTER_OK) {
		lch_msg("--rendezvous %s: %s", r->endpoint,
		    r->client ? mst_rdv_error(r->client) : muster_strerror(rv));
		if (r->client)
			mst_rdv_close(r->client);
		r->client = NULL;
		return -1;
	}
	/* the server key we reached it with: remote ranks do not inherit
	 * our environment, so it goes in every rank's */
	if (getenv("MUSTER_RDV_KEY") && *getenv("MUSTER_RDV_KEY"))
		lch_plan_setenv(p, "MUSTER_RDV_KEY", getenv("MUSTER_RDV_KEY"));
	return 0;
}

/*
 * Beyond loopback: every interface, CURVE on, agents told the key; the
 * endpoint advertised is the head's address (lch_plan_choose_head: the
 * route toward the other hosts, or --iface), never a name that might
 * resolve to 127.0.1.1 on the ranks' hosts.
 */
static int
start_embedded(struct lch_rdv *r, const struct lch_opts *o, struct lch_plan *p)
{
	struct rdv_server_opts so;
	struct rdv_limits lim;
	char *port;

	memset(&so, 0, sizeof(so));
	/* hosts may join an elastic job later (elastic.h): every interface */
	so.bind = p->all_local && !o->host_discovery && !lch_join_wanted(o) ?
	    "tcp://127.0.0.1:0" :
	    "tcp://0.0.0.0:0";
	so.verbose = o->verbose;
	so.create = RDV_CREATE_NONE;	/* only we register, in-process */
	rdv_limits_default(&lim);
	lim.job_expire_ms = 0;		/* our job lives as long as we do */
	so.limits = &lim;
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
	if ((port = strrchr(r->endpoint, ':')) != NULL)
		snprintf(r->port, sizeof(r->port), "%s", port + 1);
	if (!p->all_local && (port = strrchr(r->endpoint, ':')) != NULL) {
		char ep[sizeof(r->endpoint)];

		char me[LCH_HOST_MAX + 1] = "localhost";

		/* no head address (no other host's name resolves here): a
		 * job of agents stops before any rank starts; under --mpi,
		 * whose ssh may know the names, our own name is the guess */
		if (!p->have_head && gethostname(me, sizeof(me)) != 0)
			snprintf(me, sizeof(me), "localhost");
		me[sizeof(me) - 1] = '\0';
		snprintf(ep, sizeof(ep), "tcp://%s%s", p->have_head ?
		    p->head.addr : me, port);
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

int
lch_rdv_regen(struct lch_rdv *r, struct lch_plan *p)
{
	lch_plan_setenv(p, "MUSTER_JOB_SECRET", p->secret);
	if (r->client) {
		(void)mst_rdv_end(r->client);
		mst_rdv_close(r->client);
		r->client = NULL;
		if (create_external(r, p) != 0)
			return -1;
	} else if (r->server) {
		if (rdv_server_add_job(r->server, p->job_id, p->secret) != 0) {
			lch_msg("the embedded rendezvous refused job %s's next "
			    "generation", p->job_id);
			return -1;
		}
		if (*rdv_server_public_key(r->server))
			lch_plan_setenv(p, "MUSTER_RDV_KEY",
			    rdv_server_public_key(r->server));
		/* the generation's nodes reach it where the head is now */
		if (p->all_local)
			snprintf(r->endpoint, sizeof(r->endpoint),
			    "tcp://127.0.0.1:%s", r->port);
		else if (p->have_head)
			snprintf(r->endpoint, sizeof(r->endpoint),
			    "tcp://%s:%s", p->head.addr, r->port);
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
