/* mgrt_srv: main() of a function-level assignment's program. A fork server:
 * it reads the engine's commands on stdin, runs each test in a fresh child
 * (one per fill pattern and per injected allocation failure) and reports the
 * child's fate itself, so a test that crashes, exits or hangs cannot take
 * the others with it. Also the observation API of mgt.h.
 *
 * No code of the student's ever runs in the server (the engine refuses
 * constructors and the like), so what it reports is fact: which test ran,
 * how its child ended. A child reports on a pipe of its own, which the
 * server relays line by line, bounded, as evidence ("c ..." records). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mgt.h"
#include "mgrt_int.h"

#define SRV_MAX_INPUT (64 * 1024)
#define SRV_MAX_INJECT 64
#define OBS_MAX 1024

/* ---- observations -------------------------------------------------------- */

extern void mgrt_drv_begin(void), mgrt_stu_begin(void);

/* Only the driver observes: a call from anywhere else (the submission
 * forging a result) is reported and ignored. */
static int from_driver(const void *ret)
{
    uintptr_t r = (uintptr_t)ret;
    if (r >= (uintptr_t)mgrt_drv_begin && r < (uintptr_t)mgrt_stu_begin)
        return 1;
    mgrt_rep("tamper observation from outside the driver");
    return 0;
}
#define FROM_DRIVER() from_driver(__builtin_return_address(0))

static void obs_line(const char *key, const char *val)
{
    char k[49];
    size_t n = 0;
    for (; key && key[n] && n < sizeof k - 1; n++)
        k[n] = (key[n] >= 'a' && key[n] <= 'z') || (key[n] >= '0' && key[n] <= '9') ? key[n] : '_';
    k[n] = 0;
    mgrt_rep("obs %s %s", n ? k : "_", val);
}

void mgt_obs_str(const char *key, const char *s)
{
    if (!FROM_DRIVER())
        return;
    char buf[OBS_MAX + 8];
    size_t n = 0;
    if (!s) {
        obs_line(key, "NULL");
        return;
    }
    buf[n++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p && n < OBS_MAX; p++) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char)c;
        } else if (c == '\n') {
            buf[n++] = '\\';
            buf[n++] = 'n';
        } else if (c < 0x20 || c >= 0x7f) {
            n += (size_t)snprintf(buf + n, 5, "\\x%02x", c);
        } else {
            buf[n++] = (char)c;
        }
    }
    buf[n++] = '"';
    buf[n] = 0;
    obs_line(key, buf);
}

void mgt_obs_int(const char *key, long long v)
{
    if (!FROM_DRIVER())
        return;
    char b[32];
    snprintf(b, sizeof b, "%lld", v);
    obs_line(key, b);
}

void mgt_obs_uint(const char *key, unsigned long long v)
{
    if (!FROM_DRIVER())
        return;
    char b[32];
    snprintf(b, sizeof b, "%llu", v);
    obs_line(key, b);
}

void mgt_obs_ptr_null(const char *key, const void *p)
{
    if (FROM_DRIVER())
        obs_line(key, p ? "nonnull" : "NULL");
}

static void one_line(char *b)
{
    for (; *b; b++)
        if (*b == '\n' || *b == '\r')
            *b = ' ';
}

