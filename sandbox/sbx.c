/* sbx: policies and runs. The supervisor (the caller's thread) clones an init
 * process into fresh PID/net/mount/IPC/UTS namespaces; init builds the
 * filesystem view, forks the program, traces it, enforces the CPU limit and
 * the wall clock, and reports how it ended. The supervisor pumps the pipes,
 * enforces the output limit, and turns all of it into a verdict.
 *
 *   supervisor ──clone(new namespaces)──> init (pid 1, root, no filter,
 *                                            │    tracer of the box)
 *                                            └─fork─> program (box uid,
 *                                                     cgroups, rlimits,
 *                                                     seccomp)
 *
 * Everything between clone and exec runs in a child of a possibly
 * multi-threaded process, so it uses raw syscalls and no malloc or locks. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sbx_int.h"

#define KiB 1024UL
/* How long init gets to wind a run down before we kill it ourselves. */
#define SBX_GRACE_MS 1000L
#define MiB (1024UL * 1024UL)
/* The profiles' CPU quantum (see "priority" below). A reference's compile
 * takes less; a whole function-level test run of one (mystr) one or two, a
 * submission spinning in every test four or five. */
#define SBX_QUANTUM_MS 250UL

/* ---- verdicts ------------------------------------------------------------ */

static const char *const verdict_names[] = {
#define SBX_NAME_(id, name) [id] = name,
    SBX_VERDICTS(SBX_NAME_)
#undef SBX_NAME_
};

const char *sbx_verdict_name(sbx_verdict v)
{
    return (unsigned)v < SBX_VERDICT_COUNT ? verdict_names[v] : "unknown";
}

/* ---- policies ------------------------------------------------------------ */

/* The profiles' defaults, one row each. */
static const struct sbx_policy profiles[] = {
    {.name = "compile",
     .cpu_ms = 10000, .wall_ms = 20000, .memory = 1024 * MiB, .stack = 16 * MiB,
     .file_size = 64 * MiB, .open_files = 256, .processes = 64,
     .tmp_size = 128 * MiB, .output_keep = 64 * KiB, .output_limit = 4 * MiB,
     .cpu_quantum_ms = SBX_QUANTUM_MS,
     .allow_processes = true, .allow_exec = true, .box_writable = true},
    {.name = "run",
     .cpu_ms = 5000, .wall_ms = 10000, .memory = 512 * MiB, .stack = 8 * MiB,
     .file_size = 16 * MiB, .open_files = 64, .processes = 16,
     .tmp_size = 16 * MiB, .output_keep = 64 * KiB, .output_limit = 16 * MiB,
     .cpu_quantum_ms = SBX_QUANTUM_MS,
     .allow_processes = false, .allow_exec = false, .box_writable = false},
};

sbx_policy *sbx_policy_new(const char *profile)
{
    for (size_t i = 0; profile && i < sizeof profiles / sizeof profiles[0]; i++) {
        if (strcmp(profile, profiles[i].name))
            continue;
        sbx_policy *p = malloc(sizeof *p);
        if (!p)
            return NULL;
        *p = profiles[i];
        pthread_mutex_init(&p->lock, NULL);
        return p;
    }
    return NULL;
}

void sbx_policy_free(sbx_policy *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p->bpf);
    free(p);
}

const char *sbx_policy_name(const sbx_policy *p)
{
    return p->name;
}

#define SBX_SETTER(fn, field)                               \
    void fn(sbx_policy *p, unsigned long v)                 \
    {                                                       \
        if (v)                                              \
            p->field = v;                                   \
    }
SBX_SETTER(sbx_policy_set_cpu_ms, cpu_ms)
SBX_SETTER(sbx_policy_set_wall_ms, wall_ms)
SBX_SETTER(sbx_policy_set_memory, memory)
SBX_SETTER(sbx_policy_set_stack, stack)
SBX_SETTER(sbx_policy_set_file_size, file_size)
SBX_SETTER(sbx_policy_set_open_files, open_files)
SBX_SETTER(sbx_policy_set_processes, processes)
SBX_SETTER(sbx_policy_set_tmp_size, tmp_size)
SBX_SETTER(sbx_policy_set_output_keep, output_keep)
SBX_SETTER(sbx_policy_set_output_limit, output_limit)
SBX_SETTER(sbx_policy_set_cpu_quantum, cpu_quantum_ms)
#undef SBX_SETTER

void sbx_policy_allow_processes(sbx_policy *p, bool allow)
{
    pthread_mutex_lock(&p->lock);
    if (p->allow_processes != allow) {
        p->allow_processes = allow;
        free(p->bpf); /* the filter depends on it: rebuild on next use */
        p->bpf = NULL;
    }
    pthread_mutex_unlock(&p->lock);
}

