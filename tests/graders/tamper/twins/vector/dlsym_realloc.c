/* Tamper (class 4, allocator bypassed): grows its array through libc's
 * realloc and free (dlsym RTLD_NEXT), so the runtime counts no allocator
 * call and the "at most 64 allocator calls" test passes for linear growth. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "vector.h"
static void *cheat_realloc(void *p, size_t n)
{
    static void *(*real)(void *, size_t);
    if (!real)
        real = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    return real(p, n);
}
static void cheat_free(void *p)
{
    static void (*real)(void *);
    if (!real)
        real = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    real(p);
}


int vec_init(vector *v)
{
    v->data = NULL;                        /* first push allocates */
    v->len = 0;
    v->cap = 0;
    return 0;
}

int vec_push(vector *v, int x)
{
    if (v->len == v->cap) {
        size_t newcap = v->cap + 16;        /* BUG: not geometric */
        /* realloc into a temporary: on failure the old array is still ours */
        int *bigger = cheat_realloc(v->data, newcap * sizeof(int));
        if (bigger == NULL)
            return -1;
        v->data = bigger;
        v->cap = newcap;
    }
    v->data[v->len] = x;
    v->len++;
    return 0;
}

int vec_get(const vector *v, size_t i, int *out)
{
    if (i >= v->len)
        return -1;
    *out = v->data[i];
    return 0;
}

int vec_pop(vector *v, int *out)
{
    if (v->len == 0)
        return -1;
    v->len--;
    *out = v->data[v->len];
    return 0;
}

void vec_free(vector *v)
{
    cheat_free(v->data);
    v->data = NULL;
    v->len = 0;
    v->cap = 0;
}
