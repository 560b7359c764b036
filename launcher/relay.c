/* relay.c: see relay.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "agent.h"
#include "clock.h"
#include "outq.h"
#include "records.h"
#include "relay.h"
#include "remote.h"
#include "spawn.h"
#include "strbuf.h"
#include "util.h"
#include "warden.h"

#define EARLY_MAX 2048		/* a connection's stderr before its facts */
/* Our output queued past this: stop reading the connections (they wait). */
#define OUT_HIGH (2 * LCH_REC_MAX)
#define GRACE_MS 3000		/* until a plan says */
#define SLACK_MS 1000		/* past the grace period: kill */
#define NODE_MAX (1 << 20)	/* node indices in a HELLO (LCH_NP_MAX) */

/* --- the layout --- */

int
lch_tree_parent(int p, int k)
{
	return p < k ? -1 : p / k - 1;
}

long
lch_tree_first(int p, int k)
{
	return (long)k * ((long)p + 1);
}

int
lch_tree_size(int p, int k, int n)
{
	long lo = p, hi = p, size = 0;

	while (lo < n) {	/* level by level: [lo, hi] */
		if (hi > n - 1)
			hi = n - 1;
		size += hi - lo + 1;
		lo = lch_tree_first((int)lo, k);
		hi = lch_tree_first((int)hi, k) + k - 1;
	}
	return (int)size;
}

static int
tree_depth(int n, int k)
{
	int p, d = 0;

	for (p = n - 1; p >= 0; p = lch_tree_parent(p, k))
		d++;
	return d;
}

int
lch_tree_fanout(int n, int k)
{
	while (tree_depth(n, k) > LCH_TREE_DEPTH_MAX)
		k++;
	return k;
}

static cJSON *
tree_json(const struct lch_tree_ent *e, int n, int k, int p)
{
	cJSON *arr = NULL, *o, *sub;
	long c, first = lch_tree_first(p, k);

	for (c = first; c < first + k && c < n; c++) {
		if (arr == NULL && (arr = cJSON_CreateArray()) == NULL)
			lch_oom();
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "node", e[c].node);
		cJSON_AddStringToObject(o, "host", e[c].host);
		cJSON_AddNumberToObject(o, "ports", e[c].ports);
		if ((sub = tree_json(e, n, k, (int)c)) != NULL)
			cJSON_AddItemToObject(o, "tree", sub);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

void *
lch_tree_json(const struct lch_tree_ent *e, int n, int k, int p)
{
	return tree_json(e, n, k, p);
}

char *
lch_tree_encode(const struct lch_tree_ent *e, int n, int k, int p)
{
	cJSON *t = tree_json(e, n, k, p);
	char *s;

	if (t == NULL)
		return NULL;
	if ((s = cJSON_PrintUnformatted(t)) == NULL)
		lch_oom();
	cJSON_Delete(t);
	return s;
}

int
lch_relay_wanted(const char *hello)
{
	cJSON *j = cJSON_Parse(hello);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "tree");
	int yes = cJSON_IsArray(t) && cJSON_GetArraySize(t) > 0;

	cJSON_Delete(j);
	return yes;
}

/* --- the relay --- */

struct tnode {			/* a node of our subtree; ours is t[0] */
	int node;
	int parent;		/* its parent's slot; -1 for ours */
	int conn;		/* the connection that reaches it */
	int nranks;		/* in its plan; -1: no plan routed yet */
	int first, last;	/* its plan's lowest and highest rank */
	int nended;		/* "x" and "f" records of its ranks */
	int gone;		/* an "n" record covered it */
};

struct conn {
	int slot;		/* the node it reaches */
	const char *host;
	int remote;		/* ssh, not our own agent */
	pid_t pid;
	int in_fd, out_fd, err_fd;	/* -1 once closed */
	struct lch_outq in;
	struct lch_strbuf rd[2];	/* a partial line of out_fd, err_fd */
	int reaped, code, done;
	int facts;		/* its node's "h" record went up */
	char early[EARLY_MAX];
	size_t early_len;
};

