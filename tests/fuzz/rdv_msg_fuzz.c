/*
 * rdv_msg_fuzz: libFuzzer on the rendezvous message parser and dispatcher
 * (rendezvous/ops.c, core.c), with no sockets.  The input is split at
 * '\n' into messages from up to four peers (the first byte of each line
 * picks the peer), so sequences of operations (create, join, set, get,
 * barrier, leave, abort, end) are reached, plus deadlines via tick.
 *
 *   make fuzz && build/fuzz/rdv_msg_fuzz -max_total_time=60 tests/fuzz/corpus
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "rdv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t sent;

static void
sink(void *arg, const struct rdv_id *to, const char *buf, size_t len)
{
	(void)arg;
	(void)to;
	/* every reply must be valid UTF-8 JSON with the version */
	if (len == 0 || buf[0] != '{' || strstr(buf, "\"v\":1") == NULL ||
	    !mst_utf8_valid(buf, len))
		abort();
	sent += len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rdv_core c;
	struct rdv_id ids[4];
	const uint8_t *p = data, *end = data + size, *nl;
	int i;

	if (rdv_core_init(&c, 50, 0, sink, NULL) != 0)
		return 0;
	for (i = 0; i < 4; i++) {
		ids[i].len = 5;
		memset(ids[i].b, 0, sizeof(ids[i].b));
		ids[i].b[4] = (uint8_t)i;
	}
	c.fake_clock = 1;
	/* small limits, so that inputs reach them; create open to all */
	c.lim.max_jobs = 4;
	c.lim.max_size = 64;
	c.lim.max_members = 128;
	c.lim.max_keys = 16;
	c.lim.max_kv_bytes = 4096;
	c.lim.max_waiters = 8;
	c.lim.job_expire_ms = 500;
	rdv_core_set_create(&c, (size & 1) ? RDV_CREATE_OPEN : RDV_CREATE_ADMIN,
	    "admin-secret-for-fuzz");
	rdv_job_create(&c, "j", "s");
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (nl > p)
			rdv_core_handle(&c, &ids[p[0] & 3], NULL,
			    (p[0] & 4) ? "rq:U7zc!DJ(5gi/8J0FmXPg7Y8s0[o$5PTj{W?8G" :
			    NULL,
			    (const char *)p + 1, (size_t)(nl - p - 1));
		c.now += 20;	/* let deadlines and heartbeats pass */
		c.next_deadline = 0;
		rdv_core_tick(&c);
		p = nl + 1;
	}
	rdv_core_release(&c);
	return 0;
}
