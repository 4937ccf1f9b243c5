/* sbx_cgroup: a cgroup per box in the cgroup v1 controllers the host has:
 *   memory   the memory limit then bounds everything a box holds at once --
 *            the heap of every process, pipe buffers, files in its /tmp --
 *            which RLIMIT_AS alone cannot, and an out-of-memory kill is told
 *            apart from a crash;
 *   cpuacct  init reads the whole box's CPU time live, children the program
 *            never waits for included, and stops the box at its limit.
 * Where a controller is not mounted, the box does without it: rlimits and
 * init's own clocks still bound it, less tightly.
 *
 * On a cgroup v2 host (no v1 memory or cpuacct), boxes are made in the
 * subtree delegated to the service (systemd Delegate=yes, or a container's
 * own cgroup namespace): memory.max bounds the box, cpu.stat counts its
 * CPU, memory.events its OOM kills. What is enforced is said at start
 * (sbx_cgroup_status), never silently lost. */
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

/* What was found at first use (cg_once): the v1 directories, or the v2
 * directory boxes are made in, and one line for people on what is enforced. */
static sbx_cg_found cg;
static char cg_summary[512];
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

/* The next line of text (up to '\n' or the end) into line; NULL at the end. */
static const char *next_line(const char *p, char *line, size_t len)
{
    if (!p || !*p)
        return NULL;
    size_t n = strcspn(p, "\n");
    size_t k = n < len - 1 ? n : len - 1;
    memcpy(line, p, k);
    line[k] = '\0';
    return p[n] ? p + n + 1 : p + n;
}

void sbx_cg_parse(const char *mountinfo, const char *self_cgroup, sbx_cg_found *out)
{
    char mnt[SBX_CG_COUNT][PATH_MAX] = {{0}}, mnt2[PATH_MAX] = "", line[4096];
    memset(out, 0, sizeof *out);
    /* "ID PARENT DEV ROOT MOUNTPOINT OPTS - cgroup cgroup rw,memory"
     * "ID PARENT DEV ROOT MOUNTPOINT OPTS - cgroup2 cgroup2 rw,nsdelegate" */
    for (const char *p = mountinfo; (p = next_line(p, line, sizeof line));) {
        char *dash = strstr(line, " - cgroup");
        char mp[PATH_MAX], root[PATH_MAX];
        if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mp) != 2 ||
            strcmp(root, "/"))
            continue;
        if (!strncmp(dash, " - cgroup2 ", 11)) {
            if (!mnt2[0])
                snprintf(mnt2, sizeof mnt2, "%s", mp);
            continue;
        }
        if (strncmp(dash, " - cgroup ", 10))
            continue;
        const char *super = strrchr(dash, ' ') + 1;
        for (int c = 0; c < SBX_CG_COUNT; c++)
            if (!mnt[c][0] && has_token(super, cg_names[c]))
                snprintf(mnt[c], sizeof mnt[c], "%s", mp);
    }
    /* "4:memory:/some/path", "2:cpuacct:/", and on v2 "0::/some/path" */
    for (const char *p = self_cgroup; (p = next_line(p, line, sizeof line));) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        const char *rel = c2 + 1;
        const char *sub = strcmp(rel, "/") ? rel : "";
        if (c2 == c1 + 1 && !strncmp(line, "0:", 2)) {
            if (mnt2[0] && snprintf(out->v2, sizeof out->v2, "%s%s", mnt2, sub) >=
                               (int)sizeof out->v2)
                out->v2[0] = '\0';
            continue;
        }
        for (int c = 0; c < SBX_CG_COUNT; c++)
            if (mnt[c][0] && has_token(c1 + 1, cg_names[c]) &&
                snprintf(out->v1[c], sizeof out->v1[c], "%s%s", mnt[c], sub) >=
                    (int)sizeof out->v1[c])
                out->v1[c][0] = '\0';
    }
    /* A host with v1 memory or cpuacct (hybrid hosts mount v2 beside them
     * with no controllers) uses v1; v2 only where v1 has neither. */
    out->version = out->v1[SBX_CG_MEMORY][0] || out->v1[SBX_CG_CPUACCT][0] ? 1
                   : out->v2[0]                                          ? 2
                                                                         : 0;
    if (out->version != 2)
        out->v2[0] = '\0';
}

