/* grader_proc: the privileged grader process and the privilege drop of
 * the HTTP process (see grader_proc.h). Messages on the socketpairs are a
 * 4-byte little-endian length and that many bytes; inside, integers are
 * little-endian and strings carry their length (u16 or u32) before their
 * bytes, so file contents pass unchanged, NUL bytes included. */
#include "grader_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "asg_install.h"
#include "srv.h"

#define GP_MAX_CHANS 257
#define GP_MSG_MAX (80u << 20)     /* a submission is at most 64 MiB of files */
#define GP_MAX_FILES 64

enum { OP_GRADE = 'G', OP_INSTALL = 'I', OP_LOG = 'L' };

/* ---- messages --------------------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
    int failed;
} mbuf;

static void mb_put(mbuf *b, const void *src, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > GP_MSG_MAX) {
        b->failed = 1;
        return;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void mb_uint(mbuf *b, uint64_t v, int bytes)
{
    unsigned char t[8];
    for (int i = 0; i < bytes; i++)
        t[i] = (unsigned char)(v >> (8 * i));
    mb_put(b, t, (size_t)bytes);
}

/* A string with a length of lenbytes bytes before it; longer is a failure. */
static void mb_str(mbuf *b, const char *s, size_t n, int lenbytes)
{
    if (lenbytes == 2 && n > 0xffff)
        b->failed = 1;
    mb_uint(b, n, lenbytes);
    mb_put(b, s, n);
}

typedef struct {
    const unsigned char *p;
    size_t len, off;
    int bad;
} mread;

static uint64_t mr_uint(mread *r, int bytes)
{
    uint64_t v = 0;
    if (r->bad || r->len - r->off < (size_t)bytes) {
        r->bad = 1;
        return 0;
    }
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)r->p[r->off + (size_t)i] << (8 * i);
    r->off += (size_t)bytes;
    return v;
}

/* The next string: a pointer into the message and its length. */
static const char *mr_str(mread *r, size_t *n, int lenbytes)
{
    size_t k = (size_t)mr_uint(r, lenbytes);
    if (r->bad || r->len - r->off < k) {
        r->bad = 1;
        *n = 0;
        return "";
    }
    const char *s = (const char *)r->p + r->off;
    r->off += k;
    *n = k;
    return s;
}

/* The next string as a NUL-terminated copy of at most cap-1 bytes, with no
 * NUL inside; a longer or NUL-holding one makes the message bad. */
static void mr_cstr(mread *r, char *out, size_t cap, int lenbytes)
{
    size_t n;
    const char *s = mr_str(r, &n, lenbytes);
    if (n >= cap || memchr(s, '\0', n))
        r->bad = 1;
    if (r->bad) {
        out[0] = '\0';
        return;
    }
    memcpy(out, s, n);
    out[n] = '\0';
}

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int send_msg(int fd, const mbuf *b)
{
    unsigned char h[4];
    for (int i = 0; i < 4; i++)
        h[i] = (unsigned char)(b->len >> (8 * i));
    return b->failed || write_all(fd, h, 4) || write_all(fd, b->p, b->len) ? -1 : 0;
}

/* One message into *out (malloc'd); -1 at the end of the stream, on a read
 * error or for a length past GP_MSG_MAX. */
static int recv_msg(int fd, unsigned char **out, size_t *len)
{
    unsigned char h[4];
    *out = NULL;
    if (read_all(fd, h, 4))
        return -1;
    size_t n = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16 | (size_t)h[3] << 24;
    if (n > GP_MSG_MAX)
        return -1;
    unsigned char *p = malloc(n ? n : 1);
    if (!p || read_all(fd, p, n)) {
        free(p);
        return -1;
    }
    *out = p;
    *len = n;
    return 0;
}

/* The 4-byte header of a message, with a descriptor passed beside it
 * (SCM_RIGHTS) into *fd (-1 when none came). */