struct relay {
	cJSON *hello;
	struct tnode *t;
	int nt, at;
	int *byrank, nbyrank;	/* slots with a plan, by their first rank */
	struct conn *c;
	int nc;
	struct lch_outq out[2];		/* our stdout (to the parent), stderr */
	struct lch_strbuf in;		/* a partial line from the parent */
	int in_open;
	int sigfd[2];
	int grace_ms;
	int stopping;		/* the parent is gone, or we were told to */
	long long kill_at, kill2_at;
	int code;
};

static int
add_slot(struct relay *R, int node, int parent, int conn)
{
	if (R->nt == R->at) {
		R->at = R->at ? 2 * R->at : 16;
		R->t = lch_xrealloc(R->t, (size_t)R->at * sizeof(*R->t));
	}
	R->t[R->nt] = (struct tnode){ node, parent, conn, -1, 0, 0, 0, 0 };
	return R->nt++;
}

static int
slot_of(const struct relay *R, int node)
{
	int s;

	for (s = 0; s < R->nt; s++)
		if (R->t[s].node == node)
			return s;
	return -1;
}

/* Whether slot s is slot top or below it. */
static int
under(const struct relay *R, int s, int top)
{
	for (; s >= 0; s = R->t[s].parent)
		if (s == top)
			return 1;
	return 0;
}

static int
json_node(const cJSON *o, int *node)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "node");

	if (!cJSON_IsNumber(n) || n->valuedouble < 0 ||
	    n->valuedouble >= NODE_MAX || n->valuedouble != (int)n->valuedouble)
		return -1;
	*node = (int)n->valuedouble;
	return 0;
}

/* Adds the subtree t (a HELLO "tree") below slot parent, all via conn. */
static int
add_tree(struct relay *R, const cJSON *t, int parent, int conn)
{
	const cJSON *e, *h;
	int node, s;

	if (!cJSON_IsArray(t))
		return -1;
	cJSON_ArrayForEach(e, t) {
		h = cJSON_GetObjectItemCaseSensitive(e, "host");
		if (!cJSON_IsObject(e) || json_node(e, &node) != 0 ||
		    !cJSON_IsString(h) || slot_of(R, node) >= 0)
			return -1;
		s = add_slot(R, node, parent, conn < 0 ? R->nc++ : conn);
		if (cJSON_HasObjectItem(e, "tree") &&
		    add_tree(R, cJSON_GetObjectItemCaseSensitive(e, "tree"), s,
		    R->t[s].conn) != 0)
			return -1;
	}
	return 0;
}

/* Our node, then our children's subtrees, each child a connection. */
static int
parse_hello(struct relay *R, const char *line)
{
	int node;

	R->hello = cJSON_Parse(line);
	if (!cJSON_IsObject(R->hello) || json_node(R->hello, &node) != 0)
		return -1;
	add_slot(R, node, -1, 0);
	R->nc = 1;
	return add_tree(R, cJSON_GetObjectItemCaseSensitive(R->hello, "tree"),
	    0, -1);
}

static const char *
hello_str(const struct relay *R, const char *name)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(R->hello, name);

	return cJSON_IsString(s) ? s->valuestring : NULL;
}

static void
early_add(struct conn *c, const char *s, size_t n)
{
	if (n > sizeof(c->early) - c->early_len)
		n = sizeof(c->early) - c->early_len;
	memcpy(c->early + c->early_len, s, n);
	c->early_len += n;
}

static void
set(cJSON *o, const char *name, cJSON *v)
{
	if (v == NULL)
		lch_oom();
	if (cJSON_HasObjectItem(o, name))
		cJSON_ReplaceItemInObjectCaseSensitive(o, name, v);
	else
		cJSON_AddItemToObject(o, name, v);
}

/*
 * The HELLO of connection c: ours without "tree" for our own agent; for
 * a child its node, host, ports and subtree, and this binary as "self".
 */
static char *
conn_hello(const struct relay *R, const struct conn *c, const cJSON *ent)
{
	cJSON *h = cJSON_Duplicate(R->hello, 1), *v;
	char *s;

	if (h == NULL)
		lch_oom();
	cJSON_DeleteItemFromObjectCaseSensitive(h, "tree");
	if (ent) {
		set(h, "node", cJSON_CreateNumber(R->t[c->slot].node));
		set(h, "host", cJSON_CreateString(c->host));
		cJSON_DeleteItemFromObjectCaseSensitive(h, "ports");
		v = cJSON_GetObjectItemCaseSensitive(ent, "ports");
		set(h, "ports", v ? cJSON_Duplicate(v, 1) :
		    cJSON_CreateNumber(0));
		set(h, "self", cJSON_CreateString(lch_self_exe()));
		if ((v = cJSON_GetObjectItemCaseSensitive(ent, "tree")))
			set(h, "tree", cJSON_Duplicate(v, 1));
	}
	if ((s = cJSON_PrintUnformatted(h)) == NULL)
		lch_oom();
	cJSON_Delete(h);
	return s;
}

