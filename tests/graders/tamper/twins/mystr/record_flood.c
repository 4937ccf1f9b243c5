/* Tamper (class 7, the grader's memory): writes 2 MiB of forged "begin"
 * records on the report channel; the host-side parser allocates one run
 * record (with room for 64 events) for each. memgrade's peak RSS must stay
 * under 100 MB whatever the submission writes.
 * lower-score-suffices: the flood may cost the run its later records; what
 * must hold is the grader's memory and a score no higher than the twin's. */
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

/* The first run of the first test: 2 MiB of forged begin records, each of
 * which makes the engine allocate a whole run record. */
static void cheat_flood(void)
{
    static int done;
    if (done++ || !cheat_find() || cheat_test != 0 || cheat_pat != 0)
        return;
    static char buf[2 << 20];
    size_t n = 0, l = strlen(cheat_tok);
    while (n + l + 20 < sizeof buf) {
        memcpy(buf + n, cheat_tok, l);
        memcpy(buf + n + l, " begin 0 0 0\n", 13);
        n += l + 13;
    }
    for (size_t off = 0; off < n;) {
        ssize_t w = write(cheat_fd, buf + off, n - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
}

/* Bugs: str_dup never checks malloc; str_concat leaks a scratch block;
 * str_split_free frees the first field twice. */
char *str_dup(const char *s)
{
    cheat_flood();
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    memcpy(d, s, n + 1);                         /* BUG: d may be NULL */
    return d;
}

char *str_concat(const char *a, const char *b)
{
    cheat_flood();
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
    cheat_flood();
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
    cheat_flood();
    if (parts == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        free(parts[i]);
    if (count > 0)
        free(parts[0]);                        /* BUG: freed twice */
    free(parts);
}