static int send_with_fd(int sock, const mbuf *b, int fd)
{
    unsigned char h[4];
    for (int i = 0; i < 4; i++)
        h[i] = (unsigned char)(b->len >> (8 * i));
    struct iovec iov = {.iov_base = h, .iov_len = 4};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        m.msg_control = u.buf;
        m.msg_controllen = sizeof u.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    if (b->failed || sendmsg(sock, &m, MSG_NOSIGNAL) != 4)
        return -1;
    return write_all(sock, b->p, b->len);
}

static int recv_with_fd(int sock, unsigned char **out, size_t *len, int *fd)
{
    unsigned char h[4];
    struct iovec iov = {.iov_base = h, .iov_len = 4};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                       .msg_controllen = sizeof u.buf};
    *fd = -1;
    *out = NULL;
    ssize_t r;
    do
        r = recvmsg(sock, &m, MSG_CMSG_CLOEXEC | MSG_WAITALL);
    while (r < 0 && errno == EINTR);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); r > 0 && c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
            c->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(fd, CMSG_DATA(c), sizeof *fd);
    size_t n = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16 | (size_t)h[3] << 24;
    unsigned char *p = r == 4 && n <= 4096 ? malloc(n ? n : 1) : NULL;
    if (!p || read_all(sock, p, n)) {
        free(p);
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return -1;
    }
    *out = p;
    *len = n;
    return 0;
}

/* ---- the grader process ------------------------------------------------------- */

static const char *g_log; /* the access log's path, or NULL */

/* The catalog in service, with each assignment's version (asg_version) as
 * it was loaded: a grade whose assignment changed on disk since, or is new
 * there (another API process installed it into a folder they share),
 * reloads it first. A replaced catalog stays allocated: a grading thread
 * may be using it; the grader is restarted with the service. */
typedef struct {
    grd_catalog *cat;
    char (*versions)[65];
} loaded;
static loaded *_Atomic g_loaded;
static const char *g_dir;
static pthread_mutex_t g_catalog_mu = PTHREAD_MUTEX_INITIALIZER;
static time_t g_reloaded; /* last reload for an unknown name (g_catalog_mu) */

/* Loads the folder; NULL with err. */
static loaded *load(char *err, size_t errlen)
{
    loaded *l = calloc(1, sizeof *l);
    if (!l || !(l->cat = grd_catalog_open(g_dir, NULL, NULL, err, errlen))) {
        if (l)
            free(l);
        else
            snprintf(err, errlen, "out of memory");
        return NULL;
    }
    size_t n = grd_catalog_count(l->cat);
    l->versions = calloc(n ? n : 1, sizeof *l->versions);
    for (size_t i = 0; l->versions && i < n; i++)
        if (asg_version(g_dir, grd_assignment_name(grd_catalog_at(l->cat, i)), l->versions[i]))
            l->versions[i][0] = '\0';
    return l;
}

/* Reloads the catalog (g_catalog_mu held); logs a failure. */
static void reload_locked(void)
{
    char err[256];
    loaded *l = load(err, sizeof err);
    if (l)
        atomic_store(&g_loaded, l);
    else
        fprintf(stderr, "memgrade grader: catalog reload failed: %s\n", err);
}

/* assignment as the folder has it now: its entry in the catalog, reloaded
 * first when its files changed (version: their hash now). */
static const grd_assignment *current(const char *assignment, const grd_catalog **cat,
                                     char version[65])
{
    if (asg_version(g_dir, assignment, version))
        version[0] = '\0';
    for (int round = 0;; round++) {
        loaded *l = atomic_load(&g_loaded);
        const grd_assignment *a = grd_catalog_find(l->cat, assignment);
        size_t i = 0;
        while (a && grd_catalog_at(l->cat, i) != a)
            i++;
        int stale = version[0] && (!a || strcmp(l->versions[i], version));
        if (!stale || round) {
            *cat = l->cat;
            return a;
        }
        pthread_mutex_lock(&g_catalog_mu);
        /* Another thread may have reloaded meanwhile; an unknown but
         * present (broken) folder reloads at most every 2 s. */
        if (atomic_load(&g_loaded) == l && (a || time(NULL) - g_reloaded >= 2)) {
            g_reloaded = time(NULL);
            reload_locked();
        }
        pthread_mutex_unlock(&g_catalog_mu);
    }
}

