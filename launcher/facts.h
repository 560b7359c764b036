/*
 * facts.h: what a host says about itself before its workers start, and
 * `muster --probe`, the one-host check behind `muster --check`.
 *
 * The agent of every node gathers its host's facts (the address and
 * interface other hosts reach it by, free TCP ports for its tasks, the
 * muster version, CPU count, its clock) and sends them to the head as an
 * "h" record (records.h) before the head writes it the node's plan; the
 * head then builds every rank's environment from the facts of the host
 * where it runs (MASTER_ADDR, MASTER_PORT, TF_CONFIG, *_SOCKET_IFNAME).
 */
#ifndef LCH_FACTS_H
#define LCH_FACTS_H

#include "netaddr.h"

#define LCH_FACTS_PORTS_MAX 4096	/* ports one host is asked for */

struct lch_facts_req {
	const char *toward;	/* the head's address: route toward it; NULL:
				   all local (127.0.0.1) */
	const char *iface;	/* --iface NAME|CIDR, or NULL */
	int nports;		/* free ports wanted, 0 to LCH_FACTS_PORTS_MAX */
	const char *program;	/* --probe: check it is found and executable
				   (as execvp would, in cwd), or NULL */
	const char *cwd;	/* where the workers would run, or NULL */
};

struct lch_facts {
	struct mst_netaddr net;	/* address, interface */
	int nports;
	int *ports;		/* nports free ports, bound until released */
	int *port_fds;		/* their sockets (bound, not listening) */
	char version[32];	/* MUSTER_VERSION_STRING */
	char host[256];		/* gethostname() */
	int cpus;		/* online CPUs */
	long long time_ms;	/* wall clock (CLOCK_REALTIME) when gathered */
	int prog_ok;		/* program: 0 runs, 127 not found, 126 not runnable */
	char prog_msg[512];	/* why not, or where it was found */
};

/*
 * Gathers the facts; -1 after filling err (a one-line reason: the
 * interface named by iface is not there, no free port...).
 */
int   lch_facts_gather(const struct lch_facts_req *rq, struct lch_facts *f,
		       char *err, size_t errlen);
/*
 * Closes the port sockets (right before the workers start: they bind
 * them); the numbers stay in ports.  Twice, or after decode: harmless.
 */
void  lch_facts_free_ports(struct lch_facts *f);
/*
 * prog (a bare name) as execvp finds it: each PATH entry in turn (PATH
 * unset: /bin:/usr/bin; an empty or relative entry taken from cwd), the
 * first regular, executable file, malloc'ed; NULL when none.  bad, when
 * not NULL, gets the first file found but not runnable (bad_err: why),
 * or NULL.
 */
char *lch_path_search(const char *prog, const char *cwd, char **bad,
		      int *bad_err);
void  lch_facts_release(struct lch_facts *f);
/* The facts as one JSON object, no newline; malloc'ed. */
char *lch_facts_encode(const struct lch_facts *f);
/*
 * Decodes lch_facts_encode's output: 0, or -1 (bad JSON or fields).
 * Strict: one object and nothing after it; addr a dotted quad, ifname,
 * version, host strings that fit; ports whole numbers 1-65535; cpus,
 * time_ms whole numbers; prog 0, 126 or 127 and prog_msg optional; a
 * wrong type, a missing field, a value out of range: -1.  Keys it does
 * not know are skipped (a newer muster's).  port_fds is NULL: those
 * sockets are the sender's.  Release with lch_facts_release.
 */
int   lch_facts_decode(const char *json, size_t n, struct lch_facts *f);

#endif /* LCH_FACTS_H */
