/* elastic.c: see elastic.h. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "spawn.h"

#include "elastic.h"
#include "hosts.h"
#include "strbuf.h"
#include "util.h"

static void
member_set(struct lch_member *m, const char *host, int slots, int id)
{
	memset(m, 0, sizeof(*m));
	m->host = lch_xstrdup(host);
	m->slots = slots;
	m->id = id;
}

void
lch_elastic_init(struct lch_elastic *e, const struct lch_opts *o)
{
	size_t i, nh = o->hosts.n;

	memset(e, 0, sizeof(*e));
	e->min = (int)o->nodes_min;
	e->max = (int)o->nodes_max;
	e->virt = nh == 0;
	e->m = lch_xcalloc((size_t)e->max, sizeof(*e->m));
	if (e->virt) {
		for (i = 0; i < (size_t)e->max; i++)
			member_set(&e->m[e->n++], "localhost", -1, (int)i);
		return;
	}
	e->spare = lch_xcalloc(nh, sizeof(*e->spare));
	for (i = 0; i < nh; i++) {
		const struct lch_host *h = &o->hosts.h[i];

		struct lch_member *m = e->n < e->max ? &e->m[e->n++] :
		    &e->spare[e->nspare++];

		member_set(m, h->name, h->slots, (int)i);
		m->disc = o->hosts_discovered;
	}
}

void
lch_elastic_release(struct lch_elastic *e)
{
	int i;

	for (i = 0; i < e->n; i++)
		free(e->m[i].host);
	for (i = 0; i < e->nspare; i++)
		free(e->spare[i].host);
	for (i = 0; i < e->nlost; i++)
		free(e->lost[i]);
	lch_hosts_clear(&e->prev);
	free(e->m);
	free(e->spare);
	free(e->lost);
	memset(e, 0, sizeof(*e));
}

int
lch_elastic_apply(struct lch_elastic *e, struct lch_opts *o)
{
	struct lch_strbuf spec = LCH_STRBUF_INIT;
	char err[512];
	long np = 0;
	int i, rc = 0;

	if (e->virt && !o->ppn)
		o->ppn = 1;	/* a virtual node has no slots: one rank */
	for (i = 0; i < e->n; i++)
		np += o->ppn ? o->ppn : e->m[i].slots > 0 ? e->m[i].slots : 1;
	if (np > LCH_NP_MAX) {
		lch_msg("--nodes %d:%d: %ld processes on %d nodes, more than "
		    "the %d of a job", e->min, e->max, np, e->n, LCH_NP_MAX);
		return -1;
	}
	o->np = np;
	if (e->virt) {
		o->nodes = e->n;
		return 0;
	}
	for (i = 0; i < e->n; i++) {
		lch_strbuf_addf(&spec, "%s%s", i ? "," : "", e->m[i].host);
		if (e->m[i].slots > 0)
			lch_strbuf_addf(&spec, ":%d", e->m[i].slots);
	}
	lch_hosts_clear(&e->prev);
	e->prev = o->hosts;
	memset(&o->hosts, 0, sizeof(o->hosts));
	if (lch_hosts_parse_arg(&o->hosts, spec.buf, err, sizeof(err)) != 0) {
		lch_msg("the hosts of generation %d: %s", e->generation, err);
		rc = -1;
	}
	/* by slots (plan.c place), or --procs-per-node on each */
	o->nodes = o->ppn ? e->n : 0;
	lch_strbuf_release(&spec);
	return rc;
}

void
lch_elastic_name(const struct lch_elastic *e, int i, char *buf, size_t len)
{
	if (e->virt)
		snprintf(buf, len, "node %d", e->m[i].id);
	else
		snprintf(buf, len, "%s", e->m[i].host);
}

int
lch_elastic_drop(struct lch_elastic *e, const unsigned char *gone,
		 char *names, size_t len)
{
	char name[LCH_HOST_MAX + 16];
	int i, k = 0, dropped = 0;

	names[0] = '\0';
	for (i = 0; i < e->n; i++) {
		if (!gone[i]) {
			e->m[k++] = e->m[i];
			continue;
		}
		lch_elastic_name(e, i, name, sizeof(name));
		lch_list_add(names, len, name);
		e->lost = lch_xrealloc(e->lost, (size_t)(e->nlost + 1) *
		    sizeof(*e->lost));
		e->lost[e->nlost++] = e->m[i].host;
		dropped++;
	}
	e->n = k;
	return dropped;
}

int
lch_elastic_can_grow(const struct lch_elastic *e)
{
	return e->n < e->max ? e->nspare : 0;
}