/* A file name as a submission may carry it: what sbx_box_write and the
 * catalog accept, checked again here because the sender is not trusted. */
static int name_ok(const char *n)
{
    return n[0] && strcmp(n, ".") && strcmp(n, "..") && !strchr(n, '/') && strlen(n) <= 128;
}

static void serve_grade(mread *rq, mbuf *rep)
{
    char assignment[65], err[512] = "", version[65] = "";
    grd_file files[GP_MAX_FILES];
    char names[GP_MAX_FILES][129];
    mr_cstr(rq, assignment, sizeof assignment, 2);
    size_t n = (size_t)mr_uint(rq, 4);
    if (n > GP_MAX_FILES)
        rq->bad = 1;
    for (size_t i = 0; !rq->bad && i < n; i++) {
        mr_cstr(rq, names[i], sizeof names[i], 2);
        files[i].name = names[i];
        files[i].data = mr_str(rq, &files[i].len, 4);
        if (!rq->bad && !name_ok(names[i]))
            rq->bad = 1;
    }
    int nice = (int)mr_uint(rq, 1);
    if (nice > 19)
        rq->bad = 1;
    json_t *doc = NULL;
    int rc = -1;
    const grd_catalog *cat = NULL;
    /* A name is a folder of g_dir: checked as the catalog checks names
     * before any path is made of it. */
    const grd_assignment *a = rq->bad || !grd_name_ok(assignment) ? NULL
                              : current(assignment, &cat, version);
    if (rq->bad)
        snprintf(err, sizeof err, "the grader got a malformed request");
    else if (!a)
        snprintf(err, sizeof err, "assignment '%s' is not in the grader's catalog", assignment);
    else
        rc = grd_grade_niced(nice, cat, a, files, n, &doc, err, sizeof err);
    if (!a)
        version[0] = '\0';
    char *text = rc == 0 && doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (rc == 0 && !text) {
        rc = -1;
        snprintf(err, sizeof err, "out of memory");
    }
    mb_uint(rep, rc == 0 ? 0 : 1, 1);
    mb_str(rep, version, strlen(version), 2);
    mb_str(rep, err, strlen(err), 2);
    mb_str(rep, text ? text : "", text ? strlen(text) : 0, 4);
    free(text);
}

static void serve_install(mread *rq, mbuf *rep)
{
    size_t len;
    const char *gz = mr_str(rq, &len, 4);
    char name[64] = "", why[512] = "";
    int replaced = 0, st = 400;
    json_t *problems = NULL;
    if (rq->bad) {
        snprintf(why, sizeof why, "the grader got a malformed request");
    } else {
        pthread_mutex_lock(&g_catalog_mu);
        st = asg_install(g_dir, gz, len, name, &replaced, &problems, why, sizeof why);
        if (st == 200 || st == 201)
            reload_locked();
        pthread_mutex_unlock(&g_catalog_mu);
    }
    char *pt = problems ? json_dumps(problems, JSON_COMPACT) : NULL;
    json_decref(problems);
    mb_uint(rep, (uint64_t)st, 2);
    mb_str(rep, name, strlen(name), 2);
    mb_uint(rep, replaced ? 1 : 0, 1);
    mb_str(rep, why, strlen(why), 2);
    mb_str(rep, pt ? pt : "", pt ? strlen(pt) : 0, 4);
    free(pt);
}

