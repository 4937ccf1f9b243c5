/* mgrt_filter: the seccomp filter the runtime stacks on the sandbox's before
 * any student code runs (graders/INTEGRITY.md 3.3), as a table of rules and
 * the cBPF it becomes. Included by mgrt.c; tests/graders/test_rt_filter.c
 * runs the program on crafted calls. */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>

/* Once the runtime is set up, and before any of the student's code runs, the
 * process takes a second seccomp filter on top of the sandbox's. Calls from
 * the runtime's own site pass; from anywhere else the report descriptor
 * cannot be written, replaced or closed, the memory map cannot be changed
 * (no mprotect/munmap/mremap, no MAP_FIXED or executable mmap: guard pages
 * stay guards), the fatal signals cannot be taken over, no process or
 * program image is made, and no further filter can be stacked. A refused call raises SIGSYS, which ends the test
 * as a blocked call. */
enum { R_FD, R_FD2, R_TRAP, R_ERRNO, R_MMAP, R_SIGACTION, R_CLONE };
static const struct { int nr, kind, err; } filter_rules[] = {
    {SYS_write, R_FD, 0}, {SYS_writev, R_FD, 0}, {SYS_pwrite64, R_FD, 0},
    {SYS_pwritev, R_FD, 0}, {SYS_pwritev2, R_FD, 0}, {SYS_close, R_FD, 0},
    {SYS_dup, R_FD, 0}, {SYS_fcntl, R_FD, 0}, {SYS_ioctl, R_FD, 0},
    {SYS_ftruncate, R_FD, 0}, {SYS_fallocate, R_FD, 0},
    {SYS_dup2, R_FD2, 0}, {SYS_dup3, R_FD2, 0},
    {SYS_sendfile, R_TRAP, 0}, {SYS_splice, R_TRAP, 0}, {SYS_tee, R_TRAP, 0},
    {SYS_copy_file_range, R_TRAP, 0}, {SYS_vmsplice, R_TRAP, 0},
    {SYS_mprotect, R_TRAP, 0}, {SYS_pkey_mprotect, R_TRAP, 0}, {SYS_munmap, R_TRAP, 0},
    {SYS_mremap, R_TRAP, 0}, {SYS_remap_file_pages, R_TRAP, 0}, {SYS_seccomp, R_TRAP, 0},
    /* No new process: a copy of this one would write into the monitor's
     * channel as if it were the program (graders/INTEGRITY.md 3.5), and a
     * new program image would run without the runtime. Threads may be
     * made (clone with CLONE_THREAD shares this process). */
    {SYS_fork, R_TRAP, 0}, {SYS_vfork, R_TRAP, 0}, {SYS_clone, R_CLONE, 0},
    {SYS_execve, R_TRAP, 0}, {SYS_execveat, R_TRAP, 0},
    /* The C library's own allocator cannot be used around ours (sbrk fails,
     * and its mmap fallback is refused below); a thread's exit advises
     * its stack away, which may harmlessly fail. */
    {SYS_brk, R_ERRNO, ENOMEM}, {SYS_madvise, R_ERRNO, EPERM},
    {SYS_mmap, R_MMAP, 0}, {SYS_rt_sigaction, R_SIGACTION, 0},
};

#define F_MAX 320
#define ST(code, k) (struct sock_filter) BPF_STMT(code, k)
#define JMP(code, k, t, f) (struct sock_filter) BPF_JUMP(code, k, t, f)
#define ARG_LO(i) ((uint32_t)offsetof(struct seccomp_data, args[i]))
#define ARG_HI(i) ((uint32_t)offsetof(struct seccomp_data, args[i]) + 4)

/* Writes the program into f (room for cap instructions): calls from the
 * instruction after the runtime's syscall (site) pass the site's rules, all
 * others the rules above; rep is the report descriptor, fatal the signals
 * whose handlers stay the runtime's. Returns its length, or -1. */