int sbx_policy_compile(sbx_policy *p, char *err, size_t errlen)
{
    pthread_mutex_lock(&p->lock);
    int rc = p->bpf ? 0 : sbx_seccomp_build(p, err, errlen);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

/* ---- the child side ------------------------------------------------------ */

/* Fixed descriptor layout in init, so the program side knows where things
 * are without any allocation. */
enum { FD_STATUS = 3, FD_STDIN, FD_OUT, FD_ERR, FD_3, FD_CPU, FD_TASKS_MEM, FD_TASKS_CPU,
       FD_FIRST_FREE };
#define FD_NEEDED (FD_FIRST_FREE - FD_STATUS)

/* What init tells the supervisor, once, on FD_STATUS. */
struct init_report {
    int stage;          /* 0 ran; else a setup stage that failed (enum below) */
    int err_no;
    int step;           /* filesystem step, for STAGE_FS */
    int status;         /* wait status of the program */
    long utime_us, stime_us, maxrss_kb;
    int nice;           /* the most the box's priority was lowered */
    int stopped;        /* STOP_*: why init ended the run early, if it did */
    int blocked;        /* a call outside the allowlist was attempted */
    int nr;             /* its number and audit arch */
    uint32_t arch;
};

enum { STOP_NONE, STOP_WALL, STOP_CPU, STOP_REQUEST };

enum { STAGE_OK, STAGE_FDS, STAGE_CGROUP, STAGE_FS, STAGE_FORK, STAGE_LIMITS, STAGE_IDENTITY,
       STAGE_FILTER, STAGE_READY, STAGE_TRACE, STAGE_EXEC, STAGE_COUNT };
static const char *const stage_names[STAGE_COUNT] = {
    [STAGE_OK] = "ok", [STAGE_FDS] = "arrange descriptors",
    [STAGE_CGROUP] = "join the box's cgroups",
    [STAGE_FS] = "filesystem", [STAGE_FORK] = "fork program",
    [STAGE_LIMITS] = "set resource limits", [STAGE_IDENTITY] = "drop to box uid",
    [STAGE_FILTER] = "load seccomp filter", [STAGE_READY] = "program ready",
    [STAGE_TRACE] = "trace program",
    [STAGE_EXEC] = "exec program",
};

/* What the program side tells init before exec, on the sync pipe. */
struct prog_msg {
    int stage;
    int value;          /* errno, for a failed stage */
};

struct child_args {
    const struct sbx_policy *p;
    const struct sbx_box *b;
    const sbx_cmd *cmd;
    const char *const *envp;
    const char *tmp_opts;
    struct sock_fprog prog;
    char *exec_page;    /* see sbx_exec_page(); mapped before the clone */
    long deadline_ms;   /* CLOCK_MONOTONIC ms at which the wall limit ends */
    int start_nice;     /* the starting thread's nice over the process's */
    const struct sbx_cg_run *cg; /* the box's cgroups for this run */
};

static long mono_ms(void)
{
    struct timespec ts;
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* CPU of the box's processes that init has reaped so far. */
static long children_cpu_ms(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_CHILDREN, &ru))
        return 0;
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000L +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000L;
}

static void write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

static ssize_t read_full(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static _Noreturn void init_fail(int stage, int step)
{
    struct init_report r = {.stage = stage, .err_no = errno, .step = step};
    write_all(FD_STATUS, &r, sizeof r);
    _exit(1);
}

static void prog_send(int fd, int stage, int value)
{
    struct prog_msg m = {stage, value};
    write_all(fd, &m, sizeof m);
}

static int set_limit(int res, unsigned long soft, unsigned long hard)
{
    struct rlimit rl = {soft, hard};
    return setrlimit(res, &rl);
}

/* The program: limits, identity, filter, exec. Never returns. */
static _Noreturn void prog_main(const struct child_args *a, int syncw, int gor)
{
    const struct sbx_policy *p = a->p;
    uid_t uid = a->b->uid;
    struct prog_msg go;

    /* The program, not init, joins the box's cgroups, first thing and while
     * still root: an OOM kill in the box must never pick init (a copy of the
     * supervisor, the biggest process there), and init's own work is no
     * charge on the student. Writing "0" to "tasks" moves this (only) thread
     * without the kernel's global threadgroup lock. */
    const int tasks_fd[SBX_CG_COUNT] = {[SBX_CG_MEMORY] = FD_TASKS_MEM,
                                        [SBX_CG_CPUACCT] = FD_TASKS_CPU};
    for (int c = 0; c < SBX_CG_COUNT; c++)
        if (a->cg->procs[c] >= 0 && write(tasks_fd[c], "0", 1) != 1) {
            prog_send(syncw, STAGE_CGROUP, errno);
            _exit(127);
        }
    /* A signal the supervisor ignores (SIGPIPE) would stay ignored across
     * exec: the program starts with every disposition at its default and
     * nothing blocked, as from a shell. */
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (dup2(FD_STDIN, 0) < 0 || dup2(FD_OUT, 1) < 0 || dup2(FD_ERR, 2) < 0 ||
        (a->cmd->capture_fd3 ? dup2(FD_3, 3) < 0 : close(FD_STATUS) < 0)) {
        prog_send(syncw, STAGE_FDS, errno);
        _exit(127);
    }
    for (int fd = FD_STDIN; fd < FD_FIRST_FREE; fd++)
        close(fd); /* FD_CPU too: the program must not read its own budget */

    /* Init stops the program at its CPU limit to the millisecond. This
     * SIGKILL (soft = hard: no SIGXCPU to ignore), a second later so that it
     * never races init, is the per-process backstop for the children init
     * cannot clock. */
    unsigned long cpu_s = (p->cpu_ms + 999) / 1000 + 1;
    if (set_limit(RLIMIT_AS, p->memory, p->memory) ||
        set_limit(RLIMIT_CPU, cpu_s, cpu_s) ||
        set_limit(RLIMIT_FSIZE, p->file_size, p->file_size) ||
        set_limit(RLIMIT_NOFILE, p->open_files, p->open_files) ||
        set_limit(RLIMIT_NPROC, p->processes, p->processes) ||
        set_limit(RLIMIT_STACK, p->stack, p->stack) ||
        set_limit(RLIMIT_CORE, 0, 0) || set_limit(RLIMIT_MEMLOCK, 0, 0) ||
        set_limit(RLIMIT_MSGQUEUE, 0, 0) || set_limit(RLIMIT_SIGPENDING, 64, 64)) {
        prog_send(syncw, STAGE_LIMITS, errno);
        _exit(127);
    }
    /* Raw syscalls: glibc's wrappers would broadcast the change to every
     * thread it believes exists, i.e. the supervisor's, which are not here. */
    if (syscall(SYS_setgroups, 0, NULL) || syscall(SYS_setresgid, uid, uid, uid) ||
        syscall(SYS_setresuid, uid, uid, uid) ||
        prctl(PR_SET_PDEATHSIG, SIGKILL) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
        prog_send(syncw, STAGE_IDENTITY, errno);
        _exit(127);
    }
    /* From here on every call is filtered; read, write and the one execve
     * below are on every allowlist. A refused call stops the program for
     * init, its tracer (see init_main). */
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &a->prog)) {
        prog_send(syncw, STAGE_FILTER, errno);
        _exit(127);
    }
    prog_send(syncw, STAGE_READY, 0);
    /* Wait until init traces us: a refused call made untraced would only
     * fail with ENOSYS, unnamed. */
    if (read_full(gor, &go, sizeof go) != (ssize_t)sizeof go)
        _exit(127);

    const char *path = a->cmd->argv[0];
    char *page = a->exec_page;
    size_t len = strlen(path);
    if (len >= PATH_MAX) {
        prog_send(syncw, STAGE_EXEC, ENAMETOOLONG);
        _exit(127);
    }
    memcpy(page, path, len + 1);
    execve(page, (char *const *)a->cmd->argv, (char *const *)a->envp);
    prog_send(syncw, STAGE_EXEC, errno);
    _exit(127);
}