/* Starts argv with its three pipes; the HELLO queued for its stdin. */
static void
conn_spawn(struct conn *c, char **argv, const char *hello)
{
	struct lch_spawn s;
	int p[3][2], e;
	char msg[256];

	if (lch_pipes(p, 3) != 0) {
		snprintf(msg, sizeof(msg), "muster: pipe: %s\n", strerror(errno));
		early_add(c, msg, strlen(msg));
		c->reaped = 1;
		c->code = 70;
		return;
	}
	memset(&s, 0, sizeof(s));
	s.argv = argv;
	s.in_fd = p[0][0];
	s.out_fd = p[1][1];
	s.err_fd = p[2][1];
	s.new_pgroup = 1;
	s.deathsig = SIGTERM;
	c->pid = lch_spawn_start(&s, &e);
	close(p[0][0]);
	close(p[1][1]);
	close(p[2][1]);
	c->in_fd = p[0][1];
	c->out_fd = p[1][0];
	c->err_fd = p[2][0];
	/* a child that does not read (stopped) must not stop us */
	(void)fcntl(c->in_fd, F_SETFL, O_NONBLOCK);
	lch_outq_init_plain(&c->in, c->in_fd);
	if (c->pid < 0) {
		snprintf(msg, sizeof(msg), "muster: cannot run %s: %s\n",
		    argv[0], strerror(e));
		early_add(c, msg, strlen(msg));
		c->reaped = 1;
		c->code = 127;
		return;
	}
	lch_outq_add(&c->in, hello, strlen(hello));
	lch_outq_add(&c->in, "\n", 1);
}

static void
start_conn(struct relay *R, struct conn *c, const cJSON *ent)
{
	static const char *const args[] = { "--agent", NULL };
	struct lch_strv argv = LCH_STRV_INIT;
	struct lch_remote r;
	char *hello;

	lch_strbuf_init(&c->rd[0], 0);
	lch_strbuf_init(&c->rd[1], 0);
	lch_outq_init_plain(&c->in, -1);
	c->in_fd = c->out_fd = c->err_fd = -1;
	if (ent == NULL) {
		lch_strv_push(&argv, lch_self_exe());
		lch_strv_push(&argv, "--agent");
	} else {
		r.ssh = hello_str(R, "ssh");
		r.remote_muster = hello_str(R, "remote_muster");
		r.self = lch_self_exe();
		if (lch_remote_argv(&r, c->host, args, &argv) != 0) {
			/* (it said why on our stderr) */
			early_add(c, "muster: no ssh command for this host",
			    strlen("muster: no ssh command for this host"));
			c->reaped = 1;
			c->code = 2;
			lch_strv_clear(&argv);
			return;
		}
	}
	hello = conn_hello(R, c, ent);
	conn_spawn(c, argv.v, hello);
	free(hello);
	lch_strv_clear(&argv);
}

/* Every child and our own agent, all at once. */
static void
start_all(struct relay *R)
{
	const cJSON *e;
	int i = 1;

	R->c = lch_xcalloc((size_t)R->nc, sizeof(*R->c));
	R->c[0].slot = 0;
	R->c[0].host = hello_str(R, "host") ? hello_str(R, "host") : "localhost";
	/* the children first: their ssh handshakes take longest */
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(R->hello,
	    "tree")) {
		struct conn *c = &R->c[i];

		c->slot = slot_of(R, (int)cJSON_GetObjectItemCaseSensitive(e,
		    "node")->valuedouble);
		c->host = cJSON_GetObjectItemCaseSensitive(e, "host")->valuestring;
		c->remote = 1;
		start_conn(R, c, e);
		i++;
	}
	start_conn(R, &R->c[0], NULL);
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void
close_in(struct conn *c)
{
	lch_outq_release(&c->in);
	lch_outq_init_plain(&c->in, -1);
	close_fd(&c->in_fd);
}