/* Reads a whole (small) file into a malloc'd string; NULL on failure. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    size_t cap = 8192, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
        if (len + 1 == cap) {
            char *nb = cap < (1u << 22) ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

static int write_str(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = strlen(text);
    int rc = write(fd, text, n) == (ssize_t)n ? 0 : -1;
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

/* Does the space-separated list contain exactly `word`? */
static bool has_token_ws(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; *p;) {
        p += strspn(p, " \n");
        size_t k = strcspn(p, " \n");
        if (k == n && !strncmp(p, word, n))
            return true;
        p += k;
    }
    return false;
}

int sbx_cg_v2_setup(const char *dir, pid_t self, char *why, size_t whylen)
{
    char path[PATH_MAX], *text;
    if (snprintf(path, sizeof path, "%s/cgroup.controllers", dir) >= (int)sizeof path ||
        !(text = slurp(path))) {
        snprintf(why, whylen, "cannot read %s/cgroup.controllers", dir);
        return -1;
    }
    bool memory = has_token_ws(text, "memory");
    free(text);
    if (!memory) {
        snprintf(why, whylen, "the memory controller is not delegated to %s "
                              "(systemd: Delegate=yes; a container: its own cgroup namespace)", dir);
        return -1;
    }
    /* cgroup v2 lets a cgroup either hold processes or hand controllers to
     * children, not both: when we are in it, move into a leaf of our own
     * first. Boxes are our leaf's siblings. */
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    text = slurp(path);
    bool occupied = text && text[strspn(text, " \n")];
    free(text);
    if (occupied) {
        char leaf[PATH_MAX - 32], pid[32];
        if (snprintf(leaf, sizeof leaf, "%s/" SBX_CG_V2_SELF, dir) >= (int)sizeof leaf ||
            (mkdir(leaf, 0755) && errno != EEXIST)) {
            snprintf(why, whylen, "cannot create %s: %s", leaf, strerror(errno));
            return -1;
        }
        snprintf(pid, sizeof pid, "%d", (int)self);
        snprintf(path, sizeof path, "%s/cgroup.procs", leaf);
        if (write_str(path, pid)) {
            snprintf(why, whylen, "cannot move into %s: %s", leaf, strerror(errno));
            return -1;
        }
    }
    snprintf(path, sizeof path, "%s/cgroup.subtree_control", dir);
    if (write_str(path, "+memory")) {
        snprintf(why, whylen, "cannot enable the memory controller below %s: %s%s", dir,
                 strerror(errno),
                 errno == EBUSY ? " (other processes share the service's cgroup)" : "");
        return -1;
    }
    return 0;
}

static void cg_find_bases(void)
{
    char *mi = slurp("/proc/self/mountinfo"), *self = slurp("/proc/self/cgroup");
    sbx_cg_parse(mi ? mi : "", self ? self : "", &cg);
    free(mi);
    free(self);
    for (int c = 0; c < SBX_CG_COUNT; c++) {
        struct stat st;
        if (cg.v1[c][0] && (stat(cg.v1[c], &st) || !S_ISDIR(st.st_mode)))
            cg.v1[c][0] = '\0';
    }
    char why[PATH_MAX + 128] = "";
    if (cg.version == 2 && sbx_cg_v2_setup(cg.v2, getpid(), why, sizeof why)) {
        snprintf(cg_summary, sizeof cg_summary,
                 "cgroup v2 at %.200s unusable: %.200s; box-wide memory limit and CPU accounting "
                 "NOT enforced (rlimits only)", cg.v2, why);
        cg.v2[0] = '\0';
        cg.version = 0;
        return;
    }
    if (cg.version == 2)
        snprintf(cg_summary, sizeof cg_summary, "cgroup v2 at %.300s: box-wide memory limit and CPU "
                 "accounting enforced", cg.v2);
    else if (cg.version == 1)
        snprintf(cg_summary, sizeof cg_summary, "cgroup v1: box-wide memory limit %s, box-wide CPU "
                 "accounting %s",
                 cg.v1[SBX_CG_MEMORY][0] ? "enforced" : "NOT enforced (no memory controller)",
                 cg.v1[SBX_CG_CPUACCT][0] ? "enforced" : "NOT enforced (no cpuacct controller)");
    else
        snprintf(cg_summary, sizeof cg_summary, "no cgroup controllers: box-wide memory limit and "
                 "CPU accounting NOT enforced (rlimits only)");
}

void sbx_cg_force_v2(const char *dir)
{
    pthread_once(&cg_once, cg_find_bases);
    memset(&cg, 0, sizeof cg);
    cg.version = 2;
    snprintf(cg.v2, sizeof cg.v2, "%s", dir);
}

