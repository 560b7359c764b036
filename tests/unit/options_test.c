/*
 * options_test.c: the launcher's command line and --config job spec
 * (options.h): every option's accepted forms, its defaults, rejected
 * values with their one-line messages, how -n/--nodes/--procs-per-node
 * and hosts resolve, parameter-server counts, and the config file under
 * the command line.
 */
#include <math.h>
#include <sys/stat.h>

#include "launcher_harness.h"

#define RANGE "expected a whole number from %s to 1048576\n"

/* Parsing OPT VALUE fails with message want (the program is "true"). */
static void
check_bad(const char *opt, const char *val, const char *want)
{
	struct lch_opts o;

	CHECK_(PARSE(&o, opt, val, "true") == -1, "%s '%s' accepted", opt, val);
	CHECK_STR(lh_err, want);
	lch_opts_release(&o);
}

/* A count option: bad values name the option, the value and the range. */
static void
check_bad_count(const char *opt, const char *min)
{
	static const char *bad[] = { "", "x", "4x", "4.0", " 4", "+4", "0x4",
		"1048577", "99999999999999999999", "-1", NULL };
	char want[256], fmt[128];
	int i;

	snprintf(fmt, sizeof(fmt), "muster: %%s '%%s': %s", RANGE);
	for (i = 0; bad[i]; i++) {
		snprintf(want, sizeof(want), fmt, opt, bad[i], min);
		check_bad(opt, bad[i], want);
	}
	if (strcmp(min, "1") == 0) {
		snprintf(want, sizeof(want), fmt, opt, "0", min);
		check_bad(opt, "0", want);
	}
}

static void
test_defaults(void)
{
	struct lch_opts o;

	CHECK_INT(PARSE(&o, "prog", "-n", "3"), 0);
	CHECK_STR(lh_err, "");
	CHECK_INT(o.mode, LCH_RUN);
	CHECK_INT(o.np, 0);
	CHECK_INT(o.nodes, 0);
	CHECK_INT(o.ppn, 0);
	CHECK_INT(o.ps, -1);
	CHECK_INT(o.workers, -1);
	CHECK_INT(o.chief, 0);
	CHECK_INT(o.evaluator, 0);
	CHECK_INT(o.mpi, 0);
	CHECK_INT(o.dry_run, 0);
	CHECK(o.timeout == 0.0);
	CHECK(o.grace == 3.0);
	CHECK_INT(o.max_restarts, 0);
	CHECK_INT(o.master_port, 0);
	CHECK_INT(o.tag, 1);
	CHECK_INT(o.verbose, 0);
	CHECK_INT(o.set, 0);
	CHECK_INT(o.xvars.n, 0);
	CHECK_INT(o.hosts.n, 0);
	CHECK(o.hosts_arg == NULL && o.hostfile == NULL && o.config == NULL);
	CHECK(o.rendezvous == NULL && o.ssh == NULL && o.job_id == NULL);
	CHECK(o.master_addr == NULL && o.log_dir == NULL);
	CHECK(o.output_dir == NULL);
	/* the first word that is not an option is the program */
	CHECK_INT(o.argc, 3);
	CHECK_STR(o.argv[0], "prog");
	CHECK_STR(o.argv[2], "3");
	CHECK(o.argv[3] == NULL);
	lch_opts_release(&o);
}

static void
test_program_words(void)
{
	struct lch_opts o;

	CHECK_INT(PARSE(&o, "-n", "2", "--", "-n", "5"), 0);
	CHECK_INT(o.np, 2);
	CHECK_INT(o.argc, 2);
	CHECK_STR(o.argv[0], "-n");
	lch_opts_release(&o);
	CHECK_INT(PARSE(&o, "-", "x"), 0);	/* "-" alone is a program */
	CHECK_INT(o.argc, 2);
	CHECK_STR(o.argv[0], "-");
	lch_opts_release(&o);
	CHECK_INT(PARSE(&o, "-n", "2"), 0);	/* lch_opts_finish's to say */
	CHECK_INT(o.argc, 0);
	lch_opts_release(&o);
	CHECK_INT(PARSE(&o, "-n", "2", "-n", "7", "true"), 0);
	CHECK_INT(o.np, 7);	/* the last one wins */
	lch_opts_release(&o);
}

static void
test_counts(void)
{
	struct lch_opts o;

	CHECK_INT(PARSE(&o, "-n", "4", "true"), 0);
	CHECK_INT(o.np, 4);
	lch_opts_release(&o);
	CHECK_INT(PARSE(&o, "-np", "5", "true"), 0);
	CHECK_INT(o.np, 5);
	lch_opts_release(&o);
	CHECK_INT(PARSE(&o, "--np=6", "--nodes=2", "true"), 0);
	CHECK_INT(o.np, 6);
	CHECK_INT(o.nodes, 2);
	lch_opts_release(&o);
	CHECK_INT(PARSE(&o, "--np", "1048576", "--nodes", "3",
	    "--procs-per-node", "2", "true"), 0);
	CHECK_INT(o.np, 1048576);
	CHECK_INT(o.nodes, 3);
	CHECK_INT(o.ppn, 2);
	lch_opts_release(&o);
	CHECK_INT(PARSE(&o, "--nproc-per-node", "8", "--max-restarts", "0",
	    "--ps", "0", "--workers", "0", "true"), 0);
	CHECK_INT(o.ppn, 8);
	CHECK_INT(o.max_restarts, 0);
	CHECK_INT(o.ps, 0);
	CHECK_INT(o.workers, 0);
	lch_opts_release(&o);
	CHECK_INT(PARSE(&o, "--max-restarts", "3", "--ps", "2", "--workers",
	    "4", "true"), 0);
	CHECK_INT(o.max_restarts, 3);
	CHECK_INT(o.ps, 2);
	CHECK_INT(o.workers, 4);
	lch_opts_release(&o);
}