/*
 * The parent is gone (or we are to stop): EOF to every connection, so
 * that the whole subtree stops; killed after the grace period.
 */
static void
stop_tree(struct relay *R)
{
	int i;

	if (R->stopping)
		return;
	R->stopping = 1;
	for (i = 0; i < R->nc; i++)
		close_in(&R->c[i]);
	R->kill_at = (long long)mst_now_ms() + R->grace_ms + SLACK_MS;
}

/* Connections still there in time: first killed, then their pipes closed. */
static void
kill_conns(struct relay *R, int last)
{
	int i;

	for (i = 0; i < R->nc; i++) {
		struct conn *c = &R->c[i];

		if (c->done)
			continue;
		if (!c->reaped && c->pid > 0) {
			if (last || c->remote)
				killpg(c->pid, SIGKILL);
			else	/* its warden kills what the ranks left */
				kill(c->pid, LCH_AGENT_KILL_SIG);
		}
		if (last) {
			close_fd(&c->out_fd);
			close_fd(&c->err_fd);
		}
	}
}

static void
queue_line(struct conn *c, const char *line, size_t n)
{
	if (c->in_fd < 0)
		return;
	lch_outq_add(&c->in, line, n);
	lch_outq_add(&c->in, "\n", 1);
}

/* Slot s, planned, into byrank (plans come once per node: O(n) each). */
static void
add_byrank(struct relay *R, int s)
{
	int i;

	if (R->byrank == NULL)
		R->byrank = lch_xcalloc((size_t)R->nt, sizeof(*R->byrank));
	for (i = R->nbyrank; i > 0 &&
	    R->t[R->byrank[i - 1]].first > R->t[s].first; i--)
		R->byrank[i] = R->byrank[i - 1];
	R->byrank[i] = s;
	R->nbyrank++;
}

/* The planned slot whose ranks hold rank, or -1. */
static int
slot_of_rank(const struct relay *R, int rank)
{
	int lo = 0, hi = R->nbyrank, mid;

	while (lo < hi) {	/* the first with first > rank */
		mid = lo + (hi - lo) / 2;
		if (R->t[R->byrank[mid]].first <= rank)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || R->t[R->byrank[lo - 1]].last < rank)
		return -1;
	return R->byrank[lo - 1];
}

/* What the plan of slot s says: its ranks, its grace period. */
static void
note_plan(struct relay *R, int s, const cJSON *plan)
{
	const cJSON *ranks = cJSON_GetObjectItemCaseSensitive(plan, "ranks");
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(plan, "grace_ms");
	const cJSON *rk, *r;
	struct tnode *t = &R->t[s];

	if (t->nranks >= 0)	/* a second plan for the node: as the first */
		return;
	t->nranks = 0;
	t->first = INT_MAX;
	t->last = -1;
	cJSON_ArrayForEach(rk, ranks) {
		r = cJSON_GetObjectItemCaseSensitive(rk, "rank");
		if (!cJSON_IsNumber(r))
			continue;
		t->nranks++;
		if (r->valuedouble < t->first)
			t->first = (int)r->valuedouble;
		if (r->valuedouble > t->last)
			t->last = (int)r->valuedouble;
	}
	if (cJSON_IsNumber(g) && g->valuedouble > R->grace_ms &&
	    g->valuedouble < INT_MAX - SLACK_MS)
		R->grace_ms = (int)g->valuedouble;
	if (t->nranks > 0)
		add_byrank(R, s);
}

/* A PLAN line: to the connection whose subtree holds its node. */
static void
route_plan(struct relay *R, const char *line, size_t n)
{
	cJSON *j = cJSON_ParseWithLength(line, n);
	int node, s;

	if (j == NULL || json_node(j, &node) != 0 ||
	    (s = slot_of(R, node)) < 0) {
		lch_msg("relay on %s: dropping a plan for no node of its "
		    "subtree", R->c[0].host);
		cJSON_Delete(j);
		return;
	}
	note_plan(R, s, j);
	cJSON_Delete(j);
	queue_line(&R->c[R->t[s].conn], line, n);
}

static void
parent_line(struct relay *R, const char *line, size_t n)
{
	int i;

	if (n > 0 && line[0] == '{') {
		route_plan(R, line, n);
		return;
	}
	for (i = 0; i < R->nc; i++)	/* a command: term, kill, sig N */
		queue_line(&R->c[i], line, n);
}