const char *sbx_cg_base(int c)
{
    pthread_once(&cg_once, cg_find_bases);
    if (cg.version == 2)
        return c == SBX_CG_MEMORY ? cg.v2 : NULL;
    return cg.v1[c][0] ? cg.v1[c] : NULL;
}

int sbx_cgroup_status(sbx_cgroup_info *out)
{
    pthread_once(&cg_once, cg_find_bases);
    memset(out, 0, sizeof *out);
    out->version = cg.version;
    out->memory_limit = cg.version == 2 || (cg.version == 1 && cg.v1[SBX_CG_MEMORY][0]);
    out->cpu_accounting = cg.version == 2 || (cg.version == 1 && cg.v1[SBX_CG_CPUACCT][0]);
    snprintf(out->summary, sizeof out->summary, "%s", cg_summary);
    return 0;
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

/* The oom_kill count of memory.oom_control (v1) or memory.events (v2). */
static long oom_kills(int dirfd)
{
    char buf[512];
    const char *s;
    long n = 0;
    if ((cg_read(dirfd, "memory.oom_control", buf, sizeof buf) == 0 ||
         cg_read(dirfd, "memory.events", buf, sizeof buf) == 0) &&
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

/* v2: one directory holds both; memory.peak restarts for the descriptor a
 * reset was written to (Linux 6.12); an older kernel gives the box's peak
 * since it was made, which the fresh box of each grading keeps honest. */
static int prepare_v2(int d, unsigned long limit, struct sbx_cg_run *run)
{
    if (cg_write(d, "memory.max", limit))
        return -1;
    cg_write(d, "memory.swap.max", 0); /* absent without swap accounting */
    run->oom_before = oom_kills(d);
    if ((run->peak_fd = openat(d, "memory.peak", O_RDWR | O_CLOEXEC)) >= 0 &&
        write(run->peak_fd, "reset\n", 6) < 0) {
        /* kept for reading */
    }
    if ((run->usage_fd = openat(d, "cpu.stat", O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    run->cpu_base_ms = 0;
    long now = sbx_cg_cpu_ms(run, run->usage_fd);
    if (now < 0)
        return -1;
    run->cpu_base_ms = now;
    return (run->procs[SBX_CG_MEMORY] = openat(d, "cgroup.procs", O_WRONLY | O_CLOEXEC)) < 0
               ? -1 : 0;
}

int sbx_cg_prepare(struct sbx_box *b, unsigned long memory, struct sbx_cg_run *run)
{
    memset(run, 0, sizeof *run);
    for (int c = 0; c < SBX_CG_COUNT; c++)
        run->procs[c] = -1;
    run->usage_fd = -1;
    run->peak_fd = -1;
    if (cg.version == 2) {
        run->v2 = 1;
        if (b->cg[SBX_CG_MEMORY].dirfd >= 0 &&
            prepare_v2(b->cg[SBX_CG_MEMORY].dirfd, memory, run))
            goto fail;
        return 0;
    }
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

long sbx_cg_cpu_ms(const struct sbx_cg_run *run, int usage_fd)
{
    char buf[256];
    ssize_t n = pread(usage_fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    /* Async-signal-safe (init calls it): no stdio, no strtoul. v1's
     * cpuacct.usage is nanoseconds; v2's cpu.stat starts "usage_usec N". */
    const char *p = buf;
    if (run->v2) {
        static const char key[] = "usage_usec ";
        for (size_t i = 0; i < sizeof key - 1; i++)
            if (p[i] != key[i])
                return -1;
        p += sizeof key - 1;
    }
    long v = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (*p - '0');
    return (run->v2 ? v / 1000L : v / 1000000L) - run->cpu_base_ms;
}

void sbx_cg_collect(struct sbx_box *b, const struct sbx_cg_run *run, bool *oom,
                    long *peak_kb, long *cpu_ms)
{
    char buf[64];
    int d = b->cg[SBX_CG_MEMORY].dirfd;
    *oom = false;
    *peak_kb = 0;
    *cpu_ms = run->usage_fd >= 0 ? sbx_cg_cpu_ms(run, run->usage_fd) : -1;
    if (d < 0)
        return;
    *oom = oom_kills(d) > run->oom_before;
    ssize_t n = -1;
    if (run->v2 && run->peak_fd >= 0 && (n = pread(run->peak_fd, buf, sizeof buf - 1, 0)) > 0)
        buf[n] = '\0';
    if (n > 0 || cg_read(d, run->v2 ? "memory.peak" : "memory.max_usage_in_bytes", buf,
                         sizeof buf) == 0)
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
    if (run->peak_fd >= 0)
        close(run->peak_fd);
    run->peak_fd = -1;
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
