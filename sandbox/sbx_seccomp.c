/* sbx_seccomp: the syscall allowlists, as data, compiled once per policy into
 * a BPF program with libseccomp. Anything not listed, foreign ABIs (i386 via
 * int 0x80, x32) included, stops the caller for the box's init, its tracer
 * (SECCOMP_RET_TRACE), which kills the box and names the call. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <termios.h>
#include <unistd.h>

#define X32_SYSCALL_BIT 0x40000000

#include "sbx_int.h"

/* What every process in a box may do: memory, files it can see, time,
 * signals within its own PID namespace, its own identity. Kept as a table
 * so a review reads one list. Calls this kernel or libseccomp does not know
 * are skipped on purpose (seccomp_syscall_resolve_name returns
 * __NR_SCMP_ERROR): a call the kernel lacks cannot be made anyway. */
static const char *const base_calls[] = {
    /* I/O on descriptors it has */
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv",
    "pwritev", "preadv2", "pwritev2", "lseek", "close", "dup", "dup2", "dup3",
    "fcntl", "pipe", "pipe2", "poll", "ppoll", "select", "pselect6",
    "sendfile", "splice", "tee", "copy_file_range",
    /* files in the box's view */
    "open", "openat", "openat2", "creat", "stat", "fstat", "lstat", "newfstatat",
    "statx", "access", "faccessat", "faccessat2", "readlink", "readlinkat",
    "getcwd", "chdir", "fchdir", "getdents", "getdents64", "mkdir", "mkdirat",
    "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2", "link",
    "linkat", "symlink", "symlinkat", "chmod", "fchmod", "fchmodat", "umask",
    "truncate", "ftruncate", "fsync", "fdatasync", "fadvise64", "statfs",
    "fstatfs", "utimensat", "futimesat", "utime", "utimes", "fallocate",
    "flock",
    /* memory */
    "brk", "mmap", "munmap", "mprotect", "mremap", "madvise", "msync",
    "mincore",
    /* threads, signals, exit */
    "exit", "exit_group", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
    "rt_sigpending", "rt_sigtimedwait", "rt_sigsuspend", "rt_sigqueueinfo",
    "sigaltstack", "pause", "kill", "tgkill", "tkill", "futex", "set_tid_address",
    "set_robust_list", "get_robust_list", "rseq", "arch_prctl", "sched_yield",
    "sched_getaffinity", "sched_getparam", "sched_getscheduler", "wait4",
    "waitid", "restart_syscall", "setpgid", "getpgid", "getpgrp",
    "getsid",
    /* identity and time */
    "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid",
    "getgroups", "getresuid", "getresgid", "uname", "sysinfo", "times",
    "getrusage", "getrlimit", "setrlimit", "prlimit64", "clock_gettime",
    "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
    "getrandom", "alarm", "getitimer", "setitimer",
    /* POSIX timers: each takes a queued-signal slot, so RLIMIT_SIGPENDING
     * bounds how many a box can create. */
    "timer_create", "timer_settime", "timer_gettime", "timer_delete",
    "timer_getoverrun",
    "eventfd", "eventfd2", "epoll_create", "epoll_create1", "epoll_ctl",
    "epoll_wait", "epoll_pwait", "epoll_pwait2",
    "membarrier",
};

/* ioctl requests a C program's stdio may make on its pipes (isatty and
 * friends). TIOCSTI and every other request are refused. */
static const unsigned long ioctl_ok[] = {TCGETS, TIOCGWINSZ, FIONREAD, FIONBIO, FIOCLEX};
/* prctl options that only read or rename the calling thread. */
static const unsigned long prctl_ok[] = {PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE};

/* clone flags that would create namespaces, or a child init could not trace:
 * never allowed, with or without processes. */
#define SBX_CLONE_NS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | \
                      CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_UNTRACED)

static uintptr_t exec_page_addr;
static pthread_once_t exec_page_once = PTHREAD_ONCE_INIT;

static void exec_page_init(void)
{
    /* mmap's own ASLR places it; nothing in the exec'd image can learn
     * where, and a wrong guess at it is a blocked call that ends the run. */
    void *pg = mmap(NULL, PATH_MAX, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    exec_page_addr = pg == MAP_FAILED ? 0 : (uintptr_t)pg;
}

uintptr_t sbx_exec_page(void)
{
    pthread_once(&exec_page_once, exec_page_init);
    return exec_page_addr;
}

static int add(scmp_filter_ctx ctx, const char *name, unsigned n, struct scmp_arg_cmp *cmp)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR)
        return 0; /* unknown here: skipped on purpose, see base_calls */
    return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n, cmp);
}

static int add_plain(scmp_filter_ctx ctx, const char *name)
{
    return add(ctx, name, 0, NULL);
}

static int add_each_arg(scmp_filter_ctx ctx, const char *name, unsigned arg,
                        const unsigned long *vals, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct scmp_arg_cmp c = SCMP_CMP(arg, SCMP_CMP_EQ, vals[i]);
        int rc = add(ctx, name, 1, &c);
        if (rc)
            return rc;
    }
    return 0;
}

