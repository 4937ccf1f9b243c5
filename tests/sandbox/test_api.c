/* The sandbox's API through real runs: verdicts and exit codes, signals,
 * output capture (keep, limit, truncation, fd 3), stdin delivery, the CPU /
 * wall / memory accounting, environments, threads, box files and their
 * removal. The program under test is tests/sandbox/progs/probe.c, compiled
 * by the real gcc in the box. Usage: test_api CASE | --check-list CASE... */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tsb.h"

#define MIB (1024UL * 1024UL)

/* One box with the probe compiled into it, shared by a case's runs. */
static sbx_box *box;
static char box_path[4096];

static unsigned long long fnv(const unsigned char *p, size_t n)
{
    unsigned long long h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static bool pattern_ok(const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (data[i] != (char)('a' + i % 26))
            return false;
    return true;
}

typedef struct {
    const char *profile;          /* NULL: "run" */
    unsigned long keep, limit;    /* output keep / limit, 0: default */
    unsigned long memory;
    unsigned long wall_ms, cpu_ms;
    unsigned long quantum;        /* sbx_policy_set_cpu_quantum, 0: default */
    const void *in;
    size_t inlen;
    bool fd3;
    bool procs;                   /* sbx_policy_allow_processes */
    const char *const *envp;
} opts;

/* Runs argv under o; the result goes to r (caller frees). */
static int run_argv(const opts *o, sbx_result *r, const char *const *argv)
{
    char err[256] = "";
    memset(r, 0, sizeof *r);
    sbx_policy *p = sbx_policy_new(o->profile ? o->profile : "run");
    if (!TSB_CHECK(p != NULL, "policy"))
        return -1;
    sbx_policy_set_wall_ms(p, o->wall_ms ? o->wall_ms : 5000);
    sbx_policy_set_cpu_ms(p, o->cpu_ms ? o->cpu_ms : 3000);
    if (o->memory)
        sbx_policy_set_memory(p, o->memory);
    if (o->keep)
        sbx_policy_set_output_keep(p, o->keep);
    if (o->limit)
        sbx_policy_set_output_limit(p, o->limit);
    if (o->procs)
        sbx_policy_allow_processes(p, true);
    if (o->quantum)
        sbx_policy_set_cpu_quantum(p, o->quantum);
    sbx_cmd cmd = { .argv = argv, .envp = o->envp, .stdin_data = o->in,
                    .stdin_len = o->inlen, .capture_fd3 = o->fd3 };
    int rc = sbx_run(p, box, &cmd, r, err, sizeof err);
    TSB_CHECK(rc == 0, "sandbox failure: %s", err);
    sbx_policy_free(p);
    return rc;
}

/* Runs /box/prog ARGS... under o. */
static int probe(const opts *o, sbx_result *r, const char *const *args)
{
    const char *argv[16] = { "/box/prog" };
    for (int i = 0; args[i] && i < 14; i++)
        argv[i + 1] = args[i];
    return run_argv(o, r, argv);
}

#define PROBE(o, r, ...) probe((o), (r), (const char *const[]){ __VA_ARGS__, NULL })

/* A shell script run under "compile" (whose /box is writable, and where
 * only the system's own programs may be executed). */
static int shell(sbx_result *r, const char *script)
{
    opts o = { .profile = "compile" };
    const char *argv[] = { "/usr/bin/sh", "-c", script, NULL };
    return run_argv(&o, r, argv);
}

static bool verdict_is(const sbx_result *r, sbx_verdict v)
{
    if (TSB_CHECK(r->verdict == v, "verdict \"%s\", expected \"%s\"",
                  sbx_verdict_name(r->verdict), sbx_verdict_name(v)))
        return true;
    tsb_dump("run", r);
    return false;
}

/* ---- cases ----------------------------------------------------------------- */

static void t_verdict_names(void)
{
    static const char *want[] = { "ok", "runtime error", "killed by signal", "time limit",
                                  "memory limit", "output limit", "blocked system call" };
    TSB_CHECK(SBX_VERDICT_COUNT == 7, "%d verdicts", (int)SBX_VERDICT_COUNT);
    for (int v = 0; v < SBX_VERDICT_COUNT && v < 7; v++)
        TSB_CHECK(strcmp(sbx_verdict_name((sbx_verdict)v), want[v]) == 0, "name of %d: %s",
                  v, sbx_verdict_name((sbx_verdict)v));
    TSB_CHECK(sbx_verdict_name(SBX_VERDICT_COUNT) != NULL, "out of range gives NULL");
    TSB_CHECK(sbx_verdict_name((sbx_verdict)-1) != NULL, "negative gives NULL");
    TSB_CHECK(sbx_policy_new("nope") == NULL, "unknown profile accepted");
    TSB_CHECK(sbx_policy_new("") == NULL, "empty profile accepted");
    static const char *profiles[] = { "run", "compile" };
    for (int i = 0; i < 2; i++) {
        sbx_policy *p = sbx_policy_new(profiles[i]);
        char err[256] = "";
        TSB_CHECK(p && strcmp(sbx_policy_name(p), profiles[i]) == 0, "name of %s",
                  profiles[i]);
        TSB_CHECK(p && sbx_policy_compile(p, err, sizeof err) == 0, "compile %s: %s",
                  profiles[i], err);
        sbx_policy_free(p);
    }
    sbx_policy_free(NULL);
    sbx_box_destroy(NULL);
}

static void t_exit_zero(void)
{
    sbx_result r;
    opts o = { 0 };
    if (PROBE(&o, &r, "exit", "0") == 0 && verdict_is(&r, SBX_OK))
        TSB_CHECK(r.exit_code == 0 && r.signal == 0, "exit %d signal %d", r.exit_code,
                  r.signal);
    sbx_result_free(&r);
}

static void t_exit_code(void)
{
    sbx_result r;
    opts o = { 0 };
    if (PROBE(&o, &r, "exit", "42") == 0 && verdict_is(&r, SBX_RUNTIME_ERROR))
        TSB_CHECK(r.exit_code == 42 && r.signal == 0, "exit %d signal %d", r.exit_code,
                  r.signal);
    TSB_CHECK(r.detail[0] != '\0', "no detail for a runtime error");
    sbx_result_free(&r);
}

static void t_signal_abort(void)
{
    sbx_result r;
    opts o = { 0 };
    if (PROBE(&o, &r, "signal", "6") == 0 && verdict_is(&r, SBX_SIGNALED))
        TSB_CHECK(r.signal == SIGABRT, "signal %d", r.signal);
    sbx_result_free(&r);
}

static void t_signal_segv(void)
{
    sbx_result r;
    opts o = { 0 };
    if (PROBE(&o, &r, "segv") == 0 && verdict_is(&r, SBX_SIGNALED))
        TSB_CHECK(r.signal == SIGSEGV, "signal %d", r.signal);
    sbx_result_free(&r);
}

static void t_output_small(void)
{
    sbx_result r;
    opts o = { 0 };
    if (PROBE(&o, &r, "write", "10", "3", "0") == 0 && verdict_is(&r, SBX_OK)) {
        TSB_CHECK(r.out.len == 10 && r.out.total == 10 && !r.out.truncated,
                  "stdout %zu/%zu", r.out.len, r.out.total);
        TSB_CHECK(r.out.data && strcmp(r.out.data, "abcdefghij") == 0, "stdout \"%s\"",
                  r.out.data);
        TSB_CHECK(r.err.data && strcmp(r.err.data, "abc") == 0 && r.err.total == 3,
                  "stderr \"%s\"", r.err.data);
    }
    sbx_result_free(&r);
}

static void t_output_keep(void)
{
    sbx_result r;
    opts o = { .keep = 1000, .limit = MIB };
    if (PROBE(&o, &r, "write", "100000", "3000", "0") == 0 && verdict_is(&r, SBX_OK)) {
        TSB_CHECK(r.out.len == 1000 && r.out.total == 100000 && r.out.truncated,
                  "stdout %zu of %zu", r.out.len, r.out.total);
        TSB_CHECK(r.out.data && pattern_ok(r.out.data, r.out.len) && r.out.data[1000] == 0,
                  "stdout is not the program's first 1000 bytes");
        TSB_CHECK(r.err.len == 1000 && r.err.total == 3000 && r.err.truncated,
                  "stderr %zu of %zu", r.err.len, r.err.total);
        TSB_CHECK(r.err.data && pattern_ok(r.err.data, r.err.len), "stderr content");
    }
    sbx_result_free(&r);
}

/* A wall limit far above what a run needs even on a busy machine, for the
 * cases that check a run ended by itself and not at the wall clock. */
enum { HANG_WALL_MS = 30000 };

static void t_output_limit(void)
{
    sbx_result r;
    opts o = { .keep = 4096, .limit = 256 * 1024, .wall_ms = HANG_WALL_MS };
    long t0 = tsb_now_ms();
    if (PROBE(&o, &r, "write", "8388608", "0", "0") == 0 &&
        verdict_is(&r, SBX_OUTPUT_LIMIT)) {
        TSB_CHECK(r.out.total >= 256 * 1024 && r.out.total < 8388608, "total %zu",
                  r.out.total);
        TSB_CHECK(r.out.len == 4096 && r.out.truncated, "kept %zu", r.out.len);
        TSB_CHECK(pattern_ok(r.out.data, r.out.len), "kept bytes are not the first ones");
    }
    /* Stopped at the output limit, not left blocked on a full pipe until
     * the wall clock. */
    TSB_CHECK(tsb_now_ms() - t0 < HANG_WALL_MS, "took %ld ms: the run waited for the wall "
              "clock", tsb_now_ms() - t0);
    sbx_result_free(&r);
}

static void t_output_limit_both(void)
{
    /* The limit counts stdout and stderr together. */
    sbx_result r;
    opts o = { .keep = 1024, .limit = 256 * 1024 };
    if (PROBE(&o, &r, "write", "100000", "100000", "0") == 0)
        verdict_is(&r, SBX_OK);
    sbx_result_free(&r);
    if (PROBE(&o, &r, "write", "200000", "200000", "0") == 0 &&
        verdict_is(&r, SBX_OUTPUT_LIMIT))
        TSB_CHECK(r.out.total + r.err.total >= 256 * 1024, "total %zu+%zu", r.out.total,
                  r.err.total);
    sbx_result_free(&r);
}

static void t_stdin_big(void)
{
    size_t n = 3 * MIB + 7;   /* far beyond a pipe buffer */
    unsigned char *in = malloc(n);
    if (!TSB_CHECK(in != NULL, "oom"))
        return;
    for (size_t i = 0; i < n; i++)
        in[i] = (unsigned char)(i * 7 + (i >> 9));
    char want[128];
    snprintf(want, sizeof want, "len=%zu hash=%llx\n", n, fnv(in, n));
    sbx_result r;
    opts o = { .in = in, .inlen = n };
    if (PROBE(&o, &r, "stdin") == 0 && verdict_is(&r, SBX_OK))
        TSB_CHECK(r.out.data && strcmp(r.out.data, want) == 0, "got \"%s\" want \"%s\"",
                  r.out.data, want);
    sbx_result_free(&r);
    free(in);
}

static void t_stdin_empty(void)
{
    sbx_result r;
    opts o = { 0 };
    char want[128];
    snprintf(want, sizeof want, "len=0 hash=%llx\n", fnv(NULL, 0));
    if (PROBE(&o, &r, "stdin") == 0 && verdict_is(&r, SBX_OK))
        TSB_CHECK(r.out.data && strcmp(r.out.data, want) == 0, "got \"%s\"", r.out.data);
    sbx_result_free(&r);
}

static void t_stdin_unread(void)
{
    /* A program that never reads its input must not hang the delivery. */
    size_t n = 8 * MIB;
    char *in = calloc(1, n);
    sbx_result r;
    opts o = { .in = in, .inlen = n, .wall_ms = HANG_WALL_MS };
    long t0 = tsb_now_ms();
    if (in && PROBE(&o, &r, "exit", "0") == 0)
        verdict_is(&r, SBX_OK);
    /* The run ends with the program, not when the wall clock ends a
     * delivery nobody reads. */
    TSB_CHECK(tsb_now_ms() - t0 < HANG_WALL_MS, "took %ld ms: the run waited for the wall "
              "clock", tsb_now_ms() - t0);
    sbx_result_free(&r);
    free(in);
}

static void t_fd3_capture(void)
{
    sbx_result r;
    opts o = { .fd3 = true, .keep = 100000 };
    if (PROBE(&o, &r, "write", "5", "0", "70000") == 0 && verdict_is(&r, SBX_OK)) {
        TSB_CHECK(r.fd3.len == 70000 && r.fd3.total == 70000 && !r.fd3.truncated,
                  "fd3 %zu of %zu", r.fd3.len, r.fd3.total);
        TSB_CHECK(r.fd3.data && pattern_ok(r.fd3.data, r.fd3.len), "fd3 content");
        TSB_CHECK(r.out.len == 5, "stdout %zu", r.out.len);
    }
    sbx_result_free(&r);
}

static void t_fd3_absent(void)
{
    sbx_result r;
    opts o = { 0 };
    if (PROBE(&o, &r, "write", "0", "0", "10") == 0) {
        verdict_is(&r, SBX_RUNTIME_ERROR);
        TSB_CHECK(r.err.data && strstr(r.err.data, "fd3 EBADF"), "fd 3 was open: \"%s\"",
                  r.err.data);
        TSB_CHECK(r.fd3.total == 0, "fd3 captured %zu bytes", r.fd3.total);
    }
    sbx_result_free(&r);
}

static void t_cpu_accounting(void)
{
    sbx_result r;
    /* The run ends when the program has burnt its 400 ms, however long a
     * busy machine makes that take: the wall limit only bounds a hang. */
    opts o = { .wall_ms = 30000 };
    if (PROBE(&o, &r, "cpu", "400") == 0 && verdict_is(&r, SBX_OK)) {
        TSB_CHECK(r.cpu_ms >= 380 && r.cpu_ms <= 1000, "cpu_ms %ld for 400 ms", r.cpu_ms);
        TSB_CHECK(r.wall_ms >= r.cpu_ms - 20, "wall %ld < cpu %ld", r.wall_ms, r.cpu_ms);
    }
    sbx_result_free(&r);
}

static void t_cpu_all_processes(void)
{
    /* sbx.h: cpu_ms is "user + system of every process in the box". Two
     * children burn 300 ms each; the parent never waits for them. */
    sbx_result r;
    /* The parent waits (without reaping) until both are done: the wall
     * limit only bounds a hang. */
    opts o = { .procs = true, .wall_ms = 30000 };
    if (PROBE(&o, &r, "forkburn", "2", "300") == 0 && verdict_is(&r, SBX_OK))
        TSB_CHECK(r.cpu_ms >= 550, "cpu_ms %ld, the children burnt 600 ms", r.cpu_ms);
    sbx_result_free(&r);
}

/* Runs ARGS... under o with the wall limit first at o->wall_ms, doubled
 * until the program has said `said` before the wall clock stopped it (a busy
 * machine may not give it the CPU in time), at most 5 tries. Each try must end
 * at the wall clock. True with r holding the run that said it; otherwise r
 * is freed. */
static bool stopped_after_saying(opts o, sbx_result *r, const char *said,
                                 const char *const *args)
{
    for (int i = 0; i < 5; i++, o.wall_ms *= 2) {
        if (probe(&o, r, args) != 0 || !verdict_is(r, SBX_TIME_LIMIT)) {
            sbx_result_free(r);
            return false;
        }
        if (r->out.data && strstr(r->out.data, said))
            return true;
        sbx_result_free(r);
    }
    TSB_CHECK(false, "the program never said \"%s\" before its wall clock (last %lu ms)",
              said, o.wall_ms / 2);
    return false;
}

/* A run the supervisor stops (wall clock, output limit) still ran: its CPU
 * time and memory belong in the result, as they do for every other end. The
 * program says when it has burnt the CPU or touched the memory, then sleeps
 * past the wall clock; what it said it used must be in the result. */
static void t_accounting_on_kill(void)
{
    sbx_result r;
    opts o = { .wall_ms = 700, .cpu_ms = 20000 };
    if (stopped_after_saying(o, &r, "burnt 200",
                             (const char *const[]){ "cpusleep", "200", "100000", NULL }))
        TSB_CHECK(r.cpu_ms >= 200, "cpu_ms %ld after burning 200 ms", r.cpu_ms);
    sbx_result_free(&r);
    opts m = { .wall_ms = 700, .memory = 256 * MIB };
    if (stopped_after_saying(m, &r, "touched",
                             (const char *const[]){ "memsleep", "40", "100000", NULL }))
        TSB_CHECK(r.peak_rss_kb >= 40 * 1024, "peak_rss_kb %ld after touching 40 MiB",
                  r.peak_rss_kb);
    sbx_result_free(&r);
}

static void t_signal_sys(void)
{
    /* A program that raises SIGSYS itself made no blocked call. */
    sbx_result r;
    opts o = { 0 };
    if (PROBE(&o, &r, "signal", "31") == 0 && verdict_is(&r, SBX_SIGNALED))
        TSB_CHECK(r.signal == SIGSYS, "signal %d", r.signal);
    sbx_result_free(&r);
}

static void t_wall_accounting(void)
{
    sbx_result r;
    opts o = { 0 };
    if (PROBE(&o, &r, "sleep", "500") == 0 && verdict_is(&r, SBX_OK)) {
        TSB_CHECK(r.wall_ms >= 495 && r.wall_ms <= 1500, "wall_ms %ld for 500 ms",
                  r.wall_ms);
        TSB_CHECK(r.cpu_ms <= 100, "cpu_ms %ld while sleeping", r.cpu_ms);
    }
    sbx_result_free(&r);
}

static void t_cpu_limit(void)
{
    sbx_result r;
    /* The CPU limit must end it, never the wall clock of a busy machine. */
    opts o = { .cpu_ms = 300, .wall_ms = HANG_WALL_MS };
    if (PROBE(&o, &r, "cpu", "5000") == 0 && verdict_is(&r, SBX_TIME_LIMIT))
        TSB_CHECK(r.cpu_ms >= 250 && r.cpu_ms <= 1300, "cpu_ms %ld, limit 300", r.cpu_ms);
    sbx_result_free(&r);
}

static void t_wall_limit(void)
{
    sbx_result r;
    opts o = { .wall_ms = 400 };
    if (PROBE(&o, &r, "sleep", "10000") == 0 && verdict_is(&r, SBX_TIME_LIMIT))
        TSB_CHECK(r.wall_ms >= 390 && r.wall_ms <= 1400, "wall_ms %ld, limit 400",
                  r.wall_ms);
    sbx_result_free(&r);
}

static void t_rss_accounting(void)
{
    sbx_result r;
    opts o = { .memory = 256 * MIB };
    if (PROBE(&o, &r, "mem", "40") == 0 && verdict_is(&r, SBX_OK))
        TSB_CHECK(r.peak_rss_kb >= 40 * 1024 && r.peak_rss_kb <= 60 * 1024,
                  "peak_rss_kb %ld after touching 40 MiB", r.peak_rss_kb);
    sbx_result_free(&r);
    if (PROBE(&o, &r, "exit", "0") == 0 && verdict_is(&r, SBX_OK))
        TSB_CHECK(r.peak_rss_kb > 0 && r.peak_rss_kb < 10 * 1024,
                  "peak_rss_kb %ld for an empty program", r.peak_rss_kb);
    sbx_result_free(&r);
}

static void t_memory_limit_malloc(void)
{
    /* Asking for more than the limit: malloc returns NULL, the program
     * handles it (memuser's failure path, SPEC 3.5). */
    sbx_result r;
    opts o = { .memory = 64 * MIB };
    if (PROBE(&o, &r, "mem", "200") == 0) {
        TSB_CHECK(r.out.data && strstr(r.out.data, "cannot allocate"), "stdout \"%s\"",
                  r.out.data);
        TSB_CHECK(r.exit_code == 1, "exit %d", r.exit_code);
        TSB_CHECK(r.peak_rss_kb < 64 * 1024, "peak %ld", r.peak_rss_kb);
    }
    sbx_result_free(&r);
}

static void t_env_default(void)
{
    sbx_result r;
    opts o = { 0 };
    if (PROBE(&o, &r, "env") == 0 && verdict_is(&r, SBX_OK)) {
        const char *o_ = r.out.data ? r.out.data : "";
        TSB_CHECK(strstr(o_, "PATH=") && strstr(o_, "HOME=") && strstr(o_, "TMPDIR=") &&
                  strstr(o_, "LANG=C"), "environment: %s", o_);
        TSB_CHECK(!strstr(o_, "MG_CANARY"), "the caller's environment leaked in");
    }
    sbx_result_free(&r);
}

static void t_env_custom(void)
{
    sbx_result r;
    static const char *const env[] = { "FOO=bar", "EMPTY=", NULL };
    opts o = { .envp = env };
    if (PROBE(&o, &r, "env") == 0 && verdict_is(&r, SBX_OK))
        TSB_CHECK(r.out.data && strcmp(r.out.data, "FOO=bar\nEMPTY=\n") == 0,
                  "environment: \"%s\"", r.out.data);
    sbx_result_free(&r);
}

static void t_threads(void)
{
    sbx_result r;
    opts o = { 0 };
    if (PROBE(&o, &r, "threads", "4") == 0 && verdict_is(&r, SBX_OK))
        TSB_CHECK(r.out.data && strcmp(r.out.data, "threads 4 sum 15005000\n") == 0,
                  "got \"%s\"", r.out.data);
    sbx_result_free(&r);
}

static void t_box_files(void)
{
    static const unsigned char data[] = { 0, 1, 2, 'x', 0, 255, '\n', 0 };
    TSB_CHECK(sbx_box_write(box, "data.bin", data, sizeof data) == 0, "write data.bin");
    char want[128];
    snprintf(want, sizeof want, "len=%zu hash=%llx\n", sizeof data, fnv(data, sizeof data));
    sbx_result r;
    opts o = { 0 };
    if (PROBE(&o, &r, "hashfile", "/box/data.bin") == 0 && verdict_is(&r, SBX_OK))
        TSB_CHECK(r.out.data && strcmp(r.out.data, want) == 0, "got \"%s\"", r.out.data);
    sbx_result_free(&r);

    /* Read back what a run wrote, and what gcc wrote. */
    if (shell(&r, "printf 'hello from the box' > /box/out.txt") == 0)
        verdict_is(&r, SBX_OK);
    sbx_result_free(&r);
    char *buf = NULL;
    size_t len = 0;
    TSB_CHECK(sbx_box_read(box, "out.txt", 1024, &buf, &len) == 0 && len == 18 &&
              strcmp(buf, "hello from the box") == 0, "read back \"%s\"", buf ? buf : "(null)");
    free(buf);
    buf = NULL;
    TSB_CHECK(sbx_box_read(box, "data.bin", 1024, &buf, &len) == 0 &&
              len == sizeof data && memcmp(buf, data, len) == 0 && buf[len] == 0,
              "binary read back");
    free(buf);
    buf = NULL;
    TSB_CHECK(sbx_box_read(box, "prog", 1 << 24, &buf, &len) == 0 && len > 1000 &&
              memcmp(buf, "\177ELF", 4) == 0, "/box/prog is not the ELF gcc wrote");
    free(buf);
    buf = NULL;
    int rc = sbx_box_read(box, "out.txt", 5, &buf, &len);
    TSB_CHECK(rc == -EFBIG, "reading past max gives %d", rc);
    free(buf);
    buf = NULL;
    rc = sbx_box_read(box, "missing", 1024, &buf, &len);
    TSB_CHECK(rc == -ENOENT, "missing file gives %d", rc);
    free(buf);
    buf = NULL;

    /* A symlink the program planted must not be followed to the host. */
    char link[4200];
    snprintf(link, sizeof link, "%s/evil", box_path);
    TSB_CHECK(symlink("/etc/passwd", link) == 0, "symlink");
    rc = sbx_box_read(box, "evil", 1 << 20, &buf, &len);
    TSB_CHECK(rc < 0, "sbx_box_read followed a symlink to /etc/passwd (rc %d)", rc);
    free(buf);
    buf = NULL;
    /* Nor may writing through one reach the host. */
    char target[] = "/tmp/mg-sbx-write-target-XXXXXX";
    int fd = mkstemp(target);
    TSB_CHECK(fd >= 0, "mkstemp");
    if (fd >= 0)
        close(fd);
    snprintf(link, sizeof link, "%s/evil2", box_path);
    TSB_CHECK(symlink(target, link) == 0, "symlink");
    rc = sbx_box_write(box, "evil2", "pwned", 5);
    struct stat st;
    TSB_CHECK(stat(target, &st) == 0 && st.st_size == 0,
              "sbx_box_write wrote through a symlink (rc %d)", rc);
    unlink(target);
    TSB_CHECK(sbx_box_write(box, "../escape", "x", 1) < 0, "a name with '/' accepted");
    TSB_CHECK(sbx_box_write(box, "a/b", "x", 1) < 0, "a name with '/' accepted");
    TSB_CHECK(sbx_box_read(box, "../etc", 10, &buf, &len) < 0, "read of ../ accepted");
    free(buf);
}

static void t_box_destroy(void)
{
    /* The program builds a hard-to-delete tree holding symlinks to a host
     * directory; destroy must remove the box and leave the host alone. */
    char host[] = "/tmp/mg-sbx-host-XXXXXX";
    TSB_CHECK(mkdtemp(host) != NULL, "mkdtemp");
    char keep[256];
    snprintf(keep, sizeof keep, "%s/keep.txt", host);
    FILE *f = fopen(keep, "w");
    if (f)
        fclose(f);
    struct stat st;
    TSB_CHECK(stat(box_path, &st) == 0 && (st.st_mode & 0777) == 0700,
              "box mode %o, want 0700", st.st_mode & 0777);
    char script[1024];
    snprintf(script, sizeof script,
             "set -e; cd /box; mkdir -p a/b/c; : > a/b/c/deep.txt; mkdir locked;"
             ": > locked/inside; chmod 0 locked; ln -s %s link_dir;"
             "ln -s %s a/b/link_dir; ln -s / root_link; echo made", host, host);
    sbx_result r;
    if (shell(&r, script) == 0 && verdict_is(&r, SBX_OK))
        TSB_CHECK(r.out.data && strcmp(r.out.data, "made\n") == 0, "\"%s\" %s",
                  r.out.data, r.err.data);
    sbx_result_free(&r);
    sbx_box_destroy(box);
    box = NULL;
    TSB_CHECK(!tsb_exists(box_path), "%s survived sbx_box_destroy", box_path);
    TSB_CHECK(tsb_exists(keep), "destroy followed a symlink and removed %s", keep);
    unlink(keep);
    rmdir(host);
}

/* Box uids must differ between boxes, also between processes that happen to
 * have the same pid (each worker of a containerised server is pid 1):
 * RLIMIT_NPROC counts per uid, so a shared uid lets one box's fork bomb
 * starve another's fork and pthread_create. */
static void t_box_uid_distinct(void)
{
    struct stat mine, theirs;
    TSB_CHECK(stat(box_path, &mine) == 0, "stat box");
    int pfd[2];
    if (!TSB_CHECK(pipe(pfd) == 0, "pipe"))
        return;
    /* A fresh process (exec'd: the sandbox's state must not be inherited)
     * that is pid 1 of its own namespace, as we are. */
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (!TSB_CHECK(n > 0, "readlink /proc/self/exe"))
        return;
    self[n] = '\0';
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
        dup2(pfd[1], 1);
        execl(self, self, "--box-uid", (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    uid_t other = (uid_t)-1;
    char line[64] = "";
    ssize_t got = read(pfd[0], line, sizeof line - 1);
    if (got > 0) {
        line[got] = '\0';
        other = (uid_t)strtoul(line, NULL, 10);
    }
    TSB_CHECK(pid > 0 && got > 0 && other != (uid_t)-1, "the sibling made no box");
    close(pfd[0]);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    theirs.st_uid = other;
    TSB_CHECK(mine.st_uid != theirs.st_uid, "two boxes share uid %u",
              (unsigned)mine.st_uid);
}

/* A command that cannot start is the sandbox's failure (-1 with a reason),
 * never a verdict, and leaves nothing running. */
static void t_bad_command(void)
{
    static const char *const missing[] = { "/box/nope", NULL };
    static const char *const relative[] = { "prog", NULL };
    static const char *const *cmds[] = { missing, relative };
    sbx_policy *p = sbx_policy_new("run");
    for (int i = 0; p && i < 2; i++) {
        char err[256] = "";
        sbx_cmd cmd = { .argv = cmds[i] };
        sbx_result r;
        int rc = sbx_run(p, box, &cmd, &r, err, sizeof err);
        TSB_CHECK(rc == -1 && err[0] != '\0', "%s: rc %d err \"%s\"", cmds[i][0], rc, err);
        sbx_result_free(&r);
    }
    sbx_policy_free(p);
}

static void t_policy_reuse(void)
{
    /* One policy, compiled once, several runs. */
    char err[256] = "";
    sbx_policy *p = sbx_policy_new("run");
    TSB_CHECK(p && sbx_policy_compile(p, err, sizeof err) == 0, "%s", err);
    for (int i = 0; p && i < 3; i++) {
        char code[8];
        snprintf(code, sizeof code, "%d", i);
        const char *argv[] = { "/box/prog", "exit", code, NULL };
        sbx_cmd cmd = { .argv = argv };
        sbx_result r;
        TSB_CHECK(sbx_run(p, box, &cmd, &r, err, sizeof err) == 0, "%s", err);
        TSB_CHECK(r.exit_code == i && r.verdict == (i ? SBX_RUNTIME_ERROR : SBX_OK),
                  "run %d: exit %d verdict %s", i, r.exit_code, sbx_verdict_name(r.verdict));
        sbx_result_free(&r);
    }
    sbx_policy_free(p);
}

/* Two threads running the same policy at once (sbx.h: thread-safe). */
typedef struct {
    sbx_policy *p;
    int id, bad;
} par_job;

static void *par_worker(void *arg)
{
    par_job *j = arg;
    for (int i = 0; i < 3; i++) {
        char n[16], err[256] = "";
        snprintf(n, sizeof n, "%d", 1000 * (j->id + 1) + i);
        const char *argv[] = { "/box/prog", "write", n, "0", "0", NULL };
        sbx_cmd cmd = { .argv = argv };
        sbx_result r;
        if (sbx_run(j->p, box, &cmd, &r, err, sizeof err) != 0 || r.verdict != SBX_OK ||
            r.out.total != (size_t)atoi(n) || !pattern_ok(r.out.data, r.out.len))
            j->bad++;
        sbx_result_free(&r);
    }
    return NULL;
}

static void t_parallel(void)
{
    char err[256] = "";
    sbx_policy *p = sbx_policy_new("run");
    if (!TSB_CHECK(p && sbx_policy_compile(p, err, sizeof err) == 0, "%s", err)) {
        sbx_policy_free(p);
        return;
    }
    par_job jobs[2] = { { p, 0, 0 }, { p, 1, 0 } };
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, par_worker, &jobs[i]);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        TSB_CHECK(jobs[i].bad == 0, "thread %d: %d bad runs", i, jobs[i].bad);
    }
    sbx_policy_free(p);
}

/* The largest nice value the kernel shows for a process of uid, or -100
 * when it has none; *group the largest nice of their scheduling groups
 * (/proc/PID/autogroup: "/autogroup-N nice K"), left alone without them. */
static int max_nice_of(uid_t uid, int *group)
{
    int most = -100;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[300], buf[1024];
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/status", e->d_name);
        FILE *f = fopen(path, "r");
        unsigned ruid = 0;
        bool ours = false;
        while (f && fgets(buf, sizeof buf, f))
            if (sscanf(buf, "Uid: %u", &ruid) == 1) {
                ours = ruid == (unsigned)uid;
                break;
            }
        if (f)
            fclose(f);
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        f = ours ? fopen(path, "r") : NULL;
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[n] = '\0';
        /* "pid (comm) state ..." : nice is field 19, the 17th after comm. */
        char *p = n ? strrchr(buf, ')') : NULL;
        for (int field = 2; p && field < 19; field++)
            p = strchr(p + 1, ' ');
        if (p && atoi(p + 1) > most)
            most = atoi(p + 1);
        snprintf(path, sizeof path, "/proc/%s/autogroup", e->d_name);
        f = ours ? fopen(path, "r") : NULL;
        int ag;
        if (f && fscanf(f, "/autogroup-%*d nice %d", &ag) == 1 && ag > *group)
            *group = ag;
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return most;
}

typedef struct {
    opts o;
    sbx_result r;
    int rc;
    atomic_bool done;
} spin_job;

static void *spin_worker(void *arg)
{
    spin_job *j = arg;
    j->rc = PROBE(&j->o, &j->r, "cpu", "1500");
    atomic_store(&j->done, true);
    return NULL;
}

static void *niced_worker(void *arg)
{
    /* This thread only: a run it starts begins two levels down (sbx.h). */
    spin_job *j = arg;
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), getpriority(PRIO_PROCESS, getpid()) + 10))
        j->rc = -2;
    else
        j->rc = PROBE(&j->o, &j->r, "cpu", "100");
    atomic_store(&j->done, true);
    return NULL;
}

