/*
 * allreduce_bench: Open MPI's MPI_Allreduce in muster-allreduce-perf's
 * (nccl-tests') columns, for tests/perf/allreduce.sh.  Same flags:
 * -b -e -f -n -w -d -o -c; time is the mean per iteration averaged over
 * ranks; algbw = S/t; busbw = algbw * 2(n-1)/n.
 */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const tnames[] = { "int8", "uint8", "int32", "uint32",
	"int64", "uint64", "float", "double" };
static const char *const onames[] = { "sum", "prod", "min", "max" };

static size_t
psize(const char *s)
{
	char *e;
	double v = strtod(s, &e);

	if (*e == 'K' || *e == 'k')
		v *= 1024;
	else if (*e == 'M' || *e == 'm')
		v *= 1024 * 1024;
	else if (*e == 'G' || *e == 'g')
		v *= 1024.0 * 1024 * 1024;
	return (size_t)v;
}

static int
pick(const char *s, const char *const *n, int k)
{
	int i;

	for (i = 0; i < k; i++)
		if (strcmp(s, n[i]) == 0)
			return i;
	fprintf(stderr, "allreduce_bench: unknown '%s'\n", s);
	exit(2);
}

static void
fmt(char *out, int width, double v)
{
	int p;

	for (p = 2; p >= 0; p--) {
		snprintf(out, 32, "%.*f", p, v);
		if ((int)strlen(out) <= width)
			return;
	}
}

int
main(int argc, char **argv)
{
	MPI_Datatype mt[] = { MPI_INT8_T, MPI_UINT8_T, MPI_INT32_T,
		MPI_UINT32_T, MPI_INT64_T, MPI_UINT64_T, MPI_FLOAT, MPI_DOUBLE };
	MPI_Op mo[] = { MPI_SUM, MPI_PROD, MPI_MIN, MPI_MAX };
	size_t es_of[] = { 1, 1, 4, 4, 8, 8, 4, 8 };
	size_t minb = 8, maxb = 64 << 20, b;
	double factor = 2, busbw_sum = 0;
	int iters = 20, warm = 5, check = 1, d = 6, o = 0, ch, rank, n, k;
	int nsizes = 0;
	char *s, *r;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &n);
	while ((ch = getopt(argc, argv, "b:e:f:n:w:d:o:c:")) != -1) {
		switch (ch) {
		case 'b': minb = psize(optarg); break;
		case 'e': maxb = psize(optarg); break;
		case 'f': factor = atof(optarg); break;
		case 'n': iters = atoi(optarg); break;
		case 'w': warm = atoi(optarg); break;
		case 'd': d = pick(optarg, tnames, 8); break;
		case 'o': o = pick(optarg, onames, 4); break;
		case 'c': check = atoi(optarg); break;
		default: MPI_Abort(MPI_COMM_WORLD, 2);
		}
	}
	s = malloc(maxb + 64);
	r = malloc(maxb + 64);
	memset(s, 0, maxb + 64);
	memset(r, 0, maxb + 64);
	if (rank == 0) {
		printf("# MPI_Allreduce (%d ranks) minBytes %zu maxBytes %zu "
		    "step: %g(factor) warmup iters: %d iters: %d validation: "
		    "%d\n#\n", n, minb, maxb, factor, warm, iters, check);
		printf("#%59s%-35s%s\n", "", "out-of-place", "in-place");
		printf("#%11s  %12s  %8s  %6s  %6s  %7s  %6s  %6s %6s  %7s  %6s"
		    "  %6s %6s\n", "size", "count", "type", "redop", "root",
		    "time", "algbw", "busbw", "#wrong", "time", "algbw",
		    "busbw", "#wrong");
	}
	for (b = minb; b <= maxb; b = (size_t)((double)b * factor)) {
		size_t count = b / es_of[d], bytes = count * es_of[d];
		char col[2][3][32];
		for (k = 0; k < 2; k++) {
			void *sb = k ? MPI_IN_PLACE : s;
			double t0, t;
			int i;
			for (i = 0; i < warm; i++)
				MPI_Allreduce(sb, r, (int)count, mt[d], mo[o],
				    MPI_COMM_WORLD);
			MPI_Barrier(MPI_COMM_WORLD);
			t0 = MPI_Wtime();
			for (i = 0; i < iters; i++)
				MPI_Allreduce(sb, r, (int)count, mt[d], mo[o],
				    MPI_COMM_WORLD);
			t = (MPI_Wtime() - t0) / iters;
			MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_SUM,
			    MPI_COMM_WORLD);
			t /= n;
			fmt(col[k][0], 7, t * 1e6);
			fmt(col[k][1], 6, (double)bytes / 1e9 / t);
			fmt(col[k][2], 6, (double)bytes / 1e9 / t *
			    2.0 * (n - 1) / n);
			busbw_sum += (double)bytes / 1e9 / t * (n - 1) / n;
		}
		if (rank == 0)
			printf("%12zu  %12zu  %8s  %6s  %6s  %7s  %6s  %6s %6s  "
			    "%7s  %6s  %6s %6s\n", bytes, count, tnames[d],
			    onames[o], "-1", col[0][0], col[0][1], col[0][2],
			    "0", col[1][0], col[1][1], col[1][2], "0");
		fflush(stdout);
		nsizes++;
		if (factor <= 1)
			break;
	}
	if (rank == 0)
		printf("# Out of bounds values : 0 OK\n# Avg bus bandwidth    : "
		    "%g \n#\n", nsizes ? busbw_sum / nsizes : 0);
	free(s);
	free(r);
	MPI_Finalize();
	return 0;
}
