/* The cgroup layer's host detection and its cgroup v2 path, which the
 * machines this suite runs on (cgroup v1) cannot exercise for real: the
 * parsers on the texts real hosts give, and every file the v2 code writes
 * and reads, against a directory laid out as the kernel lays out a
 * delegated cgroup. And the priority levels a box is demoted through, tick
 * by tick. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbx_int.h"

static int failures;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            failures++;                                                        \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);               \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
        }                                                                      \
    } while (0)

static void put(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

static void get(const char *dir, const char *name, char *buf, size_t len)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static const char mi_v1[] =
    "25 30 0:22 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs ro,mode=755\n"
    "26 25 0:23 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n"
    "27 25 0:24 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n"
    "28 25 0:25 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
static const char self_v1[] =
    "12:memory:/system.slice/memgrade.service\n"
    "4:cpu,cpuacct:/system.slice/memgrade.service\n"
    "0::/system.slice/memgrade.service\n";
static const char mi_v2[] =
    "24 30 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
    "31 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n";
static const char self_v2[] = "0::/system.slice/memgrade.service\n";
/* Inside a container with its own cgroup namespace: the root is ours. */
static const char self_v2_ns[] = "0::/\n";

static void test_parse(void)
{
    sbx_cg_found f;
    sbx_cg_parse(mi_v1, self_v1, &f);
    CHECK(f.version == 1, "hybrid host: v1 wins, got %d", f.version);
    CHECK(!strcmp(f.v1[SBX_CG_MEMORY], "/sys/fs/cgroup/memory/system.slice/memgrade.service"),
          "v1 memory dir: %s", f.v1[SBX_CG_MEMORY]);
    CHECK(!strcmp(f.v1[SBX_CG_CPUACCT],
                  "/sys/fs/cgroup/cpu,cpuacct/system.slice/memgrade.service"),
          "v1 cpuacct dir: %s", f.v1[SBX_CG_CPUACCT]);
    CHECK(!f.v2[0], "no v2 dir on a v1 host: %s", f.v2);

    sbx_cg_parse(mi_v2, self_v2, &f);
    CHECK(f.version == 2, "v2 host, got %d", f.version);
    CHECK(!strcmp(f.v2, "/sys/fs/cgroup/system.slice/memgrade.service"), "v2 dir: %s", f.v2);
    CHECK(!f.v1[SBX_CG_MEMORY][0] && !f.v1[SBX_CG_CPUACCT][0], "no v1 dirs on v2");

    sbx_cg_parse(mi_v2, self_v2_ns, &f);
    CHECK(f.version == 2 && !strcmp(f.v2, "/sys/fs/cgroup"), "container root: %s", f.v2);

    sbx_cg_parse("31 1 8:1 / / rw - ext4 /dev/sda1 rw\n", "", &f);
    CHECK(f.version == 0, "no cgroups at all, got %d", f.version);

    /* A v2 mount that is not at its root (a bind mount of a subtree) does
     * not tell where we are: not used. */
    sbx_cg_parse("24 30 0:22 /sub /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", self_v2, &f);
    CHECK(f.version == 0, "bind-mounted subtree ignored, got %d", f.version);
}

static void test_setup(const char *tmp)
{
    char dir[256], why[PATH_MAX + 128], buf[256];
    snprintf(dir, sizeof dir, "%.200s/svc", tmp);
    mkdir(dir, 0755);
    put(dir, "cgroup.controllers", "cpuset cpu io pids\n");
    put(dir, "cgroup.procs", "");
    put(dir, "cgroup.subtree_control", "");
    CHECK(sbx_cg_v2_setup(dir, 4242, why, sizeof why) == -1, "no memory controller accepted");
    CHECK(strstr(why, "Delegate=yes") != NULL, "the reason says how to delegate: %s", why);

    put(dir, "cgroup.controllers", "cpuset cpu io memory pids\n");
    CHECK(sbx_cg_v2_setup(dir, 4242, why, sizeof why) == 0, "empty delegated dir: %s", why);
    get(dir, "cgroup.subtree_control", buf, sizeof buf);
    CHECK(!strcmp(buf, "+memory"), "memory enabled for the boxes: '%s'", buf);
    char leaf[PATH_MAX + 32];
    snprintf(leaf, sizeof leaf, "%s/" SBX_CG_V2_SELF, dir);
    struct stat st;
    CHECK(stat(leaf, &st) != 0, "no leaf made when nobody is in the dir");

    /* We (and only we) are in the service's cgroup: move to a leaf first. */
    put(dir, "cgroup.procs", "4242\n");
    put(dir, "cgroup.subtree_control", "");
    mkdir(leaf, 0755);
    put(leaf, "cgroup.procs", "");
    CHECK(sbx_cg_v2_setup(dir, 4242, why, sizeof why) == 0, "occupied dir: %s", why);
    get(leaf, "cgroup.procs", buf, sizeof buf);
    CHECK(!strcmp(buf, "4242"), "moved into the leaf: '%s'", buf);
    get(dir, "cgroup.subtree_control", buf, sizeof buf);
    CHECK(!strcmp(buf, "+memory"), "then memory enabled: '%s'", buf);
}

