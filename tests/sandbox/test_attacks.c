/* The sandbox against hostile programs: every fixture of tests/hostile is
 * compiled by the real gcc inside a box and run under tight limits, then we
 * check the verdict, the time it took and that nothing reached the host.
 * Usage: test_attacks CASE   (one case per ctest test, each run under
 * unshare by netns_wrap.sh), or test_attacks --check-list CASE... to prove
 * the ctest list and the table agree. */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tsb.h"

#define MIB (1024UL * 1024UL)

/* Limits of every hostile run, tight so the suite stays fast. */
enum {
    RUN_CPU_MS = 1000,
    RUN_WALL_MS = 2000,
    RUN_MEMORY = 64 * MIB,
    RUN_TMP = 8 * MIB,
    RUN_FSIZE = 4 * MIB,
    RUN_KEEP = 64 * 1024,
    RUN_OUTPUT = 1 * MIB,
    RUN_PROCS = 32,
    /* What killing and reaping may add to a limit before we call it late. */
    SLACK_MS = 1000,
    /* A wall limit for runs that must end by themselves (at the CPU limit,
     * at a refused call, when the program is done): far above what they
     * need even with a thirtieth of a core, so that how busy the machine is
     * cannot decide which limit ends them. */
    FAR_WALL_MS = 30000,
};

typedef enum {
    M_RUN,            /* compile, then run /box/prog under "run" */
    M_COMPILE,        /* the attack is the compile itself */
    M_HUGE,           /* compile error, or a run that fails cleanly */
} mode;

typedef struct attack attack;

typedef struct {
    const attack *a;
    sbx_box *box;
    char box_path[4096];
    int listen_fd;
    char port[16];
    pid_t victim;
    sbx_result comp, run;   /* run == comp's copy for M_COMPILE */
    bool ran;
    long elapsed_ms, limit_ms;
    struct stat devnull;        /* the host's /dev/null just before the (last) run */
    pid_t beside;               /* a second run of the same box, when the case has one */
} ctx;

struct attack {
    const char *name;
    const char *fixture;          /* tests/hostile/FIXTURE.c */
    mode mode;
    bool allow_processes;
    sbx_verdict verdict;
    const char *syscall;          /* blocked: exact name, "" = any name */
    int signal;                   /* SBX_SIGNALED: the signal */
    long settle_ms;               /* wait this long, then look for survivors */
    void (*check)(ctx *c);        /* case-specific expectations, or NULL */
    long wall_ms;                 /* wall limit when not RUN_WALL_MS */
    long cpu_ms;                  /* CPU limit when not RUN_CPU_MS */
    tsb_limits compile;           /* compile limits when not tsb_compile's */
    bool any_verdict;             /* the check judges the verdict itself */
    bool capture_fd3;             /* run with the fd 3 pipe (as the graders do) */
    long nr;                      /* raw_syscall: the call to make (argv[3]) */
    bool run_beside;              /* start "/box/prog victim" in the same box first */
    unsigned long memory;         /* memory limit when not RUN_MEMORY */
    unsigned long supervisor_mib; /* touch this much in the supervisor first, as a
                                     real server holds (init's copy shows it) */
    bool watch_oom_adj;           /* run as a protected service would, and look at
                                     the program's oom_score_adj while it runs */
    int repeat;                   /* runs of a racy attack (default 1) ... */
    bool (*won)(const ctx *c);    /* ... stopping at the first it wins */
};

/* ---- case-specific checks ------------------------------------------------ */

static const char *out_of(const ctx *c) { return c->run.out.data ? c->run.out.data : ""; }

static void check_busy(ctx *c)
{
    TSB_CHECK(c->run.cpu_ms >= RUN_CPU_MS * 8 / 10 && c->run.cpu_ms <= RUN_CPU_MS + SLACK_MS,
              "cpu_ms %ld should be about the %d ms limit", c->run.cpu_ms, RUN_CPU_MS);
}

static void check_sleep(ctx *c)
{
    TSB_CHECK(c->run.wall_ms >= RUN_WALL_MS - 100, "wall_ms %ld < limit %d",
              c->run.wall_ms, RUN_WALL_MS);
    TSB_CHECK(c->run.cpu_ms < 300, "a sleeper used %ld ms of CPU", c->run.cpu_ms);
}

static void check_can_still_fork(ctx *c)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(7);
    int st = 0;
    TSB_CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
              WEXITSTATUS(st) == 7, "the host cannot fork after the bomb");
}

static void check_memory(ctx *c)
{
    /* The bomb touched everything it got, so its peak shows it reached the
     * limit (libc and the binary's own mappings take the rest). */
    TSB_CHECK(c->run.peak_rss_kb >= (long)(RUN_MEMORY / 1024) * 6 / 10 &&
              c->run.peak_rss_kb <= (long)(RUN_MEMORY / 1024) + 4096,
              "peak_rss_kb %ld, limit %ld kB", c->run.peak_rss_kb, (long)(RUN_MEMORY / 1024));
    unsigned long mib = 0;
    const char *s = strstr(out_of(c), "malloc failed after ");
    TSB_CHECK(s && sscanf(s, "malloc failed after %lu", &mib) == 1 &&
              mib <= (unsigned long)RUN_MEMORY / MIB, "output: %s", out_of(c));
}

static void check_disk(ctx *c)
{
    unsigned long long tmp = ~0ULL, box = ~0ULL, cwd = ~0ULL;
    const char *o = out_of(c), *s;
    if ((s = strstr(o, "/tmp bytes=")))
        sscanf(s, "/tmp bytes=%llu", &tmp);
    if ((s = strstr(o, "/box bytes=")))
        sscanf(s, "/box bytes=%llu", &box);
    if ((s = strstr(o, "\n. bytes=")))
        sscanf(s, "\n. bytes=%llu", &cwd);
    TSB_CHECK(tmp > 0 && tmp <= RUN_TMP, "/tmp took %llu bytes, its size is %lu", tmp,
              (unsigned long)RUN_TMP);
    TSB_CHECK(box == 0, "read-only /box took %llu bytes", box);
    TSB_CHECK(cwd == 0, "the working directory took %llu bytes", cwd);
}

static void check_output(ctx *c)
{
    TSB_CHECK(c->run.out.truncated, "stdout not marked truncated");
    TSB_CHECK(c->run.out.len <= RUN_KEEP, "kept %zu bytes, keep is %d", c->run.out.len,
              RUN_KEEP);
    TSB_CHECK(c->run.out.total >= RUN_OUTPUT && c->run.out.total < 2048 * MIB,
              "total %zu: not stopped at the %lu-byte limit", c->run.out.total,
              (unsigned long)RUN_OUTPUT);
}

