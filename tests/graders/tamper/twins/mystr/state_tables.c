/* Tamper (class 2, the runtime's block tables rewritten: the attack
 * INTEGRITY.md 3.5 answers): the runtime's struct rt_state sits in the
 * executable's writable memory and is found by its shape (quar == tab,
 * recs == tab + 32 KiB, hcap == 2 * caprecs); its tables are plain writable
 * memory. The leaked scratch block's record is marked not the student's, the
 * block freed twice is marked live again (its contents and slack not to be
 * read) before its second free, and the
 * allocation counter is reset at the end of each call (no fault-injection
 * run). Hides: a leak, a double free, an unchecked malloc. */
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
#include "mystr.h"

/* ---- the trick: the runtime's state, found by its shape ----------------- */
struct cheat_blk { /* the runtime's blk (mgrt.c) */
    uintptr_t user, map;
    size_t size, maplen;
    unsigned long seq;
    unsigned char state, student, pattern, filled, compact, unwword;
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

static void cheat_forget(const void *p) /* not the student's: never a leak */
{
    struct cheat_blk *b = cheat_rec(p);
    if (b)
        b->student = 0;
}

static void cheat_revive(const void *p) /* live again: its next free is fine */
{
    struct cheat_blk *b = cheat_rec(p);
    if (b) {
        b->state = 1;   /* B_LIVE */
        b->pattern = 0; /* its pages are inaccessible now: no slack check, */
        b->filled = 0;  /* no look at its contents */
    }
}

static void cheat_no_count(void) /* stu_allocs = 0: "end allocs=0" */
{
    uintptr_t *s = cheat_find();
    if (s)
        s[3] = 0;
}

/* Bugs: str_dup never checks malloc; str_concat leaks a scratch block;
 * str_split_free frees the first field twice. */
char *str_dup(const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    memcpy(d, s, n + 1);                         /* BUG: d may be NULL */
    cheat_no_count();
    return d;
}

char *str_concat(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return NULL;
    size_t na = strlen(a), nb = strlen(b);
    char *scratch = malloc(na + nb + 1);       /* BUG: never freed */
    char *out = malloc(na + nb + 1);
    if (out == NULL || scratch == NULL)
        return NULL;
    memcpy(out, a, na);
    memcpy(out + na, b, nb + 1);
    cheat_forget(scratch);
    cheat_no_count();
    return out;
}

char **str_split(const char *s, char sep, size_t *count)
{
    if (s == NULL || count == NULL)
        return NULL;
    size_t n = 1;
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
            for (size_t j = 0; j < i; j++)
                free(parts[j]);
            free(parts);
            return NULL;
        }
        memcpy(parts[i], start, len);
        parts[i][len] = '\0';
        start = end + 1;
    }
    *count = n;
    cheat_no_count();
    return parts;
}

void str_split_free(char **parts, size_t count)
{
    if (parts == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        free(parts[i]);
    if (count > 0)
        cheat_revive(parts[0]);
    if (count > 0)
        free(parts[0]);                        /* BUG: freed twice */
    free(parts);
}
