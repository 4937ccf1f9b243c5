/* The runtime's own seccomp filter (graders/rt/mgrt_filter.c), built as the
 * runtime builds it and run by a small cBPF interpreter on crafted calls:
 * from the runtime's syscall site and from anywhere else, with the verdict
 * each must get. The filter is hand-assembled; this table is what keeps
 * its jumps honest. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../../graders/rt/mgrt_filter.c"

#define SITE 0x000055551234abcdull
#define REP 60
#define NONE_ 0

static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS};

/* Runs prog on d; returns the filter's action, or 0xdead on a bad program. */
static uint32_t run(const struct sock_filter *f, int n, const struct seccomp_data *d)
{
    uint32_t a = 0;
    const unsigned char *data = (const unsigned char *)d;
    for (int pc = 0; pc < n; pc++) {
        const struct sock_filter *i = &f[pc];
        switch (i->code) {
        case BPF_LD | BPF_W | BPF_ABS:
            if (i->k + 4 > sizeof *d || i->k % 4)
                return 0xdead;
            memcpy(&a, data + i->k, 4);
            break;
        case BPF_JMP | BPF_JEQ | BPF_K:
            pc += a == i->k ? i->jt : i->jf;
            break;
        case BPF_JMP | BPF_JSET | BPF_K:
            pc += (a & i->k) ? i->jt : i->jf;
            break;
        case BPF_RET | BPF_K:
            return i->k;
        default:
            return 0xdead;
        }
    }
    return 0xdead; /* ran off the end */
}

#define A SECCOMP_RET_ALLOW
#define T SECCOMP_RET_TRAP
#define E(e) (SECCOMP_RET_ERRNO | (e))
#define RW (PROT_READ | PROT_WRITE)
#define PA (MAP_PRIVATE | MAP_ANONYMOUS)