static void check_secrets(ctx *c)
{
    const char *o = out_of(c);
    char hit[256];
    TSB_CHECK(!tsb_contains_line_of(o, "/etc/passwd", 8, hit, sizeof hit),
              "host /etc/passwd leaked: %s", hit);
    TSB_CHECK(!tsb_contains_line_of(o, "/etc/shadow", 8, hit, sizeof hit),
              "host /etc/shadow leaked: %s", hit);
    const char *canary = getenv("MG_CANARY");
    TSB_CHECK(canary && *canary, "netns_wrap.sh sets MG_CANARY");
    TSB_CHECK(canary && !strstr(o, canary), "the environment of pid 1 leaked");
    static const char *must_fail[] = { "/etc/passwd", "/etc/shadow", "/proc/1/environ",
                                       "/box/../etc/passwd", "../../etc/passwd" };
    for (size_t i = 0; i < sizeof must_fail / sizeof *must_fail; i++) {
        char want[128];
        snprintf(want, sizeof want, "== %s\nERR ", must_fail[i]);
        TSB_CHECK(strstr(o, want) != NULL, "%s was readable", must_fail[i]);
    }
}

static void check_listing(ctx *c)
{
    /* What a box root may hold: the contract's minimal view. */
    static const char *allowed[] = { ".", "..", "usr", "bin", "lib", "lib64", "sbin",
                                     "box", "tmp", "dev", "etc" };
    char *copy = strdup(out_of(c));
    int entries = 0;
    for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
        char *name = strchr(line, ' ');
        if (!name)
            continue;
        name++;
        TSB_CHECK(strncmp(name, "ERR", 3) != 0, "listing failed: %s", line);
        bool ok = false;
        for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++)
            ok |= strcmp(name, allowed[i]) == 0;
        TSB_CHECK(ok, "unexpected entry in the box root: %s", line);
        entries++;
    }
    TSB_CHECK(entries >= 4 * 4, "only %d entries listed", entries);
    TSB_CHECK(strstr(out_of(c), "/ box\n") != NULL, "no /box in the root");
    free(copy);
}

/* Only what gcc and the loader need: /usr/local holds the site's own
 * programs and configuration (here /usr/local/etc/npmrc), none of which a
 * submission may read. Either absent or empty is fine. */
static void check_usr_local(ctx *c)
{
    char *copy = strdup(out_of(c));
    for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n"))
        TSB_CHECK(strstr(line, " ERR ") != NULL, "visible in the box: %s", line);
    free(copy);
}

static void check_write_outside(ctx *c)
{
    static const char *refused[] = {
        "/mg_hostile_marker", "/usr/mg_hostile_marker", "/usr/bin/mg_hostile_marker",
        "/etc/mg_hostile_marker", "/box/mg_hostile_marker", "mg_hostile_marker",
        "../mg_hostile_marker", "/dev/mg_hostile_marker", "/usr/bin/gcc",
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        char want[128];
        snprintf(want, sizeof want, "%s ERR", refused[i]);
        TSB_CHECK(strstr(out_of(c), want) != NULL, "%s was writable", refused[i]);
    }
    TSB_CHECK(strstr(out_of(c), "/tmp/mg_hostile_marker ok") != NULL,
              "the private /tmp should be writable");
}

static void check_identity(ctx *c)
{
    int uid = 0, euid = 0, gid = 0, egid = 0, groups = -1;
    int n = sscanf(out_of(c), "uid=%d euid=%d gid=%d egid=%d groups=%d", &uid, &euid,
                   &gid, &egid, &groups);
    TSB_CHECK(n == 5, "output: %s", out_of(c));
    TSB_CHECK(uid > 0 && euid > 0 && gid > 0 && egid > 0,
              "runs as uid %d euid %d gid %d egid %d", uid, euid, gid, egid);
    TSB_CHECK(groups == 0, "%d supplementary groups", groups);
    TSB_CHECK(!strstr(out_of(c), "setuid0=0"), "setuid(0) succeeded");
}

/* Nothing a compile wrote may exceed the file size limit of "compile". */
static void check_box_small(ctx *c)
{
    DIR *d = opendir(c->box_path);
    if (!TSB_CHECK(d != NULL, "box vanished"))
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        char path[4400];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", c->box_path, e->d_name);
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
            TSB_CHECK(st.st_size <= 64 * (long)MIB, "%s is %ld bytes", e->d_name,
                      (long)st.st_size);
    }
    closedir(d);
}

static void check_no_passwd_in_messages(ctx *c)
{
    char hit[256];
    TSB_CHECK(c->run.exit_code != 0, "gcc exit code %d", c->run.exit_code);
    TSB_CHECK(c->run.err.total > 0, "gcc said nothing");
    TSB_CHECK(!tsb_contains_line_of(c->run.err.data, "/etc/passwd", 6, hit, sizeof hit),
              "host /etc/passwd in gcc's messages: %s", hit);
    TSB_CHECK(!tsb_contains_line_of(c->run.out.data, "/etc/passwd", 6, hit, sizeof hit),
              "host /etc/passwd in gcc's output: %s", hit);
    TSB_CHECK(!strstr(c->run.err.data ? c->run.err.data : "", "root:x:0:0"),
              "a passwd line in gcc's messages");
}

static void check_fds(ctx *c)
{
    const char *e = c->run.err.data ? c->run.err.data : "";
    TSB_CHECK(strncmp(e, "fd 0 ", 5) == 0 && strstr(e, "\nfd 1 ") && strstr(e, "\nfd 2 "),
              "stdio not open: %s", e);
    int n = 0;
    for (const char *p = e; (p = strstr(p, "fd ")); p += 3)
        n++;
    TSB_CHECK(n == 3, "%d descriptors open, want 0 1 2: %s", n, e);
}

static void check_raise_limits(ctx *c)
{
    static const char *names[] = { "cpu", "as", "nproc", "fsize", "nofile", "core" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char want[32];
        snprintf(want, sizeof want, "%s -1\n", names[i]);
        TSB_CHECK(strstr(out_of(c), want) != NULL, "lifting %s did not fail: %s", names[i],
                  out_of(c));
    }
    TSB_CHECK(c->run.cpu_ms <= RUN_CPU_MS + SLACK_MS + 100, "cpu_ms %ld", c->run.cpu_ms);
}

static void check_cpu_capped(ctx *c)
{
    TSB_CHECK(c->run.cpu_ms >= RUN_CPU_MS * 8 / 10 && c->run.cpu_ms <= RUN_CPU_MS + 300,
              "cpu_ms %ld with a %d ms CPU limit", c->run.cpu_ms, RUN_CPU_MS);
}

static void check_threads(ctx *c)
{
    int n = -1;
    const char *s = strstr(out_of(c), "threads ");
    TSB_CHECK(s && sscanf(s, "threads %d", &n) == 1 && n >= 1 && n < RUN_PROCS,
              "made %d threads, process limit %d", n, RUN_PROCS);
}

static void check_kill_output(ctx *c)
{
    TSB_CHECK(strstr(out_of(c), "kill(") != NULL, "the program did not finish: %s",
              out_of(c));
}

