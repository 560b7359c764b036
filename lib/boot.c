/*
 * boot.c: how the ranks of a communicator find each other.  A bootstrap
 * is a small key-value store with waiting reads: the rendezvous server's
 * (boot_rdv.c) in a muster-launched job, or a directory (file://DIR, like
 * torch's FileStore) for tests and single-host runs without a server.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include "boot.h"
#include "comm.h"

struct file_boot {
	char dir[4096];
};

/* A key as a file name: '/' becomes '%'. */
static int
file_path(struct file_boot *f, const char *key, char *out, size_t n)
{
	int len = snprintf(out, n, "%s/", f->dir);
	size_t i;

	if (len < 0 || (size_t)len + strlen(key) + 1 > n)
		return -1;
	for (i = 0; key[i]; i++)
		out[len + (int)i] = key[i] == '/' ? '%' : key[i];
	out[len + (int)i] = '\0';
	return 0;
}

static muster_result
file_set(void *ctx, const char *key, const void *val, size_t len, char *err,
	 size_t errlen)
{
	struct file_boot *f = ctx;
	char path[4200], tmp[4300];
	FILE *fp;

	if (file_path(f, key, path, sizeof(path)) != 0) {
		snprintf(err, errlen, "bootstrap key too long: %s", key);
		return MUSTER_EINVAL;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
	if ((fp = fopen(tmp, "we")) == NULL ||
	    fwrite(val, 1, len, fp) != len || fclose(fp) != 0 ||
	    rename(tmp, path) != 0) {
		int e = errno;
		snprintf(err, errlen, "bootstrap directory %s: %s", f->dir,
		    strerror(e));
		return MUSTER_ERENDEZVOUS;
	}
	return MUSTER_OK;
}

static int
file_read(const char *path, void **val, size_t *len)
{
	struct stat st;
	char *buf;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) != 0 || (buf = malloc((size_t)st.st_size + 1))
	    == NULL) {
		close(fd);
		return -1;
	}
	if (read(fd, buf, (size_t)st.st_size) != (ssize_t)st.st_size) {
		free(buf);
		close(fd);
		return -1;
	}
	close(fd);
	buf[st.st_size] = '\0';
	*val = buf;
	*len = (size_t)st.st_size;
	return 0;
}

static muster_result
file_get(void *ctx, const char *key, void **val, size_t *len, int wait_ms,
	 char *err, size_t errlen)
{
	struct file_boot *f = ctx;
	double deadline = mst_now() + wait_ms / 1000.0;
	char path[4200];
	useconds_t nap = 100;

	if (file_path(f, key, path, sizeof(path)) != 0) {
		snprintf(err, errlen, "bootstrap key too long: %s", key);
		return MUSTER_EINVAL;
	}
	while (file_read(path, val, len) != 0) {
		if (mst_now() > deadline) {
			snprintf(err, errlen, "timed out waiting for bootstrap "
			    "key %s in %s", key, f->dir);
			return MUSTER_ETIMEDOUT;
		}
		usleep(nap);
		if (nap < 5000)
			nap *= 2;
	}
	return MUSTER_OK;
}

static muster_result
file_barrier(void *ctx, const char *name, int size, int rank, int wait_ms,
	     char *err, size_t errlen)
{
	char key[256];
	muster_result rv;
	void *v;
	size_t l;
	int i;

	snprintf(key, sizeof(key), "%s/%d", name, rank);
	if ((rv = file_set(ctx, key, "", 0, err, errlen)) != MUSTER_OK)
		return rv;
	for (i = 0; i < size; i++) {
		snprintf(key, sizeof(key), "%s/%d", name, i);
		if ((rv = file_get(ctx, key, &v, &l, wait_ms, err, errlen))
		    != MUSTER_OK)
			return rv;
		free(v);
	}
	return MUSTER_OK;
}

static void
file_close(void *ctx)
{
	free(ctx);
}

static const struct mst_boot_ops file_ops = {
	file_set, file_get, file_barrier, NULL, file_close
};

muster_result
mst_boot_file_open(struct mst_boot *b, const char *dir, char *err,
		   size_t errlen)
{
	struct file_boot *f;
	struct stat st;

	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "MUSTER_RENDEZVOUS: file://%s is not a "
		    "directory", dir);
		return MUSTER_ENOENV;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return MUSTER_ENOMEM;
	snprintf(f->dir, sizeof(f->dir), "%s", dir);
	b->ops = &file_ops;
	b->ctx = f;
	return MUSTER_OK;
}

/* Reads exactly MST_SECRET bytes of path into out; -1 otherwise. */
static int
secret_read(const char *path, unsigned char *out)
{
	struct stat st;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	r = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size == MST_SECRET ? read(fd, out, MST_SECRET) : -1;
	close(fd);
	return r == MST_SECRET ? 0 : -1;
}

/*
 * Written to a file of this process, then linked into place: link()
 * fails when another rank was first, and a reader never sees a part.
 */
static int
secret_make(const char *path, const char *tmp)
{
	unsigned char b[MST_SECRET];
	int fd, rv = -1;

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return -1;
	if (write(fd, b, sizeof(b)) == (ssize_t)sizeof(b) && fsync(fd) == 0)
		rv = link(tmp, path) == 0 || errno == EEXIST ? 0 : -1;
	close(fd);
	unlink(tmp);
	explicit_bzero(b, sizeof(b));
	return rv;
}

muster_result
mst_boot_file_secret(struct mst_boot *b, const char *dir, char *err,
		     size_t errlen)
{
	char path[4200], tmp[4300];

	snprintf(path, sizeof(path), "%s/.muster-secret", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
	if (secret_read(path, b->secret) == 0 ||
	    (secret_make(path, tmp) == 0 && secret_read(path, b->secret) == 0))
		return MUSTER_OK;
	snprintf(err, errlen, "bootstrap directory %s: cannot read or make the "
	    "job's secret .muster-secret (%d random bytes, mode 0600): %s", dir,
	    MST_SECRET, strerror(errno));
	return MUSTER_ERENDEZVOUS;
}

muster_result
mst_boot_allgather(muster_comm *c, const char *key, const void *mine,
		   void *all, size_t len, double deadline)
{
	char k[256];
	muster_result rv;
	int i;

	snprintf(k, sizeof(k), "%s/%s/%d", c->prefix, key, c->t.rank);
	if ((rv = c->boot.ops->kv_set(c->boot.ctx, k, mine, len, c->err,
	    sizeof(c->err))) != MUSTER_OK)
		return rv;
	for (i = 0; i < c->t.size; i++) {
		int ms = (int)((deadline - mst_now()) * 1000);
		void *v = NULL;
		size_t l = 0;

		snprintf(k, sizeof(k), "%s/%s/%d", c->prefix, key, i);
		if ((rv = c->boot.ops->kv_get(c->boot.ctx, k, &v, &l,
		    ms > 0 ? ms : 1, c->err, sizeof(c->err))) != MUSTER_OK) {
			if (rv == MUSTER_ETIMEDOUT)
				mst_fail(c, rv, "timed out waiting for rank %d "
				    "to join the communicator", i);
			return rv;
		}
		if (l != len) {
			free(v);
			return mst_fail(c, MUSTER_EPEER, "rank %d published "
			    "%zu bytes for %s, expected %zu", i, l, key, len);
		}
		memcpy((char *)all + (size_t)i * len, v, len);
		free(v);
	}
	return MUSTER_OK;
}