static void
test_counts_bad(void)
{
	check_bad_count("-n", "1");
	check_bad_count("-np", "1");
	check_bad_count("--np", "1");
	check_bad_count("--nodes", "1");
	check_bad_count("--procs-per-node", "1");
	check_bad_count("--nproc-per-node", "1");
	check_bad_count("--ps", "0");
	check_bad_count("--workers", "0");
	check_bad_count("--max-restarts", "0");
}

static void
test_flags(void)
{
	struct lch_opts o;

	CHECK_INT(PARSE(&o, "--chief", "--evaluator", "--mpi", "--dry-run",
	    "--no-tag", "-v", "true"), 0);
	CHECK_INT(o.chief, 1);
	CHECK_INT(o.evaluator, 1);
	CHECK_INT(o.mpi, 1);
	CHECK_INT(o.dry_run, 1);
	CHECK_INT(o.tag, 0);
	CHECK_INT(o.verbose, 1);
	lch_opts_release(&o);
	CHECK_INT(PARSE(&o, "--verbose", "true"), 0);
	CHECK_INT(o.verbose, 1);
	lch_opts_release(&o);
	check_bad("--chief=1", "true",
	    "muster: option '--chief' takes no value\n");
	check_bad("--no-tag=", "true",
	    "muster: option '--no-tag' takes no value\n");
}

static void
test_modes(void)
{
	static const struct { const char *arg; enum lch_mode mode; } m[] = {
		{ "-h", LCH_HELP }, { "--help", LCH_HELP },
		{ "--version", LCH_VERSION }, { "--agent", LCH_AGENT },
		{ "--mpi-rank", LCH_MPI_RANK },
	};
	struct lch_opts o;
	size_t i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		CHECK_INT(PARSE(&o, m[i].arg), 0);
		CHECK_(o.mode == m[i].mode, "%s: mode %d", m[i].arg, o.mode);
		lch_opts_release(&o);
	}
}

static void
test_parse_errors(void)
{
	struct lch_opts o;

	check_bad("--bogus", "true",
	    "muster: unknown option '--bogus' (try 'muster --help')\n");
	check_bad("-n=4", "true",
	    "muster: unknown option '-n=4' (try 'muster --help')\n");
	check_bad("--np-x=4", "true",
	    "muster: unknown option '--np-x=4' (try 'muster --help')\n");
	CHECK_INT(PARSE(&o, "--timeout"), -1);
	CHECK_STR(lh_err, "muster: option '--timeout' needs a value\n");
	lch_opts_release(&o);
	CHECK_INT(PARSE(&o, "-n", "2", "-x"), -1);
	CHECK_STR(lh_err, "muster: option '-x' needs a value\n");
	lch_opts_release(&o);
}

static void
test_seconds(void)
{
	struct lch_opts o;

	CHECK_INT(PARSE(&o, "--timeout", "1.5", "--grace", "0", "true"), 0);
	CHECK(o.timeout == 1.5);
	CHECK(o.grace == 0.0);
	lch_opts_release(&o);
	CHECK_INT(PARSE(&o, "--timeout=30", "--grace=.25", "true"), 0);
	CHECK(o.timeout == 30.0);
	CHECK(o.grace == 0.25);
	lch_opts_release(&o);
	CHECK_INT(PARSE(&o, "--timeout", "1e9", "true"), 0);
	CHECK(o.timeout == 1e9);
	lch_opts_release(&o);
}

static void
test_seconds_bad(void)
{
	static const char *bad[] = { "", "x", "-1", "-0", "+1", " 1", "1s",
		"1.5.2", "nan", "inf", "1e10", NULL };
	static const char *opts[] = { "--timeout", "--grace", NULL };
	static const char *max[] = { "1000000000", "1000000" };
	char want[256];
	int i, k;

	for (k = 0; opts[k]; k++)
		for (i = 0; bad[i]; i++) {
			snprintf(want, sizeof(want), "muster: %s '%s': expected "
			    "seconds (a number from 0 to %s)\n", opts[k],
			    bad[i], max[k]);
			check_bad(opts[k], bad[i], want);
		}
	/* the agent holds the grace period in int milliseconds */
	check_bad("--grace", "1000001", "muster: --grace '1000001': expected "
	    "seconds (a number from 0 to 1000000)\n");
}