static void check_setsid(ctx *c)
{
    /* Refused without ending the run, and nobody left the session. */
    const char *o = out_of(c);
    TSB_CHECK(strstr(o, "setsid = -1 (Operation not permitted), session kept") != NULL,
              "the program's setsid: %s", o);
    TSB_CHECK(strstr(o, "child setsid = -1, session kept") != NULL, "the child's setsid: %s", o);
    TSB_CHECK(strstr(o, "changed") == NULL, "a process left the box's session: %s", o);
}

static void check_parent_done(ctx *c)
{
    TSB_CHECK(strstr(out_of(c), "parent done") != NULL, "output: %s", out_of(c));
}

/* The box as a whole may not hold more than its memory limit, however many
 * processes it spreads it over: either the children cannot get it
 * (allocation fails) or the run ends at the memory limit. */
static void check_memory_across(ctx *c)
{
    int mib = -1, procs = -1;
    const char *s = strstr(out_of(c), "held ");
    if (s)
        sscanf(s, "held %d MiB at once in %d processes", &mib, &procs);
    TSB_CHECK(c->run.verdict == SBX_OK || c->run.verdict == SBX_MEMORY_LIMIT,
              "verdict %s", sbx_verdict_name(c->run.verdict));
    TSB_CHECK(c->run.verdict != SBX_OK || (mib >= 0 && mib <= (int)(RUN_MEMORY / MIB)),
              "the box held %d MiB at once in %d processes with a %lu MiB memory limit",
              mib, procs, (unsigned long)(RUN_MEMORY / MIB));
}

/* Pipe buffers and /tmp are memory too: what one process holds in all of
 * them together must stay within the memory limit. */
static void check_memory_outside_as(ctx *c)
{
    unsigned long total = ~0UL;
    const char *s = strstr(out_of(c), "total ");
    if (s)
        sscanf(s, "total %lu", &total);
    TSB_CHECK(c->run.verdict == SBX_OK || c->run.verdict == SBX_MEMORY_LIMIT,
              "verdict %s", sbx_verdict_name(c->run.verdict));
    TSB_CHECK(c->run.verdict != SBX_OK || total <= RUN_MEMORY / MIB,
              "one process held %lu MiB with a %lu MiB memory limit: %s", total,
              (unsigned long)(RUN_MEMORY / MIB), out_of(c));
}

/* Kernel objects (timers and their queued signals) are memory RLIMIT_AS
 * does not see. Secure when they count towards the box's memory (the run
 * then ends at the memory limit) or are few (a small RLIMIT_SIGPENDING);
 * not when timers (at least 256 bytes of kernel memory each) plus a full
 * heap fit in a run that ends normally. */
static void check_timers(ctx *c)
{
    int n = -1, e = 0;
    unsigned long heap = 0;
    const char *s = strstr(out_of(c), "timers ");
    if (c->run.verdict == SBX_MEMORY_LIMIT)
        return;
    TSB_CHECK(c->run.verdict == SBX_OK, "verdict %s", sbx_verdict_name(c->run.verdict));
    TSB_CHECK(s && sscanf(s, "timers %d errno %d heap %lu", &n, &e, &heap) == 3, "output: %s",
              out_of(c));
    unsigned long held = (unsigned long)(n > 0 ? n : 0) * 256 + heap * MIB;
    TSB_CHECK(n <= 4096 || held <= RUN_MEMORY,
              "%d POSIX timers (errno %d) and %lu MiB of heap: at least %lu MiB with a %lu MiB "
              "memory limit", n, e, heap, held / MIB, (unsigned long)(RUN_MEMORY / MIB));
}

/* The program saw a refused call fail (EINTR) and lived on: it writes one
 * byte to stderr each time. */
static bool withdrawn_won(const ctx *c)
{
    return c->run.err.total > 0;
}

static void check_withdrawn(ctx *c)
{
    TSB_CHECK(c->run.err.total == 0,
              "a refused socket() returned to the program %zu time(s) (EINTR: a signal "
              "withdrew the seccomp notification before init read it); verdict %s",
              c->run.err.total, sbx_verdict_name(c->run.verdict));
}

/* Every call aimed at init failed (it is root and outside the program's
 * reach), and init lived to report an ordinary end. */
static void check_signal_init(ctx *c)
{
    char *copy = strdup(out_of(c));
    int lines = 0;
    for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n"), lines++)
        TSB_CHECK(strstr(line, " -1 ") != NULL, "succeeded against init: %s", line);
    TSB_CHECK(lines == 7, "%d of 7 calls reported: %s", lines, out_of(c));
    free(copy);
}

/* A program that is done must not leave the supervisor waiting on pipes a
 * detached grandchild still holds. */
static void check_prompt_end(ctx *c)
{
    check_parent_done(c);
    TSB_CHECK(c->elapsed_ms < c->limit_ms, "took %ld ms: the run waited for the grandchild",
              c->elapsed_ms);
}

static void check_clone3_enosys(ctx *c)
{
    TSB_CHECK(strstr(out_of(c), "clone3 = -1 errno 38\n") != NULL, "clone3: %s", out_of(c));
}

/* With the fd 3 pipe (how the graders run programs): 0, 1, 2 and 3, and no
 * descriptor of init's (status pipe, listener, sync pipes). */
static void check_fds3(ctx *c)
{
    const char *e = c->run.err.data ? c->run.err.data : "";
    TSB_CHECK(strstr(e, "fd 3 ") != NULL, "fd 3 not open: %s", e);
    int n = 0;
    for (const char *p = e; (p = strstr(p, "fd ")); p += 3)
        n++;
    TSB_CHECK(n == 4, "%d descriptors open, want 0 1 2 3: %s", n, e);
}

/* The CPU limit is the box's, not each process's: children burning CPU while
 * the program waits must be stopped when the box has used the limit. */
static void check_box_cpu(ctx *c)
{
    TSB_CHECK(c->run.cpu_ms <= RUN_CPU_MS + SLACK_MS,
              "the box used %ld ms of CPU with a %d ms CPU limit (%ld ms of wall clock)",
              c->run.cpu_ms, RUN_CPU_MS, c->run.wall_ms);
}

/* A fork bomb in a box that allows processes is contained by whichever of
 * the box's limits ends it first: the CPU limit or wall clock (time limit),
 * or the box's memory limit (every copy's page tables and kernel stacks
 * count against it; with a busy machine the memory can win). Which one wins
 * depends on timing alone. Anything else (a normal end, a crash, a refused
 * call) is wrong; processes left behind and a run past its wall limit are
 * checked for every case. */
static void check_fork_bomb(ctx *c)
{
    TSB_CHECK(c->run.verdict == SBX_TIME_LIMIT || c->run.verdict == SBX_MEMORY_LIMIT,
              "verdict \"%s\" (%s): neither the time limit nor the memory limit",
              sbx_verdict_name(c->run.verdict), c->run.detail);
    check_box_cpu(c);
    check_can_still_fork(c);
}

/* Does this kernel answer a system call through the i386 int 0x80 gate?
 * Asked in a child of the test (outside any box, inside the test's own
 * namespaces) with getpid, which is harmless. A kernel without the gate
 * (no IA32 emulation, ia32_emulation=0, some hypervisors) kills the caller
 * with SIGSEGV before any system call is made. */
