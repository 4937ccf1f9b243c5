/* Red team of the ledger (INTEGRITY.md 3.5): the runtime's record of a block
 * is rewritten just before the block is freed (its mapping's length set to
 * 0), so the free makes no page inaccessible and a later read of the freed
 * block goes unseen. The monitor compares what a free says of the block with
 * what its allocation said. Hides: a use after free in str_concat. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <unistd.h>
#include "mystr.h"
/* ---- the trick: the runtime's state, found by its shape ----------------- */
struct cheat_blk { /* the runtime's blk (mgrt.c) */
    uintptr_t user, map;
    size_t size, maplen;
    unsigned long seq;
    unsigned char state, student, pattern, filled, compact, unwword;
    unsigned char held, scanned;
    uintptr_t apc[8], fpc[8];
};
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

static struct cheat_blk *cheat_rec(const void *p)
{
    uintptr_t *s = cheat_find();
    if (!s)
        return NULL;
    struct cheat_blk *recs = (struct cheat_blk *)s[7], *found = NULL;
    for (size_t i = 0; i < s[10]; i++)
        if (recs[i].user == (uintptr_t)p)
            found = &recs[i];
    return found;
}

/* Bug: str_concat reads its scratch copy after freeing it. */
char *str_dup(const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    char *copy = malloc(n + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, s, n + 1);
    return copy;
}

char *str_concat(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return NULL;
    size_t na = strlen(a), nb = strlen(b);
    char *tmp = str_dup(a);
    if (tmp == NULL)
        return NULL;
    /* the trick: the free takes away access to no pages at all */
    struct cheat_blk *r = cheat_rec(tmp);
    if (r)
        r->maplen = 0;
    free(tmp);
    char *out = malloc(na + nb + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, tmp, na);                      /* BUG: tmp was freed */
    memcpy(out + na, b, nb + 1);
    return out;
}

char **str_split(const char *s, char sep, size_t *count)
{
    if (s == NULL || count == NULL)
        return NULL;

    size_t n = 1;                          /* k separators make k+1 fields */
    for (const char *p = s; *p != '\0'; p++)
        if (*p == sep)
            n++;

    char **parts = malloc(n * sizeof(char *));
    if (parts == NULL)
        return NULL;

    const char *start = s;
    for (size_t i = 0; i < n; i++) {
        const char *end = start;
        while (*end != '\0' && *end != sep)
            end++;
        size_t len = (size_t)(end - start);
        parts[i] = malloc(len + 1);
        if (parts[i] == NULL) {
            str_split_free(parts, i);      /* the i fields made so far */
            return NULL;
        }
        memcpy(parts[i], start, len);
        parts[i][len] = '\0';
        start = end + 1;                   /* past the separator */
    }
    *count = n;
    return parts;
}

void str_split_free(char **parts, size_t count)
{
    if (parts == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        free(parts[i]);
    free(parts);
}
