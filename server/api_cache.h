/* api_cache: a small, bounded, thread-safe cache of byte blobs by 64-bit
 * key, for what the API serves again and again: graded submissions (their
 * JSON never changes once the result is stored) and token lookups (for a
 * few seconds). Direct-mapped: a new entry replaces whatever held its slot.
 * Striped locks keep request threads from queueing on one mutex. */
#ifndef MEMGRADE_API_CACHE_H
#define MEMGRADE_API_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct api_cache api_cache;

/* slots entries at most, holding at most max_bytes of values in total;
 * entries live ttl_ms (0: until replaced). NULL on out of memory. */
api_cache *api_cache_new(size_t slots, size_t max_bytes, int64_t ttl_ms);
void api_cache_free(api_cache *c);

/* A copy of the value under key into *val (malloc'd, caller frees; one
 * extra NUL byte after it) and its length. 0 on a hit, -1 on a miss. */
int api_cache_get(api_cache *c, uint64_t key, char **val, size_t *len);
/* Stores a copy of val under key; silently skipped when over budget or out
 * of memory (a cache may always forget). */
void api_cache_put(api_cache *c, uint64_t key, const void *val, size_t len);

#endif