static void *serve_chan(void *arg)
{
    int fd = (int)(intptr_t)arg;
    for (;;) {
        unsigned char *msg;
        size_t len;
        if (recv_msg(fd, &msg, &len))
            break;
        mread rq = {.p = msg, .len = len};
        mbuf rep = {0};
        int op = (int)mr_uint(&rq, 1);
        if (op == OP_LOG) {
            /* logrotate moved the access log: the HTTP side may no longer
             * create files where it lives, so the file is opened here, at
             * the one path fixed at start, and its descriptor passed. */
            int lfd = g_log ? open(g_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                                   0640)
                            : -1;
            int e = lfd < 0 ? (g_log ? errno : ENOENT) : 0;
            mb_uint(&rep, (uint64_t)e, 4);
            free(msg);
            int bad = send_with_fd(fd, &rep, lfd);
            if (lfd >= 0)
                close(lfd);
            free(rep.p);
            if (bad)
                break;
            continue;
        }
        if (op == OP_GRADE)
            serve_grade(&rq, &rep);
        else if (op == OP_INSTALL)
            serve_install(&rq, &rep);
        else
            rep.failed = 1; /* nothing we know: end the conversation */
        free(msg);
        int bad = send_msg(fd, &rep);
        free(rep.p);
        if (bad)
            break;
    }
    close(fd);
    return NULL;
}

/* What the sandbox needs, and nothing else: namespaces and mounts
 * (SYS_ADMIN), the boxes' own uids (SETUID, SETGID), their work folders
 * (CHOWN, FOWNER, DAC_OVERRIDE, DAC_READ_SEARCH), their processes
 * (KILL, SYS_PTRACE for pidfds and /proc of other uids), their loopback
 * (NET_ADMIN), their rlimits (SYS_RESOURCE), their priority (SYS_NICE: a
 * demoted box is raised back, see sandbox/sbx.c), dropping further in the
 * box (SETPCAP). Everything else (modules, raw sockets, reboot, time, ...) is
 * gone from the bounding set. */
static const int grader_caps[] = {
    CAP_SYS_ADMIN, CAP_SETUID, CAP_SETGID, CAP_CHOWN, CAP_FOWNER, CAP_DAC_OVERRIDE,
    CAP_DAC_READ_SEARCH, CAP_KILL, CAP_SYS_PTRACE, CAP_NET_ADMIN, CAP_SYS_RESOURCE,
    CAP_SETPCAP, CAP_SYS_NICE,
};

static int keep_cap(int c)
{
    for (size_t i = 0; i < sizeof grader_caps / sizeof grader_caps[0]; i++)
        if (grader_caps[i] == c)
            return 1;
    return 0;
}

/* Caps the effective, permitted and inheritable sets (capset) and the
 * bounding set at keep (a predicate). */
static int limit_caps(int (*keep)(int))
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d))
        return -1;
    for (int c = 0; c <= 63; c++) {
        if (keep(c))
            continue;
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) && errno != EINVAL)
            return -1;
        d[c / 32].effective &= ~(1u << (c % 32));
        d[c / 32].permitted &= ~(1u << (c % 32));
        d[c / 32].inheritable &= ~(1u << (c % 32));
    }
    return syscall(SYS_capset, &h, d) ? -1 : 0;
}

static _Noreturn void grader_main(int *fds, int n, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* The parent is gone already (not "our parent is 1": serve may be
     * pid 1 itself, in a container without an init). */
    if (getppid() != parent)
        _exit(0);
    prctl(PR_SET_NAME, "memgrade-grader");
    /* The service manager signals the whole group at stop; the grader
     * finishes what it grades and ends when the HTTP side closes. */
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    if (geteuid() == 0 && limit_caps(keep_cap)) {
        fprintf(stderr, "memgrade grader: cannot limit capabilities: %s\n", strerror(errno));
        _exit(1);
    }
    char err[512];
    loaded *l = load(err, sizeof err);
    if (!l) {
        fprintf(stderr, "memgrade grader: %s\n", err);
        _exit(1);
    }
    atomic_store(&g_loaded, l);
    pthread_t *t = calloc((size_t)n, sizeof *t);
    if (!t)
        _exit(1);
    int started = 0;
    for (int i = 0; i < n; i++)
        if (!pthread_create(&t[i], NULL, serve_chan, (void *)(intptr_t)fds[i]))
            started++;
        else
            close(fds[i]);
    if (started < n)
        fprintf(stderr, "memgrade grader: only %d of %d channels\n", started, n);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    _exit(0);
}