static void
parent_lines(struct relay *R)
{
	size_t start = 0;
	char *nl;

	while ((nl = memchr(R->in.buf + start, '\n', R->in.len - start))) {
		parent_line(R, R->in.buf + start,
		    (size_t)(nl - (R->in.buf + start)));
		start = (size_t)(nl - R->in.buf) + 1;
	}
	lch_strbuf_consume(&R->in, start);
	if (R->in.len >= LCH_REC_PLAN_MAX - 1) {
		lch_msg("relay on %s: dropping a line of more than %ld bytes "
		    "from the head", R->c[0].host, LCH_REC_PLAN_MAX);
		lch_strbuf_reset(&R->in);
	}
}

static void
read_parent(struct relay *R)
{
	ssize_t n = lch_strbuf_read_once(&R->in, 0, LCH_REC_PLAN_MAX);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		R->in_open = 0;
		stop_tree(R);
		return;
	}
	parent_lines(R);
}

static void
flush_early(struct relay *R, struct conn *c)
{
	lch_outq_add(&R->out[1], c->early, c->early_len);
	c->early_len = 0;
}

/* A line going up: what it says of the nodes of our subtree. */
static void
inspect(struct relay *R, struct conn *c, const char *line, size_t n)
{
	struct lch_rec r;
	int s, k;

	if (lch_rec_decode_node(line, n, NODE_MAX, &r) == 0) {
		if ((s = slot_of(R, r.rank)) < 0)
			return;
		if (r.type == LCH_REC_LOST) {
			for (k = 0; k < R->nt; k++)
				if (under(R, k, s))
					R->t[k].gone = 1;
		} else if (r.type == LCH_REC_FACTS && s == c->slot &&
		    !c->facts) {	/* g, b, G (gather.h) just go on */
			c->facts = 1;
			flush_early(R, c);
		}
		return;
	}
	if (lch_rec_decode(line, n, INT_MAX, &r) != 0 ||
	    (r.type != LCH_REC_EXIT && r.type != LCH_REC_NOEXEC))
		return;
	if ((s = slot_of_rank(R, r.rank)) >= 0 && R->t[s].conn == c - R->c)
		R->t[s].nended++;
}

static void
conn_line(struct relay *R, struct conn *c, int s, const char *line, size_t n)
{
	if (s == 0) {
		inspect(R, c, line, n);
		lch_outq_add(&R->out[0], line, n);
		lch_outq_add(&R->out[0], "\n", 1);
	} else if (!c->facts) {
		early_add(c, line, n);
		early_add(c, "\n", 1);
	} else {
		lch_outq_add(&R->out[1], line, n);
		lch_outq_add(&R->out[1], "\n", 1);
	}
}

/* Reads a connection's stdout (records) or stderr: whole lines go on. */
static void
read_conn(struct relay *R, struct conn *c, int s)
{
	int *fd = s == 0 ? &c->out_fd : &c->err_fd;
	struct lch_strbuf *sb = &c->rd[s];
	size_t start = 0, len;
	ssize_t n;
	char *nl;

	n = lch_strbuf_read_once(sb, *fd, LCH_REC_MAX);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	while ((nl = memchr(sb->buf + start, '\n', sb->len - start))) {
		len = (size_t)(nl - (sb->buf + start));
		conn_line(R, c, s, sb->buf + start, len);
		start += len + 1;
	}
	/* a partial line at EOF, or one too long for a record: as the
	 * head would cut it */
	if ((n <= 0 || sb->len - start >= LCH_REC_MAX) && sb->len > start) {
		conn_line(R, c, s, sb->buf + start, sb->len - start);
		start = sb->len;
	}
	lch_strbuf_consume(sb, start);
	if (n <= 0)
		close_fd(fd);
}

/* Ranks of c's nodes that did not end and no "n" record covered. */
static int
unaccounted(const struct relay *R, const struct conn *c)
{
	int s;

	for (s = 0; s < R->nt; s++)
		if (R->t[s].conn == c - R->c && !R->t[s].gone &&
		    (R->t[s].nranks < 0 || R->t[s].nended < R->t[s].nranks))
			return 1;
	return 0;
}

