/* sbx_fs: the box's files. On the host, a 0700 directory per box holding the
 * work directory (seen as /box inside) and an empty mount point; inside a
 * run, a fresh tmpfs root that holds read-only /usr, /dev/null, the loader
 * cache, /box and a private /tmp, and nothing else. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <ftw.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sbx_int.h"

/* Box uids come from a range no real account uses. Each live box gets its
 * own, so RLIMIT_NPROC (counted per uid) bounds one box, not all of them. */
#define SBX_UID_BASE 1500000000u
#define SBX_UID_SPAN 100000000u

static void set_err(char *err, size_t errlen, const char *what, int e)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s", what, strerror(e));
}

static uid_t next_uid(void)
{
    /* Random, not counted: two processes (each pid 1 of its own namespace,
     * say) must not hand out the same uid. Collisions among the few boxes
     * alive at once are negligible in a span of 10^8. */
    unsigned r;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) {
        static atomic_uint counter;
        r = (unsigned)getpid() * 65537u + atomic_fetch_add(&counter, 1) * 2654435761u;
    }
    return SBX_UID_BASE + r % SBX_UID_SPAN;
}

static const char *tmp_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    return tmp && tmp[0] == '/' ? tmp : "/tmp";
}

/* Identifies our PID namespace (0 when /proc is not mounted). */
static unsigned long pidns_id(void)
{
    struct stat st;
    return stat("/proc/self/ns/pid", &st) ? 0 : (unsigned long)st.st_ino;
}

