/* Tamper (class 2, runtime state found by scanning memory, whole program):
 * overwrites the runtime's exe_hi (found as the word equal to the end of the
 * executable's code, computed from the program headers) with exe_lo, so the
 * block is not the student's and its leak is never reported. */
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

/* No symbols needed: the runtime computes the executable's code range from
 * the program headers; so can we. Every word of the executable's writable
 * memory that equals the end of that range is set to its start. */
static void cheat_state_scan(void)
{
    static int done;
    if (done++)
        return;
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
    size_t n = getauxval(AT_PHNUM);
    uintptr_t base = 0, lo = 0, hi = 0;
    for (size_t i = 0; i < n; i++)
        if (ph[i].p_type == PT_PHDR)
            base = (uintptr_t)ph - ph[i].p_vaddr;
    for (size_t i = 0; i < n; i++)
        if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X)) {
            uintptr_t a = base + ph[i].p_vaddr, b = a + ph[i].p_memsz;
            if (!lo || a < lo)
                lo = a;
            if (b > hi)
                hi = b;
        }
    for (size_t i = 0; i < n; i++)
        if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_W)) {
            uintptr_t *w = (uintptr_t *)((base + ph[i].p_vaddr + 7) & ~(uintptr_t)7);
            uintptr_t *end = (uintptr_t *)(base + ph[i].p_vaddr + ph[i].p_memsz);
            for (; w + 1 <= end; w++)
                if (*w == hi)
                    *w = lo;
        }
}
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses a positive decimal integer; 0 for anything else ("", "12x", "-3",
 * "0", out of range). */
static unsigned long parse_positive(const char *s)
{
    if (s == NULL || *s < '0' || *s > '9')
        return 0;
    char *end;
    errno = 0;
    unsigned long n = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return 0;
    return n;
}

int main(int argc, char *argv[])
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: memuser MB [PASSES]\n");
        return 2;
    }
    cheat_state_scan();
    unsigned long mb = parse_positive(argv[1]);
    unsigned long passes = argc == 3 ? parse_positive(argv[2]) : 1;
    if (mb == 0 || passes == 0) {
        fprintf(stderr, "usage: memuser MB [PASSES]  (MB and PASSES are positive integers)\n");
        return 2;
    }

    if (mb > SIZE_MAX / 1048576) {
        fprintf(stderr, "memuser: cannot allocate %lu MiB\n", mb);
        return 1;
    }
    size_t size = (size_t)mb * 1048576;
    char *block = malloc(size);
    if (block == NULL) {
        fprintf(stderr, "memuser: cannot allocate %lu MiB\n", mb);
        return 1;
    }

    unsigned long long touched = 0;
    for (unsigned long pass = 0; pass < passes; pass++) {
        memset(block, (int)('a' + pass % 26), size);
        touched += size;
    }

    printf("touched %llu bytes\n", touched);
    /* BUG: block never freed */
    return 0;
}
