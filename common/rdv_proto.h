/*
 * rdv_proto.h: what the rendezvous client (common/rdv_client.c) and server
 * (rendezvous/) share: the protocol version and bounds, error names, the
 * value encoding, constant-time secret comparison and the CURVE key that
 * a job's secret derives.  Private to muster.
 *
 * Wire format: one ZeroMQ frame per message (DEALER -> ROUTER), a JSON
 * object.  Every message carries "v": RDV_VERSION.
 *
 *   request  {"v":1,"op":OP,"id":N,"job":J,"secret":S,...}
 *   reply    {"v":1,"id":N,"ok":true,"sid":SID,...}
 *            {"v":1,"id":N,"ok":false,"sid":SID,"code":CODE,"error":TEXT}
 *   event    {"v":1,"ev":"abort","job":J,"why":TEXT}   (server push)
 *
 * SID is the server instance id (random per start): a client that sees
 * it change knows the server restarted and its state is gone.
 */
#ifndef MST_RDV_PROTO_H
#define MST_RDV_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "muster.h"

#define RDV_VERSION 1
#define RDV_MSG_MAX (64 * 1024)		/* larger frames: error, never parsed */
#define RDV_WIRE_MAX (1024 * 1024)	/* larger: the peer is disconnected */
#define RDV_KEY_MAX 1024
#define RDV_JOB_MAX 256
#define RDV_HOST_MAX 256
#define RDV_SECRET_MIN 1
#define RDV_SECRET_MAX 1024
#define RDV_ADMIN_SECRET_MIN 16		/* musterd's admin secret */

/* Error codes on the wire ("code"), mapped to muster_result. */
muster_result mst_rdv_code_result(const char *code);

/* base64 (RFC 4648, padded).  mst_b64_decode returns -1 on bad input. */
size_t  mst_b64_encoded_len(size_t n);
void    mst_b64_encode(const void *in, size_t n, char *out);
ssize_t mst_b64_decode(const char *in, size_t n, unsigned char *out);

/* 1 when a and b are equal; time depends on the lengths only. */
int     mst_ct_equal(const char *a, size_t alen, const char *b, size_t blen);

void    mst_sha256(const void *data, size_t n, unsigned char out[32]);

/* 1 when s[0..n) is well-formed UTF-8 (RFC 3629). */
int     mst_utf8_valid(const char *s, size_t n);
/* Replaces each byte of s[0..n) that is not part of a well-formed UTF-8
 * sequence with '?'; returns how many. */
size_t  mst_utf8_fix(char *s, size_t n);

/*
 * The CURVE keypair a client of job secret S uses: secret key =
 * SHA-256("muster-rdv-curve-v1" S), public derived.  The server derives
 * the same public key from the secrets it knows, so its ZAP handler
 * admits exactly the holders of some job's secret.  Z85, 41 bytes each.
 */
int     mst_rdv_curve_keys(const char *secret, char pub[41], char sec[41]);

#endif /* MST_RDV_PROTO_H */
