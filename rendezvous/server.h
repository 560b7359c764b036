/*
 * server.h: the rendezvous server, run by musterd or embedded in the
 * launcher as a thread.  The protocol it speaks is described in
 * common/rdv_proto.h and man/musterd.8.
 */
#ifndef RDV_SERVER_H
#define RDV_SERVER_H

#include <stddef.h>
#include "rdv.h"

struct rdv_server;

struct rdv_server_opts {
	const char *bind;	/* "tcp://127.0.0.1:0" picks a free port */
	int heartbeat_ms;	/* a member silent this long is dead (default 5000) */
	int verbose;		/* log lines to stderr: 1 bad input and aborts, 2 more */
	/*
	 * CURVE: 0 = on when bind is not loopback, 1 = always, -1 = never.
	 * curve_secret is the server's Z85 secret key (40 chars); NULL makes
	 * a fresh keypair (rdv_server_public_key tells its public half).
	 */
	int curve;
	const char *curve_secret;
	/*
	 * Who may create jobs over the network: RDV_CREATE_NONE (the
	 * launcher's server: rdv_server_add_job only), RDV_CREATE_ADMIN
	 * (the holder of admin_secret) or RDV_CREATE_OPEN (anyone).
	 */
	enum rdv_create create;
	const char *admin_secret;
	const struct rdv_limits *limits;	/* NULL: rdv_limits_default */
	int max_conns;		/* open connections (0: the fd limit allows) */
	int handshake_ms;	/* a connection silent this long at its start
				 * is closed (default 3000) */
};

/*
 * Binds, starts the server thread; *endpoint_out gets the bound address.
 * Returns 0, or a muster_result with the reason in endpoint_out.
 */
int  rdv_server_start(struct rdv_server **out, const struct rdv_server_opts *o,
		      char *endpoint_out, size_t n);
/* Registers a job and its secret before members come (launcher use).
 * Registering a known job again with the same secret starts a new
 * generation (members, keys and an abort are forgotten). */
int  rdv_server_add_job(struct rdv_server *s, const char *job,
			const char *secret);
void rdv_server_stop(struct rdv_server *s);

/* musterd's way: bind, then run the loop in this thread until stop_fd
 * (a signalfd, say) is readable; then free. */
int  rdv_server_new(struct rdv_server **out, const struct rdv_server_opts *o,
		    char *endpoint_out, size_t n);
int  rdv_server_run(struct rdv_server *s, int stop_fd);
void rdv_server_free(struct rdv_server *s);
/* The Z85 CURVE public key clients need, or "" without CURVE. */
const char *rdv_server_public_key(const struct rdv_server *s);

#endif /* RDV_SERVER_H */