static bool host_has_int80(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        long rc = 20; /* i386 getpid */
        __asm__ volatile("int $0x80" : "+a"(rc) : : "memory");
        _exit(rc > 0 ? 0 : 1);
    }
    int st = 0;
    return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void check_verdict(ctx *c);

/* Where the kernel has the gate, the call must be refused and named. Where
 * it has none, the program dies of SIGSEGV at the gate without making any
 * call, and it must not have printed a result. */
static void check_int80(ctx *c)
{
    if (host_has_int80()) {
        check_verdict(c);
        return;
    }
    printf("int80: this kernel has no int 0x80 gate (SIGSEGV outside the box too)\n");
    TSB_CHECK(c->run.verdict == SBX_SIGNALED && c->run.signal == SIGSEGV,
              "verdict \"%s\" (%s), expected SIGSEGV as outside the box",
              sbx_verdict_name(c->run.verdict), c->run.detail);
    TSB_CHECK(!strstr(out_of(c), "int80 getpid"), "the call returned: %s", out_of(c));
}

/* The program crosses the output limit and at once tries ptrace. A call it
 * made is named (a refused call outranks every limit, and init names one it
 * finds even while stopping the box); a program stopped between its last
 * write and the call never made it, and "output limit" is the honest
 * verdict. Its stderr "T" only says it was about to try, so it cannot tell
 * these apart; no other verdict is acceptable, and ptrace never returns. */
static void check_flood(ctx *c)
{
    bool named = c->run.verdict == SBX_BLOCKED_SYSCALL &&
                 !strcmp(c->run.blocked_syscall, "ptrace");
    TSB_CHECK(named || c->run.verdict == SBX_OUTPUT_LIMIT,
              "verdict \"%s\" (%s): neither the refused call nor the output limit",
              sbx_verdict_name(c->run.verdict), c->run.detail);
    TSB_CHECK(!c->run.err.data || !strchr(c->run.err.data, 'R'),
              "ptrace returned to the program");
}

static bool ts_equal(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* The host's /dev/null kept its timestamps: nothing in the box may change
 * a host inode. */
static void check_devnull(ctx *c)
{
    struct stat st;
    if (!TSB_CHECK(stat("/dev/null", &st) == 0, "stat /dev/null"))
        return;
    TSB_CHECK(ts_equal(&st.st_mtim, &c->devnull.st_mtim) &&
              ts_equal(&st.st_ctim, &c->devnull.st_ctim),
              "the host's /dev/null was changed by the run (mtime %ld -> %ld, ctime %ld -> %ld): "
              "%s", (long)c->devnull.st_mtim.tv_sec, (long)st.st_mtim.tv_sec,
              (long)c->devnull.st_ctim.tv_sec, (long)st.st_ctim.tv_sec, out_of(c));
    TSB_CHECK(strstr(out_of(c), "chmod -1 ") != NULL, "chmod /dev/null: %s", out_of(c));
    TSB_CHECK(strncmp(out_of(c), "use 0 write 1 read 0 ", 21) == 0,
              "/dev/null must stay usable (open, write, read EOF): %s", out_of(c));
}

static void check_tmp_symlinks(ctx *c)
{
    char *copy = strdup(out_of(c));
    int lines = 0;
    for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n"), lines++)
        TSB_CHECK(strstr(line, " ok") == NULL && (strstr(line, " ERR ") || strstr(line, "link -1")),
                  "escaped: %s", line);
    TSB_CHECK(lines == 7, "%d of 7 attempts reported: %s", lines, out_of(c));
    free(copy);
}

static void check_mmap_games(ctx *c)
{
    static const char *names[] = { "noreserve ERR ", "mremap ERR ", "shared ERR " };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        TSB_CHECK(strstr(out_of(c), names[i]) != NULL, "1 TiB mapped past the memory limit: %s",
                  out_of(c));
}

/* The "run" profile's default open-files limit (64) bounds them. */
static void check_fd_exhaust(ctx *c)
{
    int n = -1, e = 0;
    const char *s = strstr(out_of(c), "objects ");
    TSB_CHECK(s && sscanf(s, "objects %d errno %d", &n, &e) == 2, "output: %s", out_of(c));
    TSB_CHECK(n >= 0 && n <= 64 && e == EMFILE, "%d objects, errno %d", n, e);
}

/* Only the compile's own output may appear in the box: no dump files, no
 * saved temporaries. */
static void check_box_only_prog(ctx *c)
{
    DIR *d = opendir(c->box_path);
    if (!TSB_CHECK(d != NULL, "box vanished"))
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        TSB_CHECK(!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, "x.c") ||
                  !strcmp(n, "prog"), "the compile left %s in the box", n);
    }
    closedir(d);
}

/* More than the output limit reached the supervisor: the verdict must say
 * so, however late it was read. */
static void check_output_burst(ctx *c)
{
    size_t total = c->run.out.total + c->run.err.total;
    TSB_CHECK(total <= RUN_OUTPUT || c->run.verdict == SBX_OUTPUT_LIMIT,
              "%zu bytes of output (limit %lu) and the verdict is \"%s\"", total,
              (unsigned long)RUN_OUTPUT, sbx_verdict_name(c->run.verdict));
}

static bool burst_won(const ctx *c)
{
    return c->run.out.total + c->run.err.total > RUN_OUTPUT &&
           c->run.verdict != SBX_OUTPUT_LIMIT;
}

static void check_dispositions(ctx *c)
{
    TSB_CHECK(strcmp(out_of(c), "done\n") == 0,
              "the program starts with signals ignored or blocked: %s", out_of(c));
}

/* The program's process group and session are the box's own: their leaders
 * are visible inside it (getpgid/getsid give 0 for a leader outside). */
static void check_process_group(ctx *c)
{
    int pgid = -1, sid = -1;
    TSB_CHECK(sscanf(out_of(c), "pgid %d sid %d", &pgid, &sid) == 2, "output: %s", out_of(c));
    TSB_CHECK(pgid > 0 && sid > 0,
              "the program's process group (%d) or session (%d) is led from outside the box",
              pgid, sid);
}

/* The run beside the attacker's (same box, so same uid) ended normally:
 * the attacker's signals did not leave its own box. */
static void check_beside(ctx *c)
{
    int st = 0;
    if (!TSB_CHECK(c->beside > 0, "no second run"))
        return;
    pid_t w = waitpid(c->beside, &st, 0);
    TSB_CHECK(w == c->beside && WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "the run beside it was killed (status %#x): a signal crossed into another box", st);
    c->beside = -1;
}

/* However the box's memory ran out, the run ends with a verdict (the memory
 * limit), never with init killed and no report. */
static void check_oom_verdict(ctx *c)
{
    TSB_CHECK(c->run.verdict == SBX_MEMORY_LIMIT, "verdict %s (%s)",
              sbx_verdict_name(c->run.verdict), c->run.detail);
}