/* Moves the descriptors init needs to FD_STATUS.. and closes every other
 * one inherited from the (possibly busy, multi-threaded) supervisor. */
static int arrange_fds(const int need[FD_NEEDED])
{
    int tmp[FD_NEEDED];
    for (int i = 0; i < FD_NEEDED; i++)
        if ((tmp[i] = fcntl(need[i], F_DUPFD_CLOEXEC, FD_FIRST_FREE)) < 0)
            return -1;
    for (int i = 0; i < FD_NEEDED; i++)
        if (dup3(tmp[i], FD_STATUS + i, O_CLOEXEC) < 0)
            return -1;
    return (int)syscall(SYS_close_range, FD_FIRST_FREE, ~0U, 0);
}

/* A stop of a tracee, reported by waitpid: let it go on the way it would
 * untraced, or, for a refused call, end the box and note what was tried. */
static void on_stop(pid_t pid, int st, struct init_report *r)
{
    int event = (unsigned)st >> 16, sig = WSTOPSIG(st);
    switch (event) {
    case PTRACE_EVENT_SECCOMP: {
        struct __ptrace_syscall_info info;
        memset(&info, 0, sizeof info);
        if (!r->blocked &&
            ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof info, &info) > 0 &&
            info.op == PTRACE_SYSCALL_INFO_SECCOMP) {
            r->blocked = 1;
            r->nr = (int)info.seccomp.nr;
            r->arch = info.arch;
        } else if (!r->blocked) {
            r->blocked = 1;
            r->nr = -1;
        }
        /* The call never runs: the box dies while the caller is stopped. */
        kill(-1, SIGKILL);
        return;
    }
    case PTRACE_EVENT_STOP:
        /* A group-stop (SIGSTOP and friends) stays a stop; the first stop of
         * a newly traced child goes on. */
        if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
            ptrace(PTRACE_LISTEN, pid, 0, 0);
        else
            ptrace(PTRACE_CONT, pid, 0, 0);
        return;
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK:
    case PTRACE_EVENT_CLONE:
        ptrace(PTRACE_CONT, pid, 0, 0);
        return;
    default:
        /* A signal on its way to the tracee: deliver it. */
        ptrace(PTRACE_CONT, pid, 0, event ? 0 : sig);
    }
}

/* Handles every pending child event; returns true once `prog` has ended
 * (its wait status in *status). */
static bool drain_events(pid_t prog, int *status, struct init_report *r)
{
    bool ended = false;
    int st;
    pid_t w;
    while ((w = waitpid(-1, &st, WNOHANG | __WALL)) > 0) {
        if (WIFSTOPPED(st))
            on_stop(w, st, r);
        else if (w == prog) {
            *status = st;
            ended = true;
        }
    }
    return ended;
}

/* ---- priority ---------------------------------------------------------------
 * One student's spinning submission must not slow everyone's grading: on a
 * busy machine a box that keeps a CPU busy gives way to boxes that have
 * used less, as a multi-level feedback queue would have it. At 1, 2 and 4
 * quanta of CPU in a run, init lowers the priority of every process of the
 * box a level (the box's own uid, in its own PID namespace: PRIO_USER
 * reaches all of them and nothing else; the box cannot raise it back, it
 * has no CAP_SYS_NICE). The nice weights (1024, 335, 110, 36) only divide a
 * CPU that others want: alone, a demoted box still runs at full speed.
 *
 * Limits are CPU time, so a grade never depends on the priority, as long as
 * the run reaches its CPU limit before its wall clock. A test's wall clock
 * is 4x its CPU limit (4 x test_ms), so a box that got less than a quarter
 * of a CPU over the last window is lifted a level, back to where it would
 * be without any of this at level 0, and one that got half a CPU or more
 * sinks again (the aging that keeps a feedback queue from starving
 * anyone). Where the wall clock is tighter (a policy's own limits may be
 * 2x), the second half of it is run at full priority whatever the CPU.
 *
 * Where the kernel groups tasks by session (CONFIG_SCHED_AUTOGROUP, on by
 * default in Debian), each box is a session of its own (init's setsid), so
 * it is its own scheduling group and CPUs are divided between groups
 * before nice is looked at: a nice level alone would only rank a box's
 * processes among themselves. Init therefore sets its session's group to
 * the same level (/proc/self/autogroup, opened before the box's view of
 * the file system). The box cannot leave the group: setsid is refused in
 * the box (sbx_seccomp.c). */