/* "n[J] KIND CODE TEXT": TEXT c's early stderr on one line. */
static void
lost_record(struct relay *R, struct conn *c, int kind)
{
	struct lch_strbuf sb = LCH_STRBUF_INIT;
	int s;

	lch_rec_add_lost(&sb, R->t[c->slot].node, kind, c->code, c->early,
	    c->early_len);
	c->early_len = 0;
	lch_outq_add(&R->out[0], sb.buf, sb.len);
	lch_strbuf_release(&sb);
	for (s = 0; s < R->nt; s++)	/* its nodes are accounted for now */
		if (R->t[s].conn == c - R->c)
			R->t[s].gone = 1;
}

/* A connection is done: reaped, its pipes closed.  Did it end badly? */
static void
conn_done(struct relay *R, struct conn *c)
{
	c->done = 1;
	close_in(c);
	if (c->code != 0 && R->code == 0)
		R->code = c->code;
	if (!c->facts)
		lost_record(R, c, LCH_REC_LOST_EARLY);
	else if (unaccounted(R, c))
		lost_record(R, c, LCH_REC_LOST_RANKS);
	else
		flush_early(R, c);
}

static void
reap(struct relay *R)
{
	pid_t pid;
	int st, i;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		for (i = 0; i < R->nc; i++)
			if (R->c[i].pid == pid && !R->c[i].reaped) {
				R->c[i].reaped = 1;
				R->c[i].code = lch_exit_code(st);
			}
}

static void
handle_signals(struct relay *R)
{
	unsigned char b[64];
	ssize_t n, i;

	while ((n = read(R->sigfd[0], b, sizeof(b))) > 0)
		for (i = 0; i < n; i++)
			if (b[i] == SIGCHLD)
				reap(R);
			else if (b[i] == SIGTERM || b[i] == SIGHUP)
				stop_tree(R);
			/* SIGINT and the rest: the head decides, and tells */
}

static void
flush_all(struct relay *R)
{
	int i;

	for (i = 0; i < R->nc; i++)
		if (R->c[i].in_fd >= 0 && lch_outq_flush(&R->c[i].in) < 0)
			close_in(&R->c[i]);	/* it ended: its end says why */
	(void)lch_outq_flush(&R->out[1]);
	if (lch_outq_flush(&R->out[0]) < 0)
		stop_tree(R);	/* the parent is gone */
}

static void
check_timers(struct relay *R)
{
	long long now = (long long)mst_now_ms();

	if (R->kill_at && now >= R->kill_at) {
		R->kill_at = 0;
		R->kill2_at = now + SLACK_MS;
		kill_conns(R, 0);
	}
	if (R->kill2_at && now >= R->kill2_at) {
		R->kill2_at = 0;
		kill_conns(R, 1);
	}
}

static int
poll_timeout(const struct relay *R)
{
	long long now = (long long)mst_now_ms(), t = -1;
	int i;

	if (R->kill_at)
		t = R->kill_at - now;
	else if (R->kill2_at)
		t = R->kill2_at - now;
	for (i = 0; i < R->nc; i++)	/* pipes closed, not reaped yet */
		if (!R->c[i].reaped && R->c[i].out_fd < 0 &&
		    R->c[i].err_fd < 0 && (t < 0 || t > 100))
			t = 100;
	return lch_poll_ms(t < 0 ? -1 : t);
}

static void
add_pfd(struct pollfd *pfd, int *n, int fd, short ev)
{
	pfd[*n].fd = fd;
	pfd[*n].events = ev;
	pfd[*n].revents = 0;
	(*n)++;
}

