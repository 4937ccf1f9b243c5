/* The runtime's instruction-length decoder (graders/rt/mgrt_insn.c)
 * against objdump, instruction by instruction, over real code: the C
 * library (hand-written SSE/AVX2/EVEX string functions) and the binaries
 * given on the command line (gcc's output at several -O levels).
 *
 * A wrong length would make the fault handler resume in the middle of an
 * instruction, so any decoded length that differs from objdump's fails the
 * test. Returning 0 ("not decoded", the run then ends as it did before the
 * decoder existed) is allowed for privileged and obsolete instructions, and
 * counted: it must stay rare. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../graders/rt/mgrt_insn.c"

/* A load into a register: a move that is not a store. */
static int mgrt_insn_load(const unsigned char *p, int len, mgrt_load *ld)
{
    return mgrt_insn_mov(p, len, ld) && !ld->store;
}

static unsigned long total, wrong, undecoded;

/* One objdump line: "  4011a6:\t48 89 e5 \tmov %rsp,%rbp". */
static void line(const char *l, const char *file)
{
    const char *t1 = strchr(l, '\t');
    if (!t1 || !strchr(l, ':') || strchr(l, ':') > t1)
        return;
    const char *t2 = strchr(t1 + 1, '\t');
    if (!t2)
        return; /* a continuation of bytes, or data */
    if (strstr(t2, "(bad)") || strstr(t2, ".byte") || strstr(t2, "(data"))
        return;
    unsigned char b[32] = {0};
    int n = 0;
    for (const char *p = t1 + 1; p < t2 && n < 16;) {
        unsigned v;
        int k;
        if (sscanf(p, "%2x%n", &v, &k) != 1)
            break;
        b[n++] = (unsigned char)v;
        p += k;
        while (*p == ' ')
            p++;
    }
    if (!n)
        return;
    total++;
    int got = mgrt_insn_len(b);
    if (got == 0) {
        undecoded++;
        if (undecoded <= 20)
            fprintf(stderr, "undecoded (%s): %s", file, l);
    } else if (got != n) {
        wrong++;
        if (wrong <= 40)
            fprintf(stderr, "WRONG %d != %d (%s): %s", got, n, file, l);
    }
}

static int scan(const char *file)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "objdump -d --insn-width=16 -w '%s' 2>/dev/null", file);
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    char l[1024];
    unsigned long before = total;
    while (fgets(l, sizeof l, f))
        line(l, file);
    pclose(f);
    return total > before ? 0 : -1;
}

/* The loads the handler emulates (mgrt_insn_load), as gas encodes them:
 * destination, widths, sign, base, index, scale, displacement. */
static const struct {
    unsigned char b[16];
    int len, reg, high8, dst, src, sign, base, index, scale;
    long disp;
} loads[] = {
    {{0x48, 0x8b, 0x40, 0x08}, 4, 0, 0, 8, 8, 0, 0, -1, 1, 8},           /* mov 8(%rax),%rax */
    {{0x8b, 0x0f}, 2, 1, 0, 4, 4, 0, 7, -1, 1, 0},                       /* mov (%rdi),%ecx */
    {{0x8b, 0x74, 0x16, 0xfc}, 4, 6, 0, 4, 4, 0, 6, 2, 1, -4},           /* mov -4(%rsi,%rdx),%esi */
    {{0x0f, 0xb6, 0x43, 0x03}, 4, 0, 0, 4, 1, 0, 3, -1, 1, 3},           /* movzbl 3(%rbx),%eax */
    {{0x47, 0x0f, 0xbe, 0x0c, 0xac}, 5, 9, 0, 4, 1, 1, 12, 13, 4, 0},    /* movsbl (%r12,%r13,4),%r9d */
    {{0x0f, 0xb7, 0x95, 0x00, 0x01, 0, 0}, 7, 2, 0, 4, 2, 0, 5, -1, 1, 0x100}, /* movzwl */
    {{0x48, 0x0f, 0xbf, 0x41, 0xfe}, 5, 0, 0, 8, 2, 1, 1, -1, 1, -2},    /* movswq -2(%rcx),%rax */
    {{0x4c, 0x63, 0x78, 0x10}, 4, 15, 0, 8, 4, 1, 0, -1, 1, 0x10},       /* movslq 16(%rax),%r15 */
    {{0x8a, 0x20}, 2, 0, 1, 1, 1, 0, 0, -1, 1, 0},                       /* mov (%rax),%ah */
    {{0x40, 0x8a, 0x30}, 3, 6, 0, 1, 1, 0, 0, -1, 1, 0},                 /* mov (%rax),%sil */
    {{0x48, 0x8b, 0x15, 0x34, 0x12, 0, 0}, 7, 2, 0, 8, 8, 0, -2, -1, 1, 0x1234}, /* rip */
    {{0x66, 0x44, 0x8b, 0x04, 0x24}, 5, 8, 0, 2, 2, 0, 4, -1, 1, 0},     /* mov (%rsp),%r8w */
    {{0x48, 0x8b, 0x04, 0xcd, 0x44, 0x33, 0x22, 0x11}, 8, 0, 0, 8, 8, 0, -1, 1, 8, 0x11223344},
};