static int build_filter(struct sock_filter *f, int cap, uint32_t site_lo, uint32_t site_hi,
                        uint32_t rep, const int *fatal, int nf)
{
    const uint32_t allow = SECCOMP_RET_ALLOW, trap = SECCOMP_RET_TRAP;
    int n = 0;
    f[n++] = ST(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    f[n++] = JMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
    f[n++] = ST(BPF_RET | BPF_K, allow); /* other ABIs: the sandbox's filter refuses them */
    f[n++] = ST(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer));
    f[n++] = JMP(BPF_JMP | BPF_JEQ | BPF_K, site_lo, 0, 23); /* -> the rules below */
    f[n++] = ST(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer) + 4);
    f[n++] = JMP(BPF_JMP | BPF_JEQ | BPF_K, site_hi, 0, 21);
    /* From the runtime's site: only what the runtime does, with arguments
     * that can only take access away or add new memory, since student code
     * can reach the site too (graders/INTEGRITY.md). 21 instructions. */
    f[n++] = ST(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    f[n++] = JMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_write, 0, 2);
    f[n++] = ST(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0));
    f[n++] = JMP(BPF_JMP | BPF_JEQ | BPF_K, rep, 15, 16);          /* report fd only */
    f[n++] = JMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mprotect, 0, 2);
    f[n++] = ST(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2));
    f[n++] = JMP(BPF_JMP | BPF_JSET | BPF_K, PROT_WRITE | PROT_EXEC, 13, 12); /* none or read */
    f[n++] = JMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, 0, 8);
    f[n++] = ST(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0));
    f[n++] = JMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 10);             /* no address asked */
    f[n++] = ST(BPF_LD | BPF_W | BPF_ABS, ARG_HI(0));
    f[n++] = JMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 8);
    f[n++] = ST(BPF_LD | BPF_W | BPF_ABS, ARG_LO(3));
    f[n++] = JMP(BPF_JMP | BPF_JSET | BPF_K, MAP_FIXED | MAP_FIXED_NOREPLACE, 6, 0);
    f[n++] = ST(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2));
    f[n++] = JMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 4, 3);
    f[n++] = JMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_munmap, 2, 0);
    f[n++] = JMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_madvise, 1, 0);
    f[n++] = JMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_seccomp, 0, 1);   /* (only ever the first) */
    f[n++] = ST(BPF_RET | BPF_K, allow);
    f[n++] = ST(BPF_RET | BPF_K, trap);
    for (size_t i = 0; i < sizeof filter_rules / sizeof filter_rules[0]; i++) {
        int start = n;
        f[n++] = ST(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
        f[n++] = JMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)filter_rules[i].nr, 0, 0); /* jf patched */
        switch (filter_rules[i].kind) {
        case R_FD2: /* dup2/dup3: neither copying it nor replacing it */
            f[n++] = ST(BPF_LD | BPF_W | BPF_ABS, ARG_LO(1));
            f[n++] = JMP(BPF_JMP | BPF_JEQ | BPF_K, rep, 2, 0);
            /* fall through */
        case R_FD: /* a descriptor in the first argument (its low 32 bits) */
            f[n++] = ST(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0));
            f[n++] = JMP(BPF_JMP | BPF_JEQ | BPF_K, rep, 0, 1);
            f[n++] = ST(BPF_RET | BPF_K, trap);
            f[n++] = ST(BPF_RET | BPF_K, allow);
            break;
        case R_TRAP:
            f[n++] = ST(BPF_RET | BPF_K, trap);
            break;
        case R_ERRNO:
            f[n++] = ST(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (uint32_t)filter_rules[i].err);
            break;
        case R_MMAP: /* new memory only: where the kernel puts it, no code,
                        and the C library's own allocator (no MAP_STACK)
                        refused */
            f[n++] = ST(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0));
            f[n++] = JMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 7);
            f[n++] = ST(BPF_LD | BPF_W | BPF_ABS, ARG_HI(0));
            f[n++] = JMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 5);
            f[n++] = ST(BPF_LD | BPF_W | BPF_ABS, ARG_LO(3));
            f[n++] = JMP(BPF_JMP | BPF_JSET | BPF_K, MAP_FIXED, 3, 0);
            f[n++] = JMP(BPF_JMP | BPF_JSET | BPF_K, MAP_STACK, 0, 2);
            f[n++] = ST(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2));
            f[n++] = JMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1);
            f[n++] = ST(BPF_RET | BPF_K, trap);
            f[n++] = ST(BPF_RET | BPF_K, allow);
            break;
        case R_CLONE:
            f[n++] = ST(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0));
            f[n++] = JMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 0, 1);
            f[n++] = ST(BPF_RET | BPF_K, allow);
            f[n++] = ST(BPF_RET | BPF_K, trap);
            break;
        case R_SIGACTION: { /* a fatal signal's handler stays ours; queries pass */
            f[n++] = ST(BPF_LD | BPF_W | BPF_ABS, ARG_LO(1));
            f[n++] = JMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2);
            f[n++] = ST(BPF_LD | BPF_W | BPF_ABS, ARG_HI(1));
            f[n++] = JMP(BPF_JMP | BPF_JEQ | BPF_K, 0, (uint8_t)(nf + 1), 0);
            f[n++] = ST(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0));
            for (int s = 0; s < nf; s++)
                f[n++] = JMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)fatal[s], (uint8_t)(nf - s), 0);
            f[n++] = ST(BPF_RET | BPF_K, allow);
            f[n++] = ST(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
            break;
        }
        }
        f[start + 1].jf = (uint8_t)(n - start - 2);
        if (n > cap - 40)
            return -1;
    }
    f[n++] = ST(BPF_RET | BPF_K, allow);
    return n;
}