int
lch_elastic_fill(struct lch_elastic *e, char *names, size_t len)
{
	int added = 0;

	names[0] = '\0';
	while (e->n < e->max && e->nspare > 0) {
		e->m[e->n] = e->spare[0];
		memmove(e->spare, e->spare + 1, (size_t)(e->nspare - 1) *
		    sizeof(*e->spare));
		e->nspare--;
		lch_list_add(names, len, e->m[e->n].host);
		e->n++;
		added++;
	}
	return added;
}

/* Whether host is a member, a spare or lost already. */
static int
known(const struct lch_elastic *e, const char *host)
{
	int i;

	for (i = 0; i < e->n; i++)
		if (strcmp(e->m[i].host, host) == 0)
			return 1;
	for (i = 0; i < e->nspare; i++)
		if (strcmp(e->spare[i].host, host) == 0)
			return 1;
	for (i = 0; i < e->nlost; i++)
		if (strcmp(e->lost[i], host) == 0)
			return 1;
	return 0;
}

/* Whether l names host. */
static int
listed(const struct lch_hostlist *l, const char *host)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->h[i].name, host) == 0)
			return 1;
	return 0;
}

/* One line of discovery output into l: "host:slots" or "host". */
static int
discovered_line(struct lch_hostlist *l, const char *s, size_t n, int lineno,
		char *err, size_t errlen)
{
	char *line = lch_xasprintf("%.*s", (int)n, s), why[300];
	int rc = 0;

	if (strcspn(line, ", \t[") != n ||
	    lch_hosts_parse_arg(l, line, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "line %d '%.60s': expected host:slots",
		    lineno, line);
		rc = -1;
	}
	free(line);
	return rc;
}

/* Parses discovery output into l (empty lines skipped); -1 with err. */
static int
discovered_text(struct lch_hostlist *l, const char *text, size_t len,
		char *err, size_t errlen)
{
	size_t at = 0, n;
	int lineno = 0;

	while (at < len) {
		const char *s = text + at, *nl = memchr(s, '\n', len - at);

		n = nl ? (size_t)(nl - s) : len - at;
		at += n + 1;
		lineno++;
		while (n && (s[n - 1] == '\r' || s[n - 1] == ' '))
			n--;
		if (n && discovered_line(l, s, n, lineno, err, errlen) != 0)
			return -1;
	}
	return 0;
}

pid_t
lch_discovery_start(const char *cmd, int *out_fd, char *err, size_t errlen)
{
	char sh[] = "sh", dash_c[] = "-c", *c = lch_xstrdup(cmd);
	char *argv[] = { sh, dash_c, c, NULL };
	struct lch_spawn sp;
	int p[1][2], e;
	pid_t pid;

	*out_fd = -1;
	if (lch_pipes(p, 1) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		free(c);
		return -1;
	}
	memset(&sp, 0, sizeof(sp));
	sp.argv = argv;
	sp.in_fd = sp.err_fd = -1;
	sp.out_fd = p[0][1];
	sp.new_pgroup = 1;
	sp.deathsig = SIGTERM;
	pid = lch_spawn_start(&sp, &e);
	close(p[0][1]);
	free(c);
	if (pid < 0) {
		snprintf(err, errlen, "cannot run sh: %s", strerror(e));
		close(p[0][0]);
		return -1;
	}
	*out_fd = p[0][0];
	return pid;
}

/* Runs sh -c cmd for its stdout, at most ms; its exit code, or -1. */
static int
run_capture(const char *cmd, long long ms, struct lch_strbuf *out,
	    char *err, size_t errlen)
{
	long long end = (long long)mst_now_ms() + ms;
	struct pollfd pfd;
	int st, code = -1;
	pid_t pid;
	ssize_t n = 1;

	if ((pid = lch_discovery_start(cmd, &pfd.fd, err, errlen)) < 0)
		return -1;
	pfd.events = POLLIN;
	while (n > 0 && out->len <= LCH_DISCOVERY_OUT_MAX &&
	    (long long)mst_now_ms() < end)
		if (poll(&pfd, 1, lch_poll_ms(end - (long long)mst_now_ms())) >
		    0)
			n = lch_strbuf_read_once(out, pfd.fd, 65536);
	close(pfd.fd);
	if (n != 0)	/* not at EOF: too long, or too much */
		killpg(pid, SIGKILL);
	if (waitpid(pid, &st, 0) == pid && n == 0)
		code = lch_exit_code(st);
	if (n > 0 && out->len > LCH_DISCOVERY_OUT_MAX)
		snprintf(err, errlen, "printed more than %d bytes",
		    LCH_DISCOVERY_OUT_MAX);
	else if (n != 0)
		snprintf(err, errlen, "did not end within %g s", ms / 1000.0);
	else if (code != 0)
		snprintf(err, errlen, "exited with code %d", code);
	return code;
}

