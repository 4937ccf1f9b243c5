/* grd_int: what the grading engine's files share: the loaded manifest
 * (graders/DRIVER.md §1) and helpers. Not part of the grd.h contract. */
#ifndef MEMGRADE_GRD_INT_H
#define MEMGRADE_GRD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "grd.h"
#include "sbx.h"

enum grd_kind { GRD_FUNCTIONS, GRD_PROGRAM };

typedef struct {
    char *name, *description, *visibility;
    double points;
    /* functions */
    json_t *expect, *on_fail;      /* objects key -> string; on_fail may be NULL */
    /* programs */
    char **args;
    size_t nargs;
    char *stdin_data;
    unsigned long memory_mb;       /* 0: the assignment's */
    bool has_exit;
    int expect_exit;
    char *expect_stdout, *stdout_contains, *stderr_contains;
    double min_rss_mb;
    bool check_addrspace, leaks;
} grd_test;

struct grd_assignment {
    char *name, *title, *dir;
    enum grd_kind kind;
    char **files, **headers, *driver;
    size_t nfiles, nheaders;
    unsigned long test_ms, wall_ms, memory_mb, output_kb;
    grd_test *tests;
    size_t ntests;
    double max_score;
};

struct grd_catalog {
    char *dir;
    grd_assignment *a;
    size_t n;
};

/* Reads a whole file (at most max bytes) into a new NUL-terminated buffer.
 * 0 or -errno. */
int grd_read_file(const char *path, size_t max, char **out, size_t *len);

/* grd_build.c: the student's program, built in the box as /box/prog, owned
 * by root and executable only: the program cannot read its own file (its
 * symbol table is not loaded), and addr2line gets to read it after the
 * runs. When the assignment has visible and other tests (grd_split), also
 * /box/prog_vis, whose driver holds the visible tests alone: a run whose
 * results a student sees holds no hidden input. */
bool grd_split(const grd_assignment *a);
/* Makes a file in the box root-owned with mode (0111 for a program, 0644
 * while addr2line reads it). 0 or -errno. */
int grd_seal(sbx_box *box, const char *name, int mode);
typedef struct {
    char *output;          /* compiler/linker output for the student */
    size_t output_len;
} grd_build;
/* 1 built, 0 the student's files did not compile or link (output says
 * why), -1 our own failure (err filled). */
int grd_build_program(const grd_assignment *a, sbx_box *box, const grd_file *files,
                      size_t nfiles, grd_build *out, char *err, size_t errlen);
void grd_build_free(grd_build *b);

/* A fresh random token for a run's report lines (hex). */
void grd_make_token(char *out, size_t cap);
/* FNV-1a over n bytes, continuing from h (cache keys). */
uint64_t grd_fnv(uint64_t h, const void *p, size_t n);
/* The cache folder ($MEMGRADE_CACHE), and whether a folder may be trusted
 * for it: ours, and writable by nobody else. */
const char *grd_cache_dir(void);
bool grd_trusted_dir(const char *path);

/* Per-test time, for grd_run_tests: lim[i], the CPU limit of test i in ms
 * (0: the manifest's); cpu[i] filled with the most CPU time any run of
 * test i took. Either may be NULL. */
typedef struct {
    const unsigned long *lim;
    unsigned long *cpu;
} grd_timing;

/* grd_run.c: runs the tests of a built program and fills doc's "tests" and
 * "memory_errors". 0, or -1 when our machinery failed (err filled). */
int grd_run_tests(const grd_assignment *a, sbx_box *box, const grd_file *files,
                  size_t nfiles, const char *token, const grd_timing *tm, json_t *doc,
                  char *err, size_t errlen);

/* grd_calib.c: each test's CPU limit, from the reference's own time
 * (GRD_CALIB_FACTOR times it, at least GRD_CALIB_FLOOR_MS, at most the
 * manifest's test_ms), into lim[0..ntests). Measured once per version of
 * the assignment and kept (in memory and in the cache folder). 1 when
 * calibrated, 0 when not (no reference, or the reference did not grade):
 * lim is then all the manifest's.
 *
 * Whole programs get more room: their reference may spend its time in the
 * C library (memset over a block), which is not instrumented, where a
 * correct student loop over every byte is (memuser's alt_calloc_loop
 * variant takes 32 times the reference's CPU on 2 GiB). */
#define GRD_CALIB_FACTOR 20
#define GRD_CALIB_FLOOR_MS 250
#define GRD_CALIB_FACTOR_PROGRAM 100
#define GRD_CALIB_FLOOR_PROGRAM_MS 1000
#define GRD_CALIB_FACTOR_OF(a) ((a)->kind == GRD_FUNCTIONS ? GRD_CALIB_FACTOR \
                                                          : GRD_CALIB_FACTOR_PROGRAM)
#define GRD_CALIB_FLOOR_OF(a) ((a)->kind == GRD_FUNCTIONS ? GRD_CALIB_FLOOR_MS \
                                                         : GRD_CALIB_FLOOR_PROGRAM_MS)
int grd_limits(const grd_assignment *a, unsigned long *lim);

#endif