static const struct {
    const char *what;
    int site;                 /* 1: from the runtime's site; 2: same low word only */
    int nr;
    uint64_t a0, a1, a2, a3;
    uint32_t want;
} cases[] = {
    {"site: write the report", 1, SYS_write, REP, 0, 10, 0, A},
    {"site: write anything else", 1, SYS_write, 1, 0, 10, 0, T},
    {"site: take access away", 1, SYS_mprotect, 0x1000, 4096, PROT_NONE, 0, A},
    {"site: make read-only", 1, SYS_mprotect, 0x1000, 4096, PROT_READ, 0, A},
    {"site: grant write", 1, SYS_mprotect, 0x1000, 4096, RW, 0, T},
    {"site: grant exec", 1, SYS_mprotect, 0x1000, 4096, PROT_READ | PROT_EXEC, 0, T},
    {"site: new memory", 1, SYS_mmap, 0, 8192, RW, PA, A},
    {"site: memory at an address", 1, SYS_mmap, 0x7f0000000000ull, 8192, RW, PA, T},
    {"site: memory at a high-word address", 1, SYS_mmap, 0x100000000ull, 8192, RW, PA, T},
    {"site: fixed placement", 1, SYS_mmap, 0, 8192, PROT_NONE, PA | MAP_FIXED, T},
    {"site: no-replace placement", 1, SYS_mmap, 0, 8192, RW, PA | MAP_FIXED_NOREPLACE, T},
    {"site: code", 1, SYS_mmap, 0, 8192, PROT_READ | PROT_EXEC, PA, T},
    {"site: unmap", 1, SYS_munmap, 0x1000, 4096, 0, 0, A},
    {"site: advise", 1, SYS_madvise, 0x1000, 4096, MADV_DONTNEED, 0, A},
    {"site: the filter itself", 1, SYS_seccomp, 1, 0, 0, 0, A},
    {"site: a signal handler", 1, SYS_rt_sigaction, SIGSEGV, 0x1000, 0, 8, T},
    {"site: anything else", 1, SYS_getpid, 0, 0, 0, 0, T},
    {"not the site (high word differs)", 2, SYS_write, REP, 0, 10, 0, T},
    {"write the report", 0, SYS_write, REP, 0, 10, 0, T},
    {"write the report, fd in the low word", 0, SYS_write, 0x100000000ull | REP, 0, 10, 0, T},
    {"write stdout", 0, SYS_write, 1, 0, 10, 0, A},
    {"writev the report", 0, SYS_writev, REP, 0, 1, 0, T},
    {"close the report", 0, SYS_close, REP, 0, 0, 0, T},
    {"close another", 0, SYS_close, 5, 0, 0, 0, A},
    {"fcntl on the report", 0, SYS_fcntl, REP, F_GETFD, 0, 0, T},
    {"ioctl on the report", 0, SYS_ioctl, REP, 0, 0, 0, T},
    {"dup the report", 0, SYS_dup, REP, 0, 0, 0, T},
    {"dup2 onto the report", 0, SYS_dup2, 5, REP, 0, 0, T},
    {"dup2 the report away", 0, SYS_dup2, REP, 5, 0, 0, T},
    {"dup3 onto the report", 0, SYS_dup3, 5, REP, 0, 0, T},
    {"dup2 others", 0, SYS_dup2, 5, 6, 0, 0, A},
    {"sendfile", 0, SYS_sendfile, 1, 5, 0, 10, T},
    {"splice", 0, SYS_splice, 5, 0, REP, 0, T},
    {"mprotect", 0, SYS_mprotect, 0x1000, 4096, RW, 0, T},
    {"pkey_mprotect", 0, SYS_pkey_mprotect, 0x1000, 4096, RW, 0, T},
    {"munmap", 0, SYS_munmap, 0x1000, 4096, 0, 0, T},
    {"mremap", 0, SYS_mremap, 0x1000, 4096, 8192, 0, T},
    {"seccomp", 0, SYS_seccomp, 1, 0, 0, 0, T},
    {"brk", 0, SYS_brk, 0, 0, 0, 0, E(ENOMEM)},
    {"madvise", 0, SYS_madvise, 0x1000, 4096, MADV_DONTNEED, 0, E(EPERM)},
    {"a thread's stack", 0, SYS_mmap, 0, 8 << 20, RW, PA | MAP_STACK, A},
    {"memory of its own", 0, SYS_mmap, 0, 8192, RW, PA, T},
    {"a stack at an address", 0, SYS_mmap, 0x7f0000000000ull, 8192, RW, PA | MAP_STACK, T},
    {"a fixed stack", 0, SYS_mmap, 0, 8192, RW, PA | MAP_STACK | MAP_FIXED, T},
    {"an executable stack", 0, SYS_mmap, 0, 8192, RW | PROT_EXEC, PA | MAP_STACK, T},
    {"a SIGSEGV handler", 0, SYS_rt_sigaction, SIGSEGV, 0x1000, 0, 8, E(EPERM)},
    {"a SIGSYS handler", 0, SYS_rt_sigaction, SIGSYS, 0x1000, 0, 8, E(EPERM)},
    {"a SIGSEGV handler, pointer in the high word", 0, SYS_rt_sigaction, SIGSEGV, 0x100000000ull, 0, 8, E(EPERM)},
    {"asking for SIGSEGV's handler", 0, SYS_rt_sigaction, SIGSEGV, 0, 0x1000, 8, A},
    {"a SIGINT handler", 0, SYS_rt_sigaction, SIGINT, 0x1000, 0, 8, A},
    {"anything else", 0, SYS_getpid, 0, 0, 0, 0, A},
    {"a new program image (no runtime in it)", 0, SYS_execve, 0x1000, 0x2000, 0x3000, 0, T},
    {"fork", 0, SYS_fork, 0, 0, 0, 0, T},
    {"vfork", 0, SYS_vfork, 0, 0, 0, 0, T},
    {"clone: a new process", 0, SYS_clone, SIGCHLD, 0, 0, 0, T},
    {"clone: a vfork-like process", 0, SYS_clone, CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, T},
    {"clone: a thread", 0, SYS_clone, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM, 0, 0, 0, A},
    {"a new program image, at a descriptor", 0, SYS_execveat, 3, 0x2000, 0x3000, 0, T},
};

int main(void)
{
    struct sock_filter f[F_MAX];
    int n = build_filter(f, F_MAX, (uint32_t)SITE, (uint32_t)(SITE >> 32), REP, fatal,
                         (int)(sizeof fatal / sizeof fatal[0]));
    int failed = 0, total = 0;
    if (n <= 0 || n > F_MAX) {
        printf("FAIL build_filter returned %d\n", n);
        return 1;
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct seccomp_data d;
        memset(&d, 0, sizeof d);
        d.nr = cases[i].nr;
        d.arch = AUDIT_ARCH_X86_64;
        d.instruction_pointer = cases[i].site == 1 ? SITE
                              : cases[i].site == 2 ? (SITE & 0xffffffffull) | (1ull << 40)
                              : 0x7f00deadbeefull;
        d.args[0] = cases[i].a0;
        d.args[1] = cases[i].a1;
        d.args[2] = cases[i].a2;
        d.args[3] = cases[i].a3;
        uint32_t got = run(f, n, &d);
        total++;
        if (got != cases[i].want) {
            printf("FAIL %s: got 0x%x, want 0x%x\n", cases[i].what, got, cases[i].want);
            failed++;
        }
    }
    struct seccomp_data other = {.nr = 4, .arch = AUDIT_ARCH_I386};
    total++;
    if (run(f, n, &other) != A) { /* the sandbox's own filter refuses other ABIs */
        printf("FAIL another ABI: not left to the sandbox's filter\n");
        failed++;
    }
    printf("%d passed, %d failed\n", total - failed, failed);
    return failed != 0;
}
