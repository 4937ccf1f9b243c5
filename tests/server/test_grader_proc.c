/* The privileged grader process (server/grader_proc.c) spoken to as a
 * compromised HTTP side would: raw frames on its channels, malformed,
 * oversized, truncated, unknown. The grader must answer each with an error
 * or end that one conversation, and stay up: after all of it, a real grade
 * of the bundled addrspace reference on another channel still works.
 *
 * usage: test_grader_proc ASSIGNMENTS_DIR. Needs root (the grader runs
 * the reference in the sandbox). Exit status = failures. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "grader_proc.h"

static int failures;
#define CHECK(cond, what)                                                  \
    do {                                                                   \
        if (cond) printf("ok   %s\n", what);                               \
        else { printf("FAIL %s (%s:%d)\n", what, __FILE__, __LINE__); failures++; } \
    } while (0)

enum { NCHAN = 12 };

/* ---- frames ------------------------------------------------------------------ */

typedef struct {
    unsigned char b[1 << 16];
    size_t n;
} frame;

static void put(frame *f, const void *p, size_t n)
{
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

static void put_uint(frame *f, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        f->b[f->n++] = (unsigned char)(v >> (8 * i));
}

/* A string with a length of lenbytes before it; claim is the length the
 * header says (normally n). */
static void put_str(frame *f, const char *s, size_t n, size_t claim, int lenbytes)
{
    put_uint(f, claim, lenbytes);
    put(f, s, n);
}

static int send_raw(int fd, const void *p, size_t n)
{
    return send(fd, p, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* The frame with its 4-byte length header (hdr_len, normally f->n), in
 * one send: the grader may close as soon as it has read the header. */
static int send_frame(int fd, const frame *f, uint32_t hdr_len)
{
    static unsigned char buf[4 + sizeof f->b];
    for (int i = 0; i < 4; i++)
        buf[i] = (unsigned char)(hdr_len >> (8 * i));
    memcpy(buf + 4, f->b, f->n);
    return send_raw(fd, buf, 4 + f->n);
}

/* Waits up to ms for fd to become readable; then reads one reply frame
 * into *out (malloc'd, *len). 1: the grader closed the conversation; 0: a
 * reply; -1: no answer in time. */
static int read_reply(int fd, unsigned char **out, size_t *len, int ms)
{
    *out = NULL;
    struct pollfd p = {fd, POLLIN, 0};
    int pr = poll(&p, 1, ms);
    if (pr != 1) {
        printf("     (no answer: %s)\n", pr < 0 ? strerror(errno) : "timed out");
        return -1;
    }
    unsigned char h[4];
    ssize_t r = recv(fd, h, 4, MSG_WAITALL);
    if (r == 0 || (r < 0 && errno == ECONNRESET)) /* closed, some of ours unread */
        return 1;
    if (r != 4) {
        printf("     (a reply cut short: %s)\n", r < 0 ? strerror(errno) : "short");
        return -1;
    }
    size_t n = (size_t)h[0] | (size_t)h[1] << 8 | (size_t)h[2] << 16 | (size_t)h[3] << 24;
    *out = malloc(n + 1);
    if (!*out || recv(fd, *out, n, MSG_WAITALL) != (ssize_t)n) {
        free(*out);
        *out = NULL;
        return -1;
    }
    (*out)[n] = '\0';
    *len = n;
    return 0;
}

/* A GRADE reply: failed flag, version, error text, document text. */
typedef struct {
    int failed;
    char err[600];
    char *doc;
} grade_reply;

static int parse_grade(const unsigned char *p, size_t len, grade_reply *g)
{
    size_t off = 0;
    memset(g, 0, sizeof *g);
    if (len < 1)
        return -1;
    g->failed = p[off++];
    for (int k = 0; k < 2; k++) { /* version, then err (u16 lengths) */
        if (len - off < 2)
            return -1;
        size_t n = (size_t)p[off] | (size_t)p[off + 1] << 8;
        off += 2;
        if (len - off < n)
            return -1;
        if (k == 1)
            snprintf(g->err, sizeof g->err, "%.*s", (int)n, (const char *)p + off);
        off += n;
    }
    if (len - off < 4)
        return -1;
    size_t n = (size_t)p[off] | (size_t)p[off + 1] << 8 | (size_t)p[off + 2] << 16 |
               (size_t)p[off + 3] << 24;
    off += 4;
    if (len - off < n)
        return -1;
    g->doc = strndup((const char *)p + off, n);
    return 0;
}

/* A grade request of assignment with the given files (name, content). */
static void grade_req(frame *f, const char *assignment, size_t nfiles, const char *const *names,
                      const char *const *datas)
{
    f->n = 0;
    put_uint(f, 'G', 1);
    put_str(f, assignment, strlen(assignment), strlen(assignment), 2);
    put_uint(f, nfiles, 4);
    for (size_t i = 0; i < nfiles; i++) {
        put_str(f, names[i], strlen(names[i]), strlen(names[i]), 2);
        put_str(f, datas[i], strlen(datas[i]), strlen(datas[i]), 4);
    }
    put_uint(f, 0, 1); /* nice */
}

/* Sends f on fd and expects a GRADE reply that failed with a message
 * containing want. */
static void expect_refused(int fd, const frame *f, const char *want, const char *what)
{
    unsigned char *rep = NULL;
    size_t len;
    grade_reply g = {0};
    int ok = !send_frame(fd, f, (uint32_t)f->n) && !read_reply(fd, &rep, &len, 10000) &&
             !parse_grade(rep, len, &g) && g.failed && strstr(g.err, want) && g.doc && !*g.doc;
    if (!ok)
        printf("     (got failed=%d err=\"%s\")\n", g.failed, g.err);
    CHECK(ok, what);
    free(g.doc);
    free(rep);
}

static int grader_alive(void)
{
    return gp_pid() > 0 && kill(gp_pid(), 0) == 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_grader_proc ASSIGNMENTS_DIR\n");
        return 2;
    }
    if (geteuid() != 0) {
        printf("FAIL the grader runs student code in the sandbox: run as root\n");
        return 1;
    }
    char err[512];
    if (gp_start(argv[1], NULL, NCHAN, err, sizeof err)) {
        printf("FAIL gp_start: %s\n", err);
        return 1;
    }
    frame *f = calloc(1, sizeof *f);
    unsigned char *rep = NULL;
    size_t len;
    if (!f)
        return 1;

    /* 0: an operation the grader does not know ends the conversation. */
    f->n = 0;
    put_uint(f, 'Z', 1);
    CHECK(!send_frame(gp_channel_fd(0), f, (uint32_t)f->n) &&
              read_reply(gp_channel_fd(0), &rep, &len, 10000) == 1,
          "unknown operation: the grader closes that channel");
    free(rep);

    /* 1: a length past the largest message, with nothing after it. */
    f->n = 0;
    CHECK(!send_frame(gp_channel_fd(1), f, 0xffffffffu) &&
              read_reply(gp_channel_fd(1), &rep, &len, 10000) == 1,
          "a 4 GiB length header: the channel is closed, nothing allocated for it");
    free(rep);

    /* 2: an empty message (no operation byte). */
    f->n = 0;
    CHECK(!send_frame(gp_channel_fd(2), f, 0) &&
              read_reply(gp_channel_fd(2), &rep, &len, 10000) == 1,
          "an empty message: the channel is closed");
    free(rep);

    /* 3: a message that says 1000 bytes, sends 10 and stops writing. */
    f->n = 0;
    put_uint(f, 'G', 1);
    put_str(f, "abc", 3, 3, 2);
    put_uint(f, 7, 4); /* 10 bytes in all */
    CHECK(!send_frame(gp_channel_fd(3), f, 1000) && !shutdown(gp_channel_fd(3), SHUT_WR) &&
              read_reply(gp_channel_fd(3), &rep, &len, 10000) == 1,
          "a truncated message: the channel ends");
    free(rep);

    /* 4: a half-sent header that never completes must not hold the other
     * channels (each is served on its own). */
    CHECK(!send_raw(gp_channel_fd(4), "\x10\x00", 2), "half a header left pending on channel 4");

    /* 5: malformed grade requests, one conversation: each is answered. */
    int c5 = gp_channel_fd(5);
    const char *src = "int main(void) { return 0; }\n";
    {
        const char *names[65], *datas[65];
        for (int i = 0; i < 65; i++)
            names[i] = "f.c", datas[i] = src;
        grade_req(f, "addrspace", 65, names, datas);
        expect_refused(c5, f, "malformed", "65 files: refused as malformed");
    }
    static const struct { const char *name, *why; } bad_names[] = {
        {"../addrspace.c", "a file name with a slash: refused"},
        {"..", "a file named '..': refused"},
        {".", "a file named '.': refused"},
        {"", "an empty file name: refused"},
        {"/etc/passwd", "an absolute file name: refused"},
    };
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        const char *names[1] = {bad_names[i].name}, *datas[1] = {src};
        grade_req(f, "addrspace", 1, names, datas);
        expect_refused(c5, f, "malformed", bad_names[i].why);
    }
    {
        char longname[200];
        memset(longname, 'a', sizeof longname - 1);
        longname[sizeof longname - 1] = '\0';
        const char *names[1] = {longname}, *datas[1] = {src};
        grade_req(f, "addrspace", 1, names, datas);
        expect_refused(c5, f, "malformed", "a 199-byte file name: refused");
    }
    /* A NUL inside a name. */
    f->n = 0;
    put_uint(f, 'G', 1);
    put_str(f, "addrspace", 9, 9, 2);
    put_uint(f, 1, 4);
    put_str(f, "a\0b.c", 5, 5, 2);
    put_str(f, src, strlen(src), strlen(src), 4);
    expect_refused(c5, f, "malformed", "a NUL inside a file name: refused");
    /* A file whose length runs past the message's end. */
    f->n = 0;
    put_uint(f, 'G', 1);
    put_str(f, "addrspace", 9, 9, 2);
    put_uint(f, 1, 4);
    put_str(f, "addrspace.c", 11, 11, 2);
    put_str(f, src, strlen(src), 0xfffffff0u, 4);
    expect_refused(c5, f, "malformed", "a file length past the message's end: refused");
    /* A count of files past what the message holds. */
    f->n = 0;
    put_uint(f, 'G', 1);
    put_str(f, "addrspace", 9, 9, 2);
    put_uint(f, 3, 4);
    put_str(f, "addrspace.c", 11, 11, 2);
    put_str(f, src, strlen(src), strlen(src), 4);
    expect_refused(c5, f, "malformed", "more files counted than sent: refused");
    /* A priority past the last nice level, and none at all. */
    {
        const char *names[1] = {"addrspace.c"}, *datas[1] = {src};
        grade_req(f, "addrspace", 1, names, datas);
        f->b[f->n - 1] = 20;
        expect_refused(c5, f, "malformed", "nice 20: refused");
        f->n--;
        expect_refused(c5, f, "malformed", "no nice byte: refused");
    }
    /* An assignment name longer than any, and names not in the catalog. */
    {
        char longa[100];
        memset(longa, 'x', sizeof longa - 1);
        longa[sizeof longa - 1] = '\0';
        const char *names[1] = {"addrspace.c"}, *datas[1] = {src};
        grade_req(f, longa, 1, names, datas);
        expect_refused(c5, f, "malformed", "a 99-byte assignment name: refused");
        grade_req(f, "../assignments/addrspace", 1, names, datas);
        expect_refused(c5, f, "not in the grader's catalog",
                       "an assignment given as a path: not in the catalog");
        grade_req(f, "no-such-assignment", 1, names, datas);
        expect_refused(c5, f, "not in the grader's catalog",
                       "an unknown assignment: not in the catalog");
    }

    /* 6: an install of bytes that are no gzip'd tar: a 400, no install. */
    f->n = 0;
    put_uint(f, 'I', 1);
    put_str(f, "not a tarball", 13, 13, 4);
    {
        int ok = !send_frame(gp_channel_fd(6), f, (uint32_t)f->n) &&
                 !read_reply(gp_channel_fd(6), &rep, &len, 10000) && len >= 2;
        int st = ok ? rep[0] | rep[1] << 8 : 0;
        if (ok && st != 400)
            printf("     (status %d)\n", st);
        CHECK(ok && st == 400, "an install of garbage: answered 400");
        free(rep);
    }
    /* An install whose archive length runs past the message. */
    f->n = 0;
    put_uint(f, 'I', 1);
    put_str(f, "abc", 3, 1u << 30, 4);
    {
        int ok = !send_frame(gp_channel_fd(6), f, (uint32_t)f->n) &&
                 !read_reply(gp_channel_fd(6), &rep, &len, 10000) && len >= 2;
        int st = ok ? rep[0] | rep[1] << 8 : 0;
        CHECK(ok && st == 400, "an install whose length lies: answered 400");
        free(rep);
    }

    /* 7: reopening the log when the grader was given none: an error code,
     * no descriptor. */
    f->n = 0;
    put_uint(f, 'L', 1);
    {
        int ok = !send_frame(gp_channel_fd(7), f, (uint32_t)f->n) &&
                 !read_reply(gp_channel_fd(7), &rep, &len, 10000) && len == 4;
        int e = ok ? rep[0] | rep[1] << 8 : 0;
        CHECK(ok && e == ENOENT, "reopening a log it was not given: ENOENT");
        free(rep);
    }

    CHECK(grader_alive(), "the grader process is still running");

    /* 8: after all that, the grader still grades: the addrspace reference
     * through the real client call, on a channel of its own. */
    {
        char path[4096];
        snprintf(path, sizeof path, "%s/addrspace/reference/addrspace.c", argv[1]);
        FILE *fp = fopen(path, "rb");
        static char data[1 << 16];
        size_t n = fp ? fread(data, 1, sizeof data - 1, fp) : 0;
        if (fp)
            fclose(fp);
        grd_file files[1] = {{.name = "addrspace.c", .data = data, .len = n}};
        json_t *doc = NULL;
        char version[65];
        int rc = n ? gp_grade(8, "addrspace", files, 1, 0, &doc, version, err, sizeof err) : -1;
        const char *status = json_string_value(json_object_get(doc, "status"));
        double score = json_number_value(json_object_get(doc, "score"));
        double max = json_number_value(json_object_get(doc, "max_score"));
        if (rc)
            printf("     (%s)\n", err);
        CHECK(rc == 0 && status && !strcmp(status, "graded") && max > 0 && score == max &&
                  strlen(version) == 64,
              "a real grade afterwards: the reference scores full marks");
        json_decref(doc);
    }
    /* And the conversation with malformed requests goes on, too. */
    {
        const char *names[1] = {"x/y.c"}, *datas[1] = {src};
        grade_req(f, "addrspace", 1, names, datas);
        expect_refused(c5, f, "malformed", "the malformed-request channel still answers");
    }
    CHECK(grader_alive(), "the grader process is still running at the end");
    free(f);
    gp_stop();
    printf("%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
