/* hosts.c: see hosts.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hash.h"
#include "hosts.h"
#include "num.h"
#include "util.h"

int
lch_host_is_ipv6(const char *name)
{
	const char *c = strchr(name, ':');

	return c != NULL && strchr(c + 1, ':') != NULL;
}

int
lch_host_valid(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > LCH_HOST_MAX || name[0] == '-')
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '-' && c != '.' && c != '_')
			return 0;
	}
	return 1;
}

int
lch_host_is_loopback(const char *name)
{
	return strcmp(name, "localhost") == 0 ||
	    strncmp(name, "127.", 4) == 0 || strcmp(name, "::1") == 0;
}

/*
 * An address literal that one of our interfaces holds.  The interfaces
 * are read once: a plan asks for every node, and getifaddrs() costs a
 * netlink dump (3 s for 50000 hosts).
 */
static int
is_our_address(const char *name)
{
	static struct ifaddrs *ifs;
	static int have_ifs;
	unsigned char a[sizeof(struct in6_addr)];
	struct ifaddrs *i;
	int fam, found = 0;

	if (inet_pton(AF_INET, name, a) == 1)
		fam = AF_INET;
	else if (inet_pton(AF_INET6, name, a) == 1)
		fam = AF_INET6;
	else
		return 0;
	if (!have_ifs && getifaddrs(&ifs) != 0)
		return 0;
	have_ifs = 1;
	for (i = ifs; i && !found; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != fam)
			continue;
		if (fam == AF_INET)
			found = memcmp(&((struct sockaddr_in *)(void *)
			    i->ifa_addr)->sin_addr, a, 4) == 0;
		else
			found = memcmp(&((struct sockaddr_in6 *)(void *)
			    i->ifa_addr)->sin6_addr, a, 16) == 0;
	}
	return found;
}

int
lch_host_is_local(const char *name)
{
	char me[LCH_HOST_MAX + 1];
	size_t n;

	if (lch_host_is_loopback(name))
		return 1;
	if (gethostname(me, sizeof(me)) == 0) {
		me[sizeof(me) - 1] = '\0';
		n = strcspn(me, ".");
		/* "node1" names us when we are "node1.cluster", and back */
		if (strcmp(name, me) == 0 || (strlen(name) == n &&
		    strncmp(name, me, n) == 0) || (me[n] == '\0' &&
		    strncmp(name, me, n) == 0 && name[n] == '.'))
			return 1;
	}
	return is_our_address(name);
}

/* The index slot that holds name, or the free slot where it would go. */
static size_t *
index_slot(const struct lch_hostlist *l, const char *name)
{
	size_t mask = l->index_cap - 1, i = (size_t)mst_fnv1a(MST_FNV_BASIS, name) & mask;

	while (l->index[i] && strcmp(l->h[l->index[i] - 1].name, name) != 0)
		i = (i + 1) & mask;
	return &l->index[i];
}

/* Doubles the index (and builds it for a list that has none yet). */
static void
index_grow(struct lch_hostlist *l)
{
	size_t i;

	free(l->index);
	l->index_cap = l->index_cap ? 2 * l->index_cap : 64;
	l->index = lch_xcalloc(l->index_cap, sizeof(*l->index));
	for (i = 0; i < l->n; i++)
		*index_slot(l, l->h[i].name) = i + 1;
}

/* A new host goes last; one named again gets the sum of its slots. */
static int
hosts_add(struct lch_hostlist *l, const char *name, int slots, char *err,
	  size_t errlen)
{
	size_t *at;
	long sum;

	if (2 * (l->n + 1) > l->index_cap)
		index_grow(l);
	at = index_slot(l, name);
	if (*at) {
		struct lch_host *h = &l->h[*at - 1];

		sum = (long)(h->slots < 0 ? 1 : h->slots) +
		    (slots < 0 ? 1 : slots);
		if (sum > LCH_SLOTS_MAX) {
			snprintf(err, errlen, "'%s': more than %d slots",
			    name, LCH_SLOTS_MAX);
			return -1;
		}
		h->slots = (int)sum;
		return 0;
	}
	if (l->n >= LCH_HOSTS_MAX) {
		snprintf(err, errlen, "more than %d hosts", LCH_HOSTS_MAX);
		return -1;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 8;
		l->h = lch_xrealloc(l->h, l->cap * sizeof(*l->h));
	}
	l->h[l->n].name = lch_xstrdup(name);
	l->h[l->n].slots = slots;
	*at = ++l->n;
	return 0;
}