static void
test_strings(void)
{
	struct lch_opts o;

	CHECK_INT(PARSE(&o, "--hostfile", "hf", "--log-dir", "logs",
	    "--output-dir", "out", "--config", "c.json", "--job-id",
	    "Job-1.a_b", "--master-addr", "10.0.0.7", "--master-port", "29500",
	    "--rendezvous", "tcp://rdv.example:5555", "--ssh", "ssh -F cfg",
	    "true"), 0);
	CHECK_STR(o.hostfile, "hf");
	CHECK_STR(o.log_dir, "logs");
	CHECK_STR(o.output_dir, "out");
	CHECK_STR(o.config, "c.json");
	CHECK_STR(o.job_id, "Job-1.a_b");
	CHECK_STR(o.master_addr, "10.0.0.7");
	CHECK_INT(o.master_port, 29500);
	CHECK_STR(o.rendezvous, "tcp://rdv.example:5555");
	CHECK_STR(o.ssh, "ssh -F cfg");
	lch_opts_release(&o);
	CHECK_INT(PARSE(&o, "--master-addr", "10.0.0.1", "--master-port", "1",
	    "--master-addr=node7", "--log-dir=a", "--log-dir", "b", "true"), 0);
	CHECK_STR(o.master_addr, "node7");
	CHECK_INT(o.master_port, 1);
	CHECK_STR(o.log_dir, "b");
	lch_opts_release(&o);
	CHECK_INT(PARSE(&o, "--master-port", "65535", "--rendezvous",
	    "tcp://127.0.0.1:7", "true"), 0);
	CHECK_INT(o.master_port, 65535);
	CHECK_STR(o.rendezvous, "tcp://127.0.0.1:7");
	lch_opts_release(&o);
}

static void
test_strings_bad(void)
{
	static const char *ports[] = { "0", "65536", "-1", "http", "", NULL };
	static const char *ids[] = { "", "a:b", "-x", "a b", "a/b", NULL };
	static const char *addrs[] = { "", "-h", "a b", "a;b", NULL };
	static const char *rdvs[] = { "", "rdv:5555", "tcp://", "tcp://rdv",
		"udp://rdv:1", "tcp://rdv:", "tcp://rdv:0", "tcp://rdv:65536",
		"tcp://:5555", "tcp://a b:1", "tcp://rdv:1x", NULL };
	static const char *v6[] = { "::1", "fd00::1", "fe80::1%eth0", NULL };
	static const char *v6rdv[] = { "tcp://[::1]:7", "tcp://fd00::1:7",
		"tcp://[fd00::1]:5555", NULL };
	char want[256];
	int i;

	for (i = 0; ports[i]; i++) {
		snprintf(want, sizeof(want), "muster: --master-port '%s': "
		    "expected a port from 1 to 65535\n", ports[i]);
		check_bad("--master-port", ports[i], want);
	}
	for (i = 0; ids[i]; i++) {
		snprintf(want, sizeof(want), "muster: --job-id '%s': expected "
		    "letters, digits, '-', '.' or '_'\n", ids[i]);
		check_bad("--job-id", ids[i], want);
	}
	for (i = 0; addrs[i]; i++) {
		snprintf(want, sizeof(want), "muster: --master-addr '%s': "
		    "expected a host name or address\n", addrs[i]);
		check_bad("--master-addr", addrs[i], want);
	}
	for (i = 0; rdvs[i]; i++) {
		snprintf(want, sizeof(want), "muster: --rendezvous '%s': "
		    "expected tcp://HOST:PORT\n", rdvs[i]);
		check_bad("--rendezvous", rdvs[i], want);
	}
	for (i = 0; v6[i]; i++) {
		snprintf(want, sizeof(want), "muster: --master-addr '%s': IPv6 "
		    "addresses are not supported yet (use a host name that "
		    "resolves to IPv4)\n", v6[i]);
		check_bad("--master-addr", v6[i], want);
	}
	for (i = 0; v6rdv[i]; i++) {
		snprintf(want, sizeof(want), "muster: --rendezvous '%s': IPv6 "
		    "addresses are not supported yet (use a host name that "
		    "resolves to IPv4)\n", v6rdv[i]);
		check_bad("--rendezvous", v6rdv[i], want);
	}
	check_bad("--ssh", "", "muster: --ssh '': expected a command, e.g. "
	    "'ssh -F FILE'\n");
	check_bad("--ssh", " \t ", "muster: --ssh ' \t ': expected a command, "
	    "e.g. 'ssh -F FILE'\n");
}

static void
test_xvars(void)
{
	static const char *bad[] = { "", "=v", "1A", "A-B", "A B=1", "\xc3\xa9", NULL };
	struct lch_opts o;
	char want[256];
	int i;

	CHECK_INT(PARSE(&o, "-x", "PATH", "-x", "A=1", "-x", "_b9=x=y", "-x",
	    "EMPTY=", "true"), 0);
	CHECK_INT(o.xvars.n, 4);
	CHECK_STR(o.xvars.v[0], "PATH");	/* in order, as given */
	CHECK_STR(o.xvars.v[1], "A=1");
	CHECK_STR(o.xvars.v[2], "_b9=x=y");
	CHECK_STR(o.xvars.v[3], "EMPTY=");
	lch_opts_release(&o);
	for (i = 0; bad[i]; i++) {
		snprintf(want, sizeof(want), "muster: -x '%s': expected VAR or "
		    "VAR=VALUE\n", bad[i]);
		check_bad("-x", bad[i], want);
	}
}