int
lch_elastic_discover_first(struct lch_opts *o)
{
	struct lch_strbuf out = LCH_STRBUF_INIT;
	char err[400];
	int rc = -1;

	if (run_capture(o->host_discovery, (long long)(2000 *
	    o->discovery_interval) + 1000, &out, err, sizeof(err)) == 0 &&
	    discovered_text(&o->hosts, out.buf, out.len, err,
	    sizeof(err)) == 0)
		rc = 0;
	if (rc == 0 && o->hosts.n == 0) {
		snprintf(err, sizeof(err), "printed no host");
		rc = -1;
	}
	o->hosts_discovered = rc == 0;
	if (rc != 0)
		lch_msg("--host-discovery '%s': %s (it gives the first hosts "
		    "when no -H or --hostfile is given)", o->host_discovery,
		    err);
	lch_strbuf_release(&out);
	return rc;
}

int
lch_elastic_discovered(struct lch_elastic *e, const char *text, size_t len,
		       char *err, size_t errlen)
{
	struct lch_hostlist l;
	size_t n;
	int i, k, added = 0;

	memset(&l, 0, sizeof(l));
	if (discovered_text(&l, text, len, err, errlen) != 0) {
		lch_hosts_clear(&l);
		return -1;
	}
	/* what it printed before and no longer does: spares go, members
	   are marked (the head restarts without them) */
	for (i = 0; i < e->n; i++)
		if (listed(&l, e->m[i].host))
			e->m[i].disc = 1, e->m[i].unlisted = 0;
		else if (e->m[i].disc)
			e->m[i].unlisted = 1;
	for (i = k = 0; i < e->nspare; i++)
		if (e->spare[i].disc && !listed(&l, e->spare[i].host))
			free(e->spare[i].host);
		else
			e->spare[k++] = e->spare[i];
	e->nspare = k;
	for (n = 0; n < l.n; n++) {
		if (known(e, l.h[n].name))
			continue;
		e->spare = lch_xrealloc(e->spare, (size_t)(e->nspare + 1) *
		    sizeof(*e->spare));
		member_set(&e->spare[e->nspare], l.h[n].name, l.h[n].slots,
		    -1);
		e->spare[e->nspare++].disc = 1;
		added++;
	}
	lch_hosts_clear(&l);
	return added;
}

int
lch_elastic_unlisted(const struct lch_elastic *e)
{
	int i, k = 0;

	for (i = 0; i < e->n; i++)
		k += e->m[i].unlisted;
	return k;
}

int
lch_elastic_drop_unlisted(struct lch_elastic *e, char *names, size_t len)
{
	int i, k = 0, dropped = 0;

	names[0] = '\0';
	for (i = 0; i < e->n; i++) {
		if (!e->m[i].unlisted) {
			e->m[k++] = e->m[i];
			continue;
		}
		lch_list_add(names, len, e->m[i].host);
		free(e->m[i].host);	/* not lost: it may be printed again */
		dropped++;
	}
	e->n = k;
	return dropped;
}

int
lch_elastic_join(struct lch_elastic *e, const char *host, int slots,
		 char *why, size_t len)
{
	int i;

	for (i = 0; i < e->nlost; i++)
		if (strcmp(e->lost[i], host) == 0) {
			snprintf(why, len, "host %s was lost by this job, "
			    "which does not use it again", host);
			return -1;
		}
	if (e->virt || known(e, host)) {
		snprintf(why, len, e->virt ? "the job runs on virtual nodes "
		    "of its own machine" : "host %s is a node of this job "
		    "already", host);
		return -1;
	}
	e->spare = lch_xrealloc(e->spare, (size_t)(e->nspare + 1) *
	    sizeof(*e->spare));
	member_set(&e->spare[e->nspare++], host, slots, -1);
	return 0;
}

int
lch_elastic_lose_spare(struct lch_elastic *e, const char *host)
{
	int i;

	for (i = 0; i < e->nspare; i++)
		if (strcmp(e->spare[i].host, host) == 0)
			break;
	if (i == e->nspare)
		return 0;
	e->lost = lch_xrealloc(e->lost, (size_t)(e->nlost + 1) *
	    sizeof(*e->lost));
	e->lost[e->nlost++] = e->spare[i].host;
	memmove(e->spare + i, e->spare + i + 1, (size_t)(e->nspare - i - 1) *
	    sizeof(*e->spare));
	e->nspare--;
	return 1;
}
