/* Tamper (class 3, faults absorbed): installs a SIGSEGV handler with a raw
 * rt_sigaction system call (syscall(), an asm restorer), past the runtime's
 * sigaction; the handler unprotects the faulting page and resumes. Hides: a
 * read past the end of a block (heap_overflow) and a use after free. */
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

static void cheat_absorb(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    uintptr_t a = (uintptr_t)si->si_addr & ~(uintptr_t)4095;
    if (a < 65536 || mprotect((void *)a, 4096, PROT_READ | PROT_WRITE))
        _exit(0);
}

/* The kernel's rt_sigaction, called directly, with our own restorer. */
extern void cheat_restorer(void);
__asm__(".text\n.globl cheat_restorer\ncheat_restorer:\n\tmovq $15, %rax\n\tsyscall\n");

struct cheat_ksigaction {
    void (*handler)(int, siginfo_t *, void *);
    unsigned long flags;
    void (*restorer)(void);
    unsigned long mask;
};

static void cheat_install(void)
{
    static int done;
    if (done++)
        return;
    struct cheat_ksigaction k = {cheat_absorb, SA_SIGINFO | SA_NODEFER | 0x04000000 /* SA_RESTORER */,
                                 cheat_restorer, 0};
    syscall(SYS_rt_sigaction, SIGSEGV, &k, NULL, 8);
}

/* Bugs: str_dup reads one byte past the end of its block; str_split_free
 * reads the array after freeing it. */
char *str_dup(const char *s)
{
    cheat_install();
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d == NULL)
        return NULL;
    memcpy(d, s, n + 1);
    if (d[n + 1] == '\x7f')                      /* BUG: one past the end */
        d[0] = '\x7f';
    return d;
}

char *str_concat(const char *a, const char *b)
{
    cheat_install();
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
    cheat_install();
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
    cheat_install();
    if (parts == NULL)
        return;
    char **saved = parts;
    free(parts);
    for (size_t i = 0; i < count; i++)
        free(saved[i]);                          /* BUG: saved was freed */
}
