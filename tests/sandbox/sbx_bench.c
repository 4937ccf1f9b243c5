/* sbx_bench: the sandbox's overhead against the bare command and against
 * bubblewrap, measured the same way for all three (fork, exec, wait; the
 * runs interleaved so drift in machine load hits every variant alike).
 * Usage: sbx_bench TRIVIAL.c SMALL.c TRIVIAL_RUNS COMPILE_RUNS
 * Driven by tests/bench/sandbox_bench.sh; needs root (as sbx does). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sbx.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Runs argv to completion with stdio on /dev/null; its exit status. */
static int spawn(char *const argv[], const char *cwd)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (cwd && chdir(cwd) != 0)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, int p)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    int i = (p * (n - 1) + 50) / 100;
    return v[i];
}

enum { BARE, BWRAP, SBX, VARIANTS };
static const char *variant_name[VARIANTS] = { "bare", "bwrap", "sbx" };

/* bwrap with the comparable setup: everything unshared, read-only
 * /usr, the work directory at /box, plus a private /tmp and /dev/null as
 * the sbx box has them (gcc needs both). */
#define BWRAP_ARGS(work)                                                        \
    "/usr/bin/bwrap", "--unshare-all", "--die-with-parent", "--new-session",    \
    "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib",                \
    "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin",         \
    "--dev-bind", "/dev/null", "/dev/null", "--tmpfs", "/tmp",                  \
    "--bind", (work), "/box", "--chdir", "/box"

typedef struct {
    const char *what;
    int runs;
    char **argv[VARIANTS - 1];   /* bare and bwrap */
    const char *cwd;
    sbx_policy *policy;
    sbx_box *box;
    const char *const *sbx_argv;
    double *t[VARIANTS];
} series;

static int measure(series *s)
{
    for (int v = 0; v < VARIANTS; v++) {
        s->t[v] = calloc((size_t)s->runs, sizeof(double));
        if (!s->t[v])
            return -1;
    }
    for (int i = -1; i < s->runs; i++) {           /* i == -1: warm-up */
        for (int v = 0; v < VARIANTS; v++) {
            double t0 = now_ms();
            int rc;
            if (v == SBX) {
                sbx_result r;
                char err[256] = "";
                sbx_cmd cmd = { .argv = s->sbx_argv };
                rc = sbx_run(s->policy, s->box, &cmd, &r, err, sizeof err);
                if (rc == 0 && r.verdict != SBX_OK) {
                    fprintf(stderr, "sbx %s: %s %s\n", s->what, sbx_verdict_name(r.verdict),
                            r.err.data ? r.err.data : "");
                    rc = 1;
                }
                if (rc < 0)
                    fprintf(stderr, "sbx %s: %s\n", s->what, err);
                sbx_result_free(&r);
            } else {
                rc = spawn(s->argv[v], s->cwd);
            }
            double dt = now_ms() - t0;
            if (rc != 0) {
                fprintf(stderr, "%s %s failed (%d)\n", variant_name[v], s->what, rc);
                return -1;
            }
            if (i >= 0)
                s->t[v][i] = dt;
        }
    }
    return 0;
}

/* Median of the per-iteration differences t[v][i] - t[BARE][i]: runs of one
 * iteration are back to back, so this cancels most of the drift a busy
 * machine adds to both. Call before the series are sorted. */
static double paired_delta(const series *s, int v)
{
    double *d = malloc((size_t)s->runs * sizeof *d);
    if (!d)
        return 0;
    for (int i = 0; i < s->runs; i++)
        d[i] = s->t[v][i] - s->t[BARE][i];
    double m = pct(d, s->runs, 50);
    free(d);
    return m;
}

static void report(series *s, bool percent)
{
    double med[VARIANTS], p90[VARIANTS], pair[VARIANTS] = { 0 };
    for (int v = BWRAP; v < VARIANTS; v++)
        pair[v] = paired_delta(s, v);
    for (int v = 0; v < VARIANTS; v++) {
        p90[v] = pct(s->t[v], s->runs, 90);
        med[v] = pct(s->t[v], s->runs, 50);
    }
    printf("\n%s (%d runs each)\n", s->what, s->runs);
    printf("  %-6s %9s %9s   %-18s %s\n", "", "median", "p90", "added (medians)",
           "added (paired median)");
    for (int v = 0; v < VARIANTS; v++) {
        printf("  %-6s %7.2fms %7.2fms", variant_name[v], med[v], p90[v]);
        if (v == BARE)
            printf("\n");
        else if (percent)
            printf("   %+7.2fms %+6.1f%%   %+7.2fms %+6.1f%%\n", med[v] - med[BARE],
                   100.0 * (med[v] - med[BARE]) / med[BARE], pair[v],
                   100.0 * pair[v] / med[BARE]);
        else
            printf("   %+7.2fms           %+7.2fms\n", med[v] - med[BARE], pair[v]);
    }
}

