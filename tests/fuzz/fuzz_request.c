/* libFuzzer target: whole HTTP requests through the real API stack
 * (libmicrohttpd's parser and post processor, routing, authentication,
 * JSON and multipart submissions, storage) in process. Each input is written
 * to one end of a socketpair whose other end is handed to a daemon with no
 * listening socket; the response is read back and must be a well-formed
 * status line whenever one comes. No grading workers run. */
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api.h"
#include "srv.h"

static srv s;
static struct MHD_Daemon *daemon_;

/* The token of the fuzz user, so inputs from the seed corpus authenticate. */
#define FUZZ_TOKEN "0000000000000000000000000000000000000000000000000000000000000000"

static char dbpath[512] = "/tmp/memgrade-fuzz-XXXXXX";

/* Every thread opens the database by path, so it lives until exit. */
static void remove_db(void)
{
    char p[600];
    unlink(dbpath);
    snprintf(p, sizeof p, "%s-wal", dbpath);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", dbpath);
    unlink(p);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char err[512];
    /* run_fuzz.sh names a file in the build tree (libFuzzer may leave
     * without running atexit handlers); by hand, a temporary file. */
    const char *want = getenv("MEMGRADE_FUZZ_DB");
    if (want && *want) {
        snprintf(dbpath, sizeof dbpath, "%s", want);
        remove_db();
    } else {
        int fd = mkstemp(dbpath);
        if (fd < 0)
            abort();
        close(fd);
    }
    s.cfg = (srv_config){.bind = "127.0.0.1", .db_path = dbpath, .workers = 1,
                         .http_threads = 1, .queue_max = 1 << 30, .rate_limit = 0,
                         .max_file = 4096, .max_request = 16384, .max_connections = 64,
                         .retries = 1, .access_log = "off"};
    const char *dir = getenv("MEMGRADE_ASSIGNMENTS");
    s.catalog = grd_catalog_load(dir ? dir : MEMGRADE_SOURCE_DIR "/assignments", err, sizeof err);
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    s.access_fd = -1;
    s.rl = srv_ratelimit_new(0);
    if (!s.catalog || srv_db_init(&s) || !s.rl) {
        fprintf(stderr, "fuzz_request: setup failed: %s\n", err);
        abort();
    }
    db *d = srv_db(&s);
    uint8_t hash[AUTH_HASH_LEN];
    auth_token_hash(FUZZ_TOKEN, strlen(FUZZ_TOKEN), hash);
    if (!d || db_user_add(d, "fuzz", DB_ROLE_INSTRUCTOR, hash, NULL) != DB_OK)
        abort();
    if (!(daemon_ = api_start(&s, 0, err, sizeof err))) {
        fprintf(stderr, "fuzz_request: %s\n", err);
        abort();
    }
    atexit(remove_db);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];
    if (size > 60000 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
        return 0;
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(40000),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (MHD_add_connection(daemon_, sv[0], (struct sockaddr *)&peer, sizeof peer) != MHD_YES) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(sv[1], data + off, size - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    /* Read the first response: headers, then Content-Length bytes. An
     * input that is not a complete request gets no answer; give up after a
     * short wait (closing our end aborts it on the server side). */
    static char buf[1 << 17];
    size_t got = 0, want = 0;
    for (;;) {
        struct pollfd p = {sv[1], POLLIN, 0};
        if (poll(&p, 1, got ? 2000 : 50) <= 0)
            break;
        ssize_t n = read(sv[1], buf + got, sizeof buf - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end && !want) {
            char *cl = strcasestr(buf, "\r\nContent-Length:");
            want = (size_t)(end + 4 - buf) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
        }
        if ((want && got >= want) || got == sizeof buf - 1)
            break;
    }
    if (getenv("FUZZ_DEBUG"))
        fprintf(stderr, "response (%zu bytes): %.300s\n", got, buf);
    if (got && (got < 12 || memcmp(buf, "HTTP/1.", 7)))
        abort(); /* whatever the input, an answer is an HTTP/1.x response */
    close(sv[1]);
    return 0;
}