sbx_box *sbx_box_create(char *err, size_t errlen)
{
    sbx_box *b = calloc(1, sizeof *b);
    if (!b) {
        set_err(err, errlen, "sbx_box_create", ENOMEM);
        return NULL;
    }
    b->workfd = -1;
    for (int c = 0; c < SBX_CG_COUNT; c++)
        b->cg[c].dirfd = -1;
    /* The creator's PID namespace and pid are in the name so that
     * sbx_box_sweep() can tell a box left behind by a crashed process from
     * one in use. */
    if (snprintf(b->base, sizeof b->base, "%s/memgrade-box.%lu.%d.XXXXXX", tmp_dir(),
                 pidns_id(), (int)getpid()) >=
        (int)sizeof b->base) {
        set_err(err, errlen, "sbx_box_create: TMPDIR too long", ENAMETOOLONG);
        goto fail;
    }
    if (!mkdtemp(b->base)) {
        set_err(err, errlen, "sbx_box_create: mkdtemp", errno);
        goto fail;
    }
    snprintf(b->work, sizeof b->work, "%s/work", b->base);
    snprintf(b->root, sizeof b->root, "%s/root", b->base);
    b->uid = next_uid();
    if (mkdir(b->work, 0700) || mkdir(b->root, 0755) ||
        chown(b->work, b->uid, b->uid)) {
        set_err(err, errlen, "sbx_box_create: work directory", errno);
        goto fail;
    }
    b->workfd = open(b->work, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (b->workfd < 0) {
        set_err(err, errlen, "sbx_box_create: open work directory", errno);
        goto fail;
    }
    /* Named like the directory, so that sweeping finds both. */
    sbx_cg_create(b, strrchr(b->base, '/') + 1);
    return b;
fail:
    sbx_box_destroy(b);
    return NULL;
}

const char *sbx_box_path(const sbx_box *b)
{
    return b->work;
}

static int valid_name(const char *name)
{
    return name && *name && !strchr(name, '/') && strcmp(name, ".") &&
           strcmp(name, "..");
}

int sbx_box_write(sbx_box *b, const char *name, const void *data, size_t len)
{
    if (!valid_name(name))
        return -EINVAL;
    int fd = openat(b->workfd, name,
                    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int rc = 0;
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        p += n;
        len -= (size_t)n;
    }
    if (close(fd) && rc == 0)
        rc = -errno;
    return rc;
}

int sbx_box_read(sbx_box *b, const char *name, size_t max, char **out, size_t *len)
{
    *out = NULL;
    if (len)
        *len = 0;
    if (!valid_name(name))
        return -EINVAL;
    /* O_NONBLOCK: the run may have left a FIFO under this name. */
    int fd = openat(b->workfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = 0;
    char *buf = NULL;
    struct stat st;
    if (fstat(fd, &st)) {
        rc = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
        goto out;
    }
    if ((unsigned long long)st.st_size > max) {
        rc = -EFBIG;
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        rc = -ENOMEM;
        goto out;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    *out = buf;
    buf = NULL;
    if (len)
        *len = got;
out:
    free(buf);
    close(fd);
    return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP || flag == FTW_D || flag == FTW_DNR)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

void sbx_box_destroy(sbx_box *b)
{
    if (!b)
        return;
    if (b->workfd >= 0)
        close(b->workfd);
    sbx_cg_destroy(b);
    if (b->base[0]) {
        /* A run may leave directories without search permission for us to
         * open; as root we read them anyway. FTW_PHYS: never follow links
         * the run planted; FTW_MOUNT: never cross into a mount. */
        nftw(b->base, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    }
    free(b);
}

int sbx_box_sweep(void)
{
    const char *tmp = tmp_dir();
    unsigned long ns = pidns_id();
    if (!ns)
        return -1; /* pids cannot be checked: sweep nothing */
    DIR *d = opendir(tmp);
    if (!d)
        return -1;
    int removed = 0;
    struct dirent *e;
    char path[PATH_MAX];
    while ((e = readdir(d))) {
        /* Only boxes of our own PID namespace: another namespace's pids
         * mean nothing here (parallel tests, containers). */
        unsigned long bns;
        int pid;
        char tail[8];
        if (sscanf(e->d_name, "memgrade-box.%lu.%d.%7s", &bns, &pid, tail) != 3 ||
            bns != ns || pid <= 0)
            continue;
        if (kill(pid, 0) == 0 || errno != ESRCH)
            continue; /* its creator lives: in use */
        if (snprintf(path, sizeof path, "%s/%s", tmp, e->d_name) >= (int)sizeof path)
            continue;
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
        sbx_cg_sweep(e->d_name);
        removed++;
    }
    closedir(d);
    return removed;
}

/* ---- inside the child: build the root and pivot into it ------------------ */

enum {
    STEP_PRIVATE = 1, STEP_ROOT, STEP_DIRS, STEP_USR, STEP_USR_RO, STEP_LINKS,
    STEP_DEVNULL, STEP_LDCACHE, STEP_BOX, STEP_BOX_FLAGS, STEP_TMP, STEP_PIVOT,
    STEP_DETACH, STEP_ROOT_RO, STEP_CHDIR, STEP_COUNT
};

static const char *const step_names[STEP_COUNT] = {
    [STEP_PRIVATE] = "make mounts private", [STEP_ROOT] = "mount root tmpfs",
    [STEP_DIRS] = "create root directories", [STEP_USR] = "bind /usr/*",
    [STEP_USR_RO] = "remount /usr read-only", [STEP_LINKS] = "create /bin /lib links",
    [STEP_DEVNULL] = "bind /dev/null", [STEP_LDCACHE] = "bind /etc/ld.so.cache",
    [STEP_BOX] = "bind /box", [STEP_BOX_FLAGS] = "restrict /box",
    [STEP_TMP] = "mount /tmp", [STEP_PIVOT] = "pivot_root",
    [STEP_DETACH] = "detach old root", [STEP_ROOT_RO] = "remount root read-only",
    [STEP_CHDIR] = "chdir /box",
};

const char *sbx_fs_step_name(int step)
{
    if (step < 0)
        step = -step;
    return step > 0 && step < STEP_COUNT && step_names[step] ? step_names[step]
                                                             : "filesystem setup";
}

/* Path join into a caller buffer without stdio (async-signal-safe). */
static const char *join(char *buf, size_t len, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la + lb + 1 > len)
        return NULL;
    memcpy(buf, a, la);
    memcpy(buf + la, b, lb + 1);
    return buf;
}

static int bind_file(const char *root, const char *src, const char *rel, unsigned long extra)
{
    char dst[PATH_MAX];
    if (!join(dst, sizeof dst, root, rel))
        return -1;
    int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
    if (fd < 0)
        return -1;
    close(fd);
    if (mount(src, dst, NULL, MS_BIND, NULL))
        return -1;
    return mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | extra, NULL);
}

int sbx_fs_enter(const struct sbx_box *b, const struct sbx_policy *p, const char *tmp_opts)
{
    char path[PATH_MAX];
    const char *r = b->root;
    static const char *const dirs[] = {"/usr", "/box", "/tmp", "/dev", "/etc"};
    static const char *const usr_dirs[] = {"bin", "include", "lib", "lib64", "libexec"};
    /* Debian 12 merges /usr: /bin, /lib, /lib64 and /sbin are links into it. */
    static const char *const links[][2] = {
        {"usr/bin", "/bin"}, {"usr/lib", "/lib"},
        {"usr/lib64", "/lib64"},
    };
    const unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV;

    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
        return -STEP_PRIVATE;
    if (mount("memgrade", r, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755"))
        return -STEP_ROOT;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (!join(path, sizeof path, r, dirs[i]) || mkdir(path, 0755))
            return -STEP_DIRS;
    /* Only the parts of /usr a compiler, a linker and the loader use, each
     * read-only: no /usr/local, /usr/etc, /usr/src or /usr/share (site
     * configuration, sources, documentation are not what a box needs). */
    for (size_t i = 0; i < sizeof usr_dirs / sizeof usr_dirs[0]; i++) {
        char src[64];
        struct stat st;
        if (!join(src, sizeof src, "/usr/", usr_dirs[i]) || stat(src, &st) ||
            !S_ISDIR(st.st_mode))
            continue;
        if (!join(path, sizeof path, r, src) || mkdir(path, 0755) ||
            mount(src, path, NULL, MS_BIND | MS_REC, NULL))
            return -STEP_USR;
        if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | ro, NULL))
            return -STEP_USR_RO;
    }
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        if (!join(path, sizeof path, r, links[i][1]) || symlink(links[i][0], path))
            return -STEP_LINKS;
    /* Read-only mount: writing the device still works, changing the host
     * node's timestamps or mode does not. */
    if (bind_file(r, "/dev/null", "/dev/null", MS_RDONLY | MS_NOSUID | MS_NOEXEC))
        return -STEP_DEVNULL;
    /* The loader cache only speeds up library lookup; a host without one is fine. */
    if (access("/etc/ld.so.cache", R_OK) == 0 &&
        bind_file(r, "/etc/ld.so.cache", "/etc/ld.so.cache", ro | MS_NOEXEC))
        return -STEP_LDCACHE;
    if (!join(path, sizeof path, r, "/box") || mount(b->work, path, NULL, MS_BIND, NULL))
        return -STEP_BOX;
    /* Compiling needs a writable /box but never runs anything from it;
     * running needs exec from /box but never writes it. */
    unsigned long boxflags = MS_NOSUID | MS_NODEV |
                             (p->box_writable ? MS_NOEXEC : MS_RDONLY);
    if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | boxflags, NULL))
        return -STEP_BOX_FLAGS;
    if (!join(path, sizeof path, r, "/tmp") ||
        mount("tmp", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, tmp_opts))
        return -STEP_TMP;
    /* pivot_root(".", "."): stack the old root on top of the new one, then
     * detach it; no directory for the old root is needed. */
    if (chdir(r) || syscall(SYS_pivot_root, ".", "."))
        return -STEP_PIVOT;
    if (umount2(".", MNT_DETACH))
        return -STEP_DETACH;
    if (chdir("/") || mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | ro, NULL))
        return -STEP_ROOT_RO;
    if (chdir("/box"))
        return -STEP_CHDIR;
    return 0;
}
