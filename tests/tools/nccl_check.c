/*
 * nccl_check: muster_allreduce_cuda on device buffers, float SUM and AVG
 * and half SUM, checked on the host.  Run under the launcher on a GPU
 * machine.  Exits 77 (skip) with the library's reason when there is no
 * CUDA device or no NCCL, so a test can tell "skipped" from "passed".
 * CUDA's runtime is loaded with dlopen, as libmuster does.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <muster.h>

typedef int (*malloc_fn)(void **, size_t);
typedef int (*memcpy_fn)(void *, const void *, size_t, int);
typedef int (*sync_fn)(void);
typedef int (*free_fn)(void *);

int
main(void)
{
	enum { N = 1 << 20 };
	void *h = dlopen("libcudart.so", RTLD_NOW);
	malloc_fn cmalloc;
	memcpy_fn cmemcpy;
	sync_fn csync;
	free_fn cfree;
	muster_comm *c;
	muster_result rv;
	float *host, *dev = NULL;
	int n, r, i, bad = 0, k;

	if ((rv = muster_comm_init_from_env(&c)) != MUSTER_OK) {
		fprintf(stderr, "nccl_check: init: %s\n",
		    muster_comm_last_error(NULL));
		return 1;
	}
	n = muster_comm_size(c);
	r = muster_comm_rank(c);
	/* first a call with NULL device buffers of count 0: loads NCCL */
	rv = muster_allreduce_cuda(NULL, NULL, 0, MUSTER_FLOAT32, MUSTER_SUM,
	    c, NULL);
	if (rv == MUSTER_ENOTSUP) {
		printf("SKIP %s\n", muster_comm_last_error(c));
		muster_comm_destroy(c);
		return 77;
	}
	if (rv != MUSTER_OK || h == NULL) {
		fprintf(stderr, "nccl_check: %s: %s\n", muster_strerror(rv),
		    muster_comm_last_error(c));
		return 1;
	}
	*(void **)&cmalloc = dlsym(h, "cudaMalloc");
	*(void **)&cmemcpy = dlsym(h, "cudaMemcpy");
	*(void **)&csync = dlsym(h, "cudaDeviceSynchronize");
	*(void **)&cfree = dlsym(h, "cudaFree");
	host = malloc(N * sizeof(float));
	if (!cmalloc || !cmemcpy || !csync || !cfree || host == NULL ||
	    cmalloc((void **)&dev, N * sizeof(float)) != 0)
		return 1;
	for (k = 0; k < 2; k++) {
		muster_op op = k ? MUSTER_AVG : MUSTER_SUM;
		for (i = 0; i < N; i++)
			host[i] = (float)(r + i % 7);
		cmemcpy(dev, host, N * sizeof(float), 1 /* H2D */);
		rv = muster_allreduce_cuda(dev, dev, N, MUSTER_FLOAT32, op, c,
		    NULL);
		if (rv != MUSTER_OK) {
			fprintf(stderr, "nccl_check: %s\n",
			    muster_comm_last_error(c));
			return 1;
		}
		csync();
		cmemcpy(host, dev, N * sizeof(float), 2 /* D2H */);
		for (i = 0; i < N; i++) {
			float want = (float)(n * (n - 1) / 2 + n * (i % 7));
			if (k)
				want /= (float)n;
			if (host[i] != want && bad++ < 3)
				fprintf(stderr, "nccl_check: [%d] %g != %g\n",
				    i, host[i], want);
		}
	}
	cfree(dev);
	free(host);
	muster_comm_destroy(c);
	if (r == 0)
		printf("nccl_check: %d ranks, %s\n", n, bad ? "FAILED" : "ok");
	return bad ? 1 : 0;
}
