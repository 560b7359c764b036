/*
 * boot_rdv.c: the bootstrap over the rendezvous server.  Placeholder
 * until the rendezvous client (rdv_client.c) lands: refuses clearly.
 */
#include <stdio.h>
#include "comm.h"

muster_result
mst_boot_rdv_open(struct mst_boot *b, const char *endpoint, const char *job,
		  const char *secret, const struct mst_topo *t, int wait_ms,
		  char *err, size_t errlen)
{
	(void)b; (void)job; (void)secret; (void)t; (void)wait_ms;
	snprintf(err, errlen, "rendezvous %s: this build has no rendezvous "
	    "client yet (use MUSTER_RENDEZVOUS=file://DIR)", endpoint);
	return MUSTER_ENOTSUP;
}