static void
test_hosts(void)
{
	struct lch_opts o;

	CHECK_INT(PARSE(&o, "-H", "a:2,b", "true"), 0);
	CHECK_STR(o.hosts_arg, "a:2,b");
	CHECK_INT(o.hosts.n, 2);
	CHECK_STR(o.hosts.h[0].name, "a");
	CHECK_INT(o.hosts.h[0].slots, 2);
	CHECK_INT(lch_hosts_slots(&o.hosts), 3);
	lch_opts_release(&o);
	CHECK_INT(PARSE(&o, "--host", "n[1-3]:4", "true"), 0);
	CHECK_INT(lch_hosts_slots(&o.hosts), 12);
	lch_opts_release(&o);
	CHECK_INT(PARSE(&o, "--hosts=c,c", "true"), 0);
	CHECK_INT(o.hosts.n, 1);
	CHECK_INT(o.hosts.h[0].slots, 2);
	lch_opts_release(&o);
	check_bad("-H", "a:0", "muster: -H: 'a:0': slots must be a positive "
	    "number\n");
	check_bad("--host", "-oProxyCommand=x",
	    "muster: --host: '-oProxyCommand=x': not a valid host name\n");
	check_bad("--hosts", "", "muster: --hosts: empty host list\n");
}

/* -n, --nodes, --procs-per-node and hosts after lch_opts_finish. */
static void
check_counts(const char *what, int rc, const struct lch_opts *o, long np,
	     long nodes, long ppn)
{
	CHECK_(rc == 0, "%s: failed: %s", what, lh_err);
	CHECK_(o->np == np && o->nodes == nodes && o->ppn == ppn,
	    "%s: np %ld nodes %ld ppn %ld, want %ld %ld %ld", what, o->np,
	    o->nodes, o->ppn, np, nodes, ppn);
}

static void
test_finish_counts(void)
{
	struct lch_opts o;

	check_counts("nothing", FINISH(&o, "true"), &o, 1, 1, 1);
	lch_opts_release(&o);
	check_counts("-n 4", FINISH(&o, "-n", "4", "true"), &o, 4, 1, 4);
	lch_opts_release(&o);
	check_counts("--nodes 2 --ppn 3", FINISH(&o, "--nodes", "2",
	    "--procs-per-node", "3", "true"), &o, 6, 2, 3);
	lch_opts_release(&o);
	check_counts("-n 6 --nodes 2", FINISH(&o, "-n", "6", "--nodes", "2",
	    "true"), &o, 6, 2, 3);
	lch_opts_release(&o);
	check_counts("--nodes 3", FINISH(&o, "--nodes", "3", "true"), &o,
	    3, 3, 1);
	lch_opts_release(&o);
	check_counts("--ppn 2", FINISH(&o, "--procs-per-node", "2", "true"),
	    &o, 2, 1, 2);
	lch_opts_release(&o);
	check_counts("-n 4 --nodes 2 --ppn 2", FINISH(&o, "-n", "4", "--nodes",
	    "2", "--procs-per-node", "2", "true"), &o, 4, 2, 2);
	lch_opts_release(&o);
}

static void
test_finish_hosts(void)
{
	struct lch_opts o;

	/* hosts alone: their slots (nodes and ppn stay for the plan) */
	check_counts("-H a:2,b:2", FINISH(&o, "-H", "a:2,b:2", "true"), &o,
	    4, 0, 0);
	lch_opts_release(&o);
	check_counts("-n 3 -H a:2,b:2", FINISH(&o, "-n", "3", "-H", "a:2,b:2",
	    "true"), &o, 3, 0, 0);
	lch_opts_release(&o);
	check_counts("-H a:4,b:4 --ppn 2", FINISH(&o, "-H", "a:4,b:4",
	    "--procs-per-node", "2", "true"), &o, 4, 2, 2);
	lch_opts_release(&o);
	check_counts("-n 6 --ppn 2 -H a,b,c,d", FINISH(&o, "-n", "6",
	    "--procs-per-node", "2", "-H", "a,b,c,d", "true"), &o, 6, 3, 2);
	lch_opts_release(&o);
	check_counts("--nodes 2 -H a,b,c", FINISH(&o, "--nodes", "2", "-H",
	    "a,b,c", "true"), &o, 2, 2, 1);
	lch_opts_release(&o);
}

