/* sbx_cgroup: a cgroup per box in the cgroup v1 controllers the host has:
 *   memory   the memory limit then bounds everything a box holds at once --
 *            the heap of every process, pipe buffers, files in its /tmp --
 *            which RLIMIT_AS alone cannot, and an out-of-memory kill is told
 *            apart from a crash;
 *   cpuacct  init reads the whole box's CPU time live, children the program
 *            never waits for included, and stops the box at its limit.
 * Where a controller is not mounted, the box does without it: rlimits and
 * init's own clocks still bound it, less tightly. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbx_int.h"

static const char *const cg_names[SBX_CG_COUNT] = {
    [SBX_CG_MEMORY] = "memory",
    [SBX_CG_CPUACCT] = "cpuacct",
};

/* Our own cgroup's directory in each controller, found once: boxes are
 * created below it, so whatever limits the service also limits its boxes. */
static char cg_base[SBX_CG_COUNT][PATH_MAX];
static pthread_once_t cg_once = PTHREAD_ONCE_INIT;

/* Does the comma-separated list contain exactly `word`? */
static bool has_token(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
        if (!strncmp(p, word, n) && (p[n] == ',' || p[n] == '\0' || p[n] == '\n' ||
                                     p[n] == ' '))
            return true;
    return false;
}

static void cg_find_bases(void)
{
    char mnt[SBX_CG_COUNT][PATH_MAX] = {{0}}, line[4096];
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return;
    /* "ID PARENT DEV ROOT MOUNTPOINT OPTS - cgroup cgroup rw,memory" */
    while (fgets(line, sizeof line, f)) {
        char *dash = strstr(line, " - cgroup ");
        char mp[PATH_MAX], root[PATH_MAX];
        if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mp) != 2 ||
            strcmp(root, "/"))
            continue;
        const char *super = strrchr(dash, ' ') + 1;
        for (int c = 0; c < SBX_CG_COUNT; c++)
            if (!mnt[c][0] && has_token(super, cg_names[c]))
                snprintf(mnt[c], sizeof mnt[c], "%s", mp);
    }
    fclose(f);
    if (!(f = fopen("/proc/self/cgroup", "re")))
        return;
    /* "4:memory:/some/path", "2:cpuacct:/" */
    while (fgets(line, sizeof line, f)) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        char *rel = c2 + 1;
        rel[strcspn(rel, "\n")] = '\0';
        for (int c = 0; c < SBX_CG_COUNT; c++) {
            struct stat st;
            if (!mnt[c][0] || !has_token(c1 + 1, cg_names[c]))
                continue;
            if (snprintf(cg_base[c], sizeof cg_base[c], "%s%s", mnt[c],
                         strcmp(rel, "/") ? rel : "") >= (int)sizeof cg_base[c] ||
                stat(cg_base[c], &st) || !S_ISDIR(st.st_mode))
                cg_base[c][0] = '\0';
        }
    }
    fclose(f);
}

const char *sbx_cg_base(int c)
{
    pthread_once(&cg_once, cg_find_bases);
    return cg_base[c][0] ? cg_base[c] : NULL;
}

static int cg_write(int dirfd, const char *file, unsigned long v)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%lu", v);
    int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = write(fd, buf, (size_t)n) == n ? 0 : -1;
    close(fd);
    return rc;
}

/* Reads a whole (small) control file into buf. */
static int cg_read(int dirfd, const char *file, char *buf, size_t len)
{
    int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return 0;
}

static long oom_kills(int dirfd)
{
    char buf[512];
    const char *s;
    long n = 0;
    if (cg_read(dirfd, "memory.oom_control", buf, sizeof buf) == 0 &&
        (s = strstr(buf, "oom_kill ")))
        n = strtol(s + strlen("oom_kill "), NULL, 10);
    return n;
}

