/*
 * ring_rogue: a stray client of a libmuster leader's TCP ring port, for
 * t4500.  usage: ring_rogue DIR RANK MODE HOLD_S
 * Waits (up to 10 s) for RANK's hello in the file:// bootstrap DIR of
 * the job's first communicator, connects to the ring port it announces
 * and sends, by MODE:
 *   old      the handshake libmuster used before it was keyed: magic
 *            "MST1", the left neighbour's node (0) and the FNV-1a hash of
 *            $MUSTER_JOB_ID and the communicator's prefix, which anyone
 *            can compute;
 *   garbage  64 random bytes;
 *   silent   nothing.
 * Then holds the connection up to HOLD_S seconds and prints "closed"
 * when the leader closed it, "open" when it did not, and what it got.
 * Exit 0 when it could connect, 2 otherwise.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "clock.h"

/* The first bytes of init.c's hello: struct mst_peer, then the port. */
#define PEER_BYTES 32

static uint64_t
fnv1a(const char *a, const char *b)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *a; a++)
		h = (h ^ (unsigned char)*a) * 1099511628211ULL;
	for (; *b; b++)
		h = (h ^ (unsigned char)*b) * 1099511628211ULL;
	return h;
}

/* RANK's announced "host:port", waiting for the file to appear. */
static int
ring_addr(const char *dir, const char *rank, char *out, size_t n)
{
	char path[4200], buf[PEER_BYTES + 64];
	double end = mst_now() + 10;
	FILE *f;

	snprintf(path, sizeof(path), "%s/muster%%g0%%c0%%hello%%%s", dir, rank);
	while ((f = fopen(path, "re")) == NULL) {
		if (mst_now() > end)
			return -1;
		usleep(1000);
	}
	if (fread(buf, 1, sizeof(buf), f) != sizeof(buf)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[sizeof(buf) - 1] = '\0';
	snprintf(out, n, "%s", buf + PEER_BYTES);
	return out[0] ? 0 : -1;
}

static int
dial(const char *addr)
{
	struct sockaddr_in sa;
	char host[64];
	const char *colon = strrchr(addr, ':');
	int fd;

	if (colon == NULL || (size_t)(colon - addr) >= sizeof(host))
		return -1;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
	    (fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
main(int argc, char **argv)
{
	struct { uint32_t magic, node; uint64_t hash; } old;
	const char *job = getenv("MUSTER_JOB_ID");
	char addr[64], in[256];
	unsigned char junk[64];
	size_t got = 0;
	double end;
	int fd, closed = 0;

	if (argc != 5) {
		fprintf(stderr, "usage: ring_rogue DIR RANK old|garbage|silent "
		    "HOLD_S\n");
		return 2;
	}
	if (ring_addr(argv[1], argv[2], addr, sizeof(addr)) != 0 ||
	    (fd = dial(addr)) < 0) {
		printf("cannot reach rank %s's ring port\n", argv[2]);
		return 2;
	}
	if (strcmp(argv[3], "old") == 0) {
		old.magic = 0x3154534dU;
		old.node = 0;
		old.hash = fnv1a(job ? job : "", "muster/g0/c0");
		if (write(fd, &old, sizeof(old)) != (ssize_t)sizeof(old))
			return 2;
	} else if (strcmp(argv[3], "garbage") == 0) {
		FILE *r = fopen("/dev/urandom", "re");
		if (r == NULL || fread(junk, 1, sizeof(junk), r) != sizeof(junk))
			return 2;
		fclose(r);
		if (write(fd, junk, sizeof(junk)) != (ssize_t)sizeof(junk))
			return 2;
	}
	end = mst_now() + atof(argv[4]);
	while (!closed && mst_now() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;
		if (poll(&p, 1, 50) <= 0)
			continue;
		r = read(fd, in, sizeof(in));
		if (r <= 0)
			closed = 1;
		else
			got += (size_t)r;
	}
	printf("%s after %zu bytes from %s\n", closed ? "closed" : "open", got,
	    addr);
	close(fd);
	return 0;
}
