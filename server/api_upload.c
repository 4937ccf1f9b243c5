/* api_upload: POST /api/v1/assignments (SPEC §6): a global instructor
 * uploads an assignment folder as a gzip'd tar (the body, or the one file
 * part of a multipart form). The archive is unpacked under a staging
 * folder inside the assignments folder by our own bounded tar reader that
 * accepts regular files and folders with plain relative names only (no
 * absolute paths, no "..", no links, no devices), within size caps that
 * stop a gzip bomb; checked as `memgrade assignment check` does (the
 * driver runs in the sandbox); then moved into place with one rename and
 * served without a restart. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <zlib.h>

#include "api_int.h"
#include "asg_check.h"

#define UP_MAX_BODY (8u << 20)      /* compressed */
#define UP_MAX_TOTAL (32u << 20)    /* unpacked, all of it */
#define UP_MAX_FILE (4u << 20)
#define UP_MAX_ENTRIES 512
#define UP_MAX_DEPTH 6

/* One upload at a time: each ends in a catalog swap. */
static pthread_mutex_t upload_mu = PTHREAD_MUTEX_INITIALIZER;

/* gunzips in[0..n) into a malloc'd buffer of at most UP_MAX_TOTAL + 1024
 * bytes (a tar's end blocks). 0, or a message in why. */
static int gunzip(const char *in, size_t n, char **out, size_t *outlen, char *why, size_t wl)
{
    size_t cap = UP_MAX_TOTAL + 1024 * 20;
    z_stream z;
    memset(&z, 0, sizeof z);
    *out = NULL;
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
        snprintf(why, wl, "out of memory");
        return -1;
    }
    char *buf = NULL;
    size_t len = 0, bcap = 0;
    int rc = Z_OK;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    while (rc != Z_STREAM_END) {
        if (len == bcap) {
            if (bcap >= cap) {
                snprintf(why, wl, "the archive unpacks to more than %u MiB", UP_MAX_TOTAL >> 20);
                goto fail;
            }
            size_t nc = bcap ? bcap * 2 : 1u << 16;
            if (nc > cap)
                nc = cap;
            char *nb = realloc(buf, nc);
            if (!nb) {
                snprintf(why, wl, "out of memory");
                goto fail;
            }
            buf = nb;
            bcap = nc;
        }
        z.next_out = (Bytef *)buf + len;
        z.avail_out = (uInt)(bcap - len);
        rc = inflate(&z, Z_NO_FLUSH);
        len = bcap - z.avail_out;
        if (rc == Z_STREAM_END)
            break;
        if (rc != Z_OK && !(rc == Z_BUF_ERROR && z.avail_out == 0)) {
            snprintf(why, wl, "not a gzip stream%s", z.msg ? ": " : "");
            if (z.msg)
                snprintf(why + strlen(why), wl - strlen(why), "%s", z.msg);
            goto fail;
        }
        if (z.avail_in == 0 && z.avail_out != 0) {
            snprintf(why, wl, "the gzip stream is truncated");
            goto fail;
        }
    }
    inflateEnd(&z);
    *out = buf;
    *outlen = len;
    return 0;
fail:
    inflateEnd(&z);
    free(buf);
    return -1;
}

/* An entry of the archive, pointing into the unpacked buffer. */
typedef struct {
    char path[264];   /* prefix (155) / name (100) */
    int dir;
    const char *data;
    size_t size;
} up_entry;

static int octal(const char *p, size_t n, size_t *v)
{
    *v = 0;
    size_t i = 0;
    while (i < n && p[i] == ' ')
        i++;
    if (i == n || p[i] < '0' || p[i] > '7')
        return -1;
    for (; i < n && p[i] >= '0' && p[i] <= '7'; i++) {
        if (*v > (SIZE_MAX >> 3))
            return -1;
        *v = *v * 8 + (size_t)(p[i] - '0');
    }
    return i == n || p[i] == ' ' || p[i] == '\0' ? 0 : -1;
}

/* A plain relative path of components [A-Za-z0-9_.-]+ not starting with a
 * dot, at most UP_MAX_DEPTH deep. "./" prefixes and a trailing "/" are
 * dropped first. */