static void
test_finish_hostfile(void)
{
	const char *path = lh_write_file("a slots=2\nb slots=3\n");
	char want[512];
	struct lch_opts o;

	check_counts("--hostfile", FINISH(&o, "--hostfile", path, "true"), &o,
	    5, 0, 0);
	CHECK_INT(o.hosts.n, 2);
	CHECK_STR(o.hosts.h[1].name, "b");
	lch_opts_release(&o);
	CHECK_INT(FINISH(&o, "--hostfile", path, "-H", "c", "true"), -1);
	snprintf(want, sizeof(want), "muster: --hostfile '%s': give hosts "
	    "with -H or --hostfile, not both\n", path);
	CHECK_STR(lh_err, want);
	lch_opts_release(&o);
	unlink(path);
	CHECK_INT(FINISH(&o, "--hostfile", path, "true"), -1);
	snprintf(want, sizeof(want), "muster: hostfile '%s': No such file or "
	    "directory\n", path);
	CHECK_STR(lh_err, want);
	lch_opts_release(&o);
}

/* FINISH with these words fails with message want. */
#define CHECK_FINISH_FAILS(want, ...) do { struct lch_opts o_; \
	CHECK_INT(FINISH(&o_, __VA_ARGS__), -1); \
	CHECK_STR(lh_err, want); \
	lch_opts_release(&o_); } while (0)

static void
test_finish_bad(void)
{
	CHECK_FINISH_FAILS("muster: no program given (usage: muster [options] "
	    "[--] PROGRAM [ARGS...])\n", "-n", "2");
	CHECK_FINISH_FAILS("muster: no program given (usage: muster [options] "
	    "[--] PROGRAM [ARGS...])\n", "-n", "2", "--");
	CHECK_FINISH_FAILS("muster: -n 5: not a multiple of --nodes 2\n",
	    "-n", "5", "--nodes", "2", "true");
	CHECK_FINISH_FAILS("muster: -n 4: --nodes 2 x --procs-per-node 3 "
	    "gives 6\n", "-n", "4", "--nodes", "2", "--procs-per-node", "3",
	    "true");
	CHECK_FINISH_FAILS("muster: -n 5: the hosts give only 4 slots\n",
	    "-n", "5", "-H", "a:2,b:2", "true");
	CHECK_FINISH_FAILS("muster: --nodes 3: only 2 hosts given\n",
	    "--nodes", "3", "-H", "a,b", "true");
	CHECK_FINISH_FAILS("muster: --nodes 3: only 2 hosts given\n",
	    "-n", "6", "--procs-per-node", "2", "-H", "a:4,b:4", "true");
}

static void
test_finish_ps(void)
{
	struct lch_opts o;

	CHECK_INT(PARSE(&o, "-n", "2", "true"), 0);
	CHECK(!lch_opts_ps_mode(&o));
	lch_opts_release(&o);
	check_counts("--ps 1", FINISH(&o, "--ps", "1", "true"), &o, 2, 0, 0);
	CHECK(lch_opts_ps_mode(&o));
	CHECK_INT(o.workers, 1);	/* a ps needs a worker */
	lch_opts_release(&o);
	check_counts("--chief --workers 2 --evaluator", FINISH(&o, "--chief",
	    "--workers", "2", "--evaluator", "true"), &o, 4, 0, 0);
	CHECK_INT(o.ps, 0);
	lch_opts_release(&o);
	check_counts("--chief", FINISH(&o, "--chief", "true"), &o, 2, 0, 0);
	CHECK_INT(o.workers, 1);
	lch_opts_release(&o);
	check_counts("--chief --workers 0", FINISH(&o, "--chief", "--workers",
	    "0", "true"), &o, 1, 0, 0);
	lch_opts_release(&o);
	check_counts("--evaluator --workers 1", FINISH(&o, "--evaluator",
	    "--workers", "1", "true"), &o, 2, 0, 0);
	CHECK(lch_opts_ps_mode(&o));
	lch_opts_release(&o);
	check_counts("ps -n 4", FINISH(&o, "-n", "4", "--chief", "--workers",
	    "2", "--ps", "1", "true"), &o, 4, 0, 0);
	lch_opts_release(&o);
	/* nodes and procs per node round up to hold every task */
	check_counts("ps --nodes 3", FINISH(&o, "--chief", "--workers", "4",
	    "--ps", "2", "--evaluator", "--nodes", "3", "true"), &o, 8, 3, 3);
	lch_opts_release(&o);
	check_counts("ps --ppn 3", FINISH(&o, "--workers", "4",
	    "--procs-per-node", "3", "true"), &o, 4, 2, 3);
	lch_opts_release(&o);
}

static void
test_finish_ps_bad(void)
{
	CHECK_FINISH_FAILS("muster: --workers 0: parameter-server mode needs "
	    "at least one worker or --chief\n", "--workers", "0", "true");
	CHECK_FINISH_FAILS("muster: --workers 0: parameter-server mode needs "
	    "at least one worker or --chief\n", "--ps", "2", "--workers", "0",
	    "true");
	CHECK_FINISH_FAILS("muster: -n 3: parameter-server mode runs 2 tasks "
	    "(chief 0 + workers 1 + ps 1 + evaluator 0)\n", "-n", "3", "--ps",
	    "1", "true");
	CHECK_FINISH_FAILS("muster: --mpi: not available in parameter-server "
	    "mode\n", "--mpi", "--ps", "1", "true");
	CHECK_FINISH_FAILS("muster: parameter-server mode: 2097152 tasks "
	    "(chief 0 + workers 1048576 + ps 1048576 + evaluator 0), more "
	    "than the 1048576 processes of a job\n", "--ps", "1048576",
	    "--workers", "1048576", "true");
	/* more nodes than hosts read past the host list */
	CHECK_FINISH_FAILS("muster: --nodes 4: only 2 hosts given\n", "--ps",
	    "1", "--workers", "3", "--nodes", "4", "-H", "a,b", "true");
	CHECK_FINISH_FAILS("muster: --nodes 4: only 2 hosts given\n", "--ps",
	    "1", "--workers", "3", "--procs-per-node", "1", "-H", "a,b", "true");
}

