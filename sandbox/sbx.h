/* sbx: run one command inside a disposable box under a named policy and
 * report what happened as data (a verdict), never as our own error.
 *
 * A box is a private work directory on the host plus, for each run, fresh
 * PID/network/mount/IPC/UTS namespaces, a minimal read-only root, an
 * unprivileged uid, rlimits, a seccomp allowlist and a wall clock. Every
 * process of a run is dead when sbx_run() returns.
 *
 * Requires root (CAP_SYS_ADMIN for namespaces and mounts, CAP_SETUID to drop
 * to the box uid). Thread-safe: policies are immutable once compiled and
 * every run has its own pipes and processes. */
#ifndef MEMGRADE_SBX_H
#define MEMGRADE_SBX_H

#include <stdbool.h>
#include <stddef.h>

/* The verdict on the program, kept apart from failures of the sandbox itself
 * (those are a negative return from sbx_run). X-macro: one table for the enum
 * and the names used in reports. */
#define SBX_VERDICTS(X)                                   \
    X(SBX_OK,              "ok")                           \
    X(SBX_RUNTIME_ERROR,   "runtime error")                \
    X(SBX_SIGNALED,        "killed by signal")             \
    X(SBX_TIME_LIMIT,      "time limit")                   \
    X(SBX_MEMORY_LIMIT,    "memory limit")                 \
    X(SBX_OUTPUT_LIMIT,    "output limit")                 \
    X(SBX_BLOCKED_SYSCALL, "blocked system call")

typedef enum {
#define SBX_ENUM_(id, name) id,
    SBX_VERDICTS(SBX_ENUM_)
#undef SBX_ENUM_
    SBX_VERDICT_COUNT
} sbx_verdict;

/* Static string naming a verdict ("time limit"); never NULL. */
const char *sbx_verdict_name(sbx_verdict v);
/* The name of x86_64 system call nr ("mprotect"), or "syscall N", in buf. */
void sbx_syscall_name(int nr, char *buf, size_t len);

/* ---- policies ------------------------------------------------------------ */

typedef struct sbx_policy sbx_policy;

/* A new policy with the defaults of a named profile:
 *   "compile"  gcc and its cc1/as/collect2/ld children: exec allowed inside
 *              the box, /box writable, generous memory.
 *   "run"      a student program: no exec after start, no new processes
 *              (threads are allowed), no sockets, /box read-only, /tmp a
 *              small private tmpfs.
 * Returns NULL for an unknown name or out of memory. Caller owns the result
 * (sbx_policy_free). Setters may be called until the first sbx_run(). */
sbx_policy *sbx_policy_new(const char *profile);
void sbx_policy_free(sbx_policy *p);
const char *sbx_policy_name(const sbx_policy *p);

/* Limits. 0 keeps the profile's default. */
void sbx_policy_set_cpu_ms(sbx_policy *p, unsigned long ms);      /* RLIMIT_CPU */
void sbx_policy_set_wall_ms(sbx_policy *p, unsigned long ms);     /* wall clock */
/* Per process (RLIMIT_AS: allocation fails beyond it) and, where the host
 * has the memory cgroup controller, for the whole box at once. */
void sbx_policy_set_memory(sbx_policy *p, unsigned long bytes);
void sbx_policy_set_stack(sbx_policy *p, unsigned long bytes);    /* RLIMIT_STACK */
void sbx_policy_set_file_size(sbx_policy *p, unsigned long bytes);/* RLIMIT_FSIZE */
void sbx_policy_set_open_files(sbx_policy *p, unsigned long n);   /* RLIMIT_NOFILE */
void sbx_policy_set_processes(sbx_policy *p, unsigned long n);    /* RLIMIT_NPROC */
void sbx_policy_set_tmp_size(sbx_policy *p, unsigned long bytes); /* /tmp tmpfs */
/* Bytes of stdout (and of stderr) kept in the result; the rest is read and
 * dropped so the child never blocks on a full pipe. */
void sbx_policy_set_output_keep(sbx_policy *p, unsigned long bytes);
/* Total bytes written to stdout+stderr after which the run is killed with
 * SBX_OUTPUT_LIMIT. */
void sbx_policy_set_output_limit(sbx_policy *p, unsigned long bytes);
/* CPU ms of a run after which its box gives way to boxes that have used
 * less: its processes' priority is lowered a level at 1, 2 and 4 quanta
 * (MLFQ-like; see sbx.c, "priority"). A box is never starved for it and no
 * limit changes: a run still ends at its CPU limit, only later on a busy
 * machine. 0 keeps the profile's default; SBX_NO_DEMOTION turns it off. */
