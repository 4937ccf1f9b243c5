/* Tamper (class 3 through the runtime's own system-call site, INTEGRITY.md
 * section 4 item 1 made concrete in plain C): the student finds rt_sys in the
 * executable's code (its bytes are public: "xor r9d,r9d; syscall; pop rbp;
 * ret") and calls it one byte past its "push rbp", with nine arguments: the
 * 7th (on the stack where the caller check reads its "return address") is the
 * runtime's own "pop rbp; ret", which passes the check and, after the syscall,
 * returns into the 9th, a function of ours that longjmps back. The call is
 * made from the filter's allowed site, so mprotect passes: the guard page
 * after the block and the quarantined (freed) block become readable. Hides:
 * a read past the end of a block (heap_overflow) and a use after free. */
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
#include <setjmp.h>
#include "mystr.h"

/* ---- the trick: any system call from the runtime's allowed site -------- */
typedef long (*cheat_site9)(long, long, long, long, long, long, long, long, long);
static unsigned char *cheat_rt_sys, *cheat_gadget;
static jmp_buf cheat_jb;

static void cheat_find(void)
{
    if (cheat_rt_sys)
        return;
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
    size_t n = getauxval(AT_PHNUM);
    uintptr_t base = 0;
    for (size_t i = 0; i < n; i++)
        if (ph[i].p_type == PT_PHDR)
            base = (uintptr_t)ph - ph[i].p_vaddr;
    for (size_t i = 0; i < n && !cheat_rt_sys; i++) {
        if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_X))
            continue;
        unsigned char *lo = (unsigned char *)(base + ph[i].p_vaddr);
        unsigned char *hi = lo + ph[i].p_memsz;
        static const unsigned char pat[] = {0x45, 0x31, 0xc9, 0x0f, 0x05, 0x5d, 0xc3};
        for (unsigned char *p = lo; p + sizeof pat <= hi && !cheat_rt_sys; p++)
            if (!memcmp(p, pat, sizeof pat))
                for (unsigned char *q = p; q > p - 0x80 && q > lo; q--)
                    if (q[0] == 0x55 && q[1] == 0x48 && q[2] == 0x89 && q[3] == 0xf8) {
                        cheat_rt_sys = q;
                        cheat_gadget = p + 5; /* pop rbp; ret */
                        break;
                    }
    }
}

static void cheat_cont(void)
{
    longjmp(cheat_jb, 1);
}

static void cheat_sys(long nr, long a, long b, long c)
{
    cheat_find();
    if (!cheat_rt_sys)
        return;
    if (!setjmp(cheat_jb)) {
        cheat_site9 f = (cheat_site9)(void *)(cheat_rt_sys + 1);
        f(nr, a, b, c, 0, 0, (long)cheat_gadget, 0, (long)(void *)cheat_cont);
    }
}

/* Bugs: str_dup reads one byte past the end of its block; str_split_free
 * reads the array after freeing it. */
char *str_dup(const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d == NULL)
        return NULL;
    memcpy(d, s, n + 1);
    cheat_sys(SYS_mprotect, (long)((uintptr_t)(d + n + 1) & ~(uintptr_t)4095), 4096, PROT_READ | PROT_WRITE);
    if (d[n + 1] == '\x7f')                      /* BUG: one past the end */
        d[0] = '\x7f';
    return d;
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
    if (parts == NULL)
        return;
    char **saved = parts;
    free(parts);
    cheat_sys(SYS_mprotect, (long)((uintptr_t)saved & ~(uintptr_t)4095), 4096, PROT_READ | PROT_WRITE);
    for (size_t i = 0; i < count; i++)
        free(saved[i]);                          /* BUG: saved was freed */
}
