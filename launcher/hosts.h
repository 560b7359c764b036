/*
 * hosts.h: host lists from -H, --hostfile and Slurm hostlist expressions.
 *
 * -H accepts "a:4,b:4", "a,a,b" (a repeat adds a slot, as Open MPI) and
 * hostlist ranges "node[01-04,07]:2".  A hostfile has one host per line:
 * "host", "host slots=N [max_slots=M]" (Open MPI, DeepSpeed, Horovod) or
 * "host:N"; '#' starts a comment.  A host named twice gets the sum of its
 * slots.  Errors are one line naming the input, in err.
 */
#ifndef LCH_HOSTS_H
#define LCH_HOSTS_H

#include <stddef.h>

#define LCH_HOST_MAX 255	/* longest host name */

struct lch_host {
	char *name;
	int slots;	/* -1: not given (1 for -H, fill for hostfiles) */
};

struct lch_hostlist {
	struct lch_host *h;
	size_t n, cap;
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
/* A valid host name (letters, digits, '-', '.', '_', ':' for IPv6)? */
int  lch_host_valid(const char *name);

#endif /* LCH_HOSTS_H */
