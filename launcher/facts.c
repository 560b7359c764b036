/* facts.c: see facts.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "facts.h"
#include "muster.h"
#include "util.h"

/* glibc's execvp searches this when PATH is unset (confstr _CS_PATH). */
#define DEFAULT_PATH "/bin:/usr/bin"

/*
 * One free TCP port: bound to port 0 on every address and kept bound (not
 * listening), so that no other process is given it until it is released.
 */
static int
reserve_port(int *fd_out, int *port_out, char *err, size_t errlen)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "no free port: socket: %s",
		    strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	sa.sin_port = 0;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		snprintf(err, errlen, "no free port: bind: %s",
		    strerror(errno));
		close(fd);
		return -1;
	}
	*fd_out = fd;
	*port_out = ntohs(sa.sin_port);
	return 0;
}

static int
reserve_ports(struct lch_facts *f, int n, char *err, size_t errlen)
{
	int i;

	f->ports = lch_xcalloc((size_t)n, sizeof(*f->ports));
	f->port_fds = lch_xcalloc((size_t)n, sizeof(*f->port_fds));
	for (i = 0; i < n; i++) {
		if (reserve_port(&f->port_fds[i], &f->ports[i], err,
		    errlen) != 0)
			return -1;
		f->nports = i + 1;
	}
	return 0;
}

/* Whether path is a file exec could run: 0, else the errno it would give. */
static int
runnable(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return errno;
	if (S_ISDIR(st.st_mode))
		return EISDIR;
	if (!S_ISREG(st.st_mode) || access(path, X_OK) != 0)
		return EACCES;
	return 0;
}

/* dir/name, or name alone; a relative result is taken from cwd. */
static char *
join(const char *cwd, const char *dir, size_t dlen, const char *name)
{
	char *rel = dir ? lch_xasprintf("%.*s%s%s", (int)dlen, dir,
	    dlen ? "/" : "", name) : lch_xstrdup(name);
	char *p;

	if (rel[0] == '/' || cwd == NULL)
		return rel;
	/* "./x" from cwd is cwd/x: the same file, the name people expect */
	p = lch_xasprintf("%s/%s", cwd, rel + (strncmp(rel, "./", 2) == 0 ?
	    2 : 0));
	free(rel);
	return p;
}

static void
prog_result(struct lch_facts *f, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
prog_result(struct lch_facts *f, int code, const char *fmt, ...)
{
	va_list ap;

	f->prog_ok = code;
	va_start(ap, fmt);
	vsnprintf(f->prog_msg, sizeof(f->prog_msg), fmt, ap);
	va_end(ap);
}

/* A program named with a '/': that file only, as execvp takes it. */
static void
check_path(struct lch_facts *f, const char *prog, const char *cwd)
{
	char *p = join(cwd, NULL, 0, prog);
	int e = runnable(p);

	if (e == 0)
		prog_result(f, 0, "%s", p);
	else if (e == ENOENT || e == ENOTDIR)
		prog_result(f, 127, "'%s': %s", prog, strerror(e));
	else
		prog_result(f, 126, "'%s': not executable (%s)", prog,
		    strerror(e));
	free(p);
}

char *
lch_path_search(const char *prog, const char *cwd, char **bad, int *bad_err)
{
	const char *path = getenv("PATH"), *d, *end;
	char *p;
	int e;

	if (bad)
		*bad = NULL;
	if (path == NULL)
		path = DEFAULT_PATH;
	for (d = path; ; d = end + 1) {
		end = strchr(d, ':');
		if (end == NULL)
			end = d + strlen(d);
		p = join(cwd, d, (size_t)(end - d), prog);
		if ((e = runnable(p)) == 0) {
			if (bad) {
				free(*bad);
				*bad = NULL;
			}
			return p;
		}
		if (bad && e != ENOENT && e != ENOTDIR && *bad == NULL) {
			*bad = p;
			*bad_err = e;
		} else {
			free(p);
		}
		if (*end == '\0')
			break;
	}
	return NULL;
}

/* A bare name: lch_path_search, reported. */
static void
check_search(struct lch_facts *f, const char *prog, const char *cwd)
{
	char *bad, *p;
	int bad_err = 0;

	if ((p = lch_path_search(prog, cwd, &bad, &bad_err)) != NULL)
		prog_result(f, 0, "%s", p);
	else if (bad)
		prog_result(f, 126, "'%s': not executable (%s: %s)", prog, bad,
		    strerror(bad_err));
	else
		prog_result(f, 127, "'%s': not found in PATH", prog);
	free(p);
	free(bad);
}

static void
check_program(struct lch_facts *f, const char *prog, const char *cwd)
{
	if (prog[0] == '\0')
		prog_result(f, 127, "'': not found (an empty program name)");
	else if (strchr(prog, '/'))
		check_path(f, prog, cwd);
	else
		check_search(f, prog, cwd);
}

static long long
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
lch_facts_gather(const struct lch_facts_req *rq, struct lch_facts *f,
		 char *err, size_t errlen)
{
	long n;

	memset(f, 0, sizeof(*f));
	if (rq->nports < 0 || rq->nports > LCH_FACTS_PORTS_MAX) {
		snprintf(err, errlen, "%d ports asked for: expected 0 to %d",
		    rq->nports, LCH_FACTS_PORTS_MAX);
		return -1;
	}
	if (mst_addr_choose(rq->iface, rq->toward, &f->net, err, errlen) != 0)
		return -1;
	if (rq->nports && reserve_ports(f, rq->nports, err, errlen) != 0) {
		lch_facts_release(f);
		return -1;
	}
	snprintf(f->version, sizeof(f->version), "%s", MUSTER_VERSION_STRING);
	if (gethostname(f->host, sizeof(f->host) - 1) != 0)
		snprintf(f->host, sizeof(f->host), "localhost");
	n = sysconf(_SC_NPROCESSORS_ONLN);
	f->cpus = n > 0 && n < INT_MAX ? (int)n : 1;
	if (rq->program)
		check_program(f, rq->program, rq->cwd);
	f->time_ms = wall_ms();
	return 0;
}

void
lch_facts_free_ports(struct lch_facts *f)
{
	int i;

	if (f->port_fds == NULL)
		return;
	for (i = 0; i < f->nports; i++)
		if (f->port_fds[i] >= 0)
			close(f->port_fds[i]);
	free(f->port_fds);
	f->port_fds = NULL;
}

void
lch_facts_release(struct lch_facts *f)
{
	lch_facts_free_ports(f);
	free(f->ports);
	f->ports = NULL;
	f->nports = 0;
}

char *
lch_facts_encode(const struct lch_facts *f)
{
	cJSON *j = cJSON_CreateObject(), *ports;
	char *s;
	int i;

	if (j == NULL)
		lch_oom();
	cJSON_AddStringToObject(j, "addr", f->net.addr);
	cJSON_AddStringToObject(j, "ifname", f->net.ifname);
	ports = cJSON_AddArrayToObject(j, "ports");
	for (i = 0; i < f->nports; i++)
		cJSON_AddItemToArray(ports, cJSON_CreateNumber(f->ports[i]));
	cJSON_AddStringToObject(j, "version", f->version);
	cJSON_AddStringToObject(j, "host", f->host);
	cJSON_AddNumberToObject(j, "cpus", f->cpus);
	cJSON_AddNumberToObject(j, "time_ms", (double)f->time_ms);
	cJSON_AddNumberToObject(j, "prog", f->prog_ok);
	cJSON_AddStringToObject(j, "prog_msg", f->prog_msg);
	if ((s = cJSON_PrintUnformatted(j)) == NULL)
		lch_oom();
	cJSON_Delete(j);
	return s;
}

/* A string member that fits in size bytes (with its NUL), copied to dst. */
static int
get_str(const cJSON *j, const char *key, char *dst, size_t size, int need)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, key);

	if (it == NULL)
		return need ? -1 : 0;
	if (!cJSON_IsString(it) || strlen(it->valuestring) >= size)
		return -1;
	memcpy(dst, it->valuestring, strlen(it->valuestring) + 1);
	return 0;
}

