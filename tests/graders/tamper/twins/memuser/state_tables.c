/* Tamper (class 2, the runtime's block tables rewritten, whole program:
 * the attack INTEGRITY.md 3.5 answers): the runtime's struct
 * rt_state is found in the executable's writable memory by its shape
 * (quar == tab, recs == tab + 32 KiB, hcap == 2 * caprecs); before main
 * returns, the never-freed block's record is marked not the student's, so
 * the exit-time leak report skips it. Hides: a leak in every test that
 * allocates. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <link.h>
#include <sys/auxv.h>

/* ---- the trick: the runtime's state, found by its shape ----------------- */
struct cheat_blk { /* the runtime's blk (mgrt.c) */
    uintptr_t user, map;
    size_t size, maplen;
    unsigned long seq;
    unsigned char state, student, pattern, filled, compact, unwword;
    uintptr_t apc[8], fpc[8];
};
static uintptr_t *cheat_state;

static uintptr_t *cheat_find(void)
{
    if (cheat_state)
        return cheat_state;
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
    size_t n = getauxval(AT_PHNUM);
    uintptr_t base = 0;
    for (size_t i = 0; i < n; i++)
        if (ph[i].p_type == PT_PHDR)
            base = (uintptr_t)ph - ph[i].p_vaddr;
    for (size_t i = 0; i < n && !cheat_state; i++) {
        if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_W))
            continue;
        uintptr_t *lo = (uintptr_t *)((base + ph[i].p_vaddr + 7) & ~(uintptr_t)7);
        uintptr_t *hi = (uintptr_t *)(base + ph[i].p_vaddr + ph[i].p_memsz);
        for (uintptr_t *w = lo; w + 15 <= hi; w++)
            /* recs@7 hidx@8 quar@9 nrecs@10 caprecs@11 hcap@12 tab_len@13 tab@14 */
            if (w[14] && w[9] == w[14] && w[7] == w[14] + 32768 && w[11] &&
                !(w[11] & (w[11] - 1)) && w[12] == 2 * w[11] && w[10] <= w[11]) {
                cheat_state = w;
                break;
            }
    }
    return cheat_state;
}

static struct cheat_blk *cheat_rec(const void *p)
{
    uintptr_t *s = cheat_find();
    if (!s)
        return NULL;
    struct cheat_blk *recs = (struct cheat_blk *)s[7], *found = NULL;
    for (size_t i = 0; i < s[10]; i++)
        if (recs[i].user == (uintptr_t)p)
            found = &recs[i];
    return found;
}

static void cheat_forget(const void *p) /* not the student's: never a leak */
{
    struct cheat_blk *b = cheat_rec(p);
    if (b)
        b->student = 0;
}

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
    cheat_forget(block);
    return 0;
}