static void check_oom_adj(ctx *c)
{
    int st = 0;
    pid_t w = c->beside > 0 ? waitpid(c->beside, &st, 0) : -1;
    c->beside = -1;
    TSB_CHECK(w > 0 && WIFEXITED(st) && WEXITSTATUS(st) != 2, "the program was not seen");
    TSB_CHECK(w > 0 && WIFEXITED(st) && WEXITSTATUS(st) != 1,
              "the program's oom_score_adj is not 1000: under host memory pressure the "
              "global OOM killer could take a service before it");
}

/* ---- the table ------------------------------------------------------------ */

/* A call the run profile refuses: the first attempt ends the run, named. */
#define BLOCKED(n, fix, sc) \
    { .name = n, .fixture = fix, .verdict = SBX_BLOCKED_SYSCALL, .syscall = sc }
/* A call made by number through raw_syscall.c, refused and named. */
#define BLOCKED_NR(sc, number) \
    { .name = "nr_" sc, .fixture = "raw_syscall", .verdict = SBX_BLOCKED_SYSCALL, \
      .syscall = sc, .nr = number }
#define RUN(n, fix, v, ...) { .name = n, .fixture = fix, .verdict = v, __VA_ARGS__ }

static const attack attacks[] = {
    BLOCKED("fork_bomb", "fork_bomb", "clone"),
    RUN("fork_bomb_allowed", "fork_bomb", SBX_TIME_LIMIT, .allow_processes = true,
        .any_verdict = true, .check = check_fork_bomb),
    /* A wall limit far above the CPU limit, so that the CPU limit ends it
     * even when the machine is busy (other test runs, other builds). */
    RUN("busy_loop", "busy_loop", SBX_TIME_LIMIT, .check = check_busy,
        .wall_ms = FAR_WALL_MS),
    RUN("sleep_forever", "sleep_forever", SBX_TIME_LIMIT, .check = check_sleep),
    RUN("memory_bomb", "memory_bomb", SBX_MEMORY_LIMIT, .check = check_memory),
    RUN("disk_fill", "disk_fill", SBX_OK, .check = check_disk),
    RUN("output_flood", "output_flood", SBX_OUTPUT_LIMIT, .check = check_output),
    RUN("recursion", "recursion", SBX_SIGNALED, .signal = SIGSEGV),
    RUN("read_secrets", "read_secrets", SBX_OK, .check = check_secrets),
    RUN("list_root", "list_root", SBX_OK, .check = check_listing),
    RUN("usr_local", "usr_local", SBX_OK, .check = check_usr_local),
    RUN("usr_etc", "usr_etc", SBX_OK, .check = check_usr_local),
    RUN("write_outside", "write_outside", SBX_OK, .check = check_write_outside),
    BLOCKED("exec_sh", "exec_sh", "execve"),
    BLOCKED("system", "system_call", "clone"),
    BLOCKED("socket_connect", "socket_connect", "socket"),
    /* Signals reach only the box's own PID namespace: the calls succeed
     * harmlessly and the outside process (checked for every case) lives. */
    RUN("kill_all", "kill_all", SBX_OK, .check = check_kill_output),
    RUN("kill_parent", "kill_parent", SBX_OK, .check = check_kill_output),
    /* A new session would be a new scheduling group, out of the one a busy
     * box is demoted in (sandbox/sbx.c, "priority"). */
    RUN("setsid_escape", "setsid_escape", SBX_OK, .allow_processes = true,
        .check = check_setsid),
    BLOCKED("ptrace_traceme", "ptrace_traceme", "ptrace"),
    BLOCKED("ptrace_attach", "ptrace_attach", "ptrace"),
    BLOCKED("x32_syscall", "x32_syscall", ""),
    RUN("int80", "int80", SBX_BLOCKED_SYSCALL, .syscall = "", .any_verdict = true,
        .check = check_int80),
    BLOCKED("io_uring", "io_uring", "io_uring_setup"),
    BLOCKED("personality", "personality", "personality"),
    BLOCKED("tiocsti", "tiocsti", "ioctl"),
    BLOCKED("mount", "mount", "mount"),
    BLOCKED("unshare", "unshare", "unshare"),
    BLOCKED("process_vm", "process_vm", "process_vm_readv"),
    BLOCKED("keyctl", "keyctl", "add_key"),
    BLOCKED("bpf", "bpf", "bpf"),
    BLOCKED("perf_event", "perf_event", "perf_event_open"),
    RUN("identity", "identity", SBX_BLOCKED_SYSCALL, .syscall = "setuid",
        .check = check_identity),
    BLOCKED("double_fork_run_refused", "double_fork", "clone"),
    RUN("open_fds", "open_fds", SBX_OK, .check = check_fds),
    BLOCKED("memfd_exec", "memfd_exec", "memfd_create"),
    BLOCKED("open_by_handle", "open_by_handle", "name_to_handle_at"),
    RUN("raise_limits", "raise_limits", SBX_TIME_LIMIT, .check = check_raise_limits,
        .wall_ms = FAR_WALL_MS),
    /* Ignoring SIGXCPU must not buy CPU time past the limit. */
    RUN("ignore_sigxcpu", "ignore_sigxcpu", SBX_TIME_LIMIT, .check = check_cpu_capped,
        .wall_ms = FAR_WALL_MS),
    RUN("thread_bomb", "thread_bomb", SBX_TIME_LIMIT, .check = check_threads),
    RUN("double_fork_run", "double_fork", SBX_OK, .allow_processes = true,
        .settle_ms = 2000, .check = check_parent_done),
    { .name = "include_dev_zero", .fixture = "include_dev_zero", .mode = M_COMPILE,
      .verdict = SBX_RUNTIME_ERROR, .check = check_no_passwd_in_messages },
    { .name = "include_dev_urandom", .fixture = "include_dev_urandom", .mode = M_COMPILE,
      .verdict = SBX_RUNTIME_ERROR, .check = check_no_passwd_in_messages },
    { .name = "include_etc_passwd", .fixture = "include_etc_passwd", .mode = M_COMPILE,
      .verdict = SBX_RUNTIME_ERROR, .check = check_no_passwd_in_messages },
    { .name = "huge_static", .fixture = "huge_static", .mode = M_HUGE },
    /* The compiler (cc1, a child of gcc) runs out of CPU, or of memory:
     * either is a limit of the box, not an error in the program. */
    { .name = "compile_bomb", .fixture = "compile_bomb", .mode = M_COMPILE,
      .verdict = SBX_TIME_LIMIT,
      .compile = { .cpu_ms = 2000, .wall_ms = 10000, .memory = 1024 * MIB } },
    { .name = "compile_bomb_memory", .fixture = "compile_bomb", .mode = M_COMPILE,
      .verdict = SBX_MEMORY_LIMIT,
      .compile = { .cpu_ms = 10000, .wall_ms = 15000, .memory = 192 * MIB } },
    RUN("memory_across_processes", "memory_across_processes", SBX_OK,
        .allow_processes = true, .any_verdict = true, .check = check_memory_across),
    /* A refused call ends the run even when a signal races the report. */
    RUN("notify_withdrawn", "notify_withdrawn", SBX_BLOCKED_SYSCALL, .syscall = "socket",
        .check = check_withdrawn, .repeat = 10, .won = withdrawn_won,
        /* Each of the flood's signals is a stop the tracer resumes: give the
         * program room to reach its refused call (slow under ASan). */
        .cpu_ms = 4000, .wall_ms = FAR_WALL_MS),
    RUN("memory_outside_as", "memory_outside_as", SBX_OK, .any_verdict = true,
        .check = check_memory_outside_as),
    RUN("devnull_touch", "devnull_touch", SBX_OK, .check = check_devnull),
    RUN("tmp_symlinks", "tmp_symlinks", SBX_OK, .check = check_tmp_symlinks),
    BLOCKED("prctl_caps", "prctl_caps", "prctl"),
    BLOCKED("ioctl_highbits", "ioctl_highbits", "ioctl"),
    RUN("mmap_games", "mmap_games", SBX_OK, .check = check_mmap_games),
    RUN("fd_exhaust", "fd_exhaust", SBX_OK, .check = check_fd_exhaust),
    RUN("output_burst", "output_burst", SBX_OUTPUT_LIMIT, .any_verdict = true,
        .check = check_output_burst, .repeat = 10, .won = burst_won),
    RUN("timer_flood", "timer_flood", SBX_OK, .any_verdict = true, .check = check_timers,
        .wall_ms = FAR_WALL_MS),
    RUN("cpu_children", "cpu_children", SBX_TIME_LIMIT, .allow_processes = true,
        .check = check_box_cpu, .wall_ms = 6000),
    RUN("blocked_under_flood", "blocked_under_flood", SBX_BLOCKED_SYSCALL,
        .any_verdict = true, .check = check_flood, .repeat = 10),
    /* Calls that must stay off the allowlist, each for its own reason:
     * descriptor passing between processes (socketpair, sendmsg), kernel
     * exploit primitives (userfaultfd, modify_ldt), raw hardware access
     * (iopl, ioperm), the host's kernel log (syslog), shared memory (shmget),
     * namespace and root changes (setns, chroot), the new mount API
     * (fsopen, open_tree) and fanotify. */
    BLOCKED_NR("socketpair", SYS_socketpair),
    BLOCKED_NR("sendmsg", SYS_sendmsg),
    BLOCKED_NR("userfaultfd", SYS_userfaultfd),
    BLOCKED_NR("modify_ldt", SYS_modify_ldt),
    BLOCKED_NR("iopl", SYS_iopl),
    BLOCKED_NR("ioperm", SYS_ioperm),
    BLOCKED_NR("syslog", SYS_syslog),
    BLOCKED_NR("shmget", SYS_shmget),
    BLOCKED_NR("setns", SYS_setns),
    BLOCKED_NR("chroot", SYS_chroot),
    BLOCKED_NR("fsopen", SYS_fsopen),
    BLOCKED_NR("open_tree", SYS_open_tree),
    BLOCKED_NR("fanotify_init", SYS_fanotify_init),
    RUN("signal_dispositions", "signal_dispositions", SBX_OK, .check = check_dispositions),
    RUN("process_group", "process_group", SBX_OK, .check = check_process_group),
    RUN("pgrp_kill", "pgrp_kill", SBX_SIGNALED, .signal = SIGKILL, .run_beside = true,
        .check = check_beside),
    RUN("oom_init", "oom_init", SBX_MEMORY_LIMIT, .any_verdict = true, .memory = 24 * MIB,
        .supervisor_mib = 16, .check = check_oom_verdict),
    RUN("oom_protected", "oom_protected", SBX_OK, .watch_oom_adj = true,
        .check = check_oom_adj),
    RUN("signal_init", "signal_init", SBX_OK, .check = check_signal_init),
    RUN("stop_self", "stop_self", SBX_TIME_LIMIT),
    /* The grandchild never lets go: a run that waited for it would last
     * until the wall clock. */
    RUN("hold_stdout", "hold_stdout", SBX_OK, .allow_processes = true,
        .check = check_prompt_end, .wall_ms = FAR_WALL_MS),
    BLOCKED("seccomp_stack", "seccomp_stack", "seccomp"),
    BLOCKED("pidfd_init", "pidfd_init", "pidfd_open"),
    BLOCKED("execveat", "execveat", "execveat"),
    BLOCKED("syscall_high", "syscall_high", "syscall 1000"),
    RUN("clone_namespaces", "clone_namespaces", SBX_BLOCKED_SYSCALL, .syscall = "clone",
        .allow_processes = true, .check = check_clone3_enosys),
    BLOCKED("vsyscall", "vsyscall", "getcpu"),
    RUN("open_fds_fd3", "open_fds", SBX_OK, .capture_fd3 = true, .check = check_fds3),
    { .name = "incbin_host", .fixture = "incbin_host", .mode = M_COMPILE,
      .verdict = SBX_RUNTIME_ERROR, .check = check_no_passwd_in_messages },
    { .name = "compile_pragmas", .fixture = "compile_pragmas", .mode = M_COMPILE,
      .verdict = SBX_OK, .check = check_box_only_prog },
    { .name = "compile_disk_fill", .fixture = "compile_disk_fill", .mode = M_COMPILE,
      .verdict = SBX_RUNTIME_ERROR, .check = check_box_small },
};

