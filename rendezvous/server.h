/*
 * server.h: the rendezvous server, run by musterd or embedded in the
 * launcher as a thread.
 */
#ifndef RDV_SERVER_H
#define RDV_SERVER_H

#include <stddef.h>

struct rdv_server;

struct rdv_server_opts {
	const char *bind;	/* "tcp://127.0.0.1:0" picks a free port */
	int heartbeat_ms;	/* a member silent this long is dead (default 5000) */
	int verbose;		/* log lines to stderr */
};

/* Binds, starts the server thread; *endpoint_out gets the bound address. */
int  rdv_server_start(struct rdv_server **out, const struct rdv_server_opts *o,
		      char *endpoint_out, size_t n);
/* Registers a job and its secret before members come (launcher use). */
int  rdv_server_add_job(struct rdv_server *s, const char *job,
			const char *secret);
void rdv_server_stop(struct rdv_server *s);

#endif /* RDV_SERVER_H */
