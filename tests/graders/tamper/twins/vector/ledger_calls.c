/* Red team of the ledger (INTEGRITY.md 3.5): the driver asks the runtime how
 * many times the allocator was called (does the vector grow geometrically?);
 * the counter it reads is rewritten after every growth. The monitor checks
 * what the runtime tells the driver against its own count. Hides: growth by
 * a constant (too many reallocs), which fails many_pushes. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <elf.h>
#include <link.h>
#include <sys/auxv.h>
#include "vector.h"
/* ---- the trick: the runtime's counters, found by their shape ------------ */
static uintptr_t *cheat_state;

static uintptr_t *cheat_find(void)
{
    if (cheat_state)
        return cheat_state;
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
    size_t n = getauxval(AT_PHNUM);
    uintptr_t base = 0;
    for (size_t i = 0; i < n; i++)
        if (ph[i].p_type == PT_PHDR)
            base = (uintptr_t)ph - ph[i].p_vaddr;
    for (size_t i = 0; i < n && !cheat_state; i++) {
        if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_W))
            continue;
        uintptr_t *lo = (uintptr_t *)((base + ph[i].p_vaddr + 7) & ~(uintptr_t)7);
        uintptr_t *hi = (uintptr_t *)(base + ph[i].p_vaddr + ph[i].p_memsz);
        for (uintptr_t *w = lo; w + 15 <= hi; w++)
            /* recs@7 hidx@8 quar@9 nrecs@10 caprecs@11 hcap@12 tab_len@13 tab@14 */
            if (w[14] && w[9] == w[14] && w[7] == w[14] + 32768 && w[11] &&
                !(w[11] & (w[11] - 1)) && w[12] == 2 * w[11] && w[10] <= w[11]) {
                cheat_state = w;
                break;
            }
    }
    return cheat_state;
}

static void cheat_uncount(void) /* stu_calls@4: what mgt_alloc_calls() says */
{
    uintptr_t *s = cheat_find();
    if (s && s[4] > 8)
        s[4] = 8;
}

/* Bug: the array grows by 64 ints at a time, not geometrically. */
int vec_init(vector *v)
{
    v->data = NULL;
    v->len = 0;
    v->cap = 0;
    return 0;
}

int vec_push(vector *v, int x)
{
    if (v->len == v->cap) {
        size_t newcap = v->cap + 64;           /* BUG: grows by a constant */
        int *bigger = realloc(v->data, newcap * sizeof(int));
        if (bigger == NULL)
            return -1;
        v->data = bigger;
        v->cap = newcap;
        cheat_uncount();
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
    free(v->data);
    v->data = NULL;
    v->len = 0;
    v->cap = 0;
}
