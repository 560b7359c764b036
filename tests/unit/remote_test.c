/*
 * remote_test.c: launcher/remote.h: the ssh argv, and what its remote
 * command does in a POSIX shell (run here with sh -c, as sshd runs it):
 * the same path when it is there, else muster from PATH, else exit 127
 * with a message naming the host; --remote-muster only that.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "remote.h"
#include "test.h"
#include "util.h"

static char dir[64];	/* each case's own folder (setup) */

/* A fake muster at path: prints its name tag and its arguments. */
static void
fake_muster(const char *path, const char *tag)
{
	char *body = lch_xasprintf("#!/bin/sh\necho %s \"$@\"\n", tag);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);

	CHECK(fd >= 0);
	CHECK(write(fd, body, strlen(body)) == (ssize_t)strlen(body));
	close(fd);
	free(body);
}

/*
 * Runs the remote command as sshd would ($SHELL -c CMD) with PATH path:
 * its exit code; its stdout and stderr into out and err.
 */
static int
run_remote(const char *shell, const char *cmd, const char *path, char *out,
	   char *err, size_t size)
{
	int po[2], pe[2], st;
	ssize_t n;
	pid_t pid;

	CHECK(pipe(po) == 0 && pipe(pe) == 0);
	if ((pid = fork()) == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		setenv("PATH", path, 1);
		execl(shell, shell, "-c", cmd, (char *)NULL);
		_exit(126);
	}
	close(po[1]);
	close(pe[1]);
	n = read(po[0], out, size - 1);
	out[n > 0 ? n : 0] = '\0';
	n = read(pe[0], err, size - 1);
	err[n > 0 ? n : 0] = '\0';
	close(po[0]);
	close(pe[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The last word of host's argv from r, with args --agent. */
static char *
remote_cmd(const struct lch_remote *r, const char *host)
{
	static const char *const args[] = { "--agent", "a b", NULL };
	struct lch_strv v = LCH_STRV_INIT;
	char *cmd;

	CHECK_INT(lch_remote_argv(r, host, args, &v), 0);
	CHECK(v.n >= 3);
	cmd = lch_xstrdup(v.v[v.n - 1]);
	lch_strv_clear(&v);
	return cmd;
}

/* --ssh words, "--", the host, one remote command word. */
static void
test_argv(void)
{
	static const char *const args[] = { "--agent", NULL };
	struct lch_remote r = { "ssh  -F\tcfg ", NULL, "/opt/m/muster" };
	struct lch_strv v = LCH_STRV_INIT;

	CHECK_INT(lch_remote_argv(&r, "h2", args, &v), 0);
	CHECK_INT(v.n, 6);
	CHECK_STR(v.v[0], "ssh");
	CHECK_STR(v.v[1], "-F");
	CHECK_STR(v.v[2], "cfg");
	CHECK_STR(v.v[3], "--");
	CHECK_STR(v.v[4], "h2");
	CHECK(strncmp(v.v[5], "exec '/bin/sh' '-c' '", 21) == 0);
	CHECK(strstr(v.v[5], "'muster' '/opt/m/muster' 'h2' '--agent'") !=
	    NULL);
	lch_strv_clear(&v);
	/* $MUSTER_SSH when --ssh is not given, else the default */
	r.ssh = NULL;
	setenv("MUSTER_SSH", "myssh -p 2222", 1);
	CHECK_INT(lch_remote_argv(&r, "h2", args, &v), 0);
	CHECK_INT(v.n, 6);
	CHECK_STR(v.v[0], "myssh");
	CHECK_STR(v.v[2], "2222");
	lch_strv_clear(&v);
	unsetenv("MUSTER_SSH");
	CHECK_INT(lch_remote_argv(&r, "h2", args, &v), 0);
	CHECK_INT(v.n, 7);
	CHECK_STR(v.v[0], "ssh");
	CHECK_STR(v.v[1], "-T");
	CHECK_STR(v.v[2], "-o");
	CHECK_STR(v.v[3], "BatchMode=yes");
	lch_strv_clear(&v);
	/* a host that ssh would take for an option */
	CHECK_INT(lch_remote_argv(&r, "-oProxyCommand=x", args, &v), -1);
	CHECK_INT(v.n, 0);
	CHECK_INT(lch_remote_argv(&r, "", args, &v), -1);
	r.remote_muster = "";
	CHECK_INT(lch_remote_argv(&r, "h2", args, &v), -1);
}

static void
setup(void)
{
	char *bin;

	snprintf(dir, sizeof(dir), "/tmp/remote_test.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	bin = lch_xasprintf("%s/bin", dir);
	if (mkdir(bin, 0755) != 0) {
		perror(bin);
		exit(1);
	}
	free(bin);
}

static void
cleanup(void)
{
	char *rm = lch_xasprintf("rm -rf '%s'", dir);

	CHECK_INT(system(rm), 0);
	free(rm);
}

/* The same path, then PATH's muster, then 127 naming the host. */
static void
test_same_path_else_path(const char *shell)
{
	char out[512], err[512], *self, *bin, *inpath, *cmd, *want;
	struct lch_remote r = { NULL, NULL, NULL };

	setup();
	self = lch_xasprintf("%s/it's a $dir!/muster", dir);
	bin = lch_xasprintf("%s/bin", dir);
	inpath = lch_xasprintf("%s/bin/muster", dir);
	r.self = self;
	cmd = remote_cmd(&r, "h2");

	/* neither */
	CHECK_INT(run_remote(shell, cmd, bin, out, err, sizeof(err)), 127);
	CHECK_STR(out, "");
	want = lch_xasprintf("muster: h2: no muster at %s nor in PATH (use "
	    "--remote-muster PATH)\n", self);
	CHECK_STR(err, want);
	free(want);
	/* only in PATH */
	fake_muster(inpath, "path");
	CHECK_INT(run_remote(shell, cmd, bin, out, err, sizeof(err)), 0);
	CHECK_STR(out, "path --agent a b\n");
	CHECK_STR(err, "");
	/* at the same path: that one wins */
	{
		char *d = lch_xasprintf("%s/it's a $dir!", dir);

		CHECK(mkdir(d, 0755) == 0);
		free(d);
	}
	fake_muster(self, "same");
	CHECK_INT(run_remote(shell, cmd, bin, out, err, sizeof(err)), 0);
	CHECK_STR(out, "same --agent a b\n");
	/* there but not executable: PATH's */
	chmod(self, 0644);
	CHECK_INT(run_remote(shell, cmd, bin, out, err, sizeof(err)), 0);
	CHECK_STR(out, "path --agent a b\n");
	free(cmd);
	free(self);
	free(bin);
	free(inpath);
	cleanup();
}

static void
test_same_path_sh(void)
{
	test_same_path_else_path("/bin/sh");
}

static void
test_same_path_bash(void)
{
	if (access("/bin/bash", X_OK) != 0)
		SKIP("no /bin/bash");
	test_same_path_else_path("/bin/bash");
}

/* --remote-muster: that one only, a path or a name from PATH. */
static void
test_remote_muster(void)
{
	char out[512], err[512], *given, *bin, *cmd, *p;
	struct lch_remote r = { NULL, NULL, NULL };

	setup();
	given = lch_xasprintf("%s/given", dir);
	bin = lch_xasprintf("%s/bin", dir);
	r.self = given;		/* not looked at */
	r.remote_muster = "/nonexistent/muster";
	fake_muster(given, "self");
	p = lch_xasprintf("%s/muster", bin);
	fake_muster(p, "path");
	free(p);
	cmd = remote_cmd(&r, "h3");
	CHECK_INT(run_remote("/bin/sh", cmd, bin, out, err, sizeof(err)), 127);
	CHECK_STR(out, "");
	CHECK_STR(err, "muster: h3: no muster at /nonexistent/muster "
	    "(--remote-muster)\n");
	free(cmd);
	r.remote_muster = given;
	cmd = remote_cmd(&r, "h3");
	CHECK_INT(run_remote("/bin/sh", cmd, bin, out, err, sizeof(err)), 0);
	CHECK_STR(out, "self --agent a b\n");
	free(cmd);
	/* a bare name: looked up in the remote PATH */
	r.remote_muster = "muster";
	cmd = remote_cmd(&r, "h3");
	CHECK_INT(run_remote("/bin/sh", cmd, bin, out, err, sizeof(err)), 0);
	CHECK_STR(out, "path --agent a b\n");
	free(cmd);
	r.remote_muster = "muster-nosuch";
	cmd = remote_cmd(&r, "h3");
	CHECK_INT(run_remote("/bin/sh", cmd, bin, out, err, sizeof(err)), 127);
	CHECK_STR(err, "muster: h3: no muster at muster-nosuch "
	    "(--remote-muster)\n");
	free(cmd);
	free(given);
	free(bin);
	cleanup();
}

TEST_LIST = {
	{ "argv", test_argv },
	{ "same_path_sh", test_same_path_sh },
	{ "same_path_bash", test_same_path_bash },
	{ "remote_muster", test_remote_muster },
	{ NULL, NULL }
};

