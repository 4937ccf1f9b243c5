/* tsb: shared helpers of the sandbox tests (see tsb.h). */
#include "tsb.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;

bool tsb_check_(bool ok, const char *expr, const char *file, int line,
                const char *fmt, ...)
{
    if (ok)
        return true;
    failures++;
    fprintf(stderr, "FAIL %s:%d: %s: ", file, line, expr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return false;
}

int tsb_failures(void) { return failures; }

long tsb_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

char *tsb_slurp(const char *path, size_t *len)
{
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
        if (cap - n - 1 == 0) {
            char *nb = realloc(buf, cap * 2);
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
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = n;
    }
    return buf;
}

const char *tsb_src(const char *rel)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", MEMGRADE_SOURCE_DIR, rel);
    return path;
}

int tsb_compile(sbx_box *b, const char *src, size_t len, const tsb_limits *lim,
                sbx_result *res, long *elapsed_ms)
{
    static const char *const argv[] = { "/usr/bin/gcc", "-O0", "-o", "/box/prog",
                                        "/box/x.c", NULL };
    char err[256] = "";
    int rc = -1;
    memset(res, 0, sizeof *res);
    sbx_policy *p = sbx_policy_new("compile");
    if (!TSB_CHECK(p != NULL, "no compile profile"))
        goto out;
    /* Generous by default: two cores shared with other test runs. */
    sbx_policy_set_wall_ms(p, lim && lim->wall_ms ? lim->wall_ms : TSB_COMPILE_WALL_MS);
    sbx_policy_set_cpu_ms(p, lim && lim->cpu_ms ? lim->cpu_ms : 20000);
    if (lim && lim->memory)
        sbx_policy_set_memory(p, lim->memory);
    if (!TSB_CHECK(sbx_box_write(b, "x.c", src, len) == 0, "sbx_box_write x.c"))
        goto out;
    sbx_cmd cmd = { .argv = argv };
    long t0 = tsb_now_ms();
    rc = sbx_run(p, b, &cmd, res, err, sizeof err);
    if (elapsed_ms)
        *elapsed_ms = tsb_now_ms() - t0;
    TSB_CHECK(rc == 0, "sandbox failure while compiling: %s", err);
out:
    sbx_policy_free(p);
    return rc;
}

static void dump_stream(const char *name, const sbx_stream *s)
{
    fprintf(stderr, "  %s: %zu of %zu bytes%s\n", name, s->len, s->total,
            s->truncated ? " (truncated)" : "");
    if (s->data && s->len)
        fprintf(stderr, "  | %.*s\n", (int)(s->len > 1500 ? 1500 : s->len), s->data);
}

void tsb_dump(const char *what, const sbx_result *r)
{
    fprintf(stderr, "-- %s: verdict=%s exit=%d signal=%d cpu=%ldms wall=%ldms "
            "rss=%ldkB blocked=\"%s\" detail=\"%s\"\n", what,
            sbx_verdict_name(r->verdict), r->exit_code, r->signal, r->cpu_ms,
            r->wall_ms, r->peak_rss_kb, r->blocked_syscall, r->detail);
    dump_stream("stdout", &r->out);
    dump_stream("stderr", &r->err);
}

static bool kept(pid_t pid, const pid_t *keep, size_t nkeep)
{
    for (size_t i = 0; i < nkeep; i++)
        if (keep[i] == pid)
            return true;
    return pid == getpid();
}

int tsb_stray_processes(const pid_t *keep, size_t nkeep, char *buf, size_t buflen)
{
    int found = 0;
    size_t used = 0;
    if (buflen)
        buf[0] = '\0';
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        pid_t pid = (pid_t)atoi(e->d_name);
        if (kept(pid, keep, nkeep))
            continue;
        char path[64], stat[256] = "?";
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;              /* gone between readdir and open */
        if (!fgets(stat, sizeof stat, f))
            strcpy(stat, "?");
        fclose(f);
        stat[strcspn(stat, "\n")] = '\0';
        found++;
        if (used < buflen) {
            int n = snprintf(buf + used, buflen - used, "[%s] ", stat);
            if (n > 0)
                used += (size_t)n;
        }
    }
    closedir(d);
    return found;
}

bool tsb_in_private_pidns(void)
{
    /* /proc must be ours too: its /proc/1 is then this process. */
    char link[64] = "";
    ssize_t n = readlink("/proc/self", link, sizeof link - 1);
    if (n > 0)
        link[n] = '\0';
    return getpid() == 1 && strcmp(link, "1") == 0;
}

pid_t tsb_spawn_victim(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        for (;;)
            pause();
    }
    return pid;
}

bool tsb_alive(pid_t victim)
{
    int st;
    if (victim <= 0)
        return false;
    pid_t w = waitpid(victim, &st, WNOHANG);
    return w == 0 && kill(victim, 0) == 0;
}

void tsb_reap(pid_t victim)
{
    if (victim <= 0)
        return;
    kill(victim, SIGKILL);
    waitpid(victim, NULL, 0);
}

int tsb_listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

bool tsb_listener_saw_connection(int fd)
{
    int c = accept(fd, NULL, NULL);
    if (c >= 0) {
        close(c);
        return true;
    }
    return !(errno == EAGAIN || errno == EWOULDBLOCK);
}

bool tsb_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 || errno != ENOENT;
}

bool tsb_contains_line_of(const char *text, const char *path, size_t minlen,
                          char *hit, size_t hitlen)
{
    size_t len;
    char *file = tsb_slurp(path, &len);
    bool found = false;
    if (!file || !text)
        goto out;
    for (char *line = strtok(file, "\n"); line && !found; line = strtok(NULL, "\n")) {
        if (strlen(line) >= minlen && strstr(text, line)) {
            found = true;
            snprintf(hit, hitlen, "%s", line);
        }
    }
out:
    free(file);
    return found;
}

int tsb_check_list(const char *const *names, size_t n, int nlisted,
                   char *const *listed)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (int j = 0; j < nlisted; j++)
            found |= strcmp(listed[j], names[i]) == 0;
        bad += !TSB_CHECK(found, "case %s is not registered with ctest", names[i]);
    }
    for (int j = 0; j < nlisted; j++) {
        bool found = false;
        for (size_t i = 0; i < n; i++)
            found |= strcmp(listed[j], names[i]) == 0;
        bad += !TSB_CHECK(found, "ctest registers %s, which no table holds", listed[j]);
    }
    return bad ? 1 : 0;
}
