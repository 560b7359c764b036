/*
 * musterd: the standalone rendezvous server (the launcher embeds the same
 * server as a thread).  See man/musterd.8.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <zmq.h>
#include "muster.h"
#include "rdv_client.h"
#include "server.h"

struct musterd_opts {
	struct rdv_server_opts srv;
	struct rdv_limits lim;
	int foreground;
	const char *status;
	const char *key_file;
	const char *admin_file;
	char key[64];
	char admin[RDV_SECRET_MAX + 2];
	int timeout_ms;
};

/* The numeric limits: option, where it goes, range, what --help says. */
struct limit_opt {
	const char *name;
	size_t off;
	long lo, hi;
};
#define LIM(f) offsetof(struct musterd_opts, f)
static const struct limit_opt limit_opts[] = {
	{ "max-jobs", LIM(lim.max_jobs), 1, 1 << 20 },
	{ "max-job-size", LIM(lim.max_size), 1, RDV_SIZE_MAX },
	{ "max-members", LIM(lim.max_members), 1, 1 << 24 },
	{ "max-keys", LIM(lim.max_keys), 1, 1 << 24 },
	{ "max-kv-bytes", LIM(lim.max_kv_bytes), 1024, 1L << 34 },
	{ "max-waiters", LIM(lim.max_waiters), 1, 1 << 24 },
	{ "job-expire", LIM(lim.job_expire_ms), 1, 86400000 },
	{ "max-connections", LIM(srv.max_conns), 16, 1 << 20 },
	{ "handshake-timeout", LIM(srv.handshake_ms), 100, 600000 },
};

static void
usage(FILE *f)
{
	fprintf(f,
"usage: musterd [--bind tcp://ADDR:PORT] [--foreground] [--heartbeat MS]\n"
"               [--curve] [--key-file FILE] [--verbose] [--quiet]\n"
"               (--admin-secret-file FILE | --open) [LIMITS]\n"
"       musterd --status tcp://ADDR:PORT [--key-file FILE] [--timeout MS]\n"
"       musterd --help | --version\n"
"\n"
"The muster rendezvous server: jobs' nodes and workers join, exchange keys,\n"
"pass barriers and heartbeat through it; a failure aborts the whole job.\n"
"\n"
"  -b, --bind EP        listen on EP (default tcp://127.0.0.1:0; port 0 picks\n"
"                       a free one); the bound endpoint is printed on stdout\n"
"  -f, --foreground     stay in the foreground (default: detach)\n"
"      --heartbeat MS   a member silent for MS ms is dead (default 5000)\n"
"      --curve          CURVE-encrypt even on loopback (always on beyond it)\n"
"      --key-file FILE  the server's CURVE secret key (Z85, first line);\n"
"                       else $MUSTERD_CURVE_SECRET, else a fresh key\n"
"      --admin-secret-file FILE\n"
"                       creating a job needs the secret on FILE's first line\n"
"                       (else $MUSTERD_ADMIN_SECRET; at least 16 bytes)\n"
"      --open           anyone who reaches the port may create jobs\n"
"  -v, --verbose        log joins and jobs too (bad input is always logged)\n"
"  -q, --quiet          log nothing\n"
"  -s, --status EP      print the jobs and members of the server at EP\n"
"      --timeout MS     --status: give up after MS ms (default 5000)\n"
"limits (see musterd(8), LIMITS):\n"
"      --max-jobs N          jobs at once (1024)\n"
"      --max-job-size N      members a job may declare (65536)\n"
"      --max-members N       members of all jobs (262144)\n"
"      --max-keys N          keys of one job (65536)\n"
"      --max-kv-bytes N      bytes of one job's keys and values (16777216)\n"
"      --max-waiters N       waiting gets of one job (4096)\n"
"      --job-expire MS       drop a job idle this long with no member (60000)\n"
"      --max-connections N   open connections (the fd limit less a reserve)\n"
"      --handshake-timeout MS  close a connection silent at its start (3000)\n"
"  -h, --help           this help\n"
"  -V, --version        the version\n");
}

static int
bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "musterd: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see musterd --help)\n");
	return 2;
}

static int
parse_ms(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 86400000)
		return -1;
	*out = (int)v;
	return 0;
}

