/* join.c: see join.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cJSON.h>
#include <sodium.h>

#include "clock.h"
#include "dial.h"
#include "join.h"
#include "netaddr.h"
#include "options.h"
#include "num.h"
#include "util.h"

#define MAC_TAG "muster-join/1\n"

/* --- the pure parts --- */

int
lch_join_url(const char *url, char *host, size_t hostlen, long *port,
	     char *err, size_t errlen)
{
	const char *s = strncmp(url, "tcp://", 6) == 0 ? url + 6 : url;

	if (strstr(s, "://") != NULL || lch_addr_port(s, host, hostlen,
	    port) != 0 || host[0] == '\0' || strchr(host, '/') ||
	    !lch_host_valid(host)) {
		snprintf(err, errlen, "--join '%.200s': expected "
		    "tcp://HOST:PORT", url);
		return -1;
	}
	return 0;
}

void
lch_join_key(const char *secret, size_t n, unsigned char key[LCH_JOIN_KEY_LEN])
{
	/* picks the fastest BLAKE2b (idempotent); without it, the portable */
	int r = sodium_init();

	(void)r;
	crypto_generichash(key, LCH_JOIN_KEY_LEN,
	    (const unsigned char *)secret, n, NULL, 0);
}

void
lch_join_mac(const unsigned char key[LCH_JOIN_KEY_LEN], const char *nonce,
	     const char *host, long slots, char mac[65])
{
	crypto_generichash_state st;
	unsigned char out[32];
	char num[32];

	snprintf(num, sizeof(num), "%ld\n", slots);
	crypto_generichash_init(&st, key, LCH_JOIN_KEY_LEN, sizeof(out));
	crypto_generichash_update(&st, (const unsigned char *)MAC_TAG,
	    strlen(MAC_TAG));
	crypto_generichash_update(&st, (const unsigned char *)nonce,
	    strlen(nonce));
	crypto_generichash_update(&st, (const unsigned char *)"\n", 1);
	crypto_generichash_update(&st, (const unsigned char *)host,
	    strlen(host));
	crypto_generichash_update(&st, (const unsigned char *)"\n", 1);
	crypto_generichash_update(&st, (const unsigned char *)num,
	    strlen(num));
	crypto_generichash_final(&st, out, sizeof(out));
	sodium_bin2hex(mac, 65, out, sizeof(out));
}

/* cJSON's unformatted print of j (freed), or out of memory. */
static char *
print_free(cJSON *j)
{
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;

	if (s == NULL)
		lch_oom();
	cJSON_Delete(j);
	return s;
}

char *
lch_join_answer(const unsigned char key[LCH_JOIN_KEY_LEN], const char *nonce,
		const char *host, long slots, const char *job)
{
	cJSON *j = cJSON_CreateObject();
	char mac[65];

	lch_join_mac(key, nonce, host, slots, mac);
	cJSON_AddNumberToObject(j, "join", 1);
	cJSON_AddStringToObject(j, "host", host);
	cJSON_AddNumberToObject(j, "slots", (double)slots);
	cJSON_AddStringToObject(j, "mac", mac);
	if (job)
		cJSON_AddStringToObject(j, "job", job);
	return print_free(j);
}

/* A string member of j, or NULL. */
static const char *
str_of(const cJSON *j, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A whole-number member of j in [min, max] into *out: 0, or -1. */
static int
num_of(const cJSON *j, const char *name, double min, double max, long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);

	if (!cJSON_IsNumber(v) || v->valuedouble < min ||
	    v->valuedouble > max || (double)(long)v->valuedouble !=
	    v->valuedouble)
		return -1;
	*out = (long)v->valuedouble;
	return 0;
}