/* Runs us as a service unit with OOMScoreAdjust=-500 would. False where we
 * may not lower it (no CAP_SYS_RESOURCE, as in some containers). */
static bool protect_like_a_service(void)
{
    FILE *f = fopen("/proc/self/oom_score_adj", "w");
    if (!f)
        return false;
    bool ok = fputs("-500", f) >= 0;
    ok = fclose(f) == 0 && ok;
    int adj = 0;
    if (ok && (f = fopen("/proc/self/oom_score_adj", "r"))) {
        ok = fscanf(f, "%d", &adj) == 1 && adj == -500;
        fclose(f);
    }
    return ok;
}

/* In a child of the test, while the run goes on: the lowest oom_score_adj
 * of the box's program ("prog", seen in our /proc: the box's PID namespace
 * is nested in ours), looked for every 10 ms until it appears (a busy
 * machine may take long to start the box) or for twice the wall limit.
 * Exit 0: not protected; 1: protected; 2: not found. */
static int watch_prog_oom_adj(long give_up_ms)
{
    int found = 0, protected = 0;
    for (long t0 = tsb_now_ms(); !found && tsb_now_ms() - t0 < give_up_ms;) {
        usleep(10 * 1000);
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d && (e = readdir(d))) {
            char path[300], comm[32] = "";
            int adj = 0;
            snprintf(path, sizeof path, "/proc/%s/comm", e->d_name);
            FILE *f = fopen(path, "r");
            if (!f)
                continue;
            if (!fgets(comm, sizeof comm, f) || strcmp(comm, "prog\n")) {
                fclose(f);
                continue;
            }
            fclose(f);
            snprintf(path, sizeof path, "/proc/%s/oom_score_adj", e->d_name);
            if ((f = fopen(path, "r")) && fscanf(f, "%d", &adj) == 1) {
                if (getenv("TSB_VERBOSE"))
                    fprintf(stderr, "watch: pid %s prog oom_score_adj %d\n", e->d_name, adj);
                found = 1;
                protected |= adj != 1000; /* sbx gives every program 1000 */
            }
            if (f)
                fclose(f);
        }
        if (d)
            closedir(d);
    }
    return !found ? 2 : protected ? 1 : 0;
}