static void t_cpu_priority(void)
{
    /* sbx.h: a run that keeps a CPU busy past its quantum is demoted, its
     * processes' priority lowered as the kernel sees it; it still gets all
     * the CPU time its limit allows and ends as it would have. */
    struct stat st;
    if (!TSB_CHECK(stat(box_path, &st) == 0, "stat box: %s", strerror(errno)))
        return;
    static spin_job j = { .o = { .wall_ms = 60000, .cpu_ms = 10000, .quantum = 250 } };
    pthread_t t;
    if (!TSB_CHECK(pthread_create(&t, NULL, spin_worker, &j) == 0, "thread"))
        return;
    int seen = -100, group = -100;
    while (!atomic_load(&j.done)) {
        int n = max_nice_of(st.st_uid, &group);
        seen = n > seen ? n : seen;
        struct timespec ts = { 0, 20 * 1000000L };
        nanosleep(&ts, NULL);
    }
    pthread_join(t, NULL);
    if (j.rc == 0 && verdict_is(&j.r, SBX_OK)) {
        TSB_CHECK(j.r.cpu_ms >= 1450, "cpu_ms %ld: the whole 1500 ms ran", j.r.cpu_ms);
        TSB_CHECK(j.r.nice >= 5 && j.r.nice <= 15, "demoted by %d after 6 quanta", j.r.nice);
        TSB_CHECK(seen >= 5 && seen <= j.r.nice,
                  "the kernel showed the box's program at nice %d (reported %d)", seen, j.r.nice);
        /* Where sessions are scheduling groups, CPUs are divided between
         * groups first: the box's group must sink with it. */
        if (access("/proc/self/autogroup", F_OK) == 0)
            TSB_CHECK(group >= 5 && group <= j.r.nice,
                      "the box's scheduling group was at nice %d (reported %d)", group, j.r.nice);
    }
    sbx_result_free(&j.r);

    sbx_result r;
    opts o = { .wall_ms = 30000, .quantum = 250 };
    if (PROBE(&o, &r, "cpu", "100") == 0 && verdict_is(&r, SBX_OK))
        TSB_CHECK(r.nice == 0, "a run within its quantum demoted by %d", r.nice);
    sbx_result_free(&r);
    o.quantum = SBX_NO_DEMOTION;
    if (PROBE(&o, &r, "cpu", "600") == 0 && verdict_is(&r, SBX_OK))
        TSB_CHECK(r.nice == 0, "SBX_NO_DEMOTION still demoted by %d", r.nice);
    sbx_result_free(&r);

    /* Started from a niced thread: down from its first instruction, though
     * well within its quantum, in the kernel's eyes too. */
    static spin_job n = { .o = { .wall_ms = 30000, .quantum = 250 } };
    if (!TSB_CHECK(pthread_create(&t, NULL, niced_worker, &n) == 0, "thread"))
        return;
    int nseen = -100, ngroup = -100;
    while (!atomic_load(&n.done)) {
        int v = max_nice_of(st.st_uid, &ngroup);
        nseen = v > nseen ? v : nseen;
        struct timespec ts = { 0, 5 * 1000000L };
        nanosleep(&ts, NULL);
    }
    pthread_join(t, NULL);
    TSB_CHECK(n.rc != -2, "setpriority on the thread: %s", strerror(errno));
    if (n.rc == 0 && verdict_is(&n.r, SBX_OK)) {
        TSB_CHECK(n.r.nice == 10, "a run from a thread niced by 10 began down by %d", n.r.nice);
        TSB_CHECK(nseen == 10, "the kernel showed it at nice %d", nseen);
        if (access("/proc/self/autogroup", F_OK) == 0)
            TSB_CHECK(ngroup == 10, "its scheduling group at nice %d", ngroup);
    }
    sbx_result_free(&n.r);
}

