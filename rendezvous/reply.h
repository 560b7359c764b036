/*
 * reply.h: every message the rendezvous server sends.
 *
 * The server's flow is one-way: ops.c takes a message in, core.c changes
 * the state, and this module writes what goes out.  Nothing here looks at
 * a request or changes the state; it reads the state it is given, builds
 * one JSON object and hands it to core->send (see rdv.h).
 *
 * The shapes are rdv_proto.h's.  A reply answers one request and echoes
 * its "id"; "sid" names this server instance (a restarted server has
 * another):
 *
 *	{"v":1,"id":N,"ok":true,"sid":SID, ...fields}
 *	{"v":1,"id":N,"ok":false,"sid":SID,"code":CODE,"error":TEXT}
 *
 * CODE is a name mst_rdv_code_result() maps ("EINVAL", "EAUTH", ...).
 * An event goes to a member without a request:
 *
 *	{"v":1,"ev":"abort","job":J,"why":TEXT}
 *
 * Out of memory drops the message; the peer times out waiting for it.
 */
#ifndef RDV_REPLY_H
#define RDV_REPLY_H

#include <cJSON.h>
#include "rdv.h"

/* A success reply to request req_id, to add fields to; NULL without memory. */
cJSON *rdv_reply_new(struct rdv_core *c, double req_id);
/* Sends o (NULL: nothing) to a peer and frees it. */
void  rdv_send_json(struct rdv_core *c, const struct rdv_id *to, cJSON *o);
/* A success reply without fields. */
void  rdv_reply_ok(struct rdv_core *c, const struct rdv_id *to,
		   double req_id);
/* An error reply: code, and the text fmt makes (at most 511 bytes). */
void  rdv_reply_err(struct rdv_core *c, const struct rdv_id *to,
		    double req_id, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* A key's value, to a get. */
void  rdv_reply_val(struct rdv_core *c, const struct rdv_id *to,
		    double req_id, const char *val);
/*
 * The join reply w waited for: m's rank, size, local rank and size, node
 * rank, number of nodes, generation, heartbeat period and its member id
 * "mid", "SLOT.TOKEN" in hex (rdv_member_find reads it back).
 */
void  rdv_reply_join(struct rdv_core *c, struct rdv_member *m,
		     struct rdv_waiter *w);
/* The hosts of a complete group, by rank ("hosts": [...]). */
void  rdv_reply_peers(struct rdv_core *c, const struct rdv_id *to,
		      double req_id, const struct rdv_group *g);
/* Counters, and every job with its groups and members (no secrets). */
void  rdv_reply_status(struct rdv_core *c, const struct rdv_id *to,
		       double req_id);
/* The "abort" event, to member m of aborted job j. */
void  rdv_event_abort(struct rdv_core *c, const struct rdv_member *m,
		      const struct rdv_job *j);

#endif /* RDV_REPLY_H */