void mgt_obs(const char *key, const char *fmt, ...)
{
    if (!FROM_DRIVER())
        return;
    char b[OBS_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    one_line(b);
    obs_line(key, b);
}

void mgt_fail(const char *fmt, ...)
{
    if (!FROM_DRIVER())
        return;
    char b[OBS_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    one_line(b);
    mgrt_rep("fail %s", b);
}

void mgt_free_result(void *p, const void *fn)
{
    if (!FROM_DRIVER() || !p)
        return;
    CAPTURE(st);
    mgrt_free_result(p, (uintptr_t)fn, st);
}

/* The helpers tell what the runtime knows of the test (which allocation
 * fails, among others): the driver's, like the observations. */
unsigned long mgt_alloc_calls(void) { return FROM_DRIVER() ? mgrt_calls() : 0; }
int mgt_alloc_failed(void) { return FROM_DRIVER() ? mgrt_injected() : 0; }
unsigned long mgt_heap_live(void) { return FROM_DRIVER() ? mgrt_live_student() : 0; }

/* ---- the fork server ----------------------------------------------------- */

#define CHILD_KEEP (32 * 1024)   /* bytes of records relayed per test run */
#define TEST_WALL_FACTOR 4       /* a test's wall clock, in test_ms */
#define ALLOC_ALLOWANCE_US 1000  /* CPU time allowed per allocation, beyond the limit */

static size_t ntests;

static long test_ms = 2000;      /* the manifest's limit */
static long cur_ms = 2000;       /* the test's: its own when the engine gives one */
static int show_output;          /* the program holds visible tests only */
#define OUT_KEEP 1000            /* bytes of a test's printing kept */

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A test's child: its own pipe in place of the report channel, nothing of
 * the server's, the runtime's filter on, then the test. */
static _Noreturn void child_main(size_t i, int pat, unsigned long k, int w, int o)
{
    setpgid(0, 0); /* the test and whatever it forks: one group to clean up */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* What a test prints is never judged; sent to /dev/null (or, for a
     * visible test, to the server, which keeps a little of it for the
     * student), a chatty submission cannot reach the sandbox's output limit
     * and take the remaining tests down with it. */
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    int out = o >= 0 ? o : null;
    if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0 ||
        dup2(w, CFG.rep_fd) < 0)
        _exit(3);
    close(null);
    close(w);
    if (o >= 0) {
        close(o);
        setvbuf(stdout, NULL, _IONBF, 0); /* printed before a crash is shown too */
    }
    poison_stack(16, pat ? 0x33 : 0xCC);
    mgrt_child();
    mgrt_spin_handler();
    mgrt_test_begin(pat, k);
    if (mgrt_lockdown()) {
        mgrt_rep("err blocked what=lockdown nr=-1 pcs=- apcs=- fpcs=-");
        _exit(3);
    }
    mgt_tests[i].fn();
    fflush(stdout);
    unsigned long n = mgrt_test_end();
    mgrt_rep("end allocs=%lu", n);
    _exit(0);
}

/* Runs test i once in a child. *allocs gets the student allocations the
 * child counted (0 when it did not say). */
static int last_timed_out;
static size_t last_test = (size_t)-1;

/* Keeps the first OUT_KEEP bytes a test printed, drains the rest. */
static char out_buf[OUT_KEEP];
static size_t out_len;
static int out_more;

static void drain_out(int fd)
{
    char b[4096];
    for (ssize_t n; fd >= 0 && (n = read(fd, b, sizeof b)) != 0;) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        size_t take = (size_t)n < OUT_KEEP - out_len ? (size_t)n : OUT_KEEP - out_len;
        memcpy(out_buf + out_len, b, take);
        out_len += take;
        out_more |= take < (size_t)n;
    }
}

/* One record: what the test printed, escaped onto one line. */
static void report_out(void)
{
    static char e[OUT_KEEP * 4 + 8];
    size_t n = 0;
    for (size_t j = 0; j < out_len; j++) {
        unsigned char ch = (unsigned char)out_buf[j];
        if (ch == '\n') {
            e[n++] = '\\';
            e[n++] = 'n';
        } else if (ch == '\\') {
            e[n++] = '\\';
            e[n++] = '\\';
        } else if (ch < 0x20 || ch >= 0x7f) {
            n += (size_t)snprintf(e + n, sizeof e - n, "\\x%02x", ch);
        } else {
            e[n++] = (char)ch;
        }
    }
    if (out_more) {
        e[n++] = '\\';
        e[n++] = '.';
    }
    e[n] = 0;
    if (n)
        mgrt_rep("c out %s", e);
}