/* --box-uid (box_uid_distinct's sibling): the owner of a new box's work
 * directory, i.e. the uid its runs get. */
static int print_box_uid(void)
{
    char err[256] = "";
    struct stat st;
    sbx_box *b = sbx_box_create(err, sizeof err);
    if (!b || stat(sbx_box_path(b), &st) != 0) {
        fprintf(stderr, "box: %s\n", err);
        sbx_box_destroy(b);
        return 1;
    }
    printf("%u\n", (unsigned)st.st_uid);
    sbx_box_destroy(b);
    return 0;
}

static const struct {
    const char *name;
    void (*fn)(void);
    bool needs_probe;
} cases[] = {
    { "verdict_names", t_verdict_names, false },
    { "exit_zero", t_exit_zero, true },
    { "exit_code", t_exit_code, true },
    { "signal_abort", t_signal_abort, true },
    { "signal_segv", t_signal_segv, true },
    { "output_small", t_output_small, true },
    { "output_keep", t_output_keep, true },
    { "output_limit", t_output_limit, true },
    { "output_limit_both", t_output_limit_both, true },
    { "stdin_big", t_stdin_big, true },
    { "stdin_empty", t_stdin_empty, true },
    { "stdin_unread", t_stdin_unread, true },
    { "fd3_capture", t_fd3_capture, true },
    { "fd3_absent", t_fd3_absent, true },
    { "cpu_accounting", t_cpu_accounting, true },
    { "wall_accounting", t_wall_accounting, true },
    { "cpu_all_processes", t_cpu_all_processes, true },
    { "signal_sys", t_signal_sys, true },
    { "accounting_on_kill", t_accounting_on_kill, true },
    { "cpu_limit", t_cpu_limit, true },
    { "wall_limit", t_wall_limit, true },
    { "rss_accounting", t_rss_accounting, true },
    { "memory_limit_malloc", t_memory_limit_malloc, true },
    { "env_default", t_env_default, true },
    { "env_custom", t_env_custom, true },
    { "threads", t_threads, true },
    { "box_files", t_box_files, true },
    { "box_destroy", t_box_destroy, true },
    { "box_uid_distinct", t_box_uid_distinct, true },
    { "cpu_priority", t_cpu_priority, true },
    { "bad_command", t_bad_command, true },
    { "policy_reuse", t_policy_reuse, true },
    { "parallel", t_parallel, true },
};