void
lch_hosts_clear(struct lch_hostlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->h[i].name);
	free(l->h);
	free(l->index);
	l->h = NULL;
	l->index = NULL;
	l->n = l->cap = l->index_cap = 0;
}

long
lch_hosts_slots(const struct lch_hostlist *l)
{
	long sum = 0;
	size_t i;

	for (i = 0; i < l->n; i++)
		sum += l->h[i].slots < 0 ? 1 : l->h[i].slots;
	return sum;
}

static int expand_word(const char *prefix, const char *rest,
		       struct lch_strv *out, char *err, size_t errlen);

/* The word at *p up to a comma outside brackets; *p moves to that comma. */
static char *
next_word(const char **p)
{
	const char *start = *p;
	int depth;

	for (depth = 0; **p && (depth > 0 || **p != ','); (*p)++)
		depth += **p == '[' ? 1 : **p == ']' ? -1 : 0;
	return lch_xasprintf("%.*s", (int)(*p - start), start);
}

/* A name without brackets left: one host. */
static int
add_name(const char *prefix, const char *rest, struct lch_strv *out,
	 char *err, size_t errlen)
{
	char *full = lch_xasprintf("%s%s", prefix, rest);
	int rc = -1;

	if (strchr(full, ']'))
		snprintf(err, errlen, "'%s': ']' without '['", full);
	else if (out->n >= LCH_HOSTS_MAX)
		snprintf(err, errlen, "more than %d hosts", LCH_HOSTS_MAX);
	else {
		lch_strv_push(out, full);
		rc = 0;
	}
	free(full);
	return rc;
}

/* A bracket group: where it opens and closes in the word. */
struct group {
	const char *rest, *open, *close;
	const char *range;	/* what is between the brackets */
};

/*
 * One item of a group's range at p, "N" or "N-M": its bounds, the width
 * of N (leading zeros are kept) and where it ends (',' or '\0').
 */
static int
parse_item(const struct group *g, const char *p, unsigned long *lo,
	   unsigned long *hi, int *width, const char **end, char *err,
	   size_t errlen)
{
	char *e;

	if (!isdigit((unsigned char)*p)) {
		snprintf(err, errlen, "'[%s]': expected a number or range",
		    g->range);
		return -1;
	}
	*width = (int)strspn(p, "0123456789");
	errno = 0;
	*lo = *hi = strtoul(p, &e, 10);
	if (*e == '-') {
		if (!isdigit((unsigned char)e[1])) {
			snprintf(err, errlen, "'[%s]': bad range", g->range);
			return -1;
		}
		*hi = strtoul(e + 1, &e, 10);
	}
	*end = e;
	if (!errno && *hi >= *lo && *hi - *lo >= LCH_HOSTS_MAX) {
		snprintf(err, errlen, "'[%s]': %lu hosts, more than %d",
		    g->range, *hi - *lo + 1, LCH_HOSTS_MAX);
		return -1;
	}
	if (errno || *hi < *lo || (*e != ',' && *e != '\0')) {
		snprintf(err, errlen, "'[%s]': bad range", g->range);
		return -1;
	}
	return 0;
}

/* Each number of lo..hi in place of the group, then the rest of the word. */
static int
expand_item(const char *prefix, const struct group *g, unsigned long lo,
	    unsigned long hi, int width, struct lch_strv *out, char *err,
	    size_t errlen)
{
	unsigned long v;
	char *pre;
	int rc = 0;

	for (v = lo; v <= hi && rc == 0; v++) {
		pre = lch_xasprintf("%s%.*s%0*lu", prefix,
		    (int)(g->open - g->rest), g->rest, width, v);
		rc = expand_word(pre, g->close + 1, out, err, errlen);
		free(pre);
	}
	return rc;
}