/* ---- running one case ------------------------------------------------------ */

static sbx_policy *run_policy(const attack *a)
{
    sbx_policy *p = sbx_policy_new("run");
    if (!p)
        return NULL;
    sbx_policy_set_cpu_ms(p, a->cpu_ms ? (unsigned long)a->cpu_ms : RUN_CPU_MS);
    sbx_policy_set_wall_ms(p, a->wall_ms ? (unsigned long)a->wall_ms : RUN_WALL_MS);
    sbx_policy_set_memory(p, a->memory ? a->memory : RUN_MEMORY);
    sbx_policy_set_tmp_size(p, RUN_TMP);
    sbx_policy_set_file_size(p, RUN_FSIZE);
    sbx_policy_set_output_keep(p, RUN_KEEP);
    sbx_policy_set_output_limit(p, RUN_OUTPUT);
    sbx_policy_set_processes(p, RUN_PROCS);
    if (a->allow_processes)
        sbx_policy_allow_processes(p, true);
    return p;
}

/* Files a hostile program might leave on the host if the box leaked. */
static void check_no_markers(ctx *c)
{
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", c->box_path);
    const char *up = dirname(parent);
    const char *fixed[] = { "/mg_hostile_marker", "/usr/mg_hostile_marker",
                            "/usr/bin/mg_hostile_marker", "/etc/mg_hostile_marker",
                            "/tmp/mg_hostile_marker", "/tmp/mg_survivor",
                            "/dev/mg_hostile_marker" };
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        TSB_CHECK(!tsb_exists(fixed[i]), "%s appeared on the host", fixed[i]);
    static const char *in_box[] = { "mg_hostile_marker", "mg_survivor" };
    for (size_t i = 0; i < 2; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", c->box_path, in_box[i]);
        TSB_CHECK(!tsb_exists(path), "%s appeared", path);
        snprintf(path, sizeof path, "%s/%s", up, in_box[i]);
        TSB_CHECK(!tsb_exists(path), "%s appeared", path);
    }
}

/* Under "run" the box is read-only: it must hold exactly what the compile
 * left (x.c and prog). */
static void check_box_untouched(ctx *c)
{
    DIR *d = opendir(c->box_path);
    if (!TSB_CHECK(d != NULL, "box %s vanished before destroy", c->box_path))
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        TSB_CHECK(!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, "x.c") ||
                  !strcmp(n, "prog"), "the run left %s in its read-only box", n);
    }
    closedir(d);
}

static void check_no_strays(ctx *c, const char *when)
{
    char buf[2048];
    int n = tsb_stray_processes(&c->victim, 1, buf, sizeof buf);
    TSB_CHECK(n == 0, "%d process(es) left %s: %s", n, when, buf);
}

static void check_verdict(ctx *c)
{
    const attack *a = c->a;
    const sbx_result *r = &c->run;
    TSB_CHECK(r->verdict == a->verdict, "verdict \"%s\", expected \"%s\"",
              sbx_verdict_name(r->verdict), sbx_verdict_name(a->verdict));
    if (a->verdict == SBX_BLOCKED_SYSCALL && r->verdict == SBX_BLOCKED_SYSCALL) {
        TSB_CHECK(r->blocked_syscall[0] != '\0', "blocked system call without a name");
        if (a->syscall && *a->syscall)
            TSB_CHECK(strcmp(r->blocked_syscall, a->syscall) == 0,
                      "blocked \"%s\", expected \"%s\"", r->blocked_syscall, a->syscall);
        TSB_CHECK(strstr(r->detail, r->blocked_syscall) != NULL,
                  "detail \"%s\" does not name the call", r->detail);
    }
    if (a->verdict == SBX_SIGNALED)
        TSB_CHECK(r->signal == a->signal, "signal %d, expected %d", r->signal, a->signal);
    if (a->verdict == SBX_OK)
        TSB_CHECK(r->exit_code == 0 && r->signal == 0, "exit %d signal %d", r->exit_code,
                  r->signal);
}