static int run_case(size_t i)
{
    char err[256] = "";
    if (!TSB_CHECK(tsb_in_private_pidns(), "run me as pid 1 of a fresh PID namespace "
                   "with its own /proc (see netns_wrap.sh)"))
        goto out;
    if (cases[i].needs_probe) {
        box = sbx_box_create(err, sizeof err);
        if (!TSB_CHECK(box != NULL, "sbx_box_create: %s", err))
            goto out;
        snprintf(box_path, sizeof box_path, "%s", sbx_box_path(box));
        size_t len;
        char *src = tsb_slurp(tsb_src("tests/sandbox/progs/probe.c"), &len);
        if (!TSB_CHECK(src != NULL, "cannot read probe.c"))
            goto out;
        sbx_result r;
        int rc = tsb_compile(box, src, len, NULL, &r, NULL);
        free(src);
        bool ok = rc == 0 && TSB_CHECK(r.verdict == SBX_OK, "probe did not compile");
        if (!ok)
            tsb_dump("compile", &r);
        sbx_result_free(&r);
        if (!ok)
            goto out;
    }
    cases[i].fn();
    char strays[2048];
    int n = tsb_stray_processes(NULL, 0, strays, sizeof strays);
    TSB_CHECK(n == 0, "%d process(es) left: %s", n, strays);
out:
    if (box) {
        sbx_box_destroy(box);
        box = NULL;
        TSB_CHECK(!tsb_exists(box_path), "%s survived sbx_box_destroy", box_path);
    }
    printf("%s %s\n", tsb_failures() ? "FAIL" : "ok", cases[i].name);
    return tsb_failures() ? 1 : 0;
}

int main(int argc, char **argv)
{
    enum { N = sizeof cases / sizeof *cases };
    const char *names[N];
    for (size_t i = 0; i < N; i++)
        names[i] = cases[i].name;
    if (argc >= 2 && strcmp(argv[1], "--check-list") == 0)
        return tsb_check_list(names, N, argc - 2, argv + 2);
    if (argc == 2 && strcmp(argv[1], "--box-uid") == 0)
        return print_box_uid();
    for (size_t i = 0; argc == 2 && i < N; i++)
        if (strcmp(argv[1], names[i]) == 0)
            return run_case(i);
    fprintf(stderr, "usage: %s CASE | --check-list CASE...\n", argv[0]);
    return 2;
}