const int sbx_sched_nice[SBX_SCHED_LEVELS] = {0, 5, 10, 15};
#define SCHED_WINDOW_MS 1000L

int sbx_sched_level_of(int nice_over)
{
    int level = 0;
    while (level + 1 < SBX_SCHED_LEVELS && nice_over >= sbx_sched_nice[level + 1])
        level++;
    return level;
}

int sbx_sched_next(struct sbx_sched *s, long now, long used)
{
    if (s->boost_at && now >= s->boost_at)
        return 0;
    int level = 0;
    unsigned long q = used > 0 ? (unsigned long)used / s->quantum : 0;
    while (level + 1 < SBX_SCHED_LEVELS && q >= (1UL << level))
        level++;
    level += s->start;
    if (level > SBX_SCHED_LEVELS - 1)
        level = SBX_SCHED_LEVELS - 1;
    if (now - s->win_start >= SCHED_WINDOW_MS) {
        long got = used - s->win_cpu, span = now - s->win_start;
        if (s->applied > 0 && got * 4 < span)
            s->lift++;
        else if (s->lift > 0 && got * 2 >= span)
            s->lift--;
        s->win_start = now;
        s->win_cpu = used;
    }
    if (s->lift > level)
        s->lift = level;
    return level - s->lift;
}

void sbx_sched_applied(struct sbx_sched *s, int level, long now, long used)
{
    if (level != s->applied) {
        /* A new level is judged on what it gives from now on. */
        s->win_start = now;
        s->win_cpu = used;
    }
    s->applied = level;
}

/* Called on every pass of init's loop: `used` is the run's CPU so far.
 * base is init's own nice (the box's levels count from it); *most the
 * largest increment applied so far. */
struct sched_group {
    int fd;   /* /proc/self/autogroup of init's session, or -1 */
    int nice; /* the nice it was last set to (a new group's is 0) */
};

/* Sets the group's nice when it changes: the kernel allows a process
 * without CAP_SYS_ADMIN one such change in 100 ms, machine-wide (EAGAIN:
 * the caller tries again on its next pass). 0, or -1 when it did not take. */
static int group_set(struct sched_group *g, int nice)
{
    if (g->fd < 0 || g->nice == nice)
        return 0;
    char buf[16];
    int n = snprintf(buf, sizeof buf, "%d", nice);
    if (write(g->fd, buf, (size_t)n) != n) /* not seekable: write, not pwrite */
        return -1;
    g->nice = nice;
    return 0;
}

static void sched_tick(struct sbx_sched *s, struct sched_group *g, uid_t uid, int base,
                       int *most, long now, long used)
{
    int level = sbx_sched_next(s, now, used);
    if (level == 0 && s->applied == 0)
        return;
    /* Applied again while demoted: a thread made while the last call
     * walked the task list may have missed it. */
    int nice = base + sbx_sched_nice[level];
    if (nice > 19)
        nice = 19;
    if (setpriority(PRIO_USER, uid, nice) != 0 || group_set(g, nice))
        return;
    sbx_sched_applied(s, level, now, used);
    if (nice - base > *most)
        *most = nice - base;
}

/* Init: pid 1 of the box, root, unfiltered, the tracer of every process in
 * it. Never returns.
 *
 * Refused calls reach us as seccomp ptrace-stops (SECCOMP_RET_TRACE). A
 * tracee in a ptrace-stop cannot be woken by a signal of its own, so a
 * program cannot withdraw a refused call and carry on probing, as it could
 * with a user-notification listener, and we name every call it tries. */