static void test_box(const char *tmp)
{
    char dir[256], box[PATH_MAX + 16], buf[256];
    snprintf(dir, sizeof dir, "%.200s/deleg", tmp);
    mkdir(dir, 0755);
    sbx_cg_force_v2(dir);
    CHECK(sbx_cg_base(SBX_CG_MEMORY) && !strcmp(sbx_cg_base(SBX_CG_MEMORY), dir),
          "v2 boxes go to the delegated dir");
    CHECK(sbx_cg_base(SBX_CG_CPUACCT) == NULL, "one directory per box on v2");

    struct sbx_box b;
    memset(&b, 0, sizeof b);
    sbx_cg_create(&b, "box-1");
    snprintf(box, sizeof box, "%s/box-1", dir);
    CHECK(!strcmp(b.cg[SBX_CG_MEMORY].path, box), "box dir: %s", b.cg[SBX_CG_MEMORY].path);
    CHECK(b.cg[SBX_CG_MEMORY].dirfd >= 0 && b.cg[SBX_CG_CPUACCT].dirfd < 0, "box fds");
    /* What the kernel puts in a new cgroup. */
    put(box, "memory.max", "max\n");
    put(box, "memory.swap.max", "max\n");
    put(box, "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 2\n");
    put(box, "memory.peak", "0\n");
    put(box, "cpu.stat", "usage_usec 5000000\nuser_usec 3000000\nsystem_usec 2000000\n");
    put(box, "cgroup.procs", "");

    struct sbx_cg_run run;
    CHECK(sbx_cg_prepare(&b, 64ul << 20, &run) == 0, "prepare: %s", strerror(errno));
    get(box, "memory.max", buf, sizeof buf);
    CHECK(!strcmp(buf, "67108864"), "memory.max set to the limit: '%s'", buf);
    get(box, "memory.swap.max", buf, sizeof buf);
    CHECK(buf[0] == '0' && buf[1] != '0', "no swap for the box: '%s'", buf);
    CHECK(run.v2 && run.cpu_base_ms == 5000, "CPU baseline %ld", run.cpu_base_ms);
    CHECK(run.procs[SBX_CG_MEMORY] >= 0 && run.procs[SBX_CG_CPUACCT] < 0, "joined by cgroup.procs");
    CHECK(run.oom_before == 2, "oom kills before: %ld", run.oom_before);
    CHECK(sbx_cg_cpu_ms(&run, run.usage_fd) == 0, "nothing used yet");

    /* The run: 250 ms of CPU, 2 MiB at most, one OOM kill. */
    put(box, "cpu.stat", "usage_usec 5250000\nuser_usec 3100000\nsystem_usec 2150000\n");
    put(box, "memory.peak", "2097152\n");
    put(box, "memory.events", "low 0\nhigh 0\nmax 4\noom 1\noom_kill 3\n");
    CHECK(sbx_cg_cpu_ms(&run, run.usage_fd) == 250, "CPU of the run: %ld",
          sbx_cg_cpu_ms(&run, run.usage_fd));
    bool oom;
    long peak_kb, cpu_ms;
    sbx_cg_collect(&b, &run, &oom, &peak_kb, &cpu_ms);
    CHECK(oom, "the OOM kill is seen");
    CHECK(peak_kb == 2048, "peak %ld KiB", peak_kb);
    CHECK(cpu_ms == 250, "cpu %ld ms", cpu_ms);
    /* A cpu.stat that does not start as the kernel's does is no number. */
    put(box, "cpu.stat", "user_usec 1\n");
    CHECK(sbx_cg_cpu_ms(&run, run.usage_fd) == -1, "malformed cpu.stat refused");
    sbx_cg_release(&run);
    CHECK(run.peak_fd == -1 && run.usage_fd == -1 && run.procs[SBX_CG_MEMORY] == -1,
          "descriptors closed");

    const char *files[] = {"memory.max", "memory.swap.max", "memory.events", "memory.peak",
                           "cpu.stat", "cgroup.procs"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/%s", box, files[i]);
        unlink(path);
    }
    sbx_cg_destroy(&b);
    struct stat st;
    CHECK(stat(box, &st) != 0, "box cgroup removed");
}

/* The priority levels of a box (sbx.c, "priority"), tick by tick: demoted
 * at 1, 2 and 4 quanta of CPU, lifted a level for each second it got under a
 * quarter of a CPU, sunk again once it gets half a CPU or more, never
 * demoted in the second half of its wall limit. */