void sbx_policy_set_cpu_quantum(sbx_policy *p, unsigned long ms);
#define SBX_NO_DEMOTION (~0UL)
/* A run started from a thread niced above the process (its main thread)
 * begins that many levels down: the nice of the deepest level the
 * increment reaches (5, 10, 15). A grader runs a job in such a thread for a
 * student who already has work waiting, so that student's boxes give way
 * first. It is a start, not a cap: the box is lifted like any demoted box,
 * and runs the second half of its wall limit at full priority. */
/* Allow fork/vfork/clone of new processes (still bounded by the process
 * limit). Off by default for "run". */
void sbx_policy_allow_processes(sbx_policy *p, bool allow);

/* Builds the seccomp program once. Called by sbx_run() if needed; calling it
 * up front moves the cost out of the first run. 0, or -1 with err filled. */
int sbx_policy_compile(sbx_policy *p, char *err, size_t errlen);

/* ---- boxes (work directories) ------------------------------------------- */

typedef struct sbx_box sbx_box;

/* Creates a private, empty work directory (mode 0700 under $TMPDIR or /tmp)
 * and the box's cgroups. NULL with err filled on failure. The box appears as
 * /box inside runs. A box holds one run at a time (its cgroups measure that
 * run): concurrent runs need boxes of their own. */
sbx_box *sbx_box_create(char *err, size_t errlen);
/* Host path of the work directory; valid until sbx_box_destroy. */
const char *sbx_box_path(const sbx_box *b);
/* Writes a file into the box (name without '/'). 0 or -errno. */
int sbx_box_write(sbx_box *b, const char *name, const void *data, size_t len);
/* Reads a file the run left in the box, at most max bytes, into a new
 * NUL-terminated buffer the caller frees. Symlinks are not followed.
 * 0 or -errno (-EFBIG when larger than max). */
int sbx_box_read(sbx_box *b, const char *name, size_t max, char **out, size_t *len);
/* Removes the work directory and everything in it, then frees b. NULL ok. */
void sbx_box_destroy(sbx_box *b);
/* Removes the boxes that a crashed process of our PID namespace left
 * behind (its pid is gone). A service calls it once at start. Returns how many were removed, or -1 when
 * the temporary directory cannot be read. */
int sbx_box_sweep(void);

/* What the host's cgroups let a box have, found at first use: said at
 * start and in /healthz and /metrics, never silently lost. */
typedef struct {
    int version;               /* 1 or 2; 0: no usable cgroups */
    bool memory_limit;         /* the box-wide memory limit is enforced */
    bool cpu_accounting;       /* the whole box's CPU time is counted */
    char summary[512];         /* one line for people */
} sbx_cgroup_info;
int sbx_cgroup_status(sbx_cgroup_info *out);

/* ---- running ------------------------------------------------------------- */

typedef struct {
    const char *const *argv;   /* argv[0] is an absolute path inside the box */
    const char *const *envp;   /* NULL: a minimal PATH/HOME/TMPDIR/LANG=C */
    const void *stdin_data;    /* may be NULL: stdin is empty */
    size_t stdin_len;
    bool capture_fd3;          /* give the program a third output pipe at fd 3 */
} sbx_cmd;

typedef struct {
    char *data;                /* NUL-terminated, at most the policy's keep */
    size_t len;                /* bytes kept */
    size_t total;              /* bytes the program wrote */
    bool truncated;            /* total > len */
} sbx_stream;

typedef struct {
    sbx_verdict verdict;
    int exit_code;             /* valid when the program exited */
    int signal;                /* signal that ended it, or 0 */
    long cpu_ms;               /* user + system of every process in the box */
    long wall_ms;
    long peak_rss_kb;          /* largest resident set of any process */
    long peak_box_kb;          /* most the whole box held at once: every process,
                                  pipe buffers, /tmp (0 when the host has no
                                  memory cgroup controller) */
    int nice;                  /* the most the box's priority was lowered (nice
                                  increment; 0: never demoted) */
    char blocked_syscall[32];  /* name, when verdict is SBX_BLOCKED_SYSCALL */
    char detail[160];          /* one line for people: "blocked system call: socket" */
    sbx_stream out, err, fd3;
} sbx_result;

/* Runs cmd in box b under policy p and fills res (caller frees it with
 * sbx_result_free, also after a failure). Returns 0 when the program ran (the
 * verdict says how it went) or -1 when the sandbox itself failed, with err
 * filled; no process of the run survives either way. */
int sbx_run(sbx_policy *p, sbx_box *b, const sbx_cmd *cmd, sbx_result *res,
            char *err, size_t errlen);
void sbx_result_free(sbx_result *res);

#endif
