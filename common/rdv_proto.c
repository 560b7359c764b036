/*
 * rdv_proto.c: helpers shared by the rendezvous client and server.
 */
#include <string.h>
#include <sodium.h>
#include <zmq.h>
#include "rdv_proto.h"

static const struct {
	const char *code;
	muster_result r;
} rdv_codes[] = {
	{ "EINVAL", MUSTER_EINVAL },
	{ "ETIMEDOUT", MUSTER_ETIMEDOUT },
	{ "EABORTED", MUSTER_EABORTED },
	{ "ENOMEM", MUSTER_ENOMEM },
	{ "ESTATE", MUSTER_ESTATE },
	{ "EAUTH", MUSTER_ERENDEZVOUS },
	{ "EPROTO", MUSTER_ERENDEZVOUS },
	{ "ETOOBIG", MUSTER_EINVAL },
	{ "ELIMIT", MUSTER_EINVAL },
	{ "EEXIST", MUSTER_ESTATE },
};

muster_result
mst_rdv_code_result(const char *code)
{
	size_t i;

	for (i = 0; code && i < sizeof(rdv_codes) / sizeof(rdv_codes[0]); i++)
		if (strcmp(code, rdv_codes[i].code) == 0)
			return rdv_codes[i].r;
	return MUSTER_ERENDEZVOUS;
}

/*
 * base64, constant-time comparison and SHA-256 come from libsodium, the
 * library libzmq already uses for CURVE.
 */
size_t
mst_b64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

void
mst_b64_encode(const void *in, size_t n, char *out)
{
	sodium_bin2base64(out, mst_b64_encoded_len(n) + 1, in, n,
	    sodium_base64_VARIANT_ORIGINAL);
}

/* Strict: padding required, no blanks, no bits left over. */
ssize_t
mst_b64_decode(const char *in, size_t n, unsigned char *out)
{
	size_t len = 0;

	if (n % 4 != 0 || sodium_base642bin(out, n / 4 * 3, in, n, NULL, &len,
	    NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return (ssize_t)len;
}

int
mst_ct_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && sodium_memcmp(a, b, alen) == 0;
}

void
mst_sha256(const void *data, size_t n, unsigned char out[32])
{
	crypto_hash_sha256(out, data, n);
}

int
mst_rdv_curve_keys(const char *secret, char pub[41], char sec[41])
{
	static const char tag[] = "muster-rdv-curve-v1";
	unsigned char buf[sizeof(tag) + RDV_SECRET_MAX], key[32];
	size_t n = strlen(secret);

	if (n > RDV_SECRET_MAX)
		return -1;
	memcpy(buf, tag, sizeof(tag) - 1);
	memcpy(buf + sizeof(tag) - 1, secret, n);
	mst_sha256(buf, sizeof(tag) - 1 + n, key);
	if (zmq_z85_encode(sec, key, 32) == NULL)
		return -1;
	return zmq_curve_public(pub, sec) == 0 ? 0 : -1;
}

/* Length of the UTF-8 sequence at s (n bytes left), or 0 when invalid:
 * no overlong forms, no surrogates, nothing past U+10FFFF (RFC 3629). */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

int
mst_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		if ((k = utf8_seq(p + i, n - i)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

size_t
mst_utf8_fix(char *s, size_t n)
{
	unsigned char *p = (unsigned char *)s;
	size_t i = 0, k, fixed = 0;

	while (i < n) {
		if ((k = utf8_seq(p + i, n - i)) == 0) {
			p[i] = '?';
			fixed++;
			k = 1;
		}
		i += k;
	}
	return fixed;
}