static _Noreturn void init_main(const struct child_args *a, const int need[FD_NEEDED])
{
    struct init_report r = {0};
    int sync[2], gop[2];

    if (arrange_fds(need))
        init_fail(STAGE_FDS, 0);
    /* Our own session and process group: a kill(0, ...) in the box, or the
     * terminal of whoever started the supervisor, reaches nothing outside. */
    setsid();
    /* The scheduling group of the session just made (see "priority").
     * Absent without CONFIG_SCHED_AUTOGROUP or with it turned off (then
     * there are no such groups to set). */
    struct sched_group grp = {open("/proc/self/autogroup", O_WRONLY | O_CLOEXEC), 0};
    errno = 0;
    int base = getpriority(PRIO_PROCESS, 0) - a->start_nice;
    if (errno)
        base = 0;
    struct sbx_sched sch = {.quantum = a->p->cpu_quantum_ms ? a->p->cpu_quantum_ms
                                                            : SBX_QUANTUM_MS,
                            .start = a->p->cpu_quantum_ms == SBX_NO_DEMOTION
                                         ? 0 : sbx_sched_level_of(a->start_nice),
                            .boost_at = a->deadline_ms - (long)a->p->wall_ms / 2};
    /* A run that begins down (sbx.h) is put there before its program
     * starts: init's own nice, which the program inherits, and the group's.
     * Init, root, may lower it again (the levels' lifting). */
    if (sch.start) {
        int nice = base + sbx_sched_nice[sch.start];
        nice = nice > 19 ? 19 : nice;
        if (setpriority(PRIO_PROCESS, 0, nice) == 0 && group_set(&grp, nice) == 0) {
            sbx_sched_applied(&sch, sch.start, mono_ms(), 0);
            r.nice = nice - base;
        }
    } else {
        /* A new group starts at nice 0 whatever its first task's: give it
         * the service's own. */
        (void)group_set(&grp, base);
    }
    /* SIGUSR1 from the supervisor means "stop the box now" (output limit);
     * SIGCHLD means a tracee or child needs us. Both arrive blocked (see
     * sbx_run) and are read here, never handled. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sigfd < 0)
        init_fail(STAGE_FDS, 0);
    /* From here on FD_STATUS is ours to report on. If the supervisor dies
     * (a crashed server), the box dies with it. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL))
        init_fail(STAGE_FDS, 0);
    /* The host's OOM killer should take a student's program before any
     * service; raising the score needs no privilege, and the program
     * inherits it. */
    int adj = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (adj >= 0) {
        (void)!write(adj, "1000", 4);
        close(adj);
    }
    sethostname("box", 3);
    int step = sbx_fs_enter(a->b, a->p, a->tmp_opts);
    if (step)
        init_fail(STAGE_FS, -step);
    if (pipe2(sync, O_CLOEXEC) || pipe2(gop, O_CLOEXEC))
        init_fail(STAGE_FORK, 0);

    pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (pid < 0)
        init_fail(STAGE_FORK, 0);
    if (pid == 0) {
        close(sync[0]);
        close(gop[1]);
        prog_main(a, sync[1], gop[0]);
    }
    close(sync[1]);
    close(gop[0]);

    struct prog_msg m;
    if (read_full(sync[0], &m, sizeof m) != (ssize_t)sizeof m)
        init_fail(STAGE_FORK, 0);
    if (m.stage != STAGE_READY) {
        errno = m.value;
        kill(pid, SIGKILL);
        init_fail(m.stage, 0);
    }
    /* Trace the program and, automatically, every thread and process it
     * makes; EXITKILL: if we die, they all do. */
    if (ptrace(PTRACE_SEIZE, pid, 0,
               PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL | PTRACE_O_TRACEFORK |
                   PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE)) {
        kill(pid, SIGKILL);
        init_fail(STAGE_TRACE, 0);
    }
    write_all(gop[1], &m, sizeof m);
    close(gop[1]);
    /* EOF means exec succeeded (the pipe is close-on-exec). */
    if (read_full(sync[0], &m, sizeof m) == (ssize_t)sizeof m) {
        errno = m.value;
        kill(pid, SIGKILL);
        init_fail(m.stage, 0);
    }
    close(sync[0]);

    /* Watch the box until the program ends: handle tracee stops, enforce the
     * wall clock and the CPU limit to the millisecond, obey a stop request
     * from the supervisor, reap orphans (double forks) as they die so they
     * cannot pile up against the process limit. */
    int status = 0;
    bool done = false;
    long used_ms = 0;
    const long cpu_limit = (long)a->p->cpu_ms;
    sch.win_start = mono_ms();
    clockid_t pclock = (clockid_t)((~(unsigned)pid << 3) | 2); /* process CPU clock */
    while (!done) {
        done = drain_events(pid, &status, &r);
        if (done || r.blocked)
            break;
        long now = mono_ms();
        if (now >= a->deadline_ms) {
            r.stopped = STOP_WALL;
            break;
        }
        struct timespec ts;
        if (a->cg->usage_fd >= 0)
            used_ms = sbx_cg_cpu_ms(a->cg, FD_CPU); /* the whole box */
        else if (syscall(SYS_clock_gettime, pclock, &ts) == 0)
            used_ms = children_cpu_ms() + ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
        if (used_ms >= cpu_limit) {
            r.stopped = STOP_CPU;
            break;
        }
        sched_tick(&sch, &grp, a->b->uid, base, &r.nice, now, used_ms);
        long cpu_left = cpu_limit - used_ms;
        long wait = a->deadline_ms - now;
        if (wait > cpu_left)
            wait = cpu_left > 5 ? cpu_left : 5;
        /* Often enough to demote a box soon after its quantum ends. */
        if (wait > 100)
            wait = 100;
        struct pollfd pf = {sigfd, POLLIN, 0};
        if (poll(&pf, 1, (int)wait) < 0 && errno != EINTR)
            break;
        struct signalfd_siginfo si;
        bool stop_asked = false;
        while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si)
            if (si.ssi_signo == SIGUSR1)
                stop_asked = true;
        if (stop_asked) {
            /* A refused call first: when the program floods its output and
             * then makes one, the call is what the verdict must show. */
            done = drain_events(pid, &status, &r);
            if (!r.blocked)
                r.stopped = STOP_REQUEST;
            break;
        }
    }
    /* Everyone else dies now; reaping all of them (tracee stops included)
     * makes our children's rusage the whole box's CPU time and peak memory. */
    kill(-1, SIGKILL);
    for (;;) {
        int st;
        pid_t w = waitpid(-1, &st, __WALL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            break;
        if (WIFSTOPPED(st)) {
            /* SIGKILL is on its way; a refused call made in the moment we
             * stopped the box is still named. */
            if ((unsigned)st >> 16 == PTRACE_EVENT_SECCOMP && !r.blocked)
                on_stop(w, st, &r);
            continue;
        }
        if (w == pid && !done) {
            status = st;
            done = true;
        }
    }
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    r.stage = STAGE_OK;
    r.status = status;
    r.utime_us = ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec;
    r.stime_us = ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec;
    r.maxrss_kb = ru.ru_maxrss;
    write_all(FD_STATUS, &r, sizeof r);
    /* Our exit ends the PID namespace. */
    _exit(0);
}

/* ---- the supervisor ------------------------------------------------------ */