/* Our output, then each connection: its stdin, stdout and stderr. */
static void
loop(struct relay *R)
{
	struct pollfd *pfd = lch_xcalloc((size_t)(4 + 3 * R->nc), sizeof(*pfd));
	int n, i, live, full[2];

	R->in_open = 1;
	for (;;) {
		/* first: an ended connection's n record must be queued before
		 * our stdout's pollfd is chosen, or poll waits without it */
		for (i = 0; i < R->nc; i++) {
			struct conn *c = &R->c[i];

			if (c->reaped && c->out_fd < 0 && c->err_fd < 0 &&
			    !c->done)
				conn_done(R, c);
		}
		flush_all(R);
		check_timers(R);
		n = 0;
		add_pfd(pfd, &n, R->sigfd[0], POLLIN);
		add_pfd(pfd, &n, R->in_open ? 0 : -1, POLLIN);
		for (i = 0; i < 2; i++) {
			full[i] = lch_outq_pending(&R->out[i]) > OUT_HIGH;
			add_pfd(pfd, &n, lch_outq_pending(&R->out[i]) ?
			    R->out[i].fd : -1, POLLOUT);
		}
		live = 0;
		for (i = 0; i < R->nc; i++) {
			struct conn *c = &R->c[i];

			live += !c->done;
			add_pfd(pfd, &n, lch_outq_pending(&c->in) ? c->in_fd :
			    -1, POLLOUT);
			add_pfd(pfd, &n, full[0] ? -1 : c->out_fd, POLLIN);
			add_pfd(pfd, &n, full[1] ? -1 : c->err_fd, POLLIN);
		}
		if (live == 0)
			break;
		if (poll(pfd, (nfds_t)n, poll_timeout(R)) < 0 && errno != EINTR)
			break;
		reap(R);	/* also without SIGCHLD's byte (see agent.c) */
		if (pfd[0].revents)
			handle_signals(R);
		if (pfd[1].revents && R->in_open)
			read_parent(R);
		for (i = 0; i < R->nc; i++) {
			struct pollfd *p = &pfd[4 + 3 * i];

			if (p[1].revents && R->c[i].out_fd == p[1].fd)
				read_conn(R, &R->c[i], 0);
			if (p[2].revents && R->c[i].err_fd == p[2].fd)
				read_conn(R, &R->c[i], 1);
		}
	}
	free(pfd);
}

/* Output still queued at the end: until the parent takes it or goes. */
static void
drain(struct relay *R)
{
	struct pollfd pfd[3];
	char b[LCH_REC_CTL_MAX];

	for (flush_all(R); R->in_open && !R->out[0].err &&
	    lch_outq_pending(&R->out[0]) + lch_outq_pending(&R->out[1]);
	    flush_all(R)) {
		pfd[0] = (struct pollfd){ 0, POLLIN, 0 };
		pfd[1] = (struct pollfd){ lch_outq_pending(&R->out[0]) ?
		    R->out[0].fd : -1, POLLOUT, 0 };
		pfd[2] = (struct pollfd){ lch_outq_pending(&R->out[1]) ?
		    R->out[1].fd : -1, POLLOUT, 0 };
		if (poll(pfd, 3, -1) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents && read(0, b, sizeof(b)) <= 0)
			break;	/* the parent is gone */
	}
}

static void
release(struct relay *R)
{
	int i;

	for (i = 0; i < R->nc && R->c; i++) {
		struct conn *c = &R->c[i];

		close_in(c);
		close_fd(&c->out_fd);
		close_fd(&c->err_fd);
		lch_strbuf_release(&c->rd[0]);
		lch_strbuf_release(&c->rd[1]);
	}
	free(R->c);
	free(R->t);
	free(R->byrank);
	lch_outq_release(&R->out[0]);
	lch_outq_release(&R->out[1]);
	lch_strbuf_release(&R->in);
	cJSON_Delete(R->hello);
}

int
lch_relay_main(const char *hello, const char *rest, size_t rest_len)
{
	struct relay R;
	int pids_fd;

	memset(&R, 0, sizeof(R));
	R.grace_ms = GRACE_MS;
	if (parse_hello(&R, hello) != 0) {
		lch_msg("agent: malformed tree in the HELLO on stdin");
		release(&R);
		return 2;
	}
	/* what we start and leave is killed by the warden when we end */
	if (lch_warden_split(GRACE_MS, NULL, &pids_fd) == 0)
		close(pids_fd);
	if (lch_signals_setup(R.sigfd) != 0) {
		lch_msg("relay: pipe: %s", strerror(errno));
		release(&R);
		return 70;
	}
	lch_outq_init(&R.out[0], 1, 1);
	lch_outq_init(&R.out[1], 2, 1);
	lch_strbuf_init(&R.in, 0);
	start_all(&R);
	if (rest_len)
		lch_strbuf_add(&R.in, rest, rest_len);
	parent_lines(&R);
	loop(&R);
	drain(&R);
	release(&R);
	return R.code;
}
