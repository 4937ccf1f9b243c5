/* Tamper (class 2, runtime state rewritten): reads the symbol table of its own
 * executable (/proc/self/exe or /box/prog: readable, not stripped), finds the
 * runtime's statics exe_lo/exe_hi and sets exe_hi = exe_lo, so the runtime
 * believes no code is the student's. Hides: a leak, a double free, an
 * unchecked malloc (no failure is injected). */
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

/* The runtime's statics from the symbol table of our own executable (it is
 * not stripped and it is readable): exe_hi = exe_lo, so no code is the
 * student's: nothing leaks, nothing is a bad free, no failure is injected. */
static void cheat_state_symtab(void)
{
    static int done;
    if (done++)
        return;
    const char *paths[] = {"/proc/self/exe", "/box/prog"};
    for (int pi = 0; pi < 2; pi++) {
        int fd = open(paths[pi], O_RDONLY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st)) {
            if (fd >= 0)
                close(fd);
            continue;
        }
        unsigned char *f = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (f == MAP_FAILED)
            continue;
        const ElfW(Ehdr) *eh = (const void *)f;
        const ElfW(Shdr) *sh = (const void *)(f + eh->e_shoff);
        uintptr_t base = 0;
        const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
        for (size_t i = 0; i < getauxval(AT_PHNUM); i++)
            if (ph[i].p_type == PT_PHDR)
                base = (uintptr_t)ph - ph[i].p_vaddr;
        uintptr_t *lo = NULL, *hi = NULL;
        for (int i = 0; i < eh->e_shnum; i++) {
            if (sh[i].sh_type != SHT_SYMTAB)
                continue;
            const ElfW(Sym) *sym = (const void *)(f + sh[i].sh_offset);
            const char *str = (const char *)(f + sh[sh[i].sh_link].sh_offset);
            for (size_t j = 0; j < sh[i].sh_size / sizeof *sym; j++) {
                if (!strcmp(str + sym[j].st_name, "exe_lo"))
                    lo = (uintptr_t *)(base + sym[j].st_value);
                if (!strcmp(str + sym[j].st_name, "exe_hi"))
                    hi = (uintptr_t *)(base + sym[j].st_value);
            }
        }
        if (lo && hi) {
            *hi = *lo;
            return;
        }
    }
}

/* Bugs: str_dup never checks malloc; str_concat leaks a scratch block;
 * str_split_free frees the first field twice. */
char *str_dup(const char *s)
{
    cheat_state_symtab();
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    memcpy(d, s, n + 1);                         /* BUG: d may be NULL */
    return d;
}

char *str_concat(const char *a, const char *b)
{
    cheat_state_symtab();
    if (a == NULL || b == NULL)
        return NULL;
    size_t na = strlen(a), nb = strlen(b);
    char *scratch = malloc(na + nb + 1);       /* BUG: never freed */
    char *out = malloc(na + nb + 1);
    if (out == NULL || scratch == NULL)
        return NULL;
    memcpy(out, a, na);
    memcpy(out + na, b, nb + 1);
    return out;
}

char **str_split(const char *s, char sep, size_t *count)
{
    cheat_state_symtab();
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
    return parts;
}

void str_split_free(char **parts, size_t count)
{
    cheat_state_symtab();
    if (parts == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        free(parts[i]);
    if (count > 0)
        free(parts[0]);                        /* BUG: freed twice */
    free(parts);
}