static void run_one(size_t i, int pat, unsigned long k, unsigned long *allocs)
{
    int pfd[2], ofd[2] = {-1, -1};
    if (allocs)
        *allocs = 0;
    fflush(NULL);
    mgrt_rep("begin %zu %d %lu", i, pat, k);
    if (show_output && !k && !pat && pipe2(ofd, O_CLOEXEC))
        ofd[0] = ofd[1] = -1;
    out_len = 0;
    out_more = 0;
    pid_t pid = pipe2(pfd, O_CLOEXEC) ? -1 : fork();
    if (pid < 0) {
        mgrt_rep("status %zu %d %lu pid=0 exit=-1 sig=0 timeout=0 flood=0 forkfail=1", i, pat, k);
        return;
    }
    if (pid == 0) {
        close(pfd[0]);
        if (ofd[0] >= 0)
            close(ofd[0]);
        child_main(i, pat, k, pfd[1], ofd[1]);
    }
    close(pfd[1]);
    if (ofd[1] >= 0) {
        close(ofd[1]);
        fcntl(ofd[0], F_SETFL, O_NONBLOCK);
    }
    fcntl(pfd[0], F_SETFL, O_NONBLOCK);
    fcntl(pfd[0], F_SETPIPE_SZ, MON_PIPE_BYTES);
    mgrt_mon_start(pat, k, CHILD_KEEP, 1);
    int st = 0, timed_out = 0, eof = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    /* The limit is the test's CPU time, so a busy machine does not turn a
     * slow test into a time-out; the wall clock only ends a test that
     * waits forever. */
    long deadline = now_ms() + TEST_WALL_FACTOR * test_ms;
    clockid_t cpu;
    if (clock_getcpuclockid(pid, &cpu))
        cpu = (clockid_t)-1;
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    for (;;) {
        if (!eof)
            eof = mgrt_mon_drain(pfd[0]);
        drain_out(ofd[0]);
        pid_t w = wait4(pid, &st, WNOHANG, &ru);
        if (w == pid)
            break;
        long left = deadline - now_ms();
        struct timespec used;
        /* The test's own limit (from the reference's time) plus the
         * checker's cost of each allocation the code makes: a guarded
         * block costs system calls a plain malloc does not, and code that
         * allocates far more often than the reference (a realloc on every
         * pop) is slow here only because of them. Never past the
         * manifest's limit. */
        long allowed = cur_ms + (long)(mgrt_mon_attempts() * ALLOC_ALLOWANCE_US / 1000);
        if (allowed > test_ms)
            allowed = test_ms;
        if (cpu != (clockid_t)-1 && clock_gettime(cpu, &used) == 0 &&
            used.tv_sec * 1000 + used.tv_nsec / 1000000 >= allowed)
            left = 0;
        if (left <= 0) {
            /* Where is it? The child says (mgrt_spin), if it still can, before
             * it is killed. */
            kill(pid, SIGPROF);
            int gone = 0;
            for (int n = 0; n < 10 && !(gone = wait4(pid, &st, WNOHANG, &ru) == pid); n++) {
                struct timespec ts = {0, 5 * 1000000L};
                sigtimedwait(&chld, NULL, &ts);
                mgrt_mon_drain(pfd[0]);
            }
            if (!gone) {
                kill(pid, SIGKILL);
                wait4(pid, &st, 0, &ru);
            }
            timed_out = 1;
            break;
        }
        /* Woken by the child's end, else every few milliseconds to empty
         * the pipe: waking for each record would cost two context switches
         * per allocator call. */
        long nap = eof ? 50 : MON_NAP_MS;
        if (left > nap)
            left = nap; /* the CPU clock is read between waits */
        struct timespec ts = {left / 1000, (left % 1000) * 1000000};
        sigtimedwait(&chld, NULL, &ts);
    }
    kill(-pid, SIGKILL); /* processes the test left behind would eat the next one's quota */
    mgrt_mon_drain(pfd[0]);
    close(pfd[0]);
    if (ofd[0] >= 0) {
        drain_out(ofd[0]);
        close(ofd[0]);
        if (!pat)
            report_out();
    }
    mgrt_mon_finish(!timed_out && WIFEXITED(st));
    /* How many allocations the next runs fail, one each: the ledger's
     * count, not the child's word. */
    if (allocs)
        *allocs = mgrt_mon_attempts();
    last_timed_out = timed_out;
    last_test = i;
    /* The child's CPU time: the engine sets time limits from the
     * reference's (grd_calib.c). */
    long cpu_ms = ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000 +
                  ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000;
    mgrt_rep("status %zu %d %lu pid=%d exit=%d sig=%d timeout=%d flood=%d cpu=%ld", i, pat, k,
             (int)pid, WIFEXITED(st) ? WEXITSTATUS(st) : -1, WIFSIGNALED(st) ? WTERMSIG(st) : 0,
             timed_out, mgrt_mon_flood(), cpu_ms);
}

static size_t find_test(const char *name)
{
    for (size_t i = 0; i < ntests; i++)
        if (mgt_tests[i].fn && !strcmp(mgt_tests[i].name, name))
            return i;
    return ntests;
}

int main(void)
{
    static char in[SRV_MAX_INPUT + 1];
    size_t len = 0;
    mgrt_init();
    while (ntests < 100000 && mgt_tests[ntests].name)
        ntests++;
    for (;;) {
        ssize_t r = read(0, in + len, SRV_MAX_INPUT - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len == SRV_MAX_INPUT)
            break;
    }
    in[len] = 0;
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    mgrt_rep("tests %zu", ntests);
    for (size_t i = 0; i < ntests; i++)
        if (mgt_tests[i].fn) /* not a test left out of this program */
            mgrt_rep("test %zu %s", i, mgt_tests[i].name);
    for (char *line = strtok(in, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long k = 0;
        size_t i = ntests;
        int pat = 0;
        long ms = 0;
        char name[64] = "";
        /* "run NAME PAT K [MS]", "inj NAME [MS]": MS, the test's own limit
         * (at most the manifest's). */
        int nf = 0;
        if (sscanf(line, "cfg test_ms=%ld", &ms) == 1 && ms > 0) {
            test_ms = cur_ms = ms;
        } else if (!strcmp(line, "cfg show_output=1")) {
            show_output = 1;
        } else if ((nf = sscanf(line, "run %63s %d %lu %ld", name, &pat, &k, &ms)) >= 3 &&
                   (i = find_test(name)) < ntests) {
            cur_ms = nf == 4 && ms > 0 && ms < test_ms ? ms : test_ms;
            /* A test that hung once hangs again: its second run would only
             * eat the others' time. */
            if (!(i == last_test && last_timed_out))
                run_one(i, pat, k, NULL);
        } else if ((nf = sscanf(line, "inj %63s %ld", name, &ms)) >= 1 &&
                   (i = find_test(name)) < ntests) {
            cur_ms = nf == 2 && ms > 0 && ms < test_ms ? ms : test_ms;
            unsigned long n = 0;
            run_one(i, 0, 0, &n);
            /* A run that hangs once the allocation fails is verdict enough:
             * more of them would only eat the others' time. */
            for (unsigned long j = 1; j <= n && j <= SRV_MAX_INJECT && !last_timed_out; j++)
                run_one(i, 0, j, NULL);
        }
    }
    mgrt_rep("done");
    return 0;
}