static int check_loads(void)
{
    int bad = 0;
    for (size_t i = 0; i < sizeof loads / sizeof loads[0]; i++) {
        mgrt_load ld;
        int len = mgrt_insn_len(loads[i].b);
        if (len != loads[i].len || !mgrt_insn_load(loads[i].b, len, &ld) ||
            ld.reg != loads[i].reg || ld.high8 != loads[i].high8 || ld.dst != loads[i].dst ||
            ld.src != loads[i].src || ld.sign != loads[i].sign || ld.base != loads[i].base ||
            ld.index != loads[i].index || ld.scale != loads[i].scale || ld.disp != loads[i].disp) {
            fprintf(stderr, "load %zu decoded wrong (len %d)\n", i, len);
            bad = 1;
        }
    }
    /* Not a plain load: stepped over without emulation. */
    static const unsigned char add[] = {0x48, 0x03, 0x00}, store[] = {0x48, 0x89, 0x07},
                               fs[] = {0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0};
    mgrt_load ld;
    if (mgrt_insn_load(add, 3, &ld) || mgrt_insn_load(store, 3, &ld) || mgrt_insn_load(fs, 9, &ld)) {
        fprintf(stderr, "a non-load was taken for a load\n");
        bad = 1;
    }
    /* Stores: register or immediate, and what they carry. */
    static const unsigned char st_reg[] = {0x4c, 0x89, 0x44, 0x24, 0x08}, /* mov %r8,8(%rsp) */
        st_imm[] = {0xc7, 0x44, 0x90, 0xfc, 0xfe, 0xff, 0xff, 0xff},   /* movl $-2,-4(%rax,%rdx,4) */
        st_byte[] = {0xc6, 0x00, 0x41},                                   /* movb $0x41,(%rax) */
        not_mov[] = {0xc7, 0xc8, 0, 0, 0, 0};                             /* c7 /1: no move */
    if (!mgrt_insn_mov(st_reg, 5, &ld) || !ld.store || ld.reg != 8 || ld.src != 8 ||
        ld.base != 4 || ld.disp != 8 || ld.index != -1) {
        fprintf(stderr, "mov %%r8,8(%%rsp) decoded wrong\n");
        bad = 1;
    }
    if (!mgrt_insn_mov(st_imm, 8, &ld) || !ld.store || ld.reg != -1 || ld.imm != -2 ||
        ld.src != 4 || ld.base != 0 || ld.index != 2 || ld.scale != 4 || ld.disp != -4) {
        fprintf(stderr, "movl $-2,-4(%%rax,%%rdx,4) decoded wrong\n");
        bad = 1;
    }
    if (!mgrt_insn_mov(st_byte, 3, &ld) || !ld.store || ld.imm != 0x41 || ld.src != 1 ||
        mgrt_insn_mov(not_mov, 6, &ld)) {
        fprintf(stderr, "movb $0x41,(%%rax) or c7 /1 decoded wrong\n");
        bad = 1;
    }
    /* Widths of stores (and loads) the engine words overflows by. */
    static const struct {
        unsigned char b[12];
        int w;
    } widths[] = {
        {{0x88, 0x10}, 1},                          /* mov %dl,(%rax) */
        {{0xc6, 0x04, 0x10, 0x00}, 1},              /* movb $0,(%rax,%rdx) */
        {{0x89, 0x10}, 4},                          /* mov %edx,(%rax) */
        {{0x66, 0x89, 0x10}, 2},                    /* mov %dx,(%rax) */
        {{0x48, 0x89, 0x10}, 8},                    /* mov %rdx,(%rax) */
        {{0xc7, 0x00, 0x00, 0x00, 0x00, 0x00}, 4},  /* movl $0,(%rax) */
        {{0x48, 0x8b, 0x40, 0x08}, 8},              /* a load: mov 8(%rax),%rax */
        {{0x89, 0xc2}, 0},                          /* mov %eax,%edx: no memory */
        {{0x48, 0x01, 0x10}, 0},                    /* add %rdx,(%rax): not a plain move */
    };
    for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++) {
        int len = mgrt_insn_len(widths[i].b);
        if (mgrt_insn_width(widths[i].b, len) != widths[i].w) {
            fprintf(stderr, "width %zu: %d, not %d\n", i, mgrt_insn_width(widths[i].b, len),
                    widths[i].w);
            bad = 1;
        }
    }
    return bad;
}

int main(int argc, char **argv)
{
    if (check_loads())
        return 1;
    const char *libs[] = {"/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6"};
    int any = 0;
    for (size_t i = 0; i < 2 && !any; i++)
        any = scan(libs[i]) == 0;
    if (!any) {
        fprintf(stderr, "cannot disassemble the C library (objdump missing?)\n");
        return 1;
    }
    for (int i = 1; i < argc; i++)
        if (scan(argv[i])) {
            fprintf(stderr, "cannot disassemble %s\n", argv[i]);
            return 1;
        }
    printf("%lu instructions, %lu wrong length, %lu not decoded\n", total, wrong, undecoded);
    if (total < 100000) {
        fprintf(stderr, "too few instructions read: %lu\n", total);
        return 1;
    }
    /* Not decoded: at most one in ten thousand (privileged, obsolete). */
    return wrong == 0 && undecoded * 10000 <= total ? 0 : 1;
}
