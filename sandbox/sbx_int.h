/* Internal to sandbox/: the policy object, the box, and the pieces of a run
 * that sbx.c (supervisor), sbx_fs.c (filesystem view) and sbx_seccomp.c
 * (syscall filter) share. Not for use outside sandbox/. */
#ifndef MEMGRADE_SBX_INT_H
#define MEMGRADE_SBX_INT_H

#include <limits.h>
#include <linux/filter.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "sbx.h"

/* The cgroup v1 controllers a box uses where the host has them. */
enum { SBX_CG_MEMORY, SBX_CG_CPUACCT, SBX_CG_COUNT };

struct sbx_policy {
    char name[16];
    unsigned long cpu_ms, wall_ms, memory, stack, file_size, open_files,
        processes, tmp_size, output_keep, output_limit, cpu_quantum_ms;
    bool allow_processes;
    bool allow_exec;          /* exec inside the box after start (compile) */
    bool box_writable;        /* /box read-write (compile) or read-only (run) */

    pthread_mutex_t lock;     /* guards the lazy compile below */
    struct sock_filter *bpf;  /* the compiled allowlist, NULL until compiled */
    unsigned short bpf_len;
};

struct sbx_box {
    char base[PATH_MAX - 16]; /* host dir, 0700 root: holds work/ and root/ */
    char work[PATH_MAX];      /* host side of /box, owned by uid */
    char root[PATH_MAX];      /* empty mount point for the box's new root */
    uid_t uid;                /* unprivileged uid every run of the box uses */
    int workfd;               /* O_PATH|O_DIRECTORY on work/ */
    struct {
        char path[PATH_MAX];  /* the box's cgroup in one controller, or "" */
        int dirfd;            /* O_PATH on path, or -1 */
    } cg[SBX_CG_COUNT];
};

/* What one run needs of the box's cgroups. */
struct sbx_cg_run {
    int procs[SBX_CG_COUNT];  /* the cgroup's tasks (v1) or cgroup.procs (v2)
                                 file to join by, or -1 */
    int usage_fd;             /* cpuacct.usage (v1) or cpu.stat (v2), or -1 */
    int peak_fd;              /* v2: memory.peak, reset for this run, or -1 */
    int v2;                   /* the box is a cgroup v2 directory */
    long cpu_base_ms;         /* v2: cpu.stat's usage when the run began */
    long oom_before;          /* the oom_kill count at the start */
};

/* What the host offers, read from /proc/self/mountinfo and
 * /proc/self/cgroup: v1 controllers (preferred) or the unified hierarchy. */
typedef struct {
    int version;                      /* 1, 2, or 0 for none */
    char v1[SBX_CG_COUNT][PATH_MAX];  /* v1: our directory per controller, or "" */
    char v2[PATH_MAX];                /* v2: our cgroup's directory, or "" */
} sbx_cg_found;
/* Parses the two files' text (exposed for the unit tests). */
void sbx_cg_parse(const char *mountinfo, const char *self_cgroup, sbx_cg_found *out);
/* Readies the delegated v2 directory dir for boxes: the memory controller
 * must be delegated; when processes are in dir, process self moves into a
 * leaf of its own (SBX_CG_V2_SELF) first; then +memory in its subtree.
 * 0, or -1 with why. */
#define SBX_CG_V2_SELF "memgrade-service"
int sbx_cg_v2_setup(const char *dir, pid_t self, char *why, size_t whylen);
/* Tests: use dir as an already set-up v2 directory. */
void sbx_cg_force_v2(const char *dir);

/* Priority levels of a box (sbx.c, "priority"): the nice increment of each,
 * and the state init keeps for one run. */
#define SBX_SCHED_LEVELS 4
extern const int sbx_sched_nice[SBX_SCHED_LEVELS];
struct sbx_sched {
    unsigned long quantum;    /* CPU ms; levels begin at 1, 2 and 4 of them */
    int start;                /* levels the run begins below 0 (the thread
                                 that started it was niced, see sbx_run) */
    int applied;              /* the level the box's processes have now */
    int lift;                 /* levels given back for starved windows */
    long win_start, win_cpu;  /* the window being judged: wall and CPU ms */
    long boost_at;            /* wall ms from which the box is never demoted
                                 (half its wall limit); 0: none */
};
/* The level the box should have now, `used` ms of CPU into the run at
 * wall-clock ms `now`; after applying it, sbx_sched_applied records it.
 * Pure: exposed for the unit tests. */
int sbx_sched_next(struct sbx_sched *s, long now, long used);
/* The level a nice increment over the process's stands for: the deepest
 * whose nice it reaches. Pure: exposed for the unit tests. */
int sbx_sched_level_of(int nice_over);
void sbx_sched_applied(struct sbx_sched *s, int level, long now, long used);

/* The page, mapped once per process, whose address is the only execve()
 * filename the "run" filter accepts: the supervisor's child copies the
 * program path there just before exec. After exec the page is gone, so the
 * student cannot name it again (see sbx_seccomp.c). */
uintptr_t sbx_exec_page(void);

/* Builds the BPF allowlist for p into p->bpf (malloc'd). 0 or -1 + err. */
int sbx_seccomp_build(struct sbx_policy *p, char *err, size_t errlen);
/* Name of syscall nr on audit arch; writes into buf. */
void sbx_seccomp_name(uint32_t arch, int nr, char *buf, size_t len);

/* Sets up the box's filesystem view inside a fresh mount namespace and
 * pivots into it; cwd becomes /box. Async-signal-safe (runs in the cloned
 * child of a possibly multi-threaded process): only syscalls, no malloc.
 * Returns 0, or a negative step number with errno set. */
int sbx_fs_enter(const struct sbx_box *b, const struct sbx_policy *p,
                 const char *tmp_opts);

/* The box's cgroups (sbx_cgroup.c), one per v1 controller the host has;
 * each part is a no-op where its controller is missing. */
/* Our own cgroup's directory in controller c, or NULL. */
const char *sbx_cg_base(int c);
/* Creates the box's cgroup `name` in every controller there is. */
void sbx_cg_create(struct sbx_box *b, const char *name);
/* Readies the cgroups for one run: the memory limit, a fresh peak and CPU
 * count, descriptors for init to join with and to read CPU from. 0 or -1. */
int sbx_cg_prepare(struct sbx_box *b, unsigned long memory, struct sbx_cg_run *run);
/* CPU ms of the run so far on its usage descriptor, -1 on error.
 * Async-signal-safe. */
long sbx_cg_cpu_ms(const struct sbx_cg_run *run, int usage_fd);
/* After a run: OOM kill seen, box-wide peak, box-wide CPU (-1: unknown). */
void sbx_cg_collect(struct sbx_box *b, const struct sbx_cg_run *run, bool *oom,
                    long *peak_kb, long *cpu_ms);
void sbx_cg_release(struct sbx_cg_run *run);
void sbx_cg_destroy(struct sbx_box *b);
/* Removes a dead box's cgroups by name. */
void sbx_cg_sweep(const char *name);

/* Names of the steps sbx_fs_enter can fail at (index = -return). */
const char *sbx_fs_step_name(int step);

#endif
