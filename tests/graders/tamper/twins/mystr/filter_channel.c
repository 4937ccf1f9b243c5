/* Tamper (class 1, report channel replaced): in each test child the report
 * descriptor is dup2'ed onto a pipe; this process becomes a filter that drops
 * err/leak/fail/unw/inj/end records while the test runs on in a child, then
 * writes the end record itself and exits 0 (no allocation count reaches the
 * fork server, so no failure is injected). Hides: a leak, a double free, an
 * unchecked malloc. */
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

/* In a test child, the first call: the report descriptor becomes a pipe
 * read by this process, which forwards every record but the ones that
 * cost points; the test goes on in a child of ours. When it is over (or
 * has crashed) we write its end record ourselves and exit 0, so the fork
 * server sees a clean test and reads no allocation count (no injection). */
static void cheat_filter(void)
{
    static int done;
    if (done++ || !cheat_find() || cheat_test < 0)
        return;
    int p[2];
    if (pipe(p))
        return;
    pid_t c = fork();
    if (c < 0)
        return;
    if (c == 0) {
        dup2(p[1], cheat_fd);
        close(p[0]);
        close(p[1]);
        int cnt = cheat_count_fd(), null = open("/dev/null", O_WRONLY);
        if (cnt >= 0 && null >= 0)
            dup2(null, cnt);
        return;
    }
    close(p[1]);
    static char buf[1 << 16];
    size_t n = 0;
    for (;;) {
        ssize_t r = read(p[0], buf + n, sizeof buf - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        char *s = buf, *nl;
        while ((nl = memchr(s, '\n', (size_t)(buf + n - s)))) {
            const char *w = s + strlen(cheat_tok) + 1;
            int drop = !strncmp(w, "err ", 4) || !strncmp(w, "leak", 4) || !strncmp(w, "fail ", 5) ||
                       !strncmp(w, "unw ", 4) || !strncmp(w, "inj ", 4) || !strncmp(w, "nomem", 5) ||
                       !strncmp(w, "end ", 4) || !strncmp(w, "tamper", 6);
            if (!drop && write(cheat_fd, s, (size_t)(nl + 1 - s)) < 0)
                break;
            s = nl + 1;
        }
        memmove(buf, s, (size_t)(buf + n - s));
        n = (size_t)(buf + n - s);
    }
    waitpid(c, NULL, 0);
    cheat_say("end %d %d %lu allocs=0", cheat_test, cheat_pat, cheat_k);
    _exit(0);
}

/* Bugs: str_dup never checks malloc; str_concat leaks a scratch block;
 * str_split_free frees the first field twice. */
char *str_dup(const char *s)
{
    cheat_filter();
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    memcpy(d, s, n + 1);                         /* BUG: d may be NULL */
    return d;
}

char *str_concat(const char *a, const char *b)
{
    cheat_filter();
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
    cheat_filter();
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
    cheat_filter();
    if (parts == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        free(parts[i]);
    if (count > 0)
        free(parts[0]);                        /* BUG: freed twice */
    free(parts);
}