static void test_sched(void)
{
    struct sbx_sched s = {.quantum = 250};
    static const struct {
        long now, used;   /* wall and CPU ms into the run */
        int level;        /* the level wanted then */
        const char *why;
    } ticks[] = {
        {100, 100, 0, "within the first quantum"},
        {300, 249, 0, "one ms short of it"},
        {400, 250, 1, "one quantum"},
        {700, 500, 2, "two quanta (the window restarts at each new level)"},
        {1200, 999, 2, "just short of four"},
        {1300, 1000, 3, "four quanta"},
        {2300, 1100, 2, "a second at 10% of a CPU: lifted a level"},
        {3300, 1200, 1, "another: lifted again"},
        {4300, 1300, 0, "and again: where it would be without any of this"},
        {5300, 1300, 0, "not lifted below level 0"},
        {6300, 2300, 1, "a whole CPU for a second: sinks a level"},
        {7300, 3300, 2, "and another"},
        {8300, 4300, 3, "back at the bottom"},
        {9300, 4600, 3, "30% of a CPU: not starved, stays"},
    };
    for (size_t i = 0; i < sizeof ticks / sizeof ticks[0]; i++) {
        int level = sbx_sched_next(&s, ticks[i].now, ticks[i].used);
        CHECK(level == ticks[i].level, "tick %zu (%s): level %d, expected %d", i, ticks[i].why,
              level, ticks[i].level);
        sbx_sched_applied(&s, level, ticks[i].now, ticks[i].used);
    }
    CHECK(sbx_sched_nice[0] == 0 && sbx_sched_nice[SBX_SCHED_LEVELS - 1] <= 19,
          "nice steps from 0 to at most 19");
    /* Half the wall limit gone: full priority for the rest of the run. */
    struct sbx_sched half = {.quantum = 250, .boost_at = 1000};
    CHECK(sbx_sched_next(&half, 900, 800) == 2, "demoted before half the wall limit");
    sbx_sched_applied(&half, 2, 900, 800);
    CHECK(sbx_sched_next(&half, 1000, 900) == 0, "raised back at half the wall limit");
    sbx_sched_applied(&half, 0, 1000, 900);
    CHECK(sbx_sched_next(&half, 5000, 4900) == 0, "never demoted again");
    /* A quantum too large to reach (SBX_NO_DEMOTION) never demotes. */
    struct sbx_sched off = {.quantum = ~0UL};
    CHECK(sbx_sched_next(&off, 60000, 59000) == 0, "no demotion with an endless quantum");

    /* A run started niced (sbx.h) begins down, sinks further from there,
     * is lifted below its start when starved and runs the second half of
     * its wall limit at full priority. */
    CHECK(sbx_sched_level_of(0) == 0 && sbx_sched_level_of(4) == 0 &&
              sbx_sched_level_of(5) == 1 && sbx_sched_level_of(12) == 2 &&
              sbx_sched_level_of(19) == SBX_SCHED_LEVELS - 1,
          "nice 0, 4, 5, 12, 19 over the process: levels %d %d %d %d %d",
          sbx_sched_level_of(0), sbx_sched_level_of(4), sbx_sched_level_of(5),
          sbx_sched_level_of(12), sbx_sched_level_of(19));
    struct sbx_sched st = {.quantum = 250, .start = 2, .boost_at = 8000};
    static const struct {
        long now, used;
        int level;
        const char *why;
    } sticks[] = {
        {10, 0, 2, "from the start"},
        {400, 250, 3, "one quantum more"},
        {1400, 300, 2, "a starved second: lifted"},
        {2400, 350, 1, "another"},
        {3400, 400, 0, "another: below where it began"},
        {8000, 400, 0, "half its wall limit: full priority"},
    };
    for (size_t i = 0; i < sizeof sticks / sizeof sticks[0]; i++) {
        int level = sbx_sched_next(&st, sticks[i].now, sticks[i].used);
        CHECK(level == sticks[i].level, "started down, tick %zu (%s): level %d, expected %d", i,
              sticks[i].why, level, sticks[i].level);
        sbx_sched_applied(&st, level, sticks[i].now, sticks[i].used);
    }
    struct sbx_sched deep = {.quantum = 250, .start = SBX_SCHED_LEVELS - 1};
    CHECK(sbx_sched_next(&deep, 5000, 4000) == SBX_SCHED_LEVELS - 1,
          "never below the last level");
}

int main(void)
{
    char tmp[] = "/tmp/mg-cgtest-XXXXXX";
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 2;
    }
    test_parse();
    test_sched();
    test_setup(tmp);
    test_box(tmp);
    char cmd[PATH_MAX];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    if (failures)
        fprintf(stderr, "%d check(s) failed\n", failures);
    else
        printf("cgroup: all checks passed\n");
    return failures ? 1 : 0;
}