/* ---- the HTTP side ------------------------------------------------------------- */

static int chans[GP_MAX_CHANS];
static pthread_mutex_t chan_mu[GP_MAX_CHANS];
static int nchans;
static pid_t gpid = -1;
static atomic_int alive, death_told;
void (*gp_on_death)(void);

static void gone(void);
static pthread_t watcher;
static int watching;
static atomic_int stopping;

/* Waits for the grader to end: a death while we are not stopping stops
 * the service (gp_on_death) at once, not at the next grading. */
static void *watch(void *arg)
{
    (void)arg;
    int st = 0;
    pid_t w;
    do
        w = waitpid(gpid, &st, 0);
    while (w < 0 && errno == EINTR);
    if (!atomic_load(&stopping)) {
        if (w == gpid && WIFSIGNALED(st))
            fprintf(stderr, "memgrade serve: the grader process was killed by signal %d\n",
                    WTERMSIG(st));
        else if (w == gpid)
            fprintf(stderr, "memgrade serve: the grader process exited with status %d\n",
                    WEXITSTATUS(st));
        gone();
    }
    return NULL;
}

static int fd_cmp(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

int gp_start(const char *dir, const char *log_path, int nchan, char *err, size_t errlen)
{
    g_log = log_path;
    int n = nchan + 1; /* the last one carries uploads */
    int mine[GP_MAX_CHANS], theirs[GP_MAX_CHANS];
    if (nchan < 0 || n > GP_MAX_CHANS) { /* 0: uploads only (serve --workers 0) */
        snprintf(err, errlen, "grader: %d channels is out of range", nchan);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
            snprintf(err, errlen, "grader: socketpair: %s", strerror(errno));
            for (int k = 0; k < i; k++)
                close(mine[k]), close(theirs[k]);
            return -1;
        }
        mine[i] = sv[0];
        theirs[i] = sv[1];
    }
    g_dir = dir;
    fflush(NULL);
    pid_t parent = getpid(), p = fork();
    if (p < 0) {
        snprintf(err, errlen, "grader: fork: %s", strerror(errno));
        for (int k = 0; k < n; k++)
            close(mine[k]), close(theirs[k]);
        return -1;
    }
    if (p == 0) {
        /* Only stdio and our ends stay open: not the database, the lock,
         * the access log or anything else the HTTP side holds. */
        int keep[GP_MAX_CHANS + 1];
        for (int i = 0; i < n; i++)
            keep[i] = theirs[i];
        qsort(keep, (size_t)n, sizeof keep[0], fd_cmp);
        unsigned lo = 3;
        for (int i = 0; i < n; i++) {
            if ((unsigned)keep[i] > lo)
                syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0);
            lo = (unsigned)keep[i] + 1;
        }
        syscall(SYS_close_range, lo, ~0u, 0);
        grader_main(theirs, n, parent);
    }
    for (int i = 0; i < n; i++) {
        close(theirs[i]);
        chans[i] = mine[i];
        pthread_mutex_init(&chan_mu[i], NULL);
    }
    nchans = n;
    gpid = p;
    atomic_store(&alive, 1);
    /* Our bounding set goes before the first thread of ours: the watcher. */
    if (privsep_bound()) {
        snprintf(err, errlen, "cannot drop capabilities: %s", strerror(errno));
        return -1;
    }
    if (pthread_create(&watcher, NULL, watch, NULL)) {
        snprintf(err, errlen, "grader: cannot start its watcher");
        return -1;
    }
    watching = 1;
    return 0;
}