static int clean_path(char *p, char *why, size_t wl)
{
    while (!strncmp(p, "./", 2))
        memmove(p, p + 2, strlen(p + 2) + 1);
    size_t n = strlen(p);
    while (n && p[n - 1] == '/')
        p[--n] = '\0';
    if (!n) {
        snprintf(why, wl, "an entry has an empty name");
        return -1;
    }
    if (p[0] == '/') {
        snprintf(why, wl, "%.100s: absolute paths are not accepted", p);
        return -1;
    }
    int depth = 0;
    for (char *c = p; *c;) {
        size_t k = strcspn(c, "/");
        if (k == 0 || c[0] == '.') {
            snprintf(why, wl, "%.100s: '..', hidden names and empty path components are not "
                              "accepted", p);
            return -1;
        }
        if (strspn(c, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") < k) {
            snprintf(why, wl, "%.100s: names are letters, digits, '.', '_' and '-' only", p);
            return -1;
        }
        if (++depth > UP_MAX_DEPTH) {
            snprintf(why, wl, "%.100s: nested too deep", p);
            return -1;
        }
        c += k + (c[k] == '/');
    }
    return 0;
}

/* Reads the ustar archive tar[0..n) into entries (malloc'd). 0, or a
 * message. */
static int untar(const char *tar, size_t n, up_entry **out, size_t *count, char *why, size_t wl)
{
    up_entry *e = NULL;
    size_t ne = 0, total = 0, off = 0;
    *out = NULL;
    *count = 0;
    while (off + 512 <= n) {
        const unsigned char *h = (const unsigned char *)tar + off;
        int zero = 1;
        for (int i = 0; i < 512 && zero; i++)
            zero = h[i] == 0;
        if (zero)
            break; /* the end blocks */
        size_t sum = 0, want;
        for (int i = 0; i < 512; i++)
            sum += i >= 148 && i < 156 ? ' ' : h[i];
        size_t size;
        if (octal((const char *)h + 148, 8, &want) || want != sum ||
            octal((const char *)h + 124, 12, &size)) {
            snprintf(why, wl, "not a tar archive (bad header at byte %zu)", off);
            goto fail;
        }
        char type = (char)h[156];
        size_t blocks = (size + 511) / 512;
        if (size > n || off + 512 + blocks * 512 > n) {
            snprintf(why, wl, "the tar archive is truncated");
            goto fail;
        }
        const char *data = tar + off + 512;
        off += 512 + blocks * 512;
        if (type == 'x' || type == 'g')
            continue; /* pax attributes: the plain name below is the one used */
        if (type == '1' || type == '2') {
            snprintf(why, wl, "%.100s: links are not accepted", (const char *)h);
            goto fail;
        }
        if (type != '0' && type != '\0' && type != '7' && type != '5') {
            snprintf(why, wl, "%.100s: only regular files and folders are accepted "
                              "(type '%c')", (const char *)h, type > 32 && type < 127 ? type : '?');
            goto fail;
        }
        if (ne == UP_MAX_ENTRIES) {
            snprintf(why, wl, "more than %d entries", UP_MAX_ENTRIES);
            goto fail;
        }
        up_entry *ng = realloc(e, (ne + 1) * sizeof *ng);
        if (!ng) {
            snprintf(why, wl, "out of memory");
            goto fail;
        }
        e = ng;
        up_entry *x = &e[ne];
        memset(x, 0, sizeof *x);
        char name[101], prefix[156];
        memcpy(name, h, 100);
        name[100] = '\0';
        memcpy(prefix, h + 345, 155);
        prefix[155] = '\0';
        if (!memcmp(h + 257, "ustar", 5) && prefix[0])
            snprintf(x->path, sizeof x->path, "%s/%s", prefix, name);
        else
            snprintf(x->path, sizeof x->path, "%s", name);
        if (clean_path(x->path, why, wl))
            goto fail;
        x->dir = type == '5';
        if (!x->dir && size > UP_MAX_FILE) {
            snprintf(why, wl, "%.100s: larger than %u MiB", x->path, UP_MAX_FILE >> 20);
            goto fail;
        }
        total += size;
        x->data = data;
        x->size = x->dir ? 0 : size;
        ne++;
    }
    (void)total;
    *out = e;
    *count = ne;
    return 0;
fail:
    free(e);
    return -1;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void rm_tree(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Creates the folders leading to rel under root (a descriptor), and rel
 * itself when dir. */
static int make_dirs(int root, const char *rel, int dir)
{
    char p[264];
    snprintf(p, sizeof p, "%s", rel);
    for (char *c = p; (c = strchr(c, '/')); c++) {
        *c = '\0';
        if (mkdirat(root, p, 0755) && errno != EEXIST)
            return -1;
        *c = '/';
    }
    return dir && mkdirat(root, p, 0755) && errno != EEXIST ? -1 : 0;
}

/* Writes the entries under stage (a fresh folder) as NAME/...: each file
 * created new (O_EXCL, O_NOFOLLOW) and synced. 0, or a message. */
static int unpack(const char *stage, const up_entry *e, size_t ne, char *name, size_t namelen,
                  char *why, size_t wl)
{
    int root = open(stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = -1;
    name[0] = '\0';
    if (root < 0) {
        snprintf(why, wl, "cannot stage the upload: %s", strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < ne; i++) {
        size_t top = strcspn(e[i].path, "/");
        if (!name[0]) {
            if (top >= namelen || top > 32) {
                snprintf(why, wl, "the assignment folder's name is too long");
                goto out;
            }
            snprintf(name, namelen, "%.*s", (int)top, e[i].path);
        }
        if (strncmp(e[i].path, name, top) || strlen(name) != top ||
            (!e[i].path[top] && !e[i].dir)) {
            snprintf(why, wl, "the archive must hold one folder, the assignment's "
                              "(%.64s is outside %s/)", e[i].path, name);
            goto out;
        }
        if (make_dirs(root, e[i].path, e[i].dir)) {
            snprintf(why, wl, "%.100s: %s", e[i].path, strerror(errno));
            goto out;
        }
        if (e[i].dir)
            continue;
        int fd = openat(root, e[i].path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        0644);
        if (fd < 0) {
            snprintf(why, wl, "%.100s: %s", e[i].path,
                     errno == EEXIST ? "given twice" : strerror(errno));
            goto out;
        }
        size_t done = 0;
        while (done < e[i].size) {
            ssize_t w = write(fd, e[i].data + done, e[i].size - done);
            if (w <= 0)
                break;
            done += (size_t)w;
        }
        int ok = done == e[i].size && !fsync(fd);
        close(fd);
        if (!ok) {
            snprintf(why, wl, "%.100s: cannot store it", e[i].path);
            goto out;
        }
    }
    if (!name[0]) {
        snprintf(why, wl, "the archive is empty");
        goto out;
    }
    rc = 0;
out:
    close(root);
    return rc;
}

static void fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static void problem_one(void *ctx, const char *msg)
{
    json_array_append_new(ctx, json_string(msg));
}

static int h_upload(api_req *r)
{
    if (r->pending)
        return reply_error(r, r->pending, "%s", r->pending_msg);
    if (r->pp) {
        enum MHD_Result ok = MHD_destroy_post_processor(r->pp);
        r->pp = NULL;
        if (ok != MHD_YES)
            return reply_error(r, 400, "malformed multipart body");
    }
    char why[512] = "", *tar = NULL, stage[PATH_MAX], name[64], dest[PATH_MAX + 80],
         from[PATH_MAX + 80];
    size_t tarlen = 0, ne = 0;
    up_entry *e = NULL;
    int st;
    if (!r->json_len)
        return reply_error(r, 400, "send the assignment folder as a gzip'd tar");
    if (gunzip(r->json, r->json_len, &tar, &tarlen, why, sizeof why))
        return reply_error(r, strstr(why, "more than") ? 413 : 400, "%s", why);
    if (untar(tar, tarlen, &e, &ne, why, sizeof why)) {
        free(tar);
        return reply_error(r, 400, "%s", why);
    }
    pthread_mutex_lock(&upload_mu);
    snprintf(stage, sizeof stage, "%s/.upload-XXXXXX", r->s->cfg.assignments);
    if (!mkdtemp(stage)) {
        st = reply_error(r, 500, "cannot stage the upload: %s", strerror(errno));
        goto unlock;
    }
    if (unpack(stage, e, ne, name, sizeof name, why, sizeof why)) {
        st = reply_error(r, 400, "%s", why);
        goto out;
    }
    snprintf(from, sizeof from, "%s/%s", stage, name);
    json_t *problems = json_array();
    int n = problems ? asg_check(from, name, problem_one, problems) : -1;
    if (n) {
        json_t *doc = json_pack("{s:s, s:o}", "error", "the assignment did not pass the check",
                                "problems", problems ? problems : json_array());
        st = reply_json(r, 422, doc);
        goto out;
    }
    json_decref(problems);
    fsync_dir(from);
    snprintf(dest, sizeof dest, "%s/%s", r->s->cfg.assignments, name);
    struct stat sb;
    int replaced = !lstat(dest, &sb);
    /* One step either way: a new folder appears whole; a replaced one
     * swaps with the old, which is then removed from the stage. */
    if (replaced ? renameat2(AT_FDCWD, from, AT_FDCWD, dest, RENAME_EXCHANGE)
                 : rename(from, dest)) {
        st = reply_error(r, 500, "cannot install the assignment: %s", strerror(errno));
        goto out;
    }
    fsync_dir(r->s->cfg.assignments);
    grd_catalog *c = grd_catalog_open(r->s->cfg.assignments, NULL, NULL, why, sizeof why);
    if (!c || srv_catalog_swap(r->s, c)) {
        grd_catalog_free(c);
        st = reply_error(r, 500, "installed, but the catalog could not be reloaded: %s", why);
        goto out;
    }
    const grd_assignment *a = grd_catalog_find(c, name);
    snprintf(r->location, sizeof r->location, "/api/v1/assignments");
    json_t *doc = a ? grd_assignment_json(a) : json_pack("{s:s}", "name", name);
    json_object_set_new(doc, "replaced", json_boolean(replaced));
    if (replaced)
        json_object_set_new(doc, "regrade",
                            json_string("submissions graded against the old version keep "
                                        "their results: POST /api/v1/courses/COURSE/"
                                        "assignments/NAME/regrade regrades them"));
    st = reply_json(r, replaced ? 200 : 201, doc);
out:
    rm_tree(stage);
unlock:
    pthread_mutex_unlock(&upload_mu);
    free(e);
    free(tar);
    return st;
}

static enum MHD_Result upload_part(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *filename, const char *content_type,
                                   const char *transfer_encoding, const char *data,
                                   uint64_t off, size_t size)
{
    api_req *r = cls;
    (void)kind, (void)key, (void)content_type, (void)transfer_encoding;
    if (!filename)
        return MHD_YES; /* plain fields carry nothing we need */
    if (off != r->json_len || r->json_len + size > UP_MAX_BODY)
        return MHD_NO; /* a second file, or too big */
    char *nj = realloc(r->json, r->json_len + size + 1);
    if (!nj)
        return MHD_NO;
    r->json = nj;
    memcpy(r->json + r->json_len, data, size);
    r->json_len += size;
    return MHD_YES;
}

static int upload_begin(api_req *r)
{
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t base = ct ? strcspn(ct, ";") : 0;
    while (base && ct[base - 1] == ' ')
        base--;
    r->body_max = UP_MAX_BODY;
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > UP_MAX_BODY)
        return reply_error(r, 413, "an upload is at most %u MiB", UP_MAX_BODY >> 20);
    static const char *const gz[] = {"application/gzip", "application/x-gzip",
                                     "application/x-tar+gzip", "application/octet-stream"};
    for (size_t i = 0; ct && i < sizeof gz / sizeof gz[0]; i++)
        if (base == strlen(gz[i]) && !strncasecmp(ct, gz[i], base))
            return 0;
    if (ct && base == 19 && !strncasecmp(ct, "multipart/form-data", 19)) {
        r->pp = MHD_create_post_processor(r->conn, 16 * 1024, upload_part, r);
        return r->pp ? 0 : reply_error(r, 400, "multipart/form-data without a boundary");
    }
    return reply_error(r, 415, "send application/gzip (a .tar.gz of the folder) or "
                               "multipart/form-data");
}

const api_route api_upload_routes[] = {
    {"POST", "/api/v1/assignments", h_upload, AUTH_INSTRUCTOR, upload_begin},
};
const size_t api_upload_nroutes = sizeof api_upload_routes / sizeof api_upload_routes[0];
