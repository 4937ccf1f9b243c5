/* srv_main: the `serve` and `user` subcommands. Options are one table so
 * parsing, defaults and --help never disagree. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "auth.h"
#include "cli.h"
#include "db.h"
#include "grader_proc.h"
#include "lti.h"
#include "lti_int.h"
#include "sbx.h"
#include "srv.h"
#include "web.h"

static const char *default_db(void)
{
    const char *env = getenv("MEMGRADE_DB");
    return env && *env ? env : "memgrade.db";
}

/* "memgrade serve" or "memgrade worker": who speaks in messages. */
static const char *who = "memgrade serve";

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", who);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

typedef enum { OPT_INT, OPT_SIZE, OPT_STR } opt_type;

typedef struct {
    const char *name;
    opt_type type;
    size_t off;            /* into srv_config */
    long long min, max;
    const char *help;
    int worker;            /* 1: `memgrade worker` takes it too */
} serve_opt;

#define CFG(f) offsetof(srv_config, f)
static const serve_opt serve_opts[] = {
    {"--bind", OPT_STR, CFG(bind), 0, 0, "ADDR   listen address (default 127.0.0.1)", 0},
    {"--port", OPT_INT, CFG(port), 0, 65535, "N      TCP port (default 8080; 0 picks one)", 0},
    {"--db", OPT_STR, CFG(db_path), 0, 0, "PATH|URL  SQLite database, or postgres://USER@HOST:PORT/DB (default $MEMGRADE_DB or memgrade.db)", 1},
    {"--lease", OPT_INT, CFG(lease_s), 2, 3600, "SECONDS a claimed job's lease: a process that dies or freezes loses its jobs after it (default 30)", 1},
    {"--assignments", OPT_STR, CFG(assignments), 0, 0, "DIR    assignments folder", 1},
    {"--workers", OPT_INT, CFG(workers), 0, 256, "N      grading workers (default: CPUs; serve: 0 grades nothing here, for PostgreSQL with workers)", 1},
    {"--http-threads", OPT_INT, CFG(http_threads), 1, 256, "N      HTTP threads (default: CPUs)", 0},
    {"--queue-max", OPT_INT, CFG(queue_max), 1, 10000000, "N      queued submissions before 503 (default 1000)", 0},
    {"--rate-limit", OPT_INT, CFG(rate_limit), 0, 100000, "N      submissions per student per minute, 0 = off (default 30)", 0},
    {"--max-file", OPT_SIZE, CFG(max_file), 1, 64LL << 20, "BYTES  per submitted file (default 256K)", 0},
    {"--max-request", OPT_SIZE, CFG(max_request), 1, 256LL << 20, "BYTES  per request body (default 1M)", 0},
    {"--max-connections", OPT_INT, CFG(max_connections), 1, 1000000, "N      concurrent connections (default 1024)", 0},
    {"--retries", OPT_INT, CFG(retries), 1, 100, "N      grading attempts when the grader fails (default 3)", 1},
    {"--access-log", OPT_STR, CFG(access_log), 0, 0, "PATH   access log file, - for stderr, off (default -)", 0},
    {"--login-limit", OPT_INT, CFG(login_limit), 1, 100000, "N      failed web logins per user name per 15 min (default 10; 4N per address)", 0},
    {"--trust-proxy", OPT_INT, CFG(trust_proxy), 0, 1, "0|1    behind a TLS proxy: X-Forwarded-Proto https makes cookies Secure, X-Forwarded-For is the client (default 0)", 0},
    {"--running-max-user", OPT_INT, CFG(running_max_user), 0, 256, "N      a student's submissions graded at once (default half the workers, at least 1; 0 = no limit)", 1},
    {"--queue-max-user", OPT_INT, CFG(queue_max_user), 0, 10000000, "N      a student's submissions waiting or being graded before 429, 0 = no limit (default 10)", 0},
    {"--body-budget", OPT_SIZE, CFG(body_budget), 1, 16LL << 30, "BYTES  request bodies held in memory at once, all clients (default 64M; 503 past it)", 0},
    {"--body-budget-user", OPT_SIZE, CFG(body_budget_user), 1, 16LL << 30, "BYTES  ... by one user (default twice --max-request; 429 past it)", 0},
    {"--max-connections-per-ip", OPT_INT, CFG(max_conn_per_ip), 0, 1000000, "N      connections from one client address, 0 = no limit (default 64; 0 with --trust-proxy 1)", 0},
    {"--user", OPT_STR, CFG(user), 0, 0, "NAME   the unprivileged user the HTTP process runs as once started as root (default nobody)", 1},
    {"--public-url", OPT_STR, CFG(public_url), 0, 0, "URL    the address LMSs and browsers reach this server at, for LTI (default http://BIND:PORT)", 0},
    {"--webhook-private", OPT_INT, CFG(webhook_private), 0, 1, "0|1    let webhooks go to loopback and private addresses: development and tests only (default 0)", 0},
    {"--outbox-threads", OPT_INT, CFG(outbox_threads), 1, 64, "N      grade passbacks and webhooks delivered at a time (default 4)", 0},
    {"--outbox-max-attempts", OPT_INT, CFG(outbox_max_attempts), 1, 1000, "N      delivery tries before giving up (default 30, about a day)", 0},
    {"--outbox-retry-base-ms", OPT_INT, CFG(outbox_retry_base_ms), 10, 3600000, "MS     first retry delay, x3 per retry, at most 1 h (default 2000)", 0},
};
#define NOPTS (sizeof serve_opts / sizeof serve_opts[0])

