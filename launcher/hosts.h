/*
 * hosts.h: host lists from -H, --hostfile and Slurm hostlist expressions.
 *
 * -H accepts "a:4,b:4", "a,a,b" (a repeat adds a slot, as Open MPI) and
 * hostlist ranges "node[01-04,07]:2".  A hostfile has one host per line:
 * "host", "host slots=N [max_slots=M]" (Open MPI, DeepSpeed, Horovod) or
 * "host:N"; '#' starts a comment.  A host named twice gets the sum of its
 * slots (found through a hash index: parsing is linear in the hosts, and
 * the hosts keep the order they were first named in).  A list holds at
 * most LCH_HOSTS_MAX hosts, a host at most LCH_SLOTS_MAX slots.  IPv6
 * address literals ("fd00::1", "[fd00::1]:4") are refused: muster's
 * rendezvous and libmuster's TCP ring speak IPv4 only.  Errors are one
 * line naming the input, in err.
 */
#ifndef LCH_HOSTS_H
#define LCH_HOSTS_H

#include <stddef.h>

#define LCH_HOST_MAX 255	/* longest host name */
#define LCH_HOSTS_MAX (1 << 20)	/* most hosts in one list */
#define LCH_SLOTS_MAX (1 << 20)	/* most slots of one host */

struct lch_host {
	char *name;
	int slots;	/* -1: not given (1 for -H, fill for hostfiles) */
};

struct lch_hostlist {
	struct lch_host *h;
	size_t n, cap;
	size_t *index;		/* open addressing: position in h + 1, 0 free */
	size_t index_cap;	/* a power of two, over twice n */
};

int  lch_hosts_parse_arg(struct lch_hostlist *l, const char *spec,
			 char *err, size_t errlen);
int  lch_hosts_parse_file(struct lch_hostlist *l, const char *path,
			  char *err, size_t errlen);
/* Expands a Slurm hostlist ("tux[1-3,7],gpu[00-01]x") into names. */
int  lch_hostlist_expand(const char *expr, char ***names, size_t *n,
			 char *err, size_t errlen);
/* Sum of slots. */
long lch_hosts_slots(const struct lch_hostlist *l);
void lch_hosts_clear(struct lch_hostlist *l);
/*
 * Whether name is this machine: a loopback name, our host name (or its
 * first label), or an address of one of our interfaces.  No DNS lookups.
 */
int  lch_host_is_local(const char *name);
/* localhost, 127.x.y.z or ::1: a name other hosts cannot use for us. */
int  lch_host_is_loopback(const char *name);
/* A valid host name or IPv4 address (letters, digits, '-', '.', '_')? */
int  lch_host_valid(const char *name);
/*
 * Whether a host as given looks like an IPv6 literal: two ':' or more
 * ("fd00::1", "fd00::1:4", "[fd00::1]:4"); one ':' is "host:slots".
 */
int  lch_host_is_ipv6(const char *name);
/* The message for one: "IPv6 addresses are not supported yet (...)". */
#define LCH_IPV6_REFUSED "IPv6 addresses are not supported yet (use a " \
	"host name that resolves to IPv4)"

#endif /* LCH_HOSTS_H */