int
lch_join_check(const char *line, size_t n,
	       const unsigned char key[LCH_JOIN_KEY_LEN], const char *nonce,
	       const char *job, char *host, size_t hostlen, long *slots,
	       char *err, size_t errlen)
{
	cJSON *j = cJSON_ParseWithLength(line, n);
	const char *h, *mac, *jb;
	char want[65];
	long one;
	int rc = -1;

	if (j == NULL || !cJSON_IsObject(j) || num_of(j, "join", 1, 1,
	    &one) != 0 || (h = str_of(j, "host")) == NULL ||
	    num_of(j, "slots", -1, LCH_SLOTS_MAX, slots) != 0 ||
	    *slots == 0 || (mac = str_of(j, "mac")) == NULL) {
		snprintf(err, errlen, "a malformed answer (expected {\"join\":"
		    "1,\"host\":NAME,\"slots\":N,\"mac\":HEX})");
		goto out;
	}
	if (h[0] == '\0' || strlen(h) >= hostlen || !lch_host_valid(h)) {
		snprintf(err, errlen, "host '%.60s': expected a host name", h);
		goto out;
	}
	lch_join_mac(key, nonce, h, *slots, want);
	if (strlen(mac) != 64 || sodium_memcmp(mac, want, 64) != 0) {
		snprintf(err, errlen, "wrong secret (its MAC does not match "
		    "the job's secret file)");
		goto out;
	}
	if ((jb = str_of(j, "job")) != NULL && strcmp(jb, job) != 0) {
		snprintf(err, errlen, "unknown job '%.60s' (this is job %s)",
		    jb, job);
		goto out;
	}
	snprintf(host, hostlen, "%s", h);
	rc = 0;
out:
	cJSON_Delete(j);
	return rc;
}

/* A string member into buf (len bytes, non-empty unless may_empty): 0, -1. */
static int
copy_str(const cJSON *j, const char *name, char *buf, size_t len,
	 int may_empty)
{
	const char *s = str_of(j, name);

	if (s == NULL || strlen(s) >= len || (!may_empty && s[0] == '\0'))
		return -1;
	snprintf(buf, len, "%s", s);
	return 0;
}

/* Fills m by the line's kind; -1 when a member is missing or wrong. */
static int
parse_kind(const cJSON *j, struct lch_join_msg *m)
{
	long v;

	if (str_of(j, "muster") && strcmp(str_of(j, "muster"), "join") == 0) {
		m->kind = LCH_JOIN_NONCE;
		return copy_str(j, "nonce", m->nonce, sizeof(m->nonce), 0) ||
		    copy_str(j, "job", m->job, sizeof(m->job), 0) ? -1 : 0;
	}
	if (cJSON_GetObjectItemCaseSensitive(j, "ok")) {
		m->kind = LCH_JOIN_OK;
		return copy_str(j, "job", m->job, sizeof(m->job), 0);
	}
	if (cJSON_GetObjectItemCaseSensitive(j, "error")) {
		m->kind = LCH_JOIN_ERROR;
		return copy_str(j, "error", m->why, sizeof(m->why), 0);
	}
	if (cJSON_GetObjectItemCaseSensitive(j, "start")) {
		m->kind = LCH_JOIN_START;
		return num_of(j, "start", 0, 1e9, &m->generation) ||
		    copy_str(j, "token", m->token, sizeof(m->token), 0) ||
		    copy_str(j, "dial", m->dial, sizeof(m->dial), 0) ? -1 : 0;
	}
	if (cJSON_GetObjectItemCaseSensitive(j, "end")) {
		m->kind = LCH_JOIN_END;
		if (num_of(j, "code", 0, 255, &v) != 0)
			return -1;
		m->code = (int)v;
		return 0;
	}
	return -1;
}

int
lch_join_parse(const char *line, size_t n, struct lch_join_msg *m,
	       char *err, size_t errlen)
{
	cJSON *j = cJSON_ParseWithLength(line, n);
	int rc;

	memset(m, 0, sizeof(*m));
	rc = j && cJSON_IsObject(j) ? parse_kind(j, m) : -1;
	if (rc != 0)
		snprintf(err, errlen, "a malformed line from the head: "
		    "'%.*s'", n > 80 ? 80 : (int)n, line);
	cJSON_Delete(j);
	return rc;
}

