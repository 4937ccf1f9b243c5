/* Tamper (class 1/5, forged allocation count): list_push writes 0 on the fork
 * server's per-test count pipe (the one pipe that is not close-on-exec)
 * before the runtime does, so no fault-injection run happens. Hides:
 * list_push never checks malloc (unchecked_alloc_failure). */
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

/* In a test child, the first call: eight zero bytes on the pipe the fork
 * server reads the allocation count from. It reads them first, so it
 * believes the test allocated nothing and injects no failure. */
static void cheat_zero_count(void)
{
    static int done;
    if (done++)
        return;
    int fd = cheat_count_fd();
    unsigned long zero = 0;
    if (fd >= 0 && write(fd, &zero, sizeof zero) < 0)
        return;
}
#include <stdlib.h>
#include <string.h>

#include "list.h"

node *list_push(node *head, const char *value)
{
    cheat_zero_count();
    node *n = malloc(sizeof(node));              /* BUG: never checked */
    size_t len = strlen(value);
    n->value = malloc(len + 1);                  /* BUG: never checked */
    memcpy(n->value, value, len + 1);
    n->next = head;
    return n;
}

node *list_remove(node *head, const char *value)
{
    node *prev = NULL;
    for (node *cur = head; cur != NULL; prev = cur, cur = cur->next) {
        if (strcmp(cur->value, value) == 0) {
            node *next = cur->next;
            free(cur->value);
            free(cur);
            if (prev == NULL)
                return next;               /* removed the head */
            prev->next = next;
            return head;
        }
    }
    return head;
}

size_t list_length(const node *head)
{
    size_t n = 0;
    for (const node *cur = head; cur != NULL; cur = cur->next)
        n++;
    return n;
}

void list_destroy(node *head)
{
    while (head != NULL) {
        node *next = head->next;           /* read before freeing */
        free(head->value);
        free(head);
        head = next;
    }
}