static pthread_once_t sigpipe_once = PTHREAD_ONCE_INIT;
static void ignore_sigpipe(void)
{
    /* A program that closes stdin early must not kill us with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
}

static const char *const default_env[] = {
    "PATH=/usr/bin:/bin", "HOME=/tmp", "TMPDIR=/tmp", "LANG=C", "LC_ALL=C", NULL,
};

/* One captured stream: keeps the first `keep` bytes, counts the rest. */
struct pump {
    int *fd;            /* the pipe's read end, owned by sbx_run */
    sbx_stream *s;
};

static int pump_read(struct pump *pm, size_t keep, char *scratch, size_t scratch_len)
{
    for (;;) {
        ssize_t n = read(*pm->fd, scratch, scratch_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN ? 0 : -1;
        if (n == 0)
            return -1; /* EOF */
        sbx_stream *s = pm->s;
        size_t room = keep > s->len ? keep - s->len : 0;
        size_t take = (size_t)n < room ? (size_t)n : room;
        if (take) {
            memcpy(s->data + s->len, scratch, take);
            s->len += take;
            s->data[s->len] = '\0';
        }
        s->total += (size_t)n;
        s->truncated = s->total > s->len;
        return 1;
    }
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void set_detail(sbx_result *res, const struct sbx_policy *p)
{
    switch (res->verdict) {
    case SBX_OK:
        snprintf(res->detail, sizeof res->detail, "exited normally");
        break;
    case SBX_RUNTIME_ERROR:
        snprintf(res->detail, sizeof res->detail, "exited with status %d", res->exit_code);
        break;
    case SBX_SIGNALED:
        snprintf(res->detail, sizeof res->detail, "killed by signal %d (%s)",
                 res->signal, strsignal(res->signal));
        break;
    case SBX_TIME_LIMIT:
        snprintf(res->detail, sizeof res->detail,
                 "time limit exceeded (%lu ms of CPU, %lu ms of wall clock allowed)",
                 p->cpu_ms, p->wall_ms);
        break;
    case SBX_MEMORY_LIMIT:
        snprintf(res->detail, sizeof res->detail, "memory limit reached (%lu MiB)",
                 p->memory / MiB);
        break;
    case SBX_OUTPUT_LIMIT:
        snprintf(res->detail, sizeof res->detail,
                 "output limit exceeded (%lu KiB of output allowed)", p->output_limit / KiB);
        break;
    case SBX_BLOCKED_SYSCALL:
        snprintf(res->detail, sizeof res->detail, "blocked system call: %s",
                 res->blocked_syscall);
        break;
    default:
        res->detail[0] = '\0';
    }
}

/* Does the program's own output say an allocation failed? With RLIMIT_AS a
 * program out of memory sees malloc fail and often says so before it dies
 * (cc1: "virtual memory exhausted"); nothing else tells us. */
static bool says_out_of_memory(const sbx_result *res)
{
    static const char *const phrases[] = {
        "memory exhausted", "Cannot allocate memory", "out of memory", "cannot allocate",
    };
    for (size_t i = 0; i < sizeof phrases / sizeof phrases[0]; i++)
        if ((res->err.data && strstr(res->err.data, phrases[i])) ||
            (res->out.data && strstr(res->out.data, phrases[i])))
            return true;
    return false;
}

/* Turns how the run ended into a verdict. Order matters: limits we enforced
 * first, then the filter, then how the program itself ended. `stop` is the
 * supervisor's own reason when it had to act (output flood, init not
 * answering). */
static void decide(sbx_result *res, const struct sbx_policy *p, const struct init_report *r,
                   int stop, bool oom_killed, long box_cpu_ms)
{
    /* cpuacct counts every process of the box to the nanosecond, also when
     * init could not report; rusage is the fallback. */
    res->cpu_ms = box_cpu_ms >= 0 ? box_cpu_ms : (r->utime_us + r->stime_us) / 1000;
    res->peak_rss_kb = r->maxrss_kb;
    res->nice = r->nice;
    int st = r->status;
    bool exited = WIFEXITED(st), signaled = WIFSIGNALED(st);
    if (exited)
        res->exit_code = WEXITSTATUS(st);
    if (signaled)
        res->signal = WTERMSIG(st);
    /* RLIMIT_AS makes allocation fail rather than kill: a program that ends
     * badly with its resident set close to the limit, or saying it could not
     * allocate, ran out of memory. */
    bool oom = (unsigned long)res->peak_rss_kb * KiB >= p->memory / 10 * 8 ||
               says_out_of_memory(res);

    /* An attempted forbidden call outranks everything: a verdict must never
     * hide an attack behind a limit the program hit at the same time. */
    if (r->blocked) {
        res->verdict = SBX_BLOCKED_SYSCALL;
        sbx_seccomp_name(r->arch, r->nr, res->blocked_syscall, sizeof res->blocked_syscall);
    } else if (oom_killed)
        res->verdict = SBX_MEMORY_LIMIT; /* the kernel killed in the box: the root cause */
    else if (stop == STOP_REQUEST || r->stopped == STOP_REQUEST)
        res->verdict = SBX_OUTPUT_LIMIT;
    else if (stop == STOP_WALL || r->stopped == STOP_WALL)
        res->verdict = SBX_TIME_LIMIT;
    else if (r->stopped == STOP_CPU || (signaled && res->signal == SIGXCPU) ||
               (unsigned long)res->cpu_ms > p->cpu_ms ||
               /* a process of the box hit its own whole-second backstop */
               ((unsigned long)res->cpu_ms >= p->cpu_ms && !(exited && res->exit_code == 0)))
        res->verdict = SBX_TIME_LIMIT;
    else if (signaled && res->signal == SIGXFSZ) {
        res->verdict = SBX_OUTPUT_LIMIT;
        snprintf(res->detail, sizeof res->detail,
                 "file size limit exceeded (%lu KiB per file)", p->file_size / KiB);
        return;
    } else if (exited && res->exit_code == 0)
        res->verdict = SBX_OK;
    else if (oom)
        res->verdict = SBX_MEMORY_LIMIT;
    else
        res->verdict = signaled ? SBX_SIGNALED : SBX_RUNTIME_ERROR;
    set_detail(res, p);
}

static int alloc_streams(sbx_result *res, size_t keep)
{
    sbx_stream *s[3] = {&res->out, &res->err, &res->fd3};
    for (int i = 0; i < 3; i++) {
        s[i]->data = calloc(1, keep + 1);
        if (!s[i]->data)
            return -1;
    }
    return 0;
}

void sbx_result_free(sbx_result *res)
{
    if (!res)
        return;
    free(res->out.data);
    free(res->err.data);
    free(res->fd3.data);
    res->out.data = res->err.data = res->fd3.data = NULL;
}

static void fail(char *err, size_t errlen, const char *what, int e)
{
    if (err && errlen)
        snprintf(err, errlen, "sandbox: %s: %s", what, strerror(e));
}

int sbx_run(sbx_policy *p, sbx_box *b, const sbx_cmd *cmd, sbx_result *res,
            char *err, size_t errlen)
{
    int rc = -1, pidfd = -1;
    struct sbx_cg_run cg = {.procs = {-1, -1}, .usage_fd = -1, .peak_fd = -1};
    int st_p[2] = {-1, -1}, in_p[2] = {-1, -1}, out_p[2] = {-1, -1},
        err_p[2] = {-1, -1}, f3_p[2] = {-1, -1};
    pid_t pid = -1;
    char tmp_opts[64];
    char scratch[16384];

    memset(res, 0, sizeof *res);
    pthread_once(&sigpipe_once, ignore_sigpipe);
    if (!cmd || !cmd->argv || !cmd->argv[0] || cmd->argv[0][0] != '/') {
        fail(err, errlen, "argv[0] must be an absolute path inside the box", EINVAL);
        return -1;
    }
    if (alloc_streams(res, p->output_keep)) {
        fail(err, errlen, "output buffers", ENOMEM);
        goto out;
    }
    if (sbx_policy_compile(p, err, errlen))
        goto out;

    snprintf(tmp_opts, sizeof tmp_opts, "size=%lu,mode=1777,nr_inodes=4096", p->tmp_size);

    if (pipe2(st_p, O_CLOEXEC) || pipe2(in_p, O_CLOEXEC) || pipe2(out_p, O_CLOEXEC) ||
        pipe2(err_p, O_CLOEXEC) || pipe2(f3_p, O_CLOEXEC)) {
        fail(err, errlen, "pipe", errno);
        goto out;
    }
    struct child_args a = {
        .p = p, .b = b, .cmd = cmd,
        .envp = cmd->envp ? cmd->envp : default_env,
        .tmp_opts = tmp_opts,
        .prog = {.len = p->bpf_len, .filter = p->bpf},
        .exec_page = (char *)sbx_exec_page(),
    };
    if (!a.exec_page) {
        fail(err, errlen, "exec page", ENOMEM);
        goto out;
    }
    if (sbx_cg_prepare(b, p->memory, &cg)) {
        fail(err, errlen, "prepare the box's cgroups", errno);
        goto out;
    }
    a.cg = &cg;
    /* A slot without its cgroup holds another copy of the status pipe, so
     * that it is taken and the layout stays fixed. */
    int need[FD_NEEDED] = {st_p[1], in_p[0], out_p[1], err_p[1], f3_p[1],
                           cg.usage_fd >= 0 ? cg.usage_fd : st_p[1],
                           cg.procs[SBX_CG_MEMORY] >= 0 ? cg.procs[SBX_CG_MEMORY] : st_p[1],
                           cg.procs[SBX_CG_CPUACCT] >= 0 ? cg.procs[SBX_CG_CPUACCT] : st_p[1]};
    const unsigned long flags = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC |
                                CLONE_NEWUTS | CLONE_PIDFD | SIGCHLD;
    long start = mono_ms();
    a.deadline_ms = start + (long)p->wall_ms;
    /* getpriority(PRIO_PROCESS, 0) is this thread's nice on Linux; the
     * process's is its main thread's (tid = pid). */
    errno = 0;
    int mine = getpriority(PRIO_PROCESS, 0), proc = getpriority(PRIO_PROCESS, getpid());
    a.start_nice = errno || mine <= proc ? 0 : mine - proc;
    /* Init must start with SIGUSR1 and SIGCHLD blocked (see init_main):
     * block them in this thread across the clone, which copies the mask. */
    sigset_t usr1, saved;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigaddset(&usr1, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &usr1, &saved);
    pid = (pid_t)syscall(SYS_clone, flags, 0, &pidfd, 0, 0);
    if (pid == 0)
        init_main(&a, need);
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    if (pid < 0) {
        fail(err, errlen, "clone into new namespaces", clone_errno);
        goto out;
    }

    close_fd(&st_p[1]);
    close_fd(&in_p[0]);
    close_fd(&out_p[1]);
    close_fd(&err_p[1]);
    close_fd(&f3_p[1]);
    for (int *fd = (int[]){st_p[0], in_p[1], out_p[0], err_p[0], f3_p[0]}, i = 0; i < 5; i++)
        fcntl(fd[i], F_SETFL, O_NONBLOCK);
    if (!cmd->stdin_data || cmd->stdin_len == 0)
        close_fd(&in_p[1]);

    struct pump pumps[3] = {{&out_p[0], &res->out}, {&err_p[0], &res->err},
                            {&f3_p[0], &res->fd3}};
    struct init_report rep;
    size_t rep_got = 0, in_off = 0;
    bool exited = false;
    int stop = STOP_NONE;      /* what we asked or forced, if anything */
    bool forced = false;       /* we had to SIGKILL init itself */
    /* Init enforces the wall clock and reports; we step in only if it does
     * not answer within a grace period. */
    long backstop = start + (long)p->wall_ms + SBX_GRACE_MS;
    long drain_deadline = 0;

    for (;;) {
        struct pollfd pf[6];
        int n = 0, ipump[3] = {-1, -1, -1}, iin = -1, ist = -1, ipid = -1;
        for (int i = 0; i < 3; i++)
            if (*pumps[i].fd >= 0) {
                ipump[i] = n;
                pf[n++] = (struct pollfd){*pumps[i].fd, POLLIN, 0};
            }
        if (in_p[1] >= 0) {
            iin = n;
            pf[n++] = (struct pollfd){in_p[1], POLLOUT, 0};
        }
        if (st_p[0] >= 0) {
            ist = n;
            pf[n++] = (struct pollfd){st_p[0], POLLIN, 0};
        }
        if (!exited) {
            ipid = n;
            pf[n++] = (struct pollfd){pidfd, POLLIN, 0};
        }
        if (exited && ipump[0] < 0 && ipump[1] < 0 && ipump[2] < 0 && ist < 0)
            break;
        long now = mono_ms();
        if (!exited && now >= backstop && !forced) {
            forced = true;
            if (stop == STOP_NONE)
                stop = STOP_WALL;
            syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
        }
        if (exited && !drain_deadline)
            drain_deadline = now + SBX_GRACE_MS;
        if (exited && now >= drain_deadline)
            break; /* every writer is dead; nothing more can come */
        long wait = exited ? drain_deadline - now : (forced ? 100 : backstop - now);
        int r = poll(pf, (nfds_t)n, (int)(wait > 0 ? wait : 0));
        if (r < 0 && errno != EINTR) {
            fail(err, errlen, "poll", errno);
            goto out;
        }
        if (r <= 0)
            continue;
        for (int i = 0; i < 3; i++) {
            if (ipump[i] < 0 || !pf[ipump[i]].revents)
                continue;
            if (pump_read(&pumps[i], p->output_keep, scratch, sizeof scratch) < 0)
                close_fd(pumps[i].fd);
        }
        if (stop == STOP_NONE && !exited &&
            res->out.total + res->err.total + res->fd3.total > p->output_limit) {
            /* Ask init to stop the box so that it still reports CPU and
             * memory; give it the grace period, then force it. */
            stop = STOP_REQUEST;
            syscall(SYS_pidfd_send_signal, pidfd, SIGUSR1, NULL, 0);
            if (backstop > now + SBX_GRACE_MS)
                backstop = now + SBX_GRACE_MS;
        }
        if (iin >= 0 && pf[iin].revents) {
            ssize_t w = write(in_p[1], (const char *)cmd->stdin_data + in_off,
                              cmd->stdin_len - in_off);
            if (w > 0)
                in_off += (size_t)w;
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || in_off == cmd->stdin_len)
                close_fd(&in_p[1]);
        }
        if (ist >= 0 && pf[ist].revents) {
            ssize_t g = read(st_p[0], (char *)&rep + rep_got, sizeof rep - rep_got);
            if (g > 0)
                rep_got += (size_t)g;
            else if (g == 0 || (errno != EAGAIN && errno != EINTR))
                close_fd(&st_p[0]);
        }
        if (ipid >= 0 && pf[ipid].revents)
            exited = true;
    }
    res->wall_ms = mono_ms() - start;
    /* A burst written in one go before the program exited is over the
     * limit all the same. */
    if (stop == STOP_NONE && res->out.total + res->err.total + res->fd3.total > p->output_limit)
        stop = STOP_REQUEST;

    while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
        ;
    pid = -1;
    if (rep_got != sizeof rep) {
        if (!forced) {
            fail(err, errlen, "box init ended without a report", EPROTO);
            goto out;
        }
        /* We had to kill init: no report, no accounting, but a verdict. */
        memset(&rep, 0, sizeof rep);
        rep.status = SIGKILL;
    } else if (rep.stage != STAGE_OK) {
        /* Includes a program that could not be exec'd (no such file): the
         * caller's command is wrong, which is no verdict on the program. */
        if (err && errlen)
            snprintf(err, errlen, "sandbox: %s%s%s: %s",
                     rep.stage < STAGE_COUNT ? stage_names[rep.stage] : "setup",
                     rep.stage == STAGE_FS ? ": " : "",
                     rep.stage == STAGE_FS ? sbx_fs_step_name(rep.step) : "",
                     strerror(rep.err_no));
        goto out;
    }
    bool oom_killed;
    long box_cpu_ms;
    sbx_cg_collect(b, &cg, &oom_killed, &res->peak_box_kb, &box_cpu_ms);
    decide(res, p, &rep, stop, oom_killed, box_cpu_ms);
    rc = 0;
out:
    if (pid > 0) {
        syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
        while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
            ;
    }
    close_fd(&pidfd);
    sbx_cg_release(&cg);
    for (int *fds[] = {st_p, in_p, out_p, err_p, f3_p}, i = 0; i < 5; i++) {
        close_fd(&fds[i][0]);
        close_fd(&fds[i][1]);
    }
    /* The streams stay allocated either way: sbx_result_free releases them. */
    return rc;
}