static int sbx_compile_into(sbx_box *b, const char *src)
{
    static const char *const argv[] = { "/usr/bin/gcc", "-O0", "-o", "/box/prog",
                                        "/box/x.c", NULL };
    char *text = NULL;
    size_t len = 0;
    FILE *f = fopen(src, "r");
    if (!f)
        return -1;
    text = malloc(1 << 16);
    len = text ? fread(text, 1, 1 << 16, f) : 0;
    fclose(f);
    int rc = -1;
    sbx_policy *p = sbx_policy_new("compile");
    sbx_result r;
    memset(&r, 0, sizeof r);
    char err[256] = "";
    sbx_cmd cmd = { .argv = argv };
    if (p && text && sbx_box_write(b, "x.c", text, len) == 0 &&
        sbx_run(p, b, &cmd, &r, err, sizeof err) == 0 && r.verdict == SBX_OK)
        rc = 0;
    else
        fprintf(stderr, "sbx compile of %s failed: %s %s\n", src, err,
                r.err.data ? r.err.data : "");
    sbx_result_free(&r);
    sbx_policy_free(p);
    free(text);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s TRIVIAL.c SMALL.c TRIVIAL_RUNS COMPILE_RUNS\n", argv[0]);
        return 2;
    }
    int ntriv = atoi(argv[3]), ncomp = atoi(argv[4]), rc = 1;
    char err[256] = "";
    char work[] = "/tmp/mg-bench-XXXXXX";
    char cmdline[8192];
    sbx_box *tbox = NULL, *cbox = NULL;
    sbx_policy *runp = NULL, *compp = NULL;
    series triv = { 0 }, comp = { 0 };
    if (ntriv < 1 || ncomp < 1 || !mkdtemp(work))
        goto out;

    /* Bare and bwrap share one host work directory, holding the same files
     * the sbx boxes hold. */
    snprintf(cmdline, sizeof cmdline,
             "cp '%s' '%s/trivial.c' && cp '%s' '%s/small.c' && "
             "gcc -O0 -o '%s/trivial' '%s/trivial.c'", argv[1], work, argv[2], work,
             work, work);
    if (system(cmdline) != 0)
        goto out;
    tbox = sbx_box_create(err, sizeof err);
    cbox = sbx_box_create(err, sizeof err);
    runp = sbx_policy_new("run");
    compp = sbx_policy_new("compile");
    if (!tbox || !cbox || !runp || !compp || sbx_compile_into(tbox, argv[1]) != 0 ||
        sbx_box_write(cbox, "x.c", "", 0) != 0)
        goto out;
    if (sbx_policy_compile(runp, err, sizeof err) || sbx_policy_compile(compp, err, sizeof err))
        goto out;
    {
        size_t len = 0;
        char *src = NULL;
        FILE *f = fopen(argv[2], "r");
        if (f) {
            src = malloc(1 << 16);
            len = src ? fread(src, 1, 1 << 16, f) : 0;
            fclose(f);
        }
        int w = src ? sbx_box_write(cbox, "small.c", src, len) : -1;
        free(src);
        if (w != 0)
            goto out;
    }

    char bare_triv[4200], bare_out[4200], bare_src[4200], bind[4200];
    snprintf(bare_triv, sizeof bare_triv, "%s/trivial", work);
    snprintf(bare_out, sizeof bare_out, "%s/out", work);
    snprintf(bare_src, sizeof bare_src, "%s/small.c", work);
    snprintf(bind, sizeof bind, "%s", work);

    char *bare_t[] = { bare_triv, NULL };
    char *bwrap_t[] = { BWRAP_ARGS(bind), "/box/trivial", NULL };
    static const char *const sbx_t[] = { "/box/prog", NULL };
    triv = (series){ .what = "trivial program (run policy)", .runs = ntriv,
                     .argv = { bare_t, bwrap_t }, .policy = runp, .box = tbox,
                     .sbx_argv = sbx_t };

    char *bare_c[] = { "/usr/bin/gcc", "-O0", "-o", bare_out, bare_src, NULL };
    char *bwrap_c[] = { BWRAP_ARGS(bind), "/usr/bin/gcc", "-O0", "-o", "/box/out",
                        "/box/small.c", NULL };
    static const char *const sbx_c[] = { "/usr/bin/gcc", "-O0", "-o", "/box/out",
                                         "/box/small.c", NULL };
    comp = (series){ .what = "gcc -O0 of a small C file (compile policy)",
                     .runs = ncomp, .argv = { bare_c, bwrap_c }, .cwd = work,
                     .policy = compp, .box = cbox, .sbx_argv = sbx_c };

    if (measure(&triv) != 0 || measure(&comp) != 0)
        goto out;
    report(&triv, false);
    report(&comp, true);
    rc = 0;
out:
    if (rc && err[0])
        fprintf(stderr, "sbx_bench: %s\n", err);
    for (int v = 0; v < VARIANTS; v++) {
        free(triv.t[v]);
        free(comp.t[v]);
    }
    sbx_policy_free(runp);
    sbx_policy_free(compp);
    sbx_box_destroy(tbox);
    sbx_box_destroy(cbox);
    snprintf(cmdline, sizeof cmdline, "rm -rf '%s'", work);
    if (work[sizeof work - 7] != 'X')
        (void)!system(cmdline);
    return rc;
}