int
lch_join_secret_read(const char *path, char *buf, size_t len, char *err,
		     size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	size_t k;

	if (fd < 0) {
		snprintf(err, errlen, "secret file '%s': %s", path,
		    strerror(errno));
		return -1;
	}
	n = read(fd, buf, len - 1);
	if (n < 0) {
		snprintf(err, errlen, "secret file '%s': %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	buf[n] = '\0';
	k = strcspn(buf, "\r\n");
	if (k > LCH_JOIN_SECRET_MAX || (buf[k] == '\0' &&
	    (size_t)n == len - 1)) {
		snprintf(err, errlen, "secret file '%s': its first line is "
		    "longer than %d bytes", path, LCH_JOIN_SECRET_MAX);
		return -1;
	}
	buf[k] = '\0';
	if (k == 0) {
		snprintf(err, errlen, "secret file '%s': empty (expected "
		    "the job's secret on its first line)", path);
		return -1;
	}
	return (int)k;
}

int
lch_join_secret_write(const char *path, const char *secret, char *err,
		      size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	int rc;

	if (fd < 0) {
		snprintf(err, errlen, "secret file '%s': %s", path,
		    strerror(errno));
		return -1;
	}
	rc = lch_write_all(fd, secret, strlen(secret)) != 0 ||
	    lch_write_all(fd, "\n", 1) != 0 ? -1 : 0;
	if (close(fd) != 0 || rc != 0) {
		snprintf(err, errlen, "secret file '%s': %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* --- the head's side --- */

int
lch_joinsrv_open(struct lch_joinsrv *s, const char *adv, const char *secret,
		 size_t n, const char *job, char *err, size_t errlen)
{
	int port;

	memset(s, 0, sizeof(*s));
	s->listen_fd = lch_dial_listen("0.0.0.0", &port, err, errlen);
	if (s->listen_fd < 0)
		return -1;
	snprintf(s->url, sizeof(s->url), "tcp://%s:%d", adv, port);
	lch_join_key(secret, n, s->key);
	snprintf(s->job, sizeof(s->job), "%s", job);
	return 0;
}

/* Writes line and a newline to fd: 0, or -1. */
static int
send_line(int fd, const char *line)
{
	return fd < 0 || lch_write_all(fd, line, strlen(line)) != 0 ||
	    lch_write_all(fd, "\n", 1) != 0 ? -1 : 0;
}

static void
pend_drop(struct lch_joinsrv *s, int k, int keep)
{
	if (!keep)
		close(s->pend[k].fd);
	lch_strbuf_release(&s->pend[k].rd);
	s->pend[k] = s->pend[--s->npend];
}

void
lch_joinsrv_close(struct lch_joinsrv *s)
{
	int k;

	while (s->npend > 0)
		pend_drop(s, s->npend - 1, 0);
	for (k = 0; k < s->nj; k++)
		if (s->j[k].fd >= 0)
			close(s->j[k].fd);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	free(s->pend);
	free(s->j);
	free(s->secret_path);
	memset(s, 0, sizeof(*s));
	s->listen_fd = -1;
}

int
lch_joinsrv_nfds(const struct lch_joinsrv *s)
{
	return 1 + s->npend + s->nj;
}

int
lch_joinsrv_pollfds(const struct lch_joinsrv *s, struct pollfd *pfd)
{
	int n = 0, k;

	pfd[n++] = (struct pollfd){ s->listen_fd, POLLIN, 0 };
	for (k = 0; k < s->npend; k++)
		pfd[n++] = (struct pollfd){ s->pend[k].fd, POLLIN, 0 };
	for (k = 0; k < s->nj; k++)
		pfd[n++] = (struct pollfd){ s->j[k].fd, POLLIN, 0 };
	return n;
}

/* "ADDR:PORT" of a socket's peer (or its own end, local). */
static void
sock_name(int fd, int local, char *buf, size_t len, char *addr,
	  size_t addrlen)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char a[INET_ADDRSTRLEN] = "?";

	memset(&sa, 0, sizeof(sa));
	if ((local ? getsockname(fd, (struct sockaddr *)&sa, &sl) :
	    getpeername(fd, (struct sockaddr *)&sa, &sl)) == 0)
		(void)inet_ntop(AF_INET, &sa.sin_addr, a, sizeof(a));
	snprintf(buf, len, "%s:%d", a, ntohs(sa.sin_port));
	if (addr)
		snprintf(addr, addrlen, "%s", a);
}

/* New connections: each gets its nonce line. */
static void
join_accept(struct lch_joinsrv *s)
{
	struct lch_join_pend *p;
	cJSON *j;
	char *line;
	int fd;

	while ((fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) >= 0) {
		s->pend = lch_xrealloc(s->pend, (size_t)(s->npend + 1) *
		    sizeof(*s->pend));
		p = &s->pend[s->npend++];
		memset(p, 0, sizeof(*p));
		p->fd = fd;
		lch_strbuf_init(&p->rd, 0);
		p->until = (long long)mst_now_ms() + LCH_JOIN_HELLO_MS;
		sock_name(fd, 0, p->peer, sizeof(p->peer), NULL, 0);
		if (lch_random_hex(p->nonce, 32) != 0) {
			lch_msg("--join from %s: getrandom: %s: closed",
			    p->peer, strerror(errno));
			pend_drop(s, s->npend - 1, 0);
			continue;
		}
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "muster", "join");
		cJSON_AddNumberToObject(j, "v", 1);
		cJSON_AddStringToObject(j, "job", s->job);
		cJSON_AddStringToObject(j, "nonce", p->nonce);
		line = print_free(j);
		if (send_line(fd, line) != 0)
			pend_drop(s, s->npend - 1, 0);
		free(line);
	}
}

/* Refuses pending connection k: why to both sides, then closed. */
static void
join_refuse(struct lch_joinsrv *s, int k, const char *host, const char *why)
{
	cJSON *j = cJSON_CreateObject();
	char *line;

	cJSON_AddStringToObject(j, "error", why);
	line = print_free(j);
	(void)send_line(s->pend[k].fd, line);
	free(line);
	lch_msg("--join from %s%s%s%s: %s: refused", s->pend[k].peer,
	    host ? " (host " : "", host ? host : "", host ? ")" : "", why);
	pend_drop(s, k, 0);
}

/* Pending connection k answered with line (n bytes). */
static void
join_answer(struct lch_joinsrv *s, int k, const char *line, size_t n)
{
	struct lch_join_pend *p = &s->pend[k];
	struct lch_joiner *jn;
	char host[LCH_HOST_MAX + 1], why[300];
	cJSON *j;
	char *ok;
	long slots;

	if (lch_join_check(line, n, s->key, p->nonce, s->job, host,
	    sizeof(host), &slots, why, sizeof(why)) != 0) {
		join_refuse(s, k, NULL, why);
		return;
	}
	if (s->admit && s->admit(s->arg, host, slots, why, sizeof(why)) != 0) {
		join_refuse(s, k, host, why);
		return;
	}
	s->j = lch_xrealloc(s->j, (size_t)(s->nj + 1) * sizeof(*s->j));
	jn = &s->j[s->nj++];
	memset(jn, 0, sizeof(*jn));
	jn->fd = p->fd;
	snprintf(jn->host, sizeof(jn->host), "%s", host);
	jn->slots = slots;
	snprintf(jn->peer, sizeof(jn->peer), "%s", p->peer);
	sock_name(p->fd, 1, why, sizeof(why), jn->local, sizeof(jn->local));
	pend_drop(s, k, 1);
	j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "ok", 1);
	cJSON_AddStringToObject(j, "job", s->job);
	ok = print_free(j);
	if (send_line(jn->fd, ok) != 0) {
		close(jn->fd);
		jn->fd = -1;
		if (s->left)
			s->left(s->arg, s->nj - 1);
	} else {
		lch_msg("host %s joined (muster --join from %s): a spare for "
		    "the next generation", host, jn->peer);
	}
	free(ok);
}

/* What pending connection k sent. */
static void
pend_read(struct lch_joinsrv *s, int k)
{
	struct lch_join_pend *p = &s->pend[k];
	ssize_t n = lch_strbuf_read_once(&p->rd, p->fd, LCH_JOIN_LINE_MAX);
	char *nl;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	nl = p->rd.len ? memchr(p->rd.buf, '\n', p->rd.len) : NULL;
	if (nl != NULL) {
		join_answer(s, k, p->rd.buf, (size_t)(nl - p->rd.buf));
		return;
	}
	if (n > 0 && p->rd.len < LCH_JOIN_LINE_MAX)
		return;
	if (n > 0)
		join_refuse(s, k, NULL, "a line longer than 1024 bytes");
	else {
		if (p->rd.len)
			lch_msg("--join from %s: ended before a whole line: "
			    "closed", p->peer);
		pend_drop(s, k, 0);	/* a probe, a port scan: quietly */
	}
}

/* Joiner k's control connection: it says nothing more; EOF ends it. */
static void
joiner_read(struct lch_joinsrv *s, int k)
{
	char buf[512];
	ssize_t n;

	while ((n = read(s->j[k].fd, buf, sizeof(buf))) > 0)
		;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	close(s->j[k].fd);
	s->j[k].fd = -1;
	if (s->left)
		s->left(s->arg, k);
}

void
lch_joinsrv_events(struct lch_joinsrv *s, const struct pollfd *pfd, int n)
{
	int k, np = s->npend, nj = s->nj;

	if (n == 0)
		return;
	/* the joiners first: pend_read adds joiners, drops pending */
	for (k = 0; k < nj && 1 + np + k < n; k++)
		if (pfd[1 + np + k].revents && s->j[k].fd >= 0 &&
		    s->j[k].fd == pfd[1 + np + k].fd)
			joiner_read(s, k);
	for (k = np - 1; k >= 0; k--)	/* pend_drop moves the last into k */
		if (pfd[1 + k].revents && k < s->npend &&
		    s->pend[k].fd == pfd[1 + k].fd)
			pend_read(s, k);
	if (pfd[0].revents)
		join_accept(s);
}

void
lch_joinsrv_tick(struct lch_joinsrv *s, long long now)
{
	int k;

	for (k = s->npend - 1; k >= 0; k--)
		if (now >= s->pend[k].until)
			join_refuse(s, k, NULL, "no answer within 10 s");
}

long long
lch_joinsrv_wake(const struct lch_joinsrv *s)
{
	long long t = 0;
	int k;

	for (k = 0; k < s->npend; k++)
		if (t == 0 || s->pend[k].until < t)
			t = s->pend[k].until;
	return t;
}

int
lch_joinsrv_find(const struct lch_joinsrv *s, const char *host)
{
	int k;

	for (k = 0; k < s->nj; k++)
		if (strcmp(s->j[k].host, host) == 0)
			return k;
	return -1;
}

int
lch_joinsrv_start(struct lch_joinsrv *s, int k, int generation,
		  const char *token, int port)
{
	cJSON *j = cJSON_CreateObject();
	char dial[96], *line;
	int rc;

	snprintf(dial, sizeof(dial), "%s:%d", s->j[k].local, port);
	cJSON_AddNumberToObject(j, "start", generation);
	cJSON_AddStringToObject(j, "token", token);
	cJSON_AddStringToObject(j, "dial", dial);
	line = print_free(j);
	rc = send_line(s->j[k].fd, line);
	free(line);
	return rc;
}

void
lch_joinsrv_end(struct lch_joinsrv *s, int code)
{
	char line[64];
	int k;

	snprintf(line, sizeof(line), "{\"end\":1,\"code\":%d}",
	    code < 0 || code > 255 ? 255 : code);
	for (k = 0; k < s->nj; k++)
		if (s->j[k].fd >= 0) {
			(void)fcntl(s->j[k].fd, F_SETFL, 0);
			(void)send_line(s->j[k].fd, line);
			close(s->j[k].fd);
			s->j[k].fd = -1;
		}
}

/* --- what the head decides at start --- */

int
lch_join_wanted(const struct lch_opts *o)
{
	return o->nodes_min && o->launcher != LCH_LAUNCH_SLURM &&
	    o->hosts.n > 0 && (long)o->hosts.n < o->nodes_max;
}

/* The first address that is no loopback one our host name resolves to. */
static int
own_name_addr(char *addr, size_t len)
{
	struct addrinfo hints, *res = NULL, *ai;
	char me[LCH_HOST_MAX + 1];
	int rc = -1;

	if (gethostname(me, sizeof(me) - 1) != 0)
		return -1;
	me[sizeof(me) - 1] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(me, NULL, &hints, &res) != 0)
		return -1;
	for (ai = res; ai && rc != 0; ai = ai->ai_next) {
		const struct sockaddr_in *sa = (const void *)ai->ai_addr;

		if (inet_ntop(AF_INET, &sa->sin_addr, addr,
		    (socklen_t)len) != NULL && !mst_addr_is_loopback(addr))
			rc = 0;
	}
	freeaddrinfo(res);
	return rc;
}

int
lch_join_address(const struct lch_opts *o, const char *head, char *addr,
		 size_t len)
{
	struct mst_netaddr na;
	char err[256];

	if (o->iface && mst_iface_lookup(o->iface, &na, err,
	    sizeof(err)) == 0) {
		snprintf(addr, len, "%s", na.addr);
		return 0;
	}
	if (head && !mst_addr_is_loopback(head)) {
		snprintf(addr, len, "%s", head);
		return 0;
	}
	return own_name_addr(addr, len);
}

int
lch_join_secret(const struct lch_opts *o, const char *run_dir,
		const char *job_secret, char *secret, size_t len,
		char **path)
{
	char err[PATH_MAX + 300];
	int n;

	*path = o->secret_file ? lch_xstrdup(o->secret_file) : run_dir ?
	    lch_xasprintf("%s/secret", run_dir) : NULL;
	if (*path == NULL)
		return 1;
	if (o->secret_file && access(*path, F_OK) == 0) {
		if ((n = lch_join_secret_read(*path, secret, len, err,
		    sizeof(err))) < 0) {
			lch_msg("--secret-file: %s", err);
			return -1;
		}
		return 0;
	}
	if (lch_join_secret_write(*path, job_secret, err, sizeof(err)) != 0) {
		lch_msg("%s%s", o->secret_file ? "--secret-file: " : "", err);
		return -1;
	}
	snprintf(secret, len, "%s", job_secret);
	return 0;
}