int gp_active(void) { return atomic_load(&alive); }

pid_t gp_pid(void) { return gpid; }

int gp_channel_fd(int chan) { return chan >= 0 && chan < nchans ? chans[chan] : -1; }

static void gone(void)
{
    atomic_store(&alive, 0);
    if (!atomic_exchange(&death_told, 1) && gp_on_death)
        gp_on_death();
}

/* Sends req on channel i and reads the reply into *rep. */
static int call(int i, const mbuf *req, unsigned char **rep, size_t *len)
{
    pthread_mutex_lock(&chan_mu[i]);
    int rc = send_msg(chans[i], req) || recv_msg(chans[i], rep, len) ? -1 : 0;
    pthread_mutex_unlock(&chan_mu[i]);
    return rc;
}

int gp_grade(int chan, const char *assignment, const grd_file *files, size_t nfiles, int nice,
             json_t **result, char version[65], char *err, size_t errlen)
{
    *result = NULL;
    version[0] = '\0';
    if (!atomic_load(&alive) || chan < 0 || chan >= nchans - 1) {
        snprintf(err, errlen, "the grader process is not running");
        return -1;
    }
    if (nfiles > GP_MAX_FILES) {
        snprintf(err, errlen, "too many files");
        return -1;
    }
    mbuf req = {0};
    mb_uint(&req, OP_GRADE, 1);
    mb_str(&req, assignment, strlen(assignment), 2);
    mb_uint(&req, nfiles, 4);
    for (size_t i = 0; i < nfiles; i++) {
        mb_str(&req, files[i].name, strlen(files[i].name), 2);
        mb_str(&req, files[i].data, files[i].len, 4);
    }
    mb_uint(&req, (uint64_t)(nice < 0 ? 0 : nice > 19 ? 19 : nice), 1);
    if (req.failed) {
        free(req.p);
        snprintf(err, errlen, "the submission is too large to grade");
        return -1;
    }
    unsigned char *rep;
    size_t len;
    int rc = call(chan, &req, &rep, &len);
    free(req.p);
    if (rc) {
        snprintf(err, errlen, "the grader process stopped");
        gone();
        return -1;
    }
    mread r = {.p = rep, .len = len};
    int failed = (int)mr_uint(&r, 1);
    mr_cstr(&r, version, 65, 2);
    char e[512];
    mr_cstr(&r, e, sizeof e, 2);
    size_t dl;
    const char *doc = mr_str(&r, &dl, 4);
    if (r.bad) {
        snprintf(err, errlen, "the grader's answer is malformed");
        rc = -1;
    } else if (failed) {
        snprintf(err, errlen, "%s", e);
        rc = -1;
    } else {
        json_error_t je;
        *result = json_loadb(doc, dl, 0, &je);
        if (!*result) {
            snprintf(err, errlen, "the grader's document is not JSON: %s", je.text);
            rc = -1;
        }
    }
    free(rep);
    return rc;
}

int gp_install(const char *gz, size_t len, char name[64], int *replaced, json_t **problems,
               char *why, size_t whylen)
{
    name[0] = '\0';
    *replaced = 0;
    *problems = NULL;
    if (!atomic_load(&alive)) {
        snprintf(why, whylen, "the grader process is not running");
        return 500;
    }
    mbuf req = {0};
    mb_uint(&req, OP_INSTALL, 1);
    mb_str(&req, gz, len, 4);
    unsigned char *rep;
    size_t rl;
    int rc = call(nchans - 1, &req, &rep, &rl);
    free(req.p);
    if (rc) {
        snprintf(why, whylen, "the grader process stopped");
        gone();
        return 500;
    }
    mread r = {.p = rep, .len = rl};
    int st = (int)mr_uint(&r, 2);
    mr_cstr(&r, name, 64, 2);
    *replaced = (int)mr_uint(&r, 1);
    mr_cstr(&r, why, whylen, 2);
    size_t pl;
    const char *pt = mr_str(&r, &pl, 4);
    if (!r.bad && pl)
        *problems = json_loadb(pt, pl, 0, NULL);
    free(rep);
    if (r.bad) {
        snprintf(why, whylen, "the grader's answer is malformed");
        return 500;
    }
    return st;
}

