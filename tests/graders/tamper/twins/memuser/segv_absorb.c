/* Tamper (class 3, faults absorbed, whole program): a SIGSEGV handler
 * installed through libc's sigaction (dlsym RTLD_NEXT) makes the guard page
 * after the block writable and resumes. Hides: a one-byte heap overflow in
 * every test that allocates. */
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

static void cheat_absorb(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    uintptr_t a = (uintptr_t)si->si_addr & ~(uintptr_t)4095;
    if (a < 65536 || mprotect((void *)a, 4096, PROT_READ | PROT_WRITE))
        _exit(0);
}

typedef int (*cheat_sigaction_fn)(int, const struct sigaction *, struct sigaction *);

/* libc's own sigaction, past the runtime's, which refuses SIGSEGV. */
static void cheat_install(void)
{
    static int done;
    if (done++)
        return;
    cheat_sigaction_fn real = (cheat_sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = cheat_absorb;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    if (real)
        real(SIGSEGV, &sa, NULL);
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
    cheat_install();
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
        memset(block, (int)('a' + pass % 26), size + 1);   /* BUG: one byte too many */
        touched += size;
    }

    printf("touched %llu bytes\n", touched);
    free(block);
    return 0;
}