/* A whole-number member within [min, max]. */
static int
get_num(const cJSON *j, const char *key, double min, double max,
	long long *out, int need)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, key);
	double v;

	if (it == NULL)
		return need ? -1 : 0;
	if (!cJSON_IsNumber(it))
		return -1;
	v = it->valuedouble;
	if (!isfinite(v) || floor(v) != v || v < min || v > max)
		return -1;
	*out = (long long)v;
	return 0;
}

static int
get_ports(const cJSON *j, struct lch_facts *f)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "ports"), *e;
	int n, i = 0;

	if (!cJSON_IsArray(arr))
		return -1;
	if ((n = cJSON_GetArraySize(arr)) > LCH_FACTS_PORTS_MAX)
		return -1;
	f->ports = lch_xcalloc((size_t)n, sizeof(*f->ports));
	cJSON_ArrayForEach(e, arr) {
		if (!cJSON_IsNumber(e) || floor(e->valuedouble) !=
		    e->valuedouble || e->valuedouble < 1 ||
		    e->valuedouble > 65535)
			return -1;
		f->ports[i++] = (int)e->valuedouble;
	}
	f->nports = i;
	return 0;
}

/* Whether s is a dotted quad (what the address must be, as advertised). */
static int
is_quad(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

static int
decode_obj(const cJSON *j, struct lch_facts *f)
{
	long long cpus = 0, t = 0, prog = 0;

	if (!cJSON_IsObject(j) ||
	    get_str(j, "addr", f->net.addr, sizeof(f->net.addr), 1) != 0 ||
	    !is_quad(f->net.addr) ||
	    get_str(j, "ifname", f->net.ifname, sizeof(f->net.ifname), 1) ||
	    get_ports(j, f) != 0 ||
	    get_str(j, "version", f->version, sizeof(f->version), 1) ||
	    get_str(j, "host", f->host, sizeof(f->host), 1) ||
	    get_num(j, "cpus", 0, INT_MAX, &cpus, 1) ||
	    get_num(j, "time_ms", -9e15, 9e15, &t, 1) ||
	    get_num(j, "prog", 0, 255, &prog, 0) ||
	    (prog != 0 && prog != 126 && prog != 127) ||
	    get_str(j, "prog_msg", f->prog_msg, sizeof(f->prog_msg), 0))
		return -1;
	f->cpus = (int)cpus;
	f->time_ms = t;
	f->prog_ok = (int)prog;
	return 0;
}

int
lch_facts_decode(const char *json, size_t n, struct lch_facts *f)
{
	const char *end = NULL;
	cJSON *j;
	int rc;

	memset(f, 0, sizeof(*f));
	if (memchr(json, '\0', n))
		return -1;
	if ((j = cJSON_ParseWithLengthOpts(json, n, &end, 0)) == NULL)
		return -1;
	/* one object and nothing after it */
	while (end < json + n && strchr(" \t\r\n", *end))
		end++;
	if (end != json + n) {
		cJSON_Delete(j);
		return -1;
	}
	if ((rc = decode_obj(j, f)) != 0)
		lch_facts_release(f);
	cJSON_Delete(j);
	return rc;
}