void sbx_cg_create(struct sbx_box *b, const char *name)
{
    for (int c = 0; c < SBX_CG_COUNT; c++) {
        const char *base = sbx_cg_base(c);
        b->cg[c].dirfd = -1;
        b->cg[c].path[0] = '\0';
        if (!base || snprintf(b->cg[c].path, sizeof b->cg[c].path, "%s/%s", base, name) >=
                         (int)sizeof b->cg[c].path ||
            mkdir(b->cg[c].path, 0700)) {
            b->cg[c].path[0] = '\0';
            continue;
        }
        b->cg[c].dirfd = open(b->cg[c].path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (b->cg[c].dirfd < 0) {
            rmdir(b->cg[c].path);
            b->cg[c].path[0] = '\0';
        }
    }
}

static int prepare_memory(int dirfd, unsigned long limit, struct sbx_cg_run *run)
{
    /* With swap, memory+swap must be bounded too, and must never be set
     * below the memory limit: order the two writes by direction. */
    bool memsw = faccessat(dirfd, "memory.memsw.limit_in_bytes", F_OK, 0) == 0;
    if (cg_write(dirfd, "memory.limit_in_bytes", limit)) {
        if (!memsw || cg_write(dirfd, "memory.memsw.limit_in_bytes", limit) ||
            cg_write(dirfd, "memory.limit_in_bytes", limit))
            return -1;
    } else if (memsw && cg_write(dirfd, "memory.memsw.limit_in_bytes", limit)) {
        return -1;
    }
    cg_write(dirfd, "memory.max_usage_in_bytes", 0); /* restart the peak */
    run->oom_before = oom_kills(dirfd);
    return 0;
}

int sbx_cg_prepare(struct sbx_box *b, unsigned long memory, struct sbx_cg_run *run)
{
    memset(run, 0, sizeof *run);
    for (int c = 0; c < SBX_CG_COUNT; c++)
        run->procs[c] = -1;
    run->usage_fd = -1;
    for (int c = 0; c < SBX_CG_COUNT; c++) {
        int d = b->cg[c].dirfd;
        if (d < 0)
            continue;
        if (c == SBX_CG_MEMORY && prepare_memory(d, memory, run))
            goto fail;
        if (c == SBX_CG_CPUACCT) {
            /* Count from zero for this run; init reads it while it runs. */
            if (cg_write(d, "cpuacct.usage", 0) ||
                (run->usage_fd = openat(d, "cpuacct.usage", O_RDONLY | O_CLOEXEC)) < 0)
                goto fail;
        }
        /* "tasks", written "0" by the program itself (see prog_main): the
         * kernel moves just the calling thread without taking the global
         * threadgroup lock, whose RCU grace period would cost every run
         * about 10 ms. */
        if ((run->procs[c] = openat(d, "tasks", O_WRONLY | O_CLOEXEC)) < 0)
            goto fail;
    }
    return 0;
fail:
    sbx_cg_release(run);
    return -1;
}

long sbx_cg_cpu_ms(int usage_fd)
{
    char buf[32];
    ssize_t n = pread(usage_fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    long ms = 0;
    for (char *p = buf; *p >= '0' && *p <= '9'; p++) /* async-signal-safe strtoul */
        ms = ms * 10 + (*p - '0');
    return ms / 1000000L; /* nanoseconds */
}

void sbx_cg_collect(struct sbx_box *b, const struct sbx_cg_run *run, bool *oom,
                    long *peak_kb, long *cpu_ms)
{
    char buf[64];
    int d = b->cg[SBX_CG_MEMORY].dirfd;
    *oom = false;
    *peak_kb = 0;
    *cpu_ms = run->usage_fd >= 0 ? sbx_cg_cpu_ms(run->usage_fd) : -1;
    if (d < 0)
        return;
    *oom = oom_kills(d) > run->oom_before;
    if (cg_read(d, "memory.max_usage_in_bytes", buf, sizeof buf) == 0)
        *peak_kb = (long)(strtoull(buf, NULL, 10) / 1024);
}

void sbx_cg_release(struct sbx_cg_run *run)
{
    for (int c = 0; c < SBX_CG_COUNT; c++) {
        if (run->procs[c] >= 0)
            close(run->procs[c]);
        run->procs[c] = -1;
    }
    if (run->usage_fd >= 0)
        close(run->usage_fd);
    run->usage_fd = -1;
}

void sbx_cg_destroy(struct sbx_box *b)
{
    /* Every process of the box is dead by now; the charges move to the
     * parent when the directory goes. */
    for (int c = 0; c < SBX_CG_COUNT; c++) {
        if (b->cg[c].dirfd >= 0)
            close(b->cg[c].dirfd);
        b->cg[c].dirfd = -1;
        if (b->cg[c].path[0])
            rmdir(b->cg[c].path);
        b->cg[c].path[0] = '\0';
    }
}

void sbx_cg_sweep(const char *name)
{
    char path[PATH_MAX];
    for (int c = 0; c < SBX_CG_COUNT; c++) {
        const char *base = sbx_cg_base(c);
        if (base && snprintf(path, sizeof path, "%s/%s", base, name) < (int)sizeof path)
            rmdir(path);
    }
}