static void serve_usage(FILE *f, int http)
{
    fprintf(f, "usage: %s [OPTION VALUE]...\n", who);
    for (size_t i = 0; i < NOPTS; i++)
        if (http || serve_opts[i].worker)
            fprintf(f, "  %-18s %s\n", serve_opts[i].name, serve_opts[i].help);
}

/* "262144", "256K", "1M": bytes; -1 when malformed. */
static long long parse_size(const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0)
        return -1;
    long long mul = 1;
    if (*end == 'K' || *end == 'k')
        mul = 1024, end++;
    else if (*end == 'M' || *end == 'm')
        mul = 1024 * 1024, end++;
    if (*end || v > LLONG_MAX / mul)
        return -1;
    return v * mul;
}

static int parse_serve(int argc, char **argv, srv_config *c, int http)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    *c = (srv_config){
        .bind = "127.0.0.1", .port = 8080, .db_path = default_db(),
        .assignments = cli_default_assignments(),
        .workers = cpus > 0 ? (int)cpus : 1, .http_threads = cpus > 0 ? (int)cpus : 1,
        .queue_max = 1000, .rate_limit = 30, .max_file = 256 * 1024,
        .max_request = 1024 * 1024, .max_connections = 1024, .retries = 3,
        .access_log = "-",
        .login_limit = 10,
        .user = "nobody",
        .body_budget = 64u << 20,
        .queue_max_user = 10,
        .running_max_user = -1,
        .max_conn_per_ip = -1,
        .outbox_threads = 4, .outbox_max_attempts = 30, .outbox_retry_base_ms = 2000,
        .lease_s = 30,
    };
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            serve_usage(stdout, http);
            exit(0);
        }
        const serve_opt *o = NULL;
        for (size_t k = 0; k < NOPTS; k++)
            if (!strcmp(argv[i], serve_opts[k].name) && (http || serve_opts[k].worker))
                o = &serve_opts[k];
        if (!o) {
            say("unknown option '%s' (try --help)\n", argv[i]);
            return -1;
        }
        if (i + 1 >= argc) {
            say("%s needs a value\n", o->name);
            return -1;
        }
        const char *v = argv[++i];
        char *p = (char *)c + o->off;
        if (o->type == OPT_STR) {
            *(const char **)p = v;
            continue;
        }
        long long n = o->type == OPT_SIZE ? parse_size(v) : -1;
        if (o->type == OPT_INT) {
            char *end;
            errno = 0;
            n = strtoll(v, &end, 10);
            if (errno || end == v || *end)
                n = LLONG_MIN;
        }
        if (n < o->min || n > o->max) {
            say("%s wants a number from %lld to %lld, not '%s'\n",
                    o->name, o->min, o->max, v);
            return -1;
        }
        if (o->type == OPT_SIZE)
            *(size_t *)p = (size_t)n;
        else
            *(int *)p = (int)n;
    }
    if (c->public_url) {
        size_t n = strlen(c->public_url);
        if (n < 8 || n > 200 || (strncmp(c->public_url, "https://", 8) &&
                                 strncmp(c->public_url, "http://", 7)) ||
            strpbrk(c->public_url, "?#\"' <>\\") || c->public_url[n - 1] == '/') {
            say("--public-url must be an http(s) URL without a "
                            "query or a trailing slash, such as https://grader.example.edu\n");
            return -1;
        }
    }
    if (c->max_file > c->max_request) {
        say("--max-file is larger than --max-request\n");
        return -1;
    }
    if (!c->body_budget_user)
        c->body_budget_user = 2 * c->max_request;
    if (c->body_budget_user < c->max_request || c->body_budget < c->max_request) {
        say("--body-budget and --body-budget-user must each hold "
                        "at least one --max-request body\n");
        return -1;
    }
    int url = db_is_url(c->db_path);
    if (!http && !url) {
        say("--db must be a PostgreSQL URL (postgres://USER@HOST/DB): with a SQLite "
            "database, memgrade serve grades by itself\n");
        return -1;
    }
    if (c->workers == 0 && (!http || !url)) {
        say(http ? "--workers 0 grades nothing here: it needs a PostgreSQL database that "
                   "memgrade worker processes grade from\n"
                 : "--workers must be at least 1\n");
        return -1;
    }
    if (c->running_max_user < 0)
        c->running_max_user = c->workers / 2 > 1 ? c->workers / 2 : 1;
    /* Behind a proxy every connection comes from the proxy's address: the
     * proxy bounds each client's connections then (deploy/README-server.md). */
    if (c->max_conn_per_ip < 0)
        c->max_conn_per_ip = c->trust_proxy ? 0 : 64;
    return 0;
}

