/* api_cache: bounded direct-mapped blob cache with striped locks. */
#include "api_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STRIPES 64

typedef struct {
    uint64_t key;
    char *val;          /* NULL: empty */
    size_t len;
    int64_t expires;    /* monotonic ms; 0: never */
} slot;

struct api_cache {
    size_t nslots;
    size_t max_bytes;
    int64_t ttl_ms;
    atomic_size_t bytes;
    slot *slots;
    pthread_mutex_t locks[STRIPES];
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Spreads sequential ids and hash prefixes alike over the slots. */
static size_t slot_of(const api_cache *c, uint64_t key)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return (size_t)(key % c->nslots);
}

api_cache *api_cache_new(size_t slots, size_t max_bytes, int64_t ttl_ms)
{
    api_cache *c = calloc(1, sizeof *c);
    if (!c || !(c->slots = calloc(slots, sizeof *c->slots))) {
        free(c);
        return NULL;
    }
    c->nslots = slots;
    c->max_bytes = max_bytes;
    c->ttl_ms = ttl_ms;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&c->locks[i], NULL);
    return c;
}

void api_cache_free(api_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nslots; i++)
        free(c->slots[i].val);
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&c->locks[i]);
    free(c->slots);
    free(c);
}

int api_cache_get(api_cache *c, uint64_t key, char **val, size_t *len)
{
    size_t i = slot_of(c, key);
    int rc = -1;
    pthread_mutex_t *m = &c->locks[i % STRIPES];
    pthread_mutex_lock(m);
    slot *s = &c->slots[i];
    if (s->val && s->key == key && (!s->expires || s->expires > mono_ms())) {
        char *copy = malloc(s->len + 1);
        if (copy) {
            memcpy(copy, s->val, s->len);
            copy[s->len] = '\0';
            *val = copy;
            *len = s->len;
            rc = 0;
        }
    }
    pthread_mutex_unlock(m);
    return rc;
}

void api_cache_put(api_cache *c, uint64_t key, const void *val, size_t len)
{
    if (len > c->max_bytes / 16)
        return;
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return;
    memcpy(copy, val, len);
    size_t i = slot_of(c, key);
    pthread_mutex_t *m = &c->locks[i % STRIPES];
    pthread_mutex_lock(m);
    slot *s = &c->slots[i];
    size_t old = s->val ? s->len : 0;
    if (atomic_load(&c->bytes) - old + len > c->max_bytes) {
        pthread_mutex_unlock(m);
        free(copy);
        return;
    }
    free(s->val);
    atomic_fetch_sub(&c->bytes, old);
    atomic_fetch_add(&c->bytes, len);
    *s = (slot){key, copy, len, c->ttl_ms ? mono_ms() + c->ttl_ms : 0};
    pthread_mutex_unlock(m);
}
