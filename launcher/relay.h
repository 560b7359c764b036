/*
 * relay.h: fan-out, the agents of many hosts started by other agents.
 *
 * With --fanout K the head starts the agents of its local nodes and at
 * most K remote ones itself, the roots of a tree: the remote nodes, in
 * plan order, are positions 0, 1, 2... of a heap where position p has
 * the children K*(p+1) .. K*(p+1)+K-1 (and the head, as p = -1, the
 * children 0 .. K-1).  A node with children gets them, with their own
 * children, in the "tree" of its HELLO (records.h); its `muster --agent`
 * then becomes a relay instead of an agent:
 *
 *  - it starts its own node's agent here (this binary, --agent) and, at
 *    the same time, one ssh connection per child (remote.h), and writes
 *    each the HELLO it needs: its own agent ours without "tree", each
 *    child its node, host, ports and subtree, our ssh, remote_muster,
 *    toward and iface, and this binary's path as "self";
 *  - what the parent writes it routes: a PLAN line to the connection
 *    whose subtree holds the plan's "node" (its own agent for its own
 *    node), a command (term, kill, sig N) to every connection;
 *  - every connection's stdout lines go up verbatim, whole lines only
 *    (never two connections' bytes on one line), and its stderr lines to
 *    the relay's stderr; what a connection says on stderr before its
 *    node's facts ("h" record) is held back: it is ssh's own and goes
 *    into the "n" record when the connection fails;
 *  - a connection that ends badly, before its node's facts or with ranks
 *    of the plans it was given not ended (no "x" or "f" record, no "n"
 *    record from below covering their node), gets an
 *    "n[J] KIND CODE TEXT" record (records.h) for its node J; the
 *    relay's own agent likewise, for the relay's node;
 *  - EOF on its stdin (the parent is gone), a SIGTERM or a SIGHUP: it
 *    closes every connection's stdin, so its agent stops its workers as
 *    an agent does at EOF and each child does the same in turn, down the
 *    whole subtree; what is still there after the grace period (of the
 *    plans, else 3 s) and a second is killed.
 *
 * The relay runs under a warden as an agent does (agent.h): whatever it
 * started and left behind (its agent, an ssh client) is killed when it
 * ends, however it ends.  It exits with the first non-zero exit code of
 * its connections (its own agent's first), else 0.
 */
#ifndef LCH_RELAY_H
#define LCH_RELAY_H

#include <stddef.h>

/* A remote node, at its tree position. */
struct lch_tree_ent {
	int node;		/* the node's index in the plan */
	const char *host;
	int ports;		/* free ports it is asked for (HELLO "ports") */
};

/* The parent of position p in a tree of fan-out k; -1: the head. */
int   lch_tree_parent(int p, int k);
/* The first child of p (p = -1: the head's first); children are
 * consecutive, k at most, and exist when below the number of nodes. */
long  lch_tree_first(int p, int k);
/* The positions in p's subtree, p among them, n positions in all. */
int   lch_tree_size(int p, int k, int n);
/*
 * The fan-out to use for n remote nodes when k is asked: k, or more when
 * the tree would be deeper than LCH_TREE_DEPTH_MAX levels (a HELLO
 * nests two JSON levels per tree level, and JSON parsers stop at 1000).
 */
#define LCH_TREE_DEPTH_MAX 200
int   lch_tree_fanout(int n, int k);
/*
 * The HELLO "tree" of position p (-1: every root) among the n remote
 * nodes e[0..n): a JSON array of {"node","host","ports","tree"}, each
 * with its own children; malloc'ed, NULL when p has no child.
 */
char *lch_tree_encode(const struct lch_tree_ent *e, int n, int k, int p);
/* The same as a cJSON array (void *: cJSON_Delete it), NULL when none. */
void *lch_tree_json(const struct lch_tree_ent *e, int n, int k, int p);

/* Whether a HELLO line holds a "tree": its agent is to be a relay. */
int   lch_relay_wanted(const char *hello);
/*
 * `muster --agent` with a tree: runs the relay.  hello is the first
 * line, rest what was read after it.  Returns the exit code.
 */
int   lch_relay_main(const char *hello, const char *rest, size_t rest_len);

#endif /* LCH_RELAY_H */
