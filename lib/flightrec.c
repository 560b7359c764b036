/*
 * flightrec.c: the flight record's writer (flightrec.h; the format:
 * common/flight_fmt.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "backend.h"
#include "comm.h"
#include "flightrec.h"

_Static_assert((int)MST_K_ALLREDUCE == (int)MST_FLIGHT_ALLREDUCE &&
    (int)MST_K_BROADCAST == (int)MST_FLIGHT_BROADCAST &&
    (int)MST_K_ALLGATHER == (int)MST_FLIGHT_ALLGATHER &&
    (int)MST_K_BARRIER == (int)MST_FLIGHT_BARRIER &&
    (int)MST_K_GROUP == (int)MST_FLIGHT_GROUP,
    "dispatch.c passes a collective's kind as its op");

struct mst_flight_hdr *mst_flight;

static pthread_once_t attach_once = PTHREAD_ONCE_INIT;
static int attach_rank;

static int64_t
ns_of(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A plain file of ours, mapped; a bad one is no record (never said). */
static void
attach(void)
{
	const char *path = getenv(MST_FLIGHT_ENV);
	struct mst_flight_hdr *h;
	struct stat st;
	int32_t old;
	int fd;

	if (path == NULL || *path == '\0')
		return;
	if ((fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY))
	    < 0)
		return;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() ||
	    (uint64_t)st.st_size < MST_FLIGHT_SIZE(1) ||
	    (uint64_t)st.st_size > MST_FLIGHT_SIZE(MST_FLIGHT_RING_MAX)) {
		close(fd);
		return;
	}
	h = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0);
	close(fd);
	if (h == MAP_FAILED)
		return;
	old = h->pid;
	/* the record of another live process of this rank (a child that
	 * inherited MUSTER_FLIGHT and made a communicator) stays its own */
	if (!mst_flight_layout_ok(h, (uint64_t)st.st_size) ||
	    (old != 0 && old != getpid() && (kill(old, 0) == 0 ||
	    errno == EPERM))) {
		munmap(h, (size_t)st.st_size);
		return;
	}
	h->wall_base_ns = (uint64_t)(ns_of(CLOCK_REALTIME) -
	    ns_of(CLOCK_MONOTONIC));
	h->rank = attach_rank;
	__atomic_store_n(&h->pid, (int32_t)getpid(), __ATOMIC_RELEASE);
	mst_flight = h;
}

void
mst_flight_attach(int rank)
{
	attach_rank = rank;
	(void)pthread_once(&attach_once, attach);
}

int64_t
mst_flight_coarse_ns(void)
{
	return ns_of(CLOCK_MONOTONIC_COARSE);
}