/* Products and sums of counts past LCH_NP_MAX are refused, not wrapped. */
static void
test_finish_overflow(void)
{
	struct lch_opts o;

	CHECK_FINISH_FAILS("muster: 65536 nodes x 65536 processes per node: "
	    "4294967296 processes, more than the 1048576 of a job\n",
	    "--nodes", "65536", "--procs-per-node", "65536", "true");
	CHECK_FINISH_FAILS("muster: 1048576 nodes x 1048576 processes per "
	    "node: 1099511627776 processes, more than the 1048576 of a job\n",
	    "--nodes", "1048576", "--procs-per-node", "1048576", "true");
	CHECK_FINISH_FAILS("muster: 2 nodes x 1048576 processes per node: "
	    "2097152 processes, more than the 1048576 of a job\n",
	    "--procs-per-node", "1048576", "-H", "a,b", "true");
	CHECK_FINISH_FAILS("muster: the hosts give 2097152 slots, more than "
	    "the 1048576 processes of a job (give -n)\n", "-H",
	    "a[1-2]:1048576", "true");
	CHECK_FINISH_FAILS("muster: -H: 'a': more than 1048576 slots\n", "-H",
	    "a:1048576,a", "true");
	CHECK_FINISH_FAILS("muster: -n 1048576: --nodes 65536 x "
	    "--procs-per-node 65536 gives 4294967296\n", "-n", "1048576",
	    "--nodes", "65536", "--procs-per-node", "65536", "true");
	/* at the maximum: accepted */
	CHECK_INT(FINISH(&o, "--nodes", "1024", "--procs-per-node", "1024",
	    "true"), 0);
	CHECK_INT(o.np, LCH_NP_MAX);
	lch_opts_release(&o);
	CHECK_INT(FINISH(&o, "-n", "8", "-H", "a[1-2]:1048576", "true"), 0);
	CHECK_INT(o.np, 8);
	lch_opts_release(&o);
}

/* FINISH with --config holding json and then these words. */
#define CONFIG(o, json, ...) \
	FINISH((o), "--config", lh_write_file(json), __VA_ARGS__)

static void
test_config(void)
{
	struct lch_opts o;

	CHECK_INT(CONFIG(&o, "{\"np\": 4, \"program\": [\"sh\", \"-c\", "
	    "\"echo\"], \"chief\": false, \"mpi\": true, \"timeout\": 1.5, "
	    "\"grace\": \"2\", \"job_id\": \"cfg\", \"master_port\": 29400, "
	    "\"no_tag\": true, \"verbose\": false, \"log_dir\": \"L\"}",
	    "-v"), 0);
	CHECK_STR(lh_err, "");
	CHECK_INT(o.np, 4);
	CHECK_INT(o.argc, 3);
	CHECK_STR(o.argv[0], "sh");
	CHECK_STR(o.argv[2], "echo");
	CHECK(o.argv[3] == NULL);
	CHECK_INT(o.chief, 0);
	CHECK_INT(o.mpi, 1);
	CHECK(o.timeout == 1.5);
	CHECK(o.grace == 2.0);
	CHECK_STR(o.job_id, "cfg");
	CHECK_INT(o.master_port, 29400);
	CHECK_INT(o.tag, 0);
	CHECK_INT(o.verbose, 1);	/* the command line's -v wins */
	CHECK_STR(o.log_dir, "L");
	lch_opts_release(&o);
	lh_remove_file();
}

static void
test_config_lists(void)
{
	struct lch_opts o;

	CHECK_INT(CONFIG(&o, "{\"env\": {\"A\": \"1\", \"B\": \"x y\"}, "
	    "\"hosts\": [\"a:2\", \"b\"]}", "true"), 0);
	CHECK_INT(o.xvars.n, 2);
	CHECK_STR(o.xvars.v[0], "A=1");
	CHECK_STR(o.xvars.v[1], "B=x y");
	CHECK_INT(o.hosts.n, 2);
	CHECK_INT(o.np, 3);
	lch_opts_release(&o);
	CHECK_INT(CONFIG(&o, "{\"env\": [\"HOME\", \"C=3\"], \"hosts\": "
	    "\"n[1-2]:2\"}", "true"), 0);
	CHECK_INT(o.xvars.n, 2);
	CHECK_STR(o.xvars.v[0], "HOME");
	CHECK_STR(o.xvars.v[1], "C=3");
	CHECK_INT(o.np, 4);
	lch_opts_release(&o);
	lh_remove_file();
}