/* The first bracket group of a word, item by item. */
static int
expand_group(const char *prefix, struct group *g, struct lch_strv *out,
	     char *err, size_t errlen)
{
	char *range = lch_xasprintf("%.*s", (int)(g->close - g->open - 1),
	    g->open + 1);
	const char *p = range, *end;
	unsigned long lo, hi;
	int width, rc;

	g->range = range;
	for (;;) {
		rc = parse_item(g, p, &lo, &hi, &width, &end, err, errlen);
		if (rc == 0)
			rc = expand_item(prefix, g, lo, hi, width, out, err,
			    errlen);
		if (rc != 0 || *end == '\0')
			break;
		p = end + 1;
	}
	free(range);
	return rc;
}

/*
 * Expands one hostlist word (no top-level comma): prefix, then for the first
 * bracket group each number in turn, recursing on the rest.
 */
static int
expand_word(const char *prefix, const char *rest, struct lch_strv *out,
	    char *err, size_t errlen)
{
	struct group g = { rest, strchr(rest, '['), NULL, NULL };

	if (g.open == NULL)
		return add_name(prefix, rest, out, err, errlen);
	if ((g.close = strchr(g.open, ']')) == NULL) {
		snprintf(err, errlen, "'%s': '[' without ']'", rest);
		return -1;
	}
	return expand_group(prefix, &g, out, err, errlen);
}

int
lch_hostlist_expand(const char *expr, char ***names, size_t *n,
		    char *err, size_t errlen)
{
	struct lch_strv out = LCH_STRV_INIT;
	const char *p = expr;
	int rc = 0;

	while (*p && rc == 0) {
		char *word = next_word(&p);

		if (*word == '\0') {
			snprintf(err, errlen, "'%s': empty host name", expr);
			rc = -1;
		} else {
			rc = expand_word("", word, &out, err, errlen);
		}
		free(word);
		if (*p == ',')
			p++;
		if (*p == '\0' && p > expr && p[-1] == ',' && rc == 0) {
			snprintf(err, errlen, "'%s': empty host name", expr);
			rc = -1;
		}
	}
	if (rc != 0 || out.n == 0) {
		if (rc == 0)
			snprintf(err, errlen, "'%s': no hosts", expr);
		lch_strv_clear(&out);
		return -1;
	}
	*names = out.v;
	*n = out.n;
	return 0;
}

/* Adds every host of a hostlist expression with the same slot count. */
static int
add_expr(struct lch_hostlist *l, const char *expr, int slots,
	 char *err, size_t errlen)
{
	struct lch_strv nm = LCH_STRV_INIT;
	size_t i;
	int rc = 0;

	if (lch_hostlist_expand(expr, &nm.v, &nm.n, err, errlen) != 0)
		return -1;
	for (i = 0; i < nm.n && rc == 0; i++) {
		if (!lch_host_valid(nm.v[i])) {
			snprintf(err, errlen, "'%s': not a valid host name",
			    nm.v[i]);
			rc = -1;
		} else {
			rc = hosts_add(l, nm.v[i], slots, err, errlen);
		}
	}
	lch_strv_clear(&nm);
	return rc;
}

/* Splits "name:slots"; refuses IPv6 literals, whose ':' are no slots. */
static int
split_slots(char *item, int *slots, char *err, size_t errlen)
{
	char *colon = strrchr(item, ':');
	long v;

	*slots = -1;
	if (lch_host_is_ipv6(item)) {
		snprintf(err, errlen, "'%s': " LCH_IPV6_REFUSED, item);
		return -1;
	}
	if (colon == NULL)
		return 0;
	*colon = '\0';
	if (mst_parse_long(colon + 1, 1, 1 << 20, &v) != 0) {
		snprintf(err, errlen, "'%s:%s': slots must be a positive number",
		    item, colon + 1);
		return -1;
	}
	*slots = (int)v;
	return 0;
}

