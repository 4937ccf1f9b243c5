/* probe: a well-behaved program the API tests run inside the sandbox. The
 * first argument picks an action from the table; each prints what the test
 * needs to check the sandbox's accounting and plumbing. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* FNV-1a, the same as the test's. */
static unsigned long long fnv(const unsigned char *p, size_t n, unsigned long long h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static int writen(int fd, size_t n)
{
    char buf[4096];
    size_t done = 0;
    while (done < n) {
        size_t k = n - done < sizeof buf ? n - done : sizeof buf;
        for (size_t i = 0; i < k; i++)
            buf[i] = (char)('a' + (done + i) % 26);
        ssize_t w = write(fd, buf, k);
        if (w <= 0)
            return errno;
        done += (size_t)w;
    }
    return 0;
}

static long arg(char **argv, int i) { return argv[i] ? strtol(argv[i], NULL, 10) : 0; }

static int do_exit(char **argv) { return (int)arg(argv, 2); }

static int do_signal(char **argv)
{
    raise((int)arg(argv, 2));
    return 99;
}

static int do_segv(char **argv)
{
    volatile int *p = NULL;
    return *p;
}

/* write OUT ERR FD3: that many pattern bytes to stdout, stderr and fd 3. */
static int do_write(char **argv)
{
    int a = writen(1, (size_t)arg(argv, 2));
    int b = writen(2, (size_t)arg(argv, 3));
    int c = arg(argv, 4) ? writen(3, (size_t)arg(argv, 4)) : 0;
    if (c == EBADF)
        fprintf(stderr, "fd3 EBADF\n");
    return a || b || c ? 1 : 0;
}

static int do_stdin(char **argv)
{
    unsigned char buf[65536];
    unsigned long long h = 1469598103934665603ULL;
    size_t total = 0;
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) {
        h = fnv(buf, (size_t)n, h);
        total += (size_t)n;
    }
    printf("len=%zu hash=%llx\n", total, h);
    return n < 0;
}

static int do_hashfile(char **argv)
{
    int fd = open(argv[2] ? argv[2] : "", O_RDONLY);
    if (fd < 0) {
        printf("ERR %d\n", errno);
        return 1;
    }
    unsigned char buf[65536];
    unsigned long long h = 1469598103934665603ULL;
    size_t total = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        h = fnv(buf, (size_t)n, h);
        total += (size_t)n;
    }
    close(fd);
    printf("len=%zu hash=%llx\n", total, h);
    return 0;
}

static int do_cpu(char **argv)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    volatile unsigned long x = 0;
    do {
        for (int i = 0; i < 100000; i++)
            x++;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < arg(argv, 2));
    return 0;
}

static int do_sleep(char **argv)
{
    long ms = arg(argv, 2);
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    return 0;
}

static int do_mem(char **argv)
{
    size_t n = (size_t)arg(argv, 2) << 20;
    char *p = malloc(n);
    if (!p) {
        puts("cannot allocate");
        return 1;
    }
    memset(p, 1, n);
    printf("touched %zu\n", n);
    free(p);
    return 0;
}

/* memsleep MIB MS: touch MIB MiB, say so ("touched N", flushed: a test
 * that stops the run at its wall clock reads it), then sleep MS ms. */
static int do_memsleep(char **argv)
{
    if (do_mem(argv) != 0)
        return 1;
    fflush(stdout);
    return do_sleep(argv + 1);
}

/* cpusleep CPU_MS MS: burn CPU_MS ms of CPU, say "burnt CPU_MS" (flushed),
 * then sleep MS ms. */
static int do_cpusleep(char **argv)
{
    do_cpu(argv);
    printf("burnt %ld\n", arg(argv, 2));
    fflush(stdout);
    return do_sleep(argv + 1);
}

static int do_env(char **argv)
{
    for (char **e = environ; *e; e++)
        puts(*e);
    return 0;
}

static void *worker(void *arg)
{
    long id = (long)arg, s = 0;
    for (long i = 0; i <= 1000 * id; i++)
        s += i;
    return (void *)s;
}

static int do_threads(char **argv)
{
    long n = arg(argv, 2), sum = 0;
    pthread_t t[16];
    if (n < 1 || n > 16)
        return 2;
    for (long i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(i + 1)) != 0) {
            printf("pthread_create failed\n");
            return 1;
        }
    for (long i = 0; i < n; i++) {
        void *r;
        pthread_join(t[i], &r);
        sum += (long)r;
    }
    printf("threads %ld sum %ld\n", n, sum);
    return 0;
}

/* forkburn N MS: N children each burn MS ms of CPU and exit; the parent
 * never reaps them (their CPU is not in its rusage), waits until each has
 * exited (WNOWAIT: however long a busy machine makes that) and exits. Their
 * CPU still belongs to the run. */
static int do_forkburn(char **argv)
{
    long n = arg(argv, 2);
    pid_t kids[16];
    if (n < 1 || n > 16)
        return 2;
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0)
            _exit(do_cpu(argv + 1));
        kids[i] = pid;
    }
    for (long i = 0; i < n; i++) {
        siginfo_t si;
        while (waitid(P_PID, (id_t)kids[i], &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
            ;
    }
    return 0;
}

static const struct {
    const char *name;
    int (*fn)(char **argv);
} actions[] = {
    { "exit", do_exit },       { "signal", do_signal },   { "segv", do_segv },
    { "write", do_write },     { "stdin", do_stdin },     { "hashfile", do_hashfile },
    { "cpu", do_cpu },         { "sleep", do_sleep },     { "mem", do_mem },
    { "env", do_env },         { "threads", do_threads }, { "forkburn", do_forkburn },
    { "memsleep", do_memsleep }, { "cpusleep", do_cpusleep },
};

int main(int argc, char **argv)
{
    for (size_t i = 0; argc > 1 && i < sizeof actions / sizeof *actions; i++)
        if (strcmp(argv[1], actions[i].name) == 0)
            return actions[i].fn(argv);
    fprintf(stderr, "probe: unknown action\n");
    return 2;
}