/* The command line wins over the config, before or after --config. */
static void
test_config_precedence(void)
{
	static const char *json = "{\"np\": 4, \"env\": [\"A=1\"], "
	    "\"program\": [\"from-config\"], \"timeout\": 9, \"hosts\": "
	    "\"cfg\", \"ps\": 1}";
	const char *path = lh_write_file(json);
	struct lch_opts o;

	CHECK_INT(FINISH(&o, "-n", "2", "-x", "B=2", "--timeout", "1",
	    "--config", path, "-H", "cli:2", "--ps", "0", "--workers", "2",
	    "true"), 0);
	CHECK_INT(o.np, 2);
	CHECK_INT(o.xvars.n, 1);	/* -x replaces the config's env */
	CHECK_STR(o.xvars.v[0], "B=2");
	CHECK(o.timeout == 1.0);
	CHECK_STR(o.argv[0], "true");
	CHECK_INT(o.hosts.n, 1);
	CHECK_STR(o.hosts.h[0].name, "cli");
	CHECK_INT(o.ps, 0);
	lch_opts_release(&o);
	CHECK_INT(FINISH(&o, "--config", path, "-n", "3", "--ps", "0",
	    "--workers", "3"), 0);
	CHECK_INT(o.np, 3);
	CHECK_STR(o.argv[0], "from-config");
	CHECK_INT(o.xvars.n, 1);
	CHECK_STR(o.xvars.v[0], "A=1");
	CHECK(o.timeout == 9.0);
	CHECK_STR(o.hosts.h[0].name, "cfg");
	lch_opts_release(&o);
	lh_remove_file();
}

/*
 * A config json fails with "muster: config 'PATH': " + want (no program
 * on the command line, so that the config's own is read).
 */
static void
check_config_bad(const char *json, const char *want)
{
	const char *path = lh_write_file(json);
	char full[1024];
	struct lch_opts o;

	CHECK_(FINISH(&o, "--config", path, "-v") == -1, "config %s accepted",
	    json);
	snprintf(full, sizeof(full), "muster: config '%s': %s\n", path, want);
	CHECK_STR(lh_err, full);
	lch_opts_release(&o);
	lh_remove_file();
}

static void
test_config_bad(void)
{
	check_config_bad("{\"bogus\": 1}", "unknown key \"bogus\"");
	check_config_bad("{\"np\": 1,}", "invalid JSON at byte 9");
	check_config_bad("", "invalid JSON at byte 0");
	check_config_bad("[1]", "expected a JSON object");
	check_config_bad("{\"np\": 2.5}", "\"np\": expected a string or a "
	    "whole number");
	check_config_bad("{\"np\": 0}", "\"np\" '0': expected a whole number "
	    "from 1 to 1048576");
	check_config_bad("{\"np\": true}", "\"np\": expected a string or a "
	    "whole number");
	check_config_bad("{\"dry_run\": \"yes\"}", "\"dry_run\": expected "
	    "true or false");
	check_config_bad("{\"timeout\": -1}", "\"timeout\" '-1': expected "
	    "seconds (a number from 0 to 1000000000)");
	check_config_bad("{\"env\": true}", "\"env\": expected an object or a "
	    "list of strings");
	check_config_bad("{\"env\": {\"A\": 1}}", "\"env\": value of \"A\" "
	    "must be a string");
	check_config_bad("{\"env\": [\"1X\"]}", "\"env\" '1X': expected VAR "
	    "or VAR=VALUE");
	check_config_bad("{\"hosts\": [\"a\", 2]}", "\"hosts\": expected "
	    "strings");
	check_config_bad("{\"program\": []}", "\"program\" must be a "
	    "non-empty list of strings");
	check_config_bad("{\"program\": \"true\"}", "\"program\" must be a "
	    "non-empty list of strings");
	check_config_bad("{\"program\": [\"a\", 1]}", "\"program\" must be a "
	    "list of strings");
	/* whole or refused: nothing after the object, no key twice, no NUL */
	check_config_bad("{\"np\": 1} x", "unexpected text after the JSON "
	    "value at byte 10");
	check_config_bad("{\"np\": 1}{}", "unexpected text after the JSON "
	    "value at byte 9");
	check_config_bad("{\"np\": 1, \"np\": 2}", "duplicate key \"np\"");
	check_config_bad("{\"env\": {}, \"hosts\": \"a\", \"env\": {}}",
	    "duplicate key \"env\"");
	check_config_bad("{\"env\": {\"B\": \"1\", \"A\": \"2\", \"B\": \"3\"}}",
	    "\"env\": duplicate key \"B\"");
	check_config_bad("{\"env\": {\"A\": \"x\\u0000\"}}", "\\u0000 at byte "
	    "16 (a string cannot hold a NUL)");
	check_config_bad("{\"job_id\": \"a\\u0000b\"}", "\\u0000 at byte 13 "
	    "(a string cannot hold a NUL)");
	check_config_bad("{\"env\": {\"A\\u0000\": \"x\"}}", "\\u0000 at byte "
	    "11 (a string cannot hold a NUL)");
	check_config_bad("{\"env\": [\"A=1\", \"AB\", \"A\"]}", "\"env\": \"A\" "
	    "is set twice");
	check_config_bad("{\"env\": [\"B=1\", \"B=1\"]}", "\"env\": \"B\" is "
	    "set twice");
	check_config_bad("{\"env\": {\"A=B\": \"x\"}}", "\"env\": \"A=B\": "
	    "expected a variable name (letters, digits and '_', not first a "
	    "digit)");
	check_config_bad("{\"np\": 1e300}", "\"np\" '1.0000000000000001e+300': "
	    "expected a whole number from 1 to 1048576");
	check_config_bad("{\"job_id\": \"0123456789012345678901234567890123456"
	    "789012345678901234567890123\"}", "\"job_id\" '01234567890123456789"
	    "...': 64 characters, more than 63");
}

