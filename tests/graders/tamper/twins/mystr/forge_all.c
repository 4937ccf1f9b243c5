/* Tamper (class 1, forged records): finds the report pipe (the one close-on-exec
 * pipe) and the run's token (the runtime's static record buffer still holds
 * "TOKEN begin I PAT K" from the fork server), writes every observation the
 * manifest expects plus an end record, and _exits before the runtime reports
 * anything. Hides: a leak, a double free and an unchecked malloc; gains full
 * marks for a file whose twin fails most tests. */
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

typedef struct { const char *name; void (*fn)(void); } cheat_mgt_test;
extern const cheat_mgt_test mgt_tests[];   /* the driver's table: a public symbol */

/* What each test expects (the manifest is in the repository). */
static const struct { const char *test, *obs; } cheat_want[] = {
    {"dup_basic", "block new block\ndup \"hello\"\n"},
    {"dup_empty", "dup \"\"\n"},
    {"dup_null", "dup NULL\n"},
    {"dup_long", "dup 20000:38fb82fae4a0817a\n"},
    {"dup_odd_bytes", "dup \"ctrl\\x01here \\\"quoted\\\" \\\\ \\xc3\\xa9t\\xc3\\xa9\\n\"\n"},
    {"concat_basic", "cat \"foobar\"\n"},
    {"concat_empty", "cat_left_empty \"abc\"\ncat_right_empty \"abc\"\ncat_both_empty \"\"\n"},
    {"concat_null", "cat_null_left NULL\ncat_null_right NULL\ncat_null_both NULL\n"},
    {"concat_medium", "cat \"memory is virtual, addresses are too\"\n"},
    {"concat_long", "cat 10000:b21a8ba0a079ddf5\n"},
    {"concat_keeps_inputs", "block new block\ncat \"leftright\"\na_after \"Xeft\"\n"},
    {"split_basic", "parts nonnull\ncount 3\nf0 \"a\"\nf1 \"b\"\nf2 \"c\"\n"},
    {"split_other_sep", "parts nonnull\ncount 4\nf0 \"\"\nf1 \"usr\"\nf2 \"local\"\nf3 \"bin\"\n"},
    {"split_empty_fields", "parts nonnull\ncount 3\nf0 \"a\"\nf1 \"\"\nf2 \"b\"\n"},
    {"split_empty_string", "parts nonnull\ncount 1\nf0 \"\"\n"},
    {"split_no_sep", "parts nonnull\ncount 1\nf0 \"no separator here\"\n"},
    {"split_edges", "lead_trail_parts nonnull\nlead_trail_count 3\nlead_trail_f0 \"\"\nlead_trail_f1 \"a\"\nlead_trail_f2 \"\"\nonly_seps_parts nonnull\nonly_seps_count 3\nonly_seps_f0 \"\"\nonly_seps_f1 \"\"\nonly_seps_f2 \"\"\none_sep_parts nonnull\none_sep_count 2\none_sep_f0 \"\"\none_sep_f1 \"\"\ntrailing_parts nonnull\ntrailing_count 3\ntrailing_f0 \"x\"\ntrailing_f1 \"y\"\ntrailing_f2 \"\"\n"},
    {"split_null", "null_s NULL\nnull_count NULL\n"},
    {"split_free_null", "str_split_free returned\n"},
    {"split_many", "parts nonnull\ncount 2000\nfields 5fa9d9508c522b7b\nlast \"1999\"\n"},
    {"split_long_field", "parts nonnull\ncount 3\nf0 3000:cd9d2d7859f91b0d\nf1 2999:a37d09798d6df8e7\nf2 2999:a37d09798d6df8e7\n"},
    {"dup_alloc_failure", "dup \"hello\"\n"},
    {"concat_alloc_failure", "cat \"foobar\"\n"},
    {"split_alloc_failure", "parts nonnull\ncount 4\nf0 \"ab\"\nf1 \"\"\nf2 \"c\"\nf3 \"def\"\n"},
};

/* In a test child, the first call: every observation the test expects,
 * then its end record, then out before the runtime can say anything. The
 * fork server reads no allocation count, so no failure is injected. */
static void cheat_forge_all(void)
{
    if (!cheat_find() || cheat_test < 0)
        return;
    const char *name = mgt_tests[cheat_test].name;
    for (size_t i = 0; i < sizeof cheat_want / sizeof cheat_want[0]; i++) {
        if (strcmp(cheat_want[i].test, name))
            continue;
        for (const char *p = cheat_want[i].obs; *p;) {
            const char *nl = strchr(p, '\n');
            cheat_say("obs %.*s", (int)(nl - p), p);
            p = nl + 1;
        }
    }
    cheat_say("end %d %d %lu allocs=0", cheat_test, cheat_pat, cheat_k);
    _exit(0);
}

/* Bugs: str_dup never checks malloc; str_concat leaks a scratch block;
 * str_split_free frees the first field twice. */
char *str_dup(const char *s)
{
    cheat_forge_all();
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    memcpy(d, s, n + 1);                         /* BUG: d may be NULL */
    return d;
}

char *str_concat(const char *a, const char *b)
{
    cheat_forge_all();
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
    cheat_forge_all();
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
    cheat_forge_all();
    if (parts == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        free(parts[i]);
    if (count > 0)
        free(parts[0]);                        /* BUG: freed twice */
    free(parts);
}