/* Takes PATH.lock so two servers never share a queue: each would take the
 * other's running jobs for orphans. A POSIX record lock, not flock(): the
 * grader forks sandbox processes that briefly hold copies of every
 * descriptor, and an flock() lives as long as any copy, so a restart right
 * after kill -9 found it still held. A record lock belongs to the process
 * and dies with it. */
static int lock_db(const char *path)
{
    char lock[PATH_MAX];
    if (snprintf(lock, sizeof lock, "%s.lock", path) >= (int)sizeof lock)
        return -1;
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        say("%s: %s\n", lock, strerror(errno));
        return -1;
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_SETLK, &fl)) {
        say("another memgrade serve is using %s\n", path);
        close(fd);
        return -1;
    }
    return fd;
}

/* SIGHUP: after logrotate moved the access log away, write to a new file
 * at the same path. dup2 swaps the descriptor in one step, so request
 * threads writing at that moment write to one file or the other. */
static void reopen_access_log(srv *s)
{
    if (s->access_fd <= STDERR_FILENO)
        return;
    char why[256] = "";
    int fd = gp_active() ? gp_open_log(why, sizeof why)
                         : open(s->cfg.access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        say("reopening %s: %s\n", s->cfg.access_log,
                why[0] ? why : strerror(errno));
        return;
    }
    if (dup3(fd, s->access_fd, O_CLOEXEC) < 0)
        say("reopening %s: %s\n", s->cfg.access_log, strerror(errno));
    close(fd);
    say("reopened %s\n", s->cfg.access_log);
}

static int sweep_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* Removes DIR/.upload-* (api_upload.c stages there; a finished upload
 * leaves none). */
static void sweep_uploads(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d))) {
        char path[PATH_MAX];
        if (strncmp(e->d_name, ".upload-", 8) ||
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        if (!nftw(path, sweep_one, 16, FTW_DEPTH | FTW_PHYS))
            say("removed %s left by an interrupted upload\n", path);
    }
    closedir(d);
}