/* Reads the first line of path into buf; the key never travels in argv. */
static int
read_key(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "re");

	if (f == NULL || fgets(buf, (int)n, f) == NULL) {
		fprintf(stderr, "musterd: cannot read %s: %s\n", path,
		    f ? "empty" : strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

/* --max-jobs N and the like: one line naming the option and the range. */
static int
parse_limit(struct musterd_opts *o, int i, const char *arg)
{
	const struct limit_opt *l = &limit_opts[i];
	char *end, msg[160];
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (errno || end == arg || *end || v < l->lo || v > l->hi) {
		snprintf(msg, sizeof(msg), "--%s: '%%s' is not a number in "
		    "%ld..%ld", l->name, l->lo, l->hi);
		return bad_usage(msg, arg);
	}
	if (strcmp(l->name, "max-kv-bytes") == 0)
		*(size_t *)(void *)((char *)o + l->off) = (size_t)v;
	else
		*(int *)(void *)((char *)o + l->off) = (int)v;
	return 0;
}

static int
parse_args(int argc, char **argv, struct musterd_opts *o)
{
	static const struct option longs[] = {
		{ "bind", required_argument, NULL, 'b' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "heartbeat", required_argument, NULL, 'H' },
		{ "curve", no_argument, NULL, 'C' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "status", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "admin-secret-file", required_argument, NULL, 'A' },
		{ "open", no_argument, NULL, 'O' },
		{ "max-jobs", required_argument, NULL, 1000 },
		{ "max-job-size", required_argument, NULL, 1001 },
		{ "max-members", required_argument, NULL, 1002 },
		{ "max-keys", required_argument, NULL, 1003 },
		{ "max-kv-bytes", required_argument, NULL, 1004 },
		{ "max-waiters", required_argument, NULL, 1005 },
		{ "job-expire", required_argument, NULL, 1006 },
		{ "max-connections", required_argument, NULL, 1007 },
		{ "handshake-timeout", required_argument, NULL, 1008 },
		{ NULL, 0, NULL, 0 },
	};
	int c, rv;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":b:fvqs:hV", longs, NULL)) != -1) {
		switch (c) {
		case 'b': o->srv.bind = optarg; break;
		case 'f': o->foreground = 1; break;
		case 'C': o->srv.curve = 1; break;
		case 'k': o->key_file = optarg; break;
		case 'v': o->srv.verbose = 2; break;
		case 'q': o->srv.verbose = 0; break;
		case 's': o->status = optarg; break;
		case 'H':
			if (parse_ms(optarg, &o->srv.heartbeat_ms))
				return bad_usage("--heartbeat: '%s' is not a "
				    "number of milliseconds (1..86400000)",
				    optarg);
			break;
		case 't':
			if (parse_ms(optarg, &o->timeout_ms))
				return bad_usage("--timeout: '%s' is not a "
				    "number of milliseconds (1..86400000)",
				    optarg);
			break;
		case 'A': o->admin_file = optarg; break;
		case 'O': o->srv.create = RDV_CREATE_OPEN; break;
		case 1000: case 1001: case 1002: case 1003: case 1004:
		case 1005: case 1006: case 1007: case 1008:
			if ((rv = parse_limit(o, c - 1000, optarg)) != 0)
				return rv;
			break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("musterd %s\n", MUSTER_VERSION_STRING); exit(0);
		case ':':
			return bad_usage("option '%s' needs an argument",
			    argv[optind - 1]);
		default:
			return bad_usage("unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument '%s'", argv[optind]);
	return 0;
}

static int
load_key(struct musterd_opts *o)
{
	const char *env = getenv("MUSTERD_CURVE_SECRET");

	if (o->key_file) {
		if (read_key(o->key_file, o->key, sizeof(o->key)) != 0)
			return -1;
	} else if (env && *env) {
		snprintf(o->key, sizeof(o->key), "%s", env);
	}
	if (o->key[0])
		o->srv.curve_secret = o->key;
	return 0;
}

/* The admin secret: --admin-secret-file, else $MUSTERD_ADMIN_SECRET. */
static int
load_admin(struct musterd_opts *o)
{
	const char *env = getenv("MUSTERD_ADMIN_SECRET");

	if (o->admin_file) {
		if (read_key(o->admin_file, o->admin, sizeof(o->admin)) != 0)
			return -1;
	} else if (env && *env) {
		snprintf(o->admin, sizeof(o->admin), "%s", env);
	}
	if (!o->admin[0] && o->srv.create != RDV_CREATE_OPEN) {
		fprintf(stderr, "musterd: give --admin-secret-file FILE (or "
		    "$MUSTERD_ADMIN_SECRET) so that launchers can create jobs, "
		    "or --open to let anyone who reaches the port create them\n");
		return -1;
	}
	if (o->admin[0] && o->srv.create == RDV_CREATE_OPEN) {
		fprintf(stderr, "musterd: --open and an admin secret exclude "
		    "each other\n");
		return -1;
	}
	if (o->admin[0] && (strlen(o->admin) < RDV_ADMIN_SECRET_MIN ||
	    strlen(o->admin) > RDV_SECRET_MAX)) {
		fprintf(stderr, "musterd: the admin secret must be %d to %d "
		    "bytes\n", RDV_ADMIN_SECRET_MIN, RDV_SECRET_MAX);
		return -1;
	}
	if (o->admin[0]) {
		o->srv.create = RDV_CREATE_ADMIN;
		o->srv.admin_secret = o->admin;
	}
	return 0;
}

/* systemd gives 1024 soft, far more hard: take what is allowed. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int
do_status(struct musterd_opts *o)
{
	struct mst_rdv_opts co = { .endpoint = o->status,
		.timeout_ms = o->timeout_ms ? o->timeout_ms : 5000 };
	char pub[41];
	mst_rdv *r;
	char *json;
	muster_result rv;

	if (o->key[0]) {
		if (zmq_curve_public(pub, o->key) != 0) {
			fprintf(stderr, "musterd: bad CURVE key\n");
			return 2;
		}
		co.server_key = pub;
		co.curve_secret = o->key;
	}
	if ((rv = mst_rdv_open(&r, &co)) != MUSTER_OK) {
		fprintf(stderr, "musterd: %s: cannot open (error %d)\n",
		    o->status, (int)rv);
		return 1;
	}
	if ((rv = mst_rdv_status(r, &json)) != MUSTER_OK) {
		fprintf(stderr, "musterd: %s\n", mst_rdv_error(r));
		mst_rdv_close(r);
		return 1;
	}
	printf("%s\n", json);
	free(json);
	mst_rdv_close(r);
	return 0;
}

/* Detaches; the parent prints what the child reports and exits. */
static int
daemonize(int *report_fd)
{
	int fds[2];
	char buf[512];
	ssize_t n, got = 0;
	pid_t pid;

	if (pipe(fds) != 0 || (pid = fork()) < 0) {
		perror("musterd: fork");
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		setsid();
		if (chdir("/") != 0)
			(void)0;
		*report_fd = fds[1];
		return 0;
	}
	close(fds[1]);
	while ((n = read(fds[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	buf[got] = '\0';
	if (got == 0)
		exit(1);	/* the child said why on stderr */
	fputs(buf, stdout);
	exit(0);
}

static int
serve(struct musterd_opts *o)
{
	struct rdv_server *s;
	char ep[512], out[700];
	int sfd, report = -1, rv;
	sigset_t set;

	if (!o->foreground && daemonize(&report) != 0)
		return 1;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 ||
	    (sfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0) {
		perror("musterd: signalfd");
		return 1;
	}
	raise_fd_limit();
	if (rdv_server_new(&s, &o->srv, ep, sizeof(ep)) != MUSTER_OK) {
		fprintf(stderr, "musterd: %s\n", ep);
		return 1;
	}
	if (rdv_server_public_key(s)[0])
		snprintf(out, sizeof(out), "%s\ncurve-public-key %s\n", ep,
		    rdv_server_public_key(s));
	else
		snprintf(out, sizeof(out), "%s\n", ep);
	if (report >= 0) {
		if (write(report, out, strlen(out)) < 0)
			(void)0;
		close(report);
		if (freopen("/dev/null", "r", stdin) == NULL ||
		    freopen("/dev/null", "w", stdout) == NULL)
			(void)0;
	} else {
		fputs(out, stdout);
		fflush(stdout);
	}
	rv = rdv_server_run(s, sfd);
	if (o->srv.verbose)
		fprintf(stderr, "musterd: shutting down\n");
	rdv_server_free(s);
	close(sfd);
	return rv == MUSTER_OK ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct musterd_opts o = { .srv = { .bind = "tcp://127.0.0.1:0",
		.verbose = 1, .create = RDV_CREATE_ADMIN } };
	int rv;

	rdv_limits_default(&o.lim);
	o.srv.limits = &o.lim;
	if ((rv = parse_args(argc, argv, &o)) != 0)
		return rv;
	if (load_key(&o) != 0)
		return 2;
	if (o.status)
		return do_status(&o);
	if (load_admin(&o) != 0)
		return 2;
	return serve(&o);
}
