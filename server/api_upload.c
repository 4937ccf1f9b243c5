/* api_upload: POST /api/v1/assignments (SPEC §6): a global instructor
 * uploads an assignment folder as a gzip'd tar (the body, or the one file
 * part of a multipart form). upload_tar.c reads the archive (bounded, plain
 * relative names, regular files and folders only); here it is unpacked
 * under a staging folder inside the assignments folder, checked as
 * `memgrade assignment check` does (the driver runs in the sandbox), moved
 * into place with one rename and served without a restart. */
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

#include "api_int.h"
#include "asg_check.h"
#include "upload_tar.h"

#define UP_MAX_BODY (8u << 20)      /* compressed */

/* One upload at a time: each ends in a catalog swap. */
static pthread_mutex_t upload_mu = PTHREAD_MUTEX_INITIALIZER;

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
static int unpack(const char *stage, const utar_entry *e, size_t ne, char *name, size_t namelen,
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
    utar_entry *e = NULL;
    int st;
    if (!r->json_len)
        return reply_error(r, 400, "send the assignment folder as a gzip'd tar");
    if (utar_gunzip(r->json, r->json_len, &tar, &tarlen, why, sizeof why))
        return reply_error(r, strstr(why, "more than") ? 413 : 400, "%s", why);
    if (utar_parse(tar, tarlen, &e, &ne, why, sizeof why)) {
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
