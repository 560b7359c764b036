/* ring.c: a plain C MPI program, run unchanged under muster --mpi. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
	int rank, size, token = -1;
	const char *env;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	env = getenv("RANK");
	if (env == NULL || atoi(env) != rank) {
		fprintf(stderr, "RANK=%s but MPI rank %d\n", env ? env : "-", rank);
		MPI_Abort(MPI_COMM_WORLD, 3);
	}
	if (rank == 0) {
		token = 0;
		MPI_Send(&token, 1, MPI_INT, 1 % size, 0, MPI_COMM_WORLD);
		MPI_Recv(&token, 1, MPI_INT, size - 1, 0, MPI_COMM_WORLD,
		    MPI_STATUS_IGNORE);
		printf("ring ok size=%d token=%d\n", size, token);
	} else {
		MPI_Recv(&token, 1, MPI_INT, rank - 1, 0, MPI_COMM_WORLD,
		    MPI_STATUS_IGNORE);
		token += rank;
		MPI_Send(&token, 1, MPI_INT, (rank + 1) % size, 0,
		    MPI_COMM_WORLD);
	}
	MPI_Finalize();
	return 0;
}