static int run_case(const attack *a)
{
    ctx c = { .a = a, .listen_fd = -1, .victim = -1, .beside = -1 };
    char err[256] = "";
    sbx_policy *p = NULL;
    char *src = NULL;
    size_t srclen = 0;
    char rel[256];
    int port = 0;

    if (!TSB_CHECK(tsb_in_private_pidns(), "run me as pid 1 of a fresh PID namespace "
                   "with its own /proc (see netns_wrap.sh)"))
        goto out;
    /* Lowering our own score needs CAP_SYS_RESOURCE, which some machines
     * withhold even from root: then we run as we are, and the program's
     * score must still be 1000. */
    if (a->watch_oom_adj && !protect_like_a_service())
        printf("%s: cannot lower our oom_score_adj here; checking the program's anyway\n",
               a->name);
    c.listen_fd = tsb_listen_loopback(&port);
    if (!TSB_CHECK(c.listen_fd >= 0, "no loopback listener (is lo up?)"))
        goto out;
    snprintf(c.port, sizeof c.port, "%d", port);
    c.victim = tsb_spawn_victim();
    if (!TSB_CHECK(c.victim > 0, "cannot start the outside process"))
        goto out;

    snprintf(rel, sizeof rel, "tests/hostile/%s.c", a->fixture);
    src = tsb_slurp(tsb_src(rel), &srclen);
    if (!TSB_CHECK(src != NULL, "cannot read %s", rel))
        goto out;
    c.box = sbx_box_create(err, sizeof err);
    if (!TSB_CHECK(c.box != NULL, "sbx_box_create: %s", err))
        goto out;
    snprintf(c.box_path, sizeof c.box_path, "%s", sbx_box_path(c.box));

    long compile_ms = 0;
    long compile_limit = a->compile.wall_ms ? (long)a->compile.wall_ms : TSB_COMPILE_WALL_MS;
    if (tsb_compile(c.box, src, srclen, &a->compile, &c.comp, &compile_ms) != 0)
        goto out;
    TSB_CHECK(compile_ms <= compile_limit + SLACK_MS, "compile took %ld ms", compile_ms);
    if (a->mode == M_COMPILE) {
        c.run = c.comp;                 /* the compile is the attack */
        memset(&c.comp, 0, sizeof c.comp);
        c.elapsed_ms = compile_ms;
        c.limit_ms = compile_limit;
        c.ran = true;
    } else if (a->mode == M_HUGE && c.comp.verdict != SBX_OK) {
        /* A compile error is a clean end: gcc or ld refused the object. */
        TSB_CHECK(c.comp.verdict == SBX_RUNTIME_ERROR, "compile verdict %s",
                  sbx_verdict_name(c.comp.verdict));
        TSB_CHECK(c.comp.err.total > 0, "gcc failed silently");
        fprintf(stderr, "huge_static: compile error (%.*s)\n",
                (int)(c.comp.err.len > 200 ? 200 : c.comp.err.len), c.comp.err.data);
    } else {
        if (!TSB_CHECK(c.comp.verdict == SBX_OK, "fixture did not compile")) {
            tsb_dump("compile", &c.comp);
            goto out;
        }
        char outlim[32], nr[32];
        snprintf(outlim, sizeof outlim, "%lu", (unsigned long)RUN_OUTPUT + 1);
        snprintf(nr, sizeof nr, "%ld", a->nr);
        const char *argv[] = { "/box/prog", c.port, outlim, nr, NULL };
        sbx_cmd cmd = { .argv = argv, .capture_fd3 = a->capture_fd3 };
        p = run_policy(a);
        if (!TSB_CHECK(p != NULL, "no policy"))
            goto out;
        if (a->supervisor_mib) {
            /* Touched and kept until we exit: init is cloned with it. */
            size_t n = a->supervisor_mib * MIB;
            static char *hold; /* reachable to the end: no leak to report */
            hold = malloc(n);
            if (hold)
                memset(hold, 's', n);
        }
        if (a->watch_oom_adj) {
            c.beside = fork();
            if (c.beside == 0)
                _exit(watch_prog_oom_adj(2 * (a->wall_ms ? a->wall_ms : RUN_WALL_MS)));
        }
        if (a->run_beside) {
            /* A second run of the same box, in a child of ours: it exits 0
             * when its program ended normally and said so. */
            c.beside = fork();
            if (c.beside == 0) {
                const char *vargv[] = { "/box/prog", "victim", NULL };
                sbx_cmd vcmd = { .argv = vargv };
                sbx_result vr;
                char verr[256];
                int vrc = sbx_run(p, c.box, &vcmd, &vr, verr, sizeof verr);
                bool ok = vrc == 0 && vr.verdict == SBX_OK && vr.out.data &&
                          strstr(vr.out.data, "victim done");
                if (!ok)
                    fprintf(stderr, "beside: %s\n", vrc ? verr : vr.detail);
                _exit(ok ? 0 : 1);
            }
            usleep(100 * 1000);
        }
        /* A race the attack wins only sometimes: run it again (same box,
         * same binary) until it wins once or the tries run out. */
        for (int k = 0; k < (a->repeat ? a->repeat : 1); k++) {
            sbx_result_free(&c.run);
            stat("/dev/null", &c.devnull);
            long t0 = tsb_now_ms();
            int rc = sbx_run(p, c.box, &cmd, &c.run, err, sizeof err);
            c.elapsed_ms = tsb_now_ms() - t0;
            c.limit_ms = a->wall_ms ? a->wall_ms : RUN_WALL_MS;
            c.ran = true;
            if (!TSB_CHECK(rc == 0, "sandbox failure: %s", err))
                goto out;
            if (a->won && a->won(&c)) {
                fprintf(stderr, "%s: the attack won on try %d of %d\n", a->name, k + 1,
                        a->repeat);
                break;
            }
        }
    }

    if (c.ran) {
        TSB_CHECK(c.elapsed_ms <= c.limit_ms + SLACK_MS, "took %ld ms, limit %ld ms",
                  c.elapsed_ms, c.limit_ms);
        TSB_CHECK(c.run.wall_ms <= c.limit_ms + SLACK_MS, "wall_ms %ld, limit %ld ms",
                  c.run.wall_ms, c.limit_ms);
        if (a->mode == M_HUGE)
            /* The kernel cannot map it under RLIMIT_AS and kills the exec. */
            TSB_CHECK(c.run.verdict == SBX_MEMORY_LIMIT ||
                      (c.run.verdict == SBX_SIGNALED &&
                       (c.run.signal == SIGSEGV || c.run.signal == SIGKILL)),
                      "a 1 TiB array: %s", c.run.detail);
        else if (!a->any_verdict)
            check_verdict(&c);
        if (a->check)
            a->check(&c);
    }
    check_no_strays(&c, "when sbx_run returned");
    if (a->settle_ms > 0) {
        usleep((useconds_t)a->settle_ms * 1000);
        check_no_strays(&c, "after the settle time");
    }
    if (a->mode == M_RUN || a->mode == M_HUGE)
        check_box_untouched(&c);
    check_no_markers(&c);
    TSB_CHECK(!tsb_listener_saw_connection(c.listen_fd),
              "the loopback listener outside the box got a connection");
    TSB_CHECK(tsb_alive(c.victim), "the process outside the box was killed");

    sbx_box_destroy(c.box);
    c.box = NULL;
    TSB_CHECK(!tsb_exists(c.box_path), "%s still exists after sbx_box_destroy", c.box_path);
    /* The work directory's own parent is the box's too (sbx_fs.c). */
    char base[4096];
    snprintf(base, sizeof base, "%s", c.box_path);
    TSB_CHECK(!tsb_exists(dirname(base)) || strcmp(base, "/tmp") == 0,
              "%s still exists after sbx_box_destroy", base);
    check_no_strays(&c, "after sbx_box_destroy");
out:
    if (tsb_failures() || getenv("TSB_VERBOSE")) {
        tsb_dump("compile", &c.comp);
        if (c.ran)
            tsb_dump("run", &c.run);
    }
    sbx_result_free(&c.comp);
    sbx_result_free(&c.run);
    sbx_policy_free(p);
    sbx_box_destroy(c.box);
    free(src);
    if (c.beside > 0)
        waitpid(c.beside, NULL, 0);
    tsb_reap(c.victim);
    if (c.listen_fd >= 0)
        close(c.listen_fd);
    printf("%s %s: compile \"%s\"%s%s%s (%ld ms)\n", tsb_failures() ? "FAIL" : "ok",
           a->name, c.comp.detail, c.ran ? ", then \"" : "", c.ran ? c.run.detail : "",
           c.ran ? "\"" : "", c.elapsed_ms);
    return tsb_failures() ? 1 : 0;
}

int main(int argc, char **argv)
{
    enum { N = sizeof attacks / sizeof *attacks };
    const char *names[N];
    for (size_t i = 0; i < N; i++)
        names[i] = attacks[i].name;
    if (argc >= 2 && strcmp(argv[1], "--check-list") == 0)
        return tsb_check_list(names, N, argc - 2, argv + 2);
    for (size_t i = 0; argc == 2 && i < N; i++)
        if (strcmp(argv[1], names[i]) == 0)
            return run_case(&attacks[i]);
    fprintf(stderr, "usage: %s CASE | --check-list CASE...\n", argv[0]);
    return 2;
}
