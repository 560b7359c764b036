/*
 * strerror.c: the library's fixed strings: the sentence for each result
 * code and the version.
 */
#include <string.h>
#include "muster.h"

const char *
muster_strerror(muster_result r)
{
	static const char *const names[] = {
		"success", "out of memory", "invalid argument",
		"timed out", "peer failed", "aborted", "not supported",
		"not started by muster (environment missing)",
		"rendezvous failed", "call out of order", "NCCL/CUDA error",
	};

	if ((unsigned)r & MUSTER_ESYSERR)
		return strerror((int)((unsigned)r & ~(unsigned)MUSTER_ESYSERR));
	if ((unsigned)r < sizeof(names) / sizeof(names[0]))
		return names[r];
	return "unknown error";
}

const char *
muster_version(void)
{
	return MUSTER_VERSION_STRING;
}
