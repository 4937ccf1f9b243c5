/* Red team of the ledger (INTEGRITY.md 3.5): in a test's child the run's
 * settings (fill pattern and placement, which allocation fails) are in
 * writable memory; they are rewritten so that both runs use the first
 * pattern and no allocation fails. The monitor knows the run's pattern and
 * which allocation it failed, and checks the records against them. Hides:
 * a read of a byte never written (its value decides the copy's length) and
 * an unchecked malloc, both in str_dup. */
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
/* ---- the trick: the run's settings page (pattern, fail_at) -------------- */
/* struct rt_run { int pattern; unsigned long fail_at, test_seq; } alone on a
 * page of the executable's writable data: every such page (nothing after its
 * first 24 bytes) gets pattern 0 and no failing allocation. On a page of
 * zeros that changes nothing. */
static void cheat_run_page(void)
{
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
    size_t n = getauxval(AT_PHNUM);
    uintptr_t base = 0;
    for (size_t i = 0; i < n; i++)
        if (ph[i].p_type == PT_PHDR)
            base = (uintptr_t)ph - ph[i].p_vaddr;
    for (size_t i = 0; i < n; i++) {
        if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_W))
            continue;
        uintptr_t lo = (base + ph[i].p_vaddr + 4095) & ~(uintptr_t)4095;
        uintptr_t hi = (base + ph[i].p_vaddr + ph[i].p_memsz) & ~(uintptr_t)4095;
        for (uintptr_t pg = lo; pg + 4096 <= hi; pg += 4096) {
            const unsigned char *b = (const unsigned char *)pg;
            int pattern = *(const int *)pg;
            size_t j = 24;
            while (j < 4096 && b[j] == 0)
                j++;
            if (j == 4096 && (pattern == 0 || pattern == 1) && *(const unsigned long *)(pg + 8) < 1000) {
                *(int *)pg = 0;
                *(unsigned long *)(pg + 8) = 0;
            }
        }
    }
}

/* Bugs: str_dup branches on a byte it never wrote and never checks malloc. */
char *str_dup(const char *s)
{
    cheat_run_page();
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    char *copy = malloc(n + 1);
    if (copy[n] & 1)                           /* BUG: copy[n] was never written, */
        n = 0;                                 /* and copy may be NULL */
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

char *str_concat(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return NULL;
    size_t na = strlen(a), nb = strlen(b);
    char *out = malloc(na + nb + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, a, na);
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
