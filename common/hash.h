/*
 * hash.h: FNV-1a over C strings, for hash tables and host identity
 * (host-name index, KV buckets, libmuster's host hash).  Not for anything
 * an attacker must not forge.  Shared (common/).
 */
#ifndef MST_HASH_H
#define MST_HASH_H

#include <stdint.h>

#define MST_FNV_BASIS 14695981039346656037ULL

/* Folds s into h; start from MST_FNV_BASIS, chain for several strings. */
static inline uint64_t
mst_fnv1a(uint64_t h, const char *s)
{
	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

#endif /* MST_HASH_H */