int
lch_hosts_parse_arg(struct lch_hostlist *l, const char *spec,
		    char *err, size_t errlen)
{
	const char *p = spec;
	int rc = 0;

	if (*spec == '\0') {
		snprintf(err, errlen, "empty host list");
		return -1;
	}
	while (*p && rc == 0) {
		char *item = next_word(&p);
		int slots;

		if (*item == '\0') {
			snprintf(err, errlen, "'%s': empty host name", spec);
			rc = -1;
		} else if ((rc = split_slots(item, &slots, err, errlen)) == 0) {
			rc = add_expr(l, item, slots < 0 ? 1 : slots, err,
			    errlen);
		}
		free(item);
		if (*p == ',' && *++p == '\0' && rc == 0) {
			snprintf(err, errlen, "'%s': empty host name", spec);
			rc = -1;
		}
	}
	return rc;
}

/* One hostfile line, already stripped of comments. */
static int
parse_line(struct lch_hostlist *l, char *line, const char *where,
	   char *err, size_t errlen)
{
	char *save = NULL, *tok, *name;
	int slots = -1;
	long v;

	if ((name = strtok_r(line, " \t\r", &save)) == NULL)
		return 0;
	if (split_slots(name, &slots, err, errlen) != 0) {
		char tmp[512];

		snprintf(tmp, sizeof(tmp), "%s", err);
		snprintf(err, errlen, "%s: %s", where, tmp);
		return -1;
	}
	while ((tok = strtok_r(NULL, " \t\r", &save)) != NULL) {
		if (strncmp(tok, "slots=", 6) == 0) {
			if (mst_parse_long(tok + 6, 1, 1 << 20, &v) != 0) {
				snprintf(err, errlen, "%s: '%s': slots must be "
				    "a positive number", where, tok);
				return -1;
			}
			slots = (int)v;
		} else if (strncmp(tok, "max_slots=", 10) == 0 ||
		    strncmp(tok, "max-slots=", 10) == 0) {
			if (mst_parse_long(tok + 10, 1, 1 << 20, &v) != 0) {
				snprintf(err, errlen, "%s: '%s': max_slots must "
				    "be a positive number", where, tok);
				return -1;
			}
		} else {
			snprintf(err, errlen, "%s: unexpected '%s' (expected "
			    "'host slots=N')", where, tok);
			return -1;
		}
	}
	if (add_expr(l, name, slots < 0 ? 1 : slots, err, errlen) != 0) {
		char tmp[512];

		snprintf(tmp, sizeof(tmp), "%s", err);
		snprintf(err, errlen, "%s: %s", where, tmp);
		return -1;
	}
	return 0;
}

/*
 * Opens a hostfile: a regular file or a pipe (`--hostfile <(...)`).  The
 * open does not block, so a FIFO nobody writes to reads as empty; a
 * device (/dev/zero: one endless line) or a folder is refused.
 */
static FILE *
open_hostfile(const char *path, char *err, size_t errlen)
{
	struct stat st;
	FILE *f;
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) != 0) {
		e = errno;
		snprintf(err, errlen, "hostfile '%s': %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
		snprintf(err, errlen, "hostfile '%s': expected a regular file "
		    "or a pipe", path);
		close(fd);
		return NULL;
	}
	/* a pipe's writer may still be on its way: from here, wait for it */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0 ||
	    (f = fdopen(fd, "r")) == NULL) {
		snprintf(err, errlen, "hostfile '%s': %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	return f;
}

int
lch_hosts_parse_file(struct lch_hostlist *l, const char *path,
		     char *err, size_t errlen)
{
	char *line = NULL, where[600];
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rc = 0;
	FILE *f;

	if ((f = open_hostfile(path, err, errlen)) == NULL)
		return -1;
	while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
		char *hash = strchr(line, '#');

		lineno++;
		if (hash)
			*hash = '\0';
		if (strlen(line) != (size_t)len && !hash) {
			snprintf(err, errlen, "hostfile '%s' line %d: NUL byte",
			    path, lineno);
			rc = -1;
			break;
		}
		line[strcspn(line, "\n")] = '\0';
		snprintf(where, sizeof(where), "hostfile '%s' line %d", path,
		    lineno);
		rc = parse_line(l, line, where, err, errlen);
	}
	free(line);
	fclose(f);
	if (rc == 0 && l->n == 0) {
		snprintf(err, errlen, "hostfile '%s': no hosts", path);
		rc = -1;
	}
	return rc;
}