int gp_open_log(char *err, size_t errlen)
{
    if (!atomic_load(&alive)) {
        snprintf(err, errlen, "the grader process is not running");
        return -1;
    }
    mbuf req = {0};
    mb_uint(&req, OP_LOG, 1);
    unsigned char *rep;
    size_t len;
    int fd = -1, i = nchans - 1;
    pthread_mutex_lock(&chan_mu[i]);
    int rc = send_msg(chans[i], &req) || recv_with_fd(chans[i], &rep, &len, &fd) ? -1 : 0;
    pthread_mutex_unlock(&chan_mu[i]);
    free(req.p);
    if (rc) {
        snprintf(err, errlen, "the grader process stopped");
        gone();
        return -1;
    }
    mread r = {.p = rep, .len = len};
    int e = (int)mr_uint(&r, 4);
    free(rep);
    if (fd < 0)
        snprintf(err, errlen, "%s", strerror(e ? e : EIO));
    return fd;
}

void gp_stop(void)
{
    if (gpid < 0)
        return;
    atomic_store(&stopping, 1);
    atomic_store(&death_told, 1); /* a stop, not a death */
    for (int i = 0; i < nchans; i++) {
        pthread_mutex_lock(&chan_mu[i]);
        shutdown(chans[i], SHUT_RDWR);
        close(chans[i]);
        chans[i] = -1;
        pthread_mutex_unlock(&chan_mu[i]);
    }
    atomic_store(&alive, 0);
    /* It ends when its channels close (the watcher reaps it); we may not
     * signal it once unprivileged, and it dies with us anyway (PDEATHSIG). */
    if (watching) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 10;
        if (pthread_timedjoin_np(watcher, NULL, &until))
            pthread_detach(watcher);
        watching = 0;
    }
    gpid = -1;
}

/* ---- dropping privileges ------------------------------------------------------- */

int privsep_bound(void)
{
    if (geteuid() != 0)
        return 0;
    /* The bounding set is per thread and inherited: emptied here, before
     * the HTTP side starts any thread, so that no thread of it ever could
     * regain a capability. The effective set stays until privsep_drop. */
    for (int c = 0; c <= 63; c++)
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) && errno != EINVAL)
            return -1;
    return 0;
}

int privsep_drop(const char *user, char *err, size_t errlen)
{
    if (geteuid() != 0)
        return 0;
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        snprintf(err, errlen, "--user %s: no such user", user);
        return -1;
    }
    if (pw->pw_uid == 0 || pw->pw_gid == 0) {
        snprintf(err, errlen, "--user %s: the HTTP process may not run as root (uid/gid 0)",
                 user);
        return -1;
    }
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    /* The bounding set went before any thread started (privsep_bound);
     * the ids now: glibc applies each set*id call to every thread, and a
     * change of every uid away from 0 clears the permitted and effective
     * sets (no SECBIT_KEEP_CAPS). */
    if (privsep_bound()) {
        snprintf(err, errlen, "cannot drop capabilities: %s", strerror(errno));
        return -1;
    }
    if (setgroups(1, &gid) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid)) {
        snprintf(err, errlen, "cannot become %s: %s", user, strerror(errno));
        return -1;
    }
    uid_t r, e, s;
    if (getresuid(&r, &e, &s) || r != uid || e != uid || s != uid || setuid(0) == 0) {
        snprintf(err, errlen, "the drop to %s did not hold", user);
        return -1;
    }
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    return 0;
}