/* A config value of any length up to the file's bound is taken whole. */
static void
test_config_long_values(void)
{
	struct lch_opts o;
	size_t n = 100000, i;
	char *json = malloc(n + 4100), *want = malloc(n + 8);

	strcpy(json, "{\"env\": {\"BIG\": \"");
	strcpy(want, "BIG=");
	for (i = 0; i < n; i++)
		json[17 + i] = want[4 + i] = (char)('a' + i % 26);
	strcpy(json + 17 + n, "\"}, \"log_dir\": \"");
	want[4 + n] = '\0';
	i = strlen(json);
	memset(json + i, 'L', 4000);
	strcpy(json + i + 4000, "\"}");
	CHECK_INT(CONFIG(&o, json, "true"), 0);
	CHECK_INT(o.xvars.n, 1);
	if (o.xvars.n == 1)
		CHECK(strcmp(o.xvars.v[0], want) == 0);
	CHECK(o.log_dir && strlen(o.log_dir) == 4000);
	lch_opts_release(&o);
	free(json);
	free(want);
}

static void
test_config_file_bad(void)
{
	struct lch_opts o;
	char fifo[64], want[256];

	CHECK_INT(FINISH(&o, "--config", "/nonexistent/job.json", "true"), -1);
	CHECK_STR(lh_err, "muster: config '/nonexistent/job.json': No such "
	    "file or directory\n");
	lch_opts_release(&o);
	CHECK_INT(FINISH(&o, "--config", "/tmp", "true"), -1);
	CHECK_STR(lh_err, "muster: config '/tmp': expected a regular file "
	    "under 1048576 bytes\n");
	lch_opts_release(&o);
	/* a FIFO without a writer blocked open() forever */
	snprintf(fifo, sizeof(fifo), "/tmp/muster-fifo-%d", (int)getpid());
	CHECK(mkfifo(fifo, 0600) == 0);
	snprintf(want, sizeof(want), "muster: config '%s': expected a regular "
	    "file under 1048576 bytes\n", fifo);
	CHECK_INT(FINISH(&o, "--config", fifo, "true"), -1);
	CHECK_STR(lh_err, want);
	lch_opts_release(&o);
	unlink(fifo);
	CHECK_INT(FINISH(&o, "--config", "/dev/zero", "true"), -1);
	CHECK_STR(lh_err, "muster: config '/dev/zero': expected a regular "
	    "file under 1048576 bytes\n");
	lch_opts_release(&o);
}

static void
test_usage(void)
{
	static const char head[] = "usage: muster [options] [--] PROGRAM "
	    "[ARGS...]\n";
	char out[sizeof(lh_err)];

	lh_capture(1);
	lch_usage(0);
	lh_captured();
	snprintf(out, sizeof(out), "%s", lh_err);
	CHECK(strncmp(out, head, sizeof(head) - 1) == 0);
	CHECK(strstr(out, "  --procs-per-node P ") != NULL);
	lh_capture(2);
	lch_usage(1);
	lh_captured();
	CHECK_STR(lh_err, out);
}

TEST_LIST = {
	{ "defaults", test_defaults },
	{ "program_words", test_program_words },
	{ "counts", test_counts },
	{ "counts_bad", test_counts_bad },
	{ "flags", test_flags },
	{ "modes", test_modes },
	{ "parse_errors", test_parse_errors },
	{ "seconds", test_seconds },
	{ "seconds_bad", test_seconds_bad },
	{ "strings", test_strings },
	{ "strings_bad", test_strings_bad },
	{ "xvars", test_xvars },
	{ "hosts", test_hosts },
	{ "finish_counts", test_finish_counts },
	{ "finish_hosts", test_finish_hosts },
	{ "finish_hostfile", test_finish_hostfile },
	{ "finish_bad", test_finish_bad },
	{ "finish_ps", test_finish_ps },
	{ "finish_ps_bad", test_finish_ps_bad },
	{ "finish_overflow", test_finish_overflow },
	{ "config", test_config },
	{ "config_lists", test_config_lists },
	{ "config_precedence", test_config_precedence },
	{ "config_bad", test_config_bad },
	{ "config_file_bad", test_config_file_bad },
	{ "config_long_values", test_config_long_values },
	{ "usage", test_usage },
	{ NULL, NULL }
};
