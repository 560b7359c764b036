/*
 * rdv_proto.c: helpers shared by the rendezvous client and server.
 */
#include <string.h>
#include <time.h>
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

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
mst_b64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

void
mst_b64_encode(const void *in, size_t n, char *out)
{
	const unsigned char *p = in;
	size_t i;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*out++ = b64_alphabet[v >> 18 & 63];
		*out++ = b64_alphabet[v >> 12 & 63];
		*out++ = b64_alphabet[v >> 6 & 63];
		*out++ = b64_alphabet[v & 63];
	}
	if (i < n) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		*out++ = b64_alphabet[v >> 18 & 63];
		*out++ = b64_alphabet[v >> 12 & 63];
		*out++ = i + 1 < n ? b64_alphabet[v >> 6 & 63] : '=';
		*out++ = '=';
	}
	*out = '\0';
}

static int
b64_value(int c)
{
	const char *p;

	if (c == '\0' || (p = strchr(b64_alphabet, c)) == NULL)
		return -1;
	return (int)(p - b64_alphabet);
}

ssize_t
mst_b64_decode(const char *in, size_t n, unsigned char *out)
{
	size_t i, o = 0;
	int k, pad, d[4];

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i += 4) {
		pad = 0;
		for (k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == n && k >= 2) {
				d[k] = 0;
				pad++;
			} else if (pad || (d[k] = b64_value(in[i + k])) < 0) {
				return -1;
			}
		}
		out[o++] = (unsigned char)(d[0] << 2 | d[1] >> 4);
		if (pad < 2)
			out[o++] = (unsigned char)((d[1] & 15) << 4 | d[2] >> 2);
		if (pad < 1)
			out[o++] = (unsigned char)((d[2] & 3) << 6 | d[3]);
	}
	return (ssize_t)o;
}

int
mst_ct_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i, n = alen > blen ? alen : blen;
	unsigned char diff = alen != blen;

	for (i = 0; i < n; i++)
		diff |= (unsigned char)((i < alen ? a[i] : 0) ^
		    (i < blen ? b[i] : 0));
	return diff == 0;
}

/* SHA-256 (FIPS 180-4), small and slow: it hashes a few secrets. */
static const uint32_t sha_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) ((x) >> (n) | (x) << (32 - (n)))

static void
sha256_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], s[8], t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (i = 16; i < 64; i++)
		w[i] = w[i - 16] + (ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^
		    w[i - 15] >> 3) + w[i - 7] + (ROR(w[i - 2], 17) ^
		    ROR(w[i - 2], 19) ^ w[i - 2] >> 10);
	memcpy(s, h, sizeof(s));
	for (i = 0; i < 64; i++) {
		t1 = s[7] + (ROR(s[4], 6) ^ ROR(s[4], 11) ^ ROR(s[4], 25)) +
		    ((s[4] & s[5]) ^ (~s[4] & s[6])) + sha_k[i] + w[i];
		t2 = (ROR(s[0], 2) ^ ROR(s[0], 13) ^ ROR(s[0], 22)) +
		    ((s[0] & s[1]) ^ (s[0] & s[2]) ^ (s[1] & s[2]));
		memmove(s + 1, s, 7 * sizeof(s[0]));
		s[4] += t1;
		s[0] = t1 + t2;
	}
	for (i = 0; i < 8; i++)
		h[i] += s[i];
}

void
mst_sha256(const void *data, size_t n, unsigned char out[32])
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	const unsigned char *p = data;
	unsigned char tail[128];
	uint64_t bits = (uint64_t)n * 8;
	size_t i, rest, tn;

	for (i = 0; i + 64 <= n; i += 64)
		sha256_block(h, p + i);
	rest = n - i;
	memset(tail, 0, sizeof(tail));
	memcpy(tail, p + i, rest);
	tail[rest] = 0x80;
	tn = rest < 56 ? 64 : 128;
	for (i = 0; i < 8; i++)
		tail[tn - 1 - i] = (unsigned char)(bits >> (8 * i));
	sha256_block(h, tail);
	if (tn == 128)
		sha256_block(h, tail + 64);
	for (i = 0; i < 32; i++)
		out[i] = (unsigned char)(h[i / 4] >> (24 - 8 * (i % 4)));
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

uint64_t
mst_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
