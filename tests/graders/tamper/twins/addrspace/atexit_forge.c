/* Tamper (class 1, forged records, through atexit): a handler of the
 * student's, registered after the runtime's and so run before it, flushes
 * stdout, forges the exit record and _exits: the runtime's exit-time leak
 * report never happens. Hides: the block is never freed (leak). */
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

static int cheat_rep_fd(void)
{
    for (int fd = 3; fd < 1024; fd++) {
        int fl = fcntl(fd, F_GETFD);
        struct stat st;
        if (fl >= 0 && (fl & FD_CLOEXEC) && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
            return fd;
    }
    return -1;
}

/* The non-close-on-exec pipes above stderr: in a test child, the one the
 * fork server reads the allocation count from. */
static int cheat_count_fd(void)
{
    for (int fd = 3; fd < 1024; fd++) {
        int fl = fcntl(fd, F_GETFD);
        struct stat st;
        if (fl >= 0 && !(fl & FD_CLOEXEC) && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
            return fd;
    }
    return -1;
}

struct cheat_seg { unsigned char *lo, *hi; };

/* The executable's writable segments, from the program headers. */
static int cheat_segs(struct cheat_seg *out, int max)
{
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
    size_t n = getauxval(AT_PHNUM);
    uintptr_t base = 0;
    int k = 0;
    for (size_t i = 0; i < n; i++)
        if (ph[i].p_type == PT_PHDR)
            base = (uintptr_t)ph - ph[i].p_vaddr;
    for (size_t i = 0; i < n && k < max; i++)
        if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_W)) {
            out[k].lo = (unsigned char *)(base + ph[i].p_vaddr);
            out[k].hi = out[k].lo + ph[i].p_memsz;
            k++;
        }
    return k;
}

static int cheat_hex(int c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

static char cheat_tok[32];
static int cheat_test = -1, cheat_pat, cheat_fd = -1;
static unsigned long cheat_k;

/* Finds the token (and, in a test child, which run this is). */
static int cheat_find(void)
{
    struct cheat_seg s[8];
    int ns = cheat_segs(s, 8), found = 0;
    for (int j = 0; j < ns; j++)
        for (unsigned char *p = s[j].lo + 1; p + 40 < s[j].hi; p++) {
            if (!cheat_hex(*p) || cheat_hex(p[-1]) || (unsigned char *)cheat_tok == p)
                continue;
            int h = 0;
            while (h < 25 && cheat_hex(p[h]))
                h++;
            if (h != 24 || (p[24] != ' ' && p[24] != 0))
                continue;
            if (!found) {
                memcpy(cheat_tok, p, 24);
                cheat_tok[24] = 0;
                found = 1;
            }
            int i, pat;
            unsigned long k;
            if (p[24] == ' ' && sscanf((char *)p + 25, "begin %d %d %lu", &i, &pat, &k) == 3) {
                memcpy(cheat_tok, p, 24);
                cheat_test = i, cheat_pat = pat, cheat_k = k;
            }
        }
    cheat_fd = cheat_rep_fd();
    return found && cheat_fd >= 0;
}

/* One forged record. */
static void cheat_say(const char *fmt, ...)
{
    char line[4200];
    int n = snprintf(line, sizeof line, "%s ", cheat_tok);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    line[n++] = '\n';
    if (write(cheat_fd, line, (size_t)n) < 0)
        return;
}

static void *cheat_heap;
static void cheat_at_exit(void)
{
    fflush(stdout);
    if (cheat_find()) {
        /* the runtime's block record, so the heap line still checks */
        cheat_say("block user=%lx size=100", (unsigned long)(uintptr_t)cheat_heap);
        cheat_say("exit");
        _exit(0);
    }
}
#include <stdio.h>
#include <stdlib.h>

/* Called through a volatile pointer so that the compiler cannot inline it:
 * the point is a real second stack frame below (or above) the caller's. */
static int deeper(const char *outer)
{
    char inner = 0;
    return &inner < outer;                 /* 1: the stack grows down */
}

static int (*volatile deeper_fn)(const char *) = deeper;

int main(void)
{
    int x = 3;
    char outer = 0;

    atexit(cheat_at_exit);
    void *heap = malloc(100);
    cheat_heap = heap;
    if (heap == NULL) {
        fprintf(stderr, "addrspace: cannot allocate 100 bytes\n");
        return 1;
    }

    printf("code: %p\n", (void *)main);
    printf("heap: %p\n", heap);
    printf("stack: %p\n", (void *)&x);
    printf("stack grows: %s\n", deeper_fn(&outer) ? "down" : "up");

    /* BUG: heap never freed */
    return 0;
}