static void log_skipped(void *ctx, const char *msg)
{
    (void)ctx;
    say("left out: %s\n", msg);
}

/* The grader died under us: stop (an unprivileged process cannot start a
 * new privileged one); the service manager restarts both. */
static atomic_int grader_dead;
static char asg_path[64];

static void grader_died(void)
{
    say("the grader process died; stopping\n");
    atomic_store(&grader_dead, 1);
    kill(getpid(), SIGTERM);
}

/* serve (http: the API, and grading unless --workers 0) and worker (no
 * HTTP: grading from a shared PostgreSQL database) are one start-up, so
 * privilege separation, leases and draining are the same in both. */
static int run(int argc, char **argv, int http)
{
    static srv s; /* one service per process; signal-free shared state */
    char err[512];
    int rc = 1, lockfd = -1;
    char shown[512];
    struct MHD_Daemon *daemon = NULL;
    int workers_started = 0, lease_started = 0;
    memset(&s, 0, sizeof s);
    s.access_fd = -1;
    if (parse_serve(argc, argv, &s.cfg, http))
        return 2;
    int shared = db_is_url(s.cfg.db_path); /* other processes may grade from it */
    db_set_lease_ms(s.cfg.lease_s * 1000LL);

    /* Signals: the main thread waits for them; every thread started below
     * inherits the blocked mask, so none is interrupted. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* SQLite: one process owns the queue (the lock); PostgreSQL: any
     * number share it, fenced by leases. */
    if (!shared && (lockfd = lock_db(s.cfg.db_path)) < 0)
        goto out;
    if (http && lti_http_global_init()) {
        say("cannot initialise libcurl\n");
        goto out;
    }
    /* A broken assignment is left out (and named here), the others served. */
    if (!(s.catalog = grd_catalog_open(s.cfg.assignments, log_skipped, NULL, err, sizeof err))) {
        say("%s\n", err);
        goto out;
    }
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    if (srv_db_init(&s) || !(s.rl = srv_ratelimit_new(s.cfg.rate_limit)))
        goto out;
    db *d = srv_db(&s);
    if (!d)
        goto out;
    /* Jobs a dead process left running: all of them when we own the
     * queue; only those whose lease ran out when others share it (the
     * rest are being graded right now). */
    int64_t requeued = 0;
    if ((shared ? db_job_requeue_expired(d, &requeued) : db_job_requeue_all(d, &requeued)) ||
        db_queue_depth(d, &s.queued) || db_regrade_depth(d, &s.regrade_queued))
        goto out;
    if (requeued)
        say("requeued %lld job(s) left running by a process that is gone\n",
                (long long)requeued);
    char first_link[128] = "";
    int first = 0;
    if (http) {
        /* A database without users: make an instructor and a one-time
         * login link, printed once we listen (as Jupyter prints its token
         * URL). */
        first = web_first_start(d, first_link, sizeof first_link);
        if (first < 0) {
            say("cannot create the first user\n");
            goto out;
        }
        /* The LTI tool's signing key, made once and kept in the database. */
        if (lti_keys_ensure(d, err, sizeof err)) {
            say("%s\n", err);
            goto out;
        }
        lti_set_public_url(s.cfg.public_url);
        /* Staging folders of uploads a predecessor was killed in the middle of. */
        sweep_uploads(s.cfg.assignments);
    }
    /* Boxes (work directories, cgroups) of a predecessor killed mid-grade. */
    sbx_cgroup_info cgi;
    sbx_cgroup_status(&cgi);
    say("sandbox: %s\n", cgi.summary);
    int swept = sbx_box_sweep();
    if (swept > 0)
        say("removed %d sandbox box(es) left by a previous process\n",
                swept);
    s.started_ms = db_now_ms();
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    snprintf(s.owner, sizeof s.owner, "%s:%d:%lld", host, (int)getpid(),
             (long long)s.started_ms);
    if (!strcmp(s.cfg.access_log, "-")) {
        s.access_fd = STDERR_FILENO;
    } else if (strcmp(s.cfg.access_log, "off")) {
        s.access_fd = open(s.cfg.access_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (s.access_fd < 0) {
            say("%s: %s\n", s.cfg.access_log, strerror(errno));
            goto out;
        }
    }
    /* Privilege separation (SPEC §9): the grader, a process of its own,
     * keeps what the sandbox needs; this process parses HTTP and drops to
     * an unprivileged user once it listens. Everything it reads later is
     * opened now: database connections for every thread, and the
     * assignments folder, read through its descriptor. */
    if (gp_start(s.cfg.assignments, s.access_fd > STDERR_FILENO ? s.cfg.access_log : NULL,
                 s.cfg.workers, err, sizeof err)) {
        say("cannot start the grader: %s\n", err);
        goto out;
    }
    gp_on_death = grader_died;
    if (srv_db_pool(&s, s.cfg.workers + s.cfg.http_threads + 8)) {
        say("cannot open the database connections\n");
        goto out;
    }
    const char *asg_given = s.cfg.assignments;
    int asg_fd = open(s.cfg.assignments, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (asg_fd >= 0) {
        snprintf(asg_path, sizeof asg_path, "/proc/self/fd/%d", asg_fd);
        s.cfg.assignments = asg_path;
    }
    int wrc = srv_workers_start(&s);
    if (wrc) {
        say("cannot start workers: %s\n", strerror(-wrc));
        goto out;
    }
    workers_started = 1;
    if (srv_lease_start(&s, http ? "serve" : "worker")) {
        say("cannot start the lease thread\n");
        goto out;
    }
    lease_started = 1;
    if (!http)
        goto started;
    lti_http_allow_private(s.cfg.webhook_private);
    lti_outbox_config oc = {s.cfg.db_path, s.cfg.outbox_threads, s.cfg.outbox_max_attempts,
                            s.cfg.outbox_retry_base_ms};
    if (lti_outbox_start(&oc, err, sizeof err)) {
        say("%s\n", err);
        goto out;
    }
    /* Right after a crash the port may still be held for a moment by
     * sandbox processes of the dead server (forked children keep copies of
     * its descriptors until their parent-death signal lands): retry. */
    for (int tries = 0; !(daemon = api_start(&s, 1, err, sizeof err)); tries++) {
        if (errno != EADDRINUSE || tries == 100) {
            say("%s\n", err);
            goto out;
        }
        if (tries == 0)
            say("port %d busy, retrying for 10 s\n", s.cfg.port);
        struct timespec ts = {0, 100 * 1000000};
        nanosleep(&ts, NULL);
    }
started:;
    const char *shown_db = db_display(s.cfg.db_path, shown, sizeof shown);
    if (privsep_drop(s.cfg.user, err, sizeof err)) {
        say("%s\n", err);
        goto out;
    }
    if (geteuid() != 0)
        say("%s process runs as uid %d with no capabilities; "
                        "grader process %d grades\n", http ? "HTTP" : "the database",
                        (int)geteuid(), (int)gp_pid());
    if (!http)
        say("grading from %s with %d workers, leases of %d s, as %s\n", shown_db,
            s.cfg.workers, s.cfg.lease_s, s.owner);
    else
        say("listening on http://%s:%d (%d workers, %lld queued, db %s, "
                    "assignments %s)\n",
            s.cfg.bind, api_port(daemon), s.cfg.workers, (long long)s.queued, shown_db,
            asg_given);
    if (http && first == 1) {
        const char *where = s.cfg.bind;
        if (!strcmp(where, "0.0.0.0") || !strcmp(where, "::"))
            where = "localhost";
        say("first start: created instructor 'admin'. To log in, "
                        "open this link (it works once, within 24 hours):\n\n"
                        "    http://%s%s%s:%d%s\n\n",
                strchr(where, ':') ? "[" : "", where, strchr(where, ':') ? "]" : "",
                api_port(daemon), first_link);
    }

    int sig = 0;
    for (;;) {
        if (sigwait(&sigs, &sig))
            continue;
        if (sig != SIGHUP)
            break;
        reopen_access_log(&s);
    }
    say("%s: draining\n", strsignal(sig));
    rc = 0;
out:
    atomic_store(&s.draining, true);
    if (daemon)
        api_stop(daemon, &s, 5000);
    if (workers_started)
        srv_workers_stop(&s); /* running jobs finish and are stored */
    if (lease_started)
        srv_lease_stop(); /* after the workers: their jobs kept their leases */
    gp_stop();
    if (http)
        lti_outbox_stop(); /* a delivery in flight ends; the rest stays pending */
    if (workers_started && (d = srv_db(&s))) {
        /* Nothing of ours should be left running; if something is, it
         * goes back now (another process may grade it) rather than when
         * its lease runs out. */
        int64_t left = 0;
        if (db_job_release(d, s.owner, &left) == DB_OK && left)
            say("requeued %lld unfinished job(s)\n", (long long)left);
    }
    srv_db_release();
    srv_db_pool_free();
    srv_ratelimit_free(s.rl);
    srv_catalogs_free(&s);
    if (s.access_fd > STDERR_FILENO)
        close(s.access_fd);
    if (lockfd >= 0)
        close(lockfd);
    if (atomic_load(&grader_dead)) {
        say("stopped because the grader process died\n");
        rc = 1;
    } else if (!rc) {
        say("stopped\n");
    }
    return rc;
}

int srv_cmd_serve(int argc, char **argv)
{
    who = "memgrade serve";
    return run(argc, argv, 1);
}

int srv_cmd_worker(int argc, char **argv)
{
    who = "memgrade worker";
    return run(argc, argv, 0);
}

/* ---- memgrade user ------------------------------------------------------------ */

static void user_usage(void)
{
    fprintf(stderr, "usage: memgrade user add NAME --role student|instructor [--db PATH]\n"
                    "       memgrade user token NAME [--db PATH]   (a new token for NAME)\n"
                    "       memgrade user revoke NAME [--db PATH]  (deletes all of NAME's tokens)\n"
                    "       memgrade user list [--db PATH]\n"
                    "       memgrade user passwd NAME [--db PATH]  (the new password on stdin)\n"
                    "       memgrade user link NAME [--db PATH]    (a one-time web login link)\n");
}

/* Names appear in gradebooks, CSV and logs: keep them plain. */
static int valid_name(const char *n)
{
    size_t len = strlen(n);
    return len >= 1 && len <= 64 &&
           strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-") == len;
}

static void print_user(void *ctx, const db_user *u)
{
    (void)ctx;
    printf("%s\t%s\n", u->name, db_role_name(u->role));
}

/* memgrade user passwd: the first line of stdin is the new password. */
static int set_password(db *d, const char *name)
{
    char pw[1026], stored[AUTH_PASSWORD_LEN];
    if (isatty(STDIN_FILENO))
        fprintf(stderr, "new password for %s: ", name);
    if (!fgets(pw, sizeof pw, stdin)) {
        fprintf(stderr, "memgrade user: no password on stdin\n");
        return 2;
    }
    size_t n = strcspn(pw, "\r\n");
    int whole = pw[n] != '\0' || feof(stdin);
    pw[n] = '\0';
    if (!whole || n < 8 || n > 1024) {
        fprintf(stderr, "memgrade user: a password is 8 to 1024 characters on one line\n");
        return 2;
    }
    int rc = auth_password_hash(pw, stored);
    explicit_bzero(pw, sizeof pw);
    if (rc) {
        fprintf(stderr, "memgrade user: no randomness from the kernel\n");
        return 1;
    }
    rc = db_user_set_password(d, name, stored);
    int64_t uid = 0;
    if (rc == DB_OK && db_user_id(d, name, &uid) == DB_OK)
        db_sessions_end(d, uid, NULL); /* a new password logs every browser out */
    if (rc == DB_NOT_FOUND)
        fprintf(stderr, "memgrade user: no user '%s'\n", name);
    else if (rc == DB_OK)
        printf("password of %s changed\n", name);
    return rc == DB_OK ? 0 : rc == DB_NOT_FOUND ? 2 : 1;
}

int srv_cmd_user(int argc, char **argv)
{
    const char *verb = argc > 1 ? argv[1] : NULL, *name = NULL, *role = NULL;
    const char *path = default_db();
    int rc = 1;
    db *d = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--role") && i + 1 < argc)
            role = argv[++i];
        else if (!strcmp(argv[i], "--db") && i + 1 < argc)
            path = argv[++i];
        else if (argv[i][0] != '-' && !name)
            name = argv[i];
        else {
            user_usage();
            return 2;
        }
    }
    int is_add = verb && !strcmp(verb, "add"), is_token = verb && !strcmp(verb, "token");
    int is_list = verb && !strcmp(verb, "list"), is_revoke = verb && !strcmp(verb, "revoke");
    int is_passwd = verb && !strcmp(verb, "passwd"), is_link = verb && !strcmp(verb, "link");
    if (!(is_add || is_token || is_list || is_revoke || is_passwd || is_link) ||
        (is_list && (name || role)) || (!is_list && !name) ||
        ((is_token || is_revoke || is_passwd || is_link) && role)) {
        user_usage();
        return 2;
    }
    if (name && !valid_name(name)) {
        fprintf(stderr, "memgrade user: a name is 1-64 characters of A-Z a-z 0-9 . _ @ -\n");
        return 2;
    }
    int r = is_add ? db_role_parse(role) : 0;
    if (r < 0) {
        fprintf(stderr, "memgrade user: --role must be student or instructor\n");
        return 2;
    }
    char err[512];
    if (!(d = db_open(path, err, sizeof err))) {
        fprintf(stderr, "memgrade user: %s\n", err);
        return 1;
    }
    if (is_list) {
        rc = db_user_each(d, print_user, NULL) == DB_OK ? 0 : 1;
        goto out;
    }
    if (is_passwd) {
        rc = set_password(d, name);
        goto out;
    }
    if (is_link) {
        char link[128];
        int lrc = web_login_link(d, name, link, sizeof link);
        if (lrc == DB_NOT_FOUND)
            fprintf(stderr, "memgrade user: no user '%s'\n", name);
        else if (lrc == DB_OK)
            printf("a login link for %s, valid once within 24 hours (after the server's "
                   "address, e.g. http://127.0.0.1:8080):\n%s\n", name, link);
        rc = lrc == DB_OK ? 0 : lrc == DB_NOT_FOUND ? 2 : 1;
        goto out;
    }
    if (is_revoke) {
        int64_t n = 0;
        int drc = db_tokens_revoke(d, name, &n);
        if (drc == DB_NOT_FOUND)
            fprintf(stderr, "memgrade user: no user '%s'\n", name);
        else if (drc == DB_OK)
            printf("revoked %lld token(s) of %s\n", (long long)n, name);
        rc = drc == DB_OK ? 0 : drc == DB_NOT_FOUND ? 2 : 1;
        goto out;
    }
    char token[AUTH_TOKEN_LEN + 1];
    uint8_t hash[AUTH_HASH_LEN];
    if (auth_token_new(token, hash)) {
        fprintf(stderr, "memgrade user: no randomness from the kernel\n");
        goto out;
    }
    int drc = is_add ? db_user_add(d, name, (db_role)r, hash, NULL) : db_token_add(d, name, hash);
    if (drc == DB_EXISTS) {
        fprintf(stderr, "memgrade user: '%s' already exists (memgrade user token %s gives a new token)\n",
                name, name);
        rc = 2;
    } else if (drc == DB_NOT_FOUND) {
        fprintf(stderr, "memgrade user: no user '%s'\n", name);
        rc = 2;
    } else if (drc == DB_OK) {
        if (is_add)
            printf("added %s (%s); their API token, shown only this once:\n", name, role);
        else
            printf("new API token for %s, shown only this once:\n", name);
        printf("%s\n", token);
        rc = 0;
    }
out:
    db_close(d);
    return rc;
}