int sbx_seccomp_build(struct sbx_policy *p, char *err, size_t errlen)
{
    int rc = -1, memfd = -1;
    const char *what = "seccomp_init";
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRACE(0));
    if (!ctx)
        goto out;

    /* A call made through another ABI (i386 int 0x80, x32) would bypass a
     * filter written for x86_64 numbers: refuse it like any other, so init
     * names it and kills the box. */
    what = "bad-arch action";
    if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRACE(0)))
        goto out;

    what = "allowlist";
    for (size_t i = 0; i < sizeof base_calls / sizeof base_calls[0]; i++)
        if (add_plain(ctx, base_calls[i]))
            goto out;
    if (add_each_arg(ctx, "ioctl", 1, ioctl_ok, sizeof ioctl_ok / sizeof ioctl_ok[0]) ||
        add_each_arg(ctx, "prctl", 0, prctl_ok, sizeof prctl_ok / sizeof prctl_ok[0]))
        goto out;

    /* A further filter of the program's own, plain mode without flags (no
     * listener, no thread sync): filters only ever add refusals, and
     * memgrade's runtime stacks one over this before the student's code
     * runs (graders/INTEGRITY.md). */
    struct scmp_arg_cmp filt[2] = {SCMP_CMP(0, SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER),
                                   SCMP_CMP(1, SCMP_CMP_EQ, 0)};
    if (add(ctx, "seccomp", 2, filt))
        goto out;

    /* setsid would make a new scheduling group (autogroup) at full
     * priority, out of the one init demotes a busy box's with (sbx.c,
     * "priority"). Answered EPERM, what it says to a process group leader,
     * rather than ending the run: a program that detaches itself is not
     * wrong, it just stays in the box's session. */
    what = "setsid";
    if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), seccomp_syscall_resolve_name("setsid"), 0))
        goto out;
    /* clone3 passes its flags in memory BPF cannot read: answer ENOSYS so
     * glibc falls back to clone, whose flags we can check. */
    if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), seccomp_syscall_resolve_name("clone3"), 0))
        goto out;
    /* Threads always (bounded by RLIMIT_NPROC); processes only when allowed;
     * new namespaces never. */
    struct scmp_arg_cmp thread = SCMP_CMP(0, SCMP_CMP_MASKED_EQ,
                                          CLONE_THREAD | SBX_CLONE_NS, CLONE_THREAD);
    struct scmp_arg_cmp no_ns = SCMP_CMP(0, SCMP_CMP_MASKED_EQ, SBX_CLONE_NS, 0);
    if (add(ctx, "clone", 1, p->allow_processes ? &no_ns : &thread))
        goto out;
    if (p->allow_processes && (add_plain(ctx, "fork") || add_plain(ctx, "vfork")))
        goto out;

    if (p->allow_exec) {
        if (add_plain(ctx, "execve"))
            goto out;
    } else {
        /* Only the supervisor's own exec of the program: its filename
         * pointer is the exec page, which the new image does not have. */
        struct scmp_arg_cmp pg = SCMP_CMP(0, SCMP_CMP_EQ, (scmp_datum_t)sbx_exec_page());
        if (!sbx_exec_page() || add(ctx, "execve", 1, &pg))
            goto out;
    }

    what = "export";
    memfd = memfd_create("sbx-bpf", MFD_CLOEXEC);
    if (memfd < 0 || seccomp_export_bpf(ctx, memfd))
        goto out;
    off_t size = lseek(memfd, 0, SEEK_END);
    if (size <= 0 || size % (off_t)sizeof(struct sock_filter) ||
        size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS)
        goto out;
    p->bpf = malloc((size_t)size);
    if (!p->bpf || pread(memfd, p->bpf, (size_t)size, 0) != size) {
        free(p->bpf);
        p->bpf = NULL;
        goto out;
    }
    p->bpf_len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
    rc = 0;
out:
    if (rc && err && errlen)
        snprintf(err, errlen, "seccomp filter for '%s': %s failed", p->name, what);
    if (memfd >= 0)
        close(memfd);
    if (ctx)
        seccomp_release(ctx);
    return rc;
}

void sbx_seccomp_name(uint32_t arch, int nr, char *buf, size_t len)
{
    /* x32 calls arrive under the x86_64 arch with bit 30 set. */
    const char *abi = arch == AUDIT_ARCH_I386 ? "i386 " :
                      arch == AUDIT_ARCH_X86_64 && (nr & X32_SYSCALL_BIT) ? "x32 " : "";
    if (*abi == 'x') {
        nr &= ~X32_SYSCALL_BIT;
        arch = AUDIT_ARCH_X86_64;
    }
    char *name = seccomp_syscall_resolve_num_arch(arch, nr);
    if (name)
        snprintf(buf, len, "%s%s", abi, name);
    else
        snprintf(buf, len, "%ssyscall %d", abi, nr);
    free(name);
}

void sbx_syscall_name(int nr, char *buf, size_t len)
{
    sbx_seccomp_name(AUDIT_ARCH_X86_64, nr, buf, len);
}
