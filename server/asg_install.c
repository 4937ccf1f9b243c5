/* asg_install: unpacks an uploaded assignment folder (a gzip'd tar, read by
 * upload_tar.c: bounded, plain relative names, regular files and folders
 * only) under a staging folder inside the assignments folder, checks it as
 * `memgrade assignment check` does (the driver runs in the sandbox), and
 * moves it into place with one rename. Runs where the privileges are: the
 * grader process under `memgrade serve` (grader_proc.c). */
#include "asg_install.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "asg_check.h"
#include "auth.h"
#include "upload_tar.h"

/* One install at a time: each ends in a catalog swap. */
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

int asg_install(const char *dir, const char *gz, size_t len, char name[64], int *replaced,
                json_t **problems, char *why, size_t whylen)
{
    char *tar = NULL, stage[PATH_MAX], dest[PATH_MAX + 80], from[PATH_MAX + 80];
    size_t tarlen = 0, ne = 0;
    utar_entry *e = NULL;
    int st;
    name[0] = '\0';
    *replaced = 0;
    *problems = NULL;
    if (!len) {
        snprintf(why, whylen, "send the assignment folder as a gzip'd tar");
        return 400;
    }
    if (utar_gunzip(gz, len, &tar, &tarlen, why, whylen))
        return strstr(why, "more than") ? 413 : 400;
    if (utar_parse(tar, tarlen, &e, &ne, why, whylen)) {
        free(tar);
        return 400;
    }
    pthread_mutex_lock(&upload_mu);
    if (snprintf(stage, sizeof stage, "%s/.upload-XXXXXX", dir) >= (int)sizeof stage ||
        !mkdtemp(stage)) {
        snprintf(why, whylen, "cannot stage the upload: %s", strerror(errno));
        st = 500;
        goto unlock;
    }
    if (unpack(stage, e, ne, name, 64, why, whylen)) {
        st = 400;
        goto out;
    }
    snprintf(from, sizeof from, "%s/%s", stage, name);
    json_t *pr = json_array();
    int n = pr ? asg_check(from, name, problem_one, pr) : -1;
    if (n) {
        *problems = pr ? pr : json_array();
        snprintf(why, whylen, "the assignment did not pass the check");
        st = 422;
        goto out;
    }
    json_decref(pr);
    fsync_dir(from);
    snprintf(dest, sizeof dest, "%s/%s", dir, name);
    struct stat sb;
    *replaced = !lstat(dest, &sb);
    /* One step either way: a new folder appears whole; a replaced one
     * swaps with the old, which is then removed from the stage. */
    if (*replaced ? renameat2(AT_FDCWD, from, AT_FDCWD, dest, RENAME_EXCHANGE)
                  : rename(from, dest)) {
        snprintf(why, whylen, "cannot install the assignment: %s", strerror(errno));
        st = 500;
        goto out;
    }
    fsync_dir(dir);
    st = *replaced ? 200 : 201;
out:
    rm_tree(stage);
unlock:
    pthread_mutex_unlock(&upload_mu);
    free(e);
    free(tar);
    return st;
}

/* ---- versions --------------------------------------------------------------- */

typedef struct {
    uint8_t *p;
    size_t len, cap;
} vbuf;

static int vb_add(vbuf *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *np = realloc(b->p, cap);
        if (!np)
            return -1;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    return 0;
}

/* Appends "relpath\0" and the SHA-256 of each regular file under
 * root/rel, in name order, to b. Symbolic links are not followed. */
static int version_walk(const char *root, const char *rel, vbuf *b, int depth)
{
    char path[PATH_MAX];
    if (depth > 8 || snprintf(path, sizeof path, "%s/%s", root, rel) >= (int)sizeof path)
        return -1;
    struct dirent **ents = NULL;
    int n = scandir(path, &ents, NULL, alphasort);
    if (n < 0)
        return -1;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *nm = ents[i]->d_name;
        char sub[PATH_MAX], full[PATH_MAX];
        struct stat st;
        if (rc || !strcmp(nm, ".") || !strcmp(nm, ".."))
            continue;
        if (snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", nm) >= (int)sizeof sub ||
            snprintf(full, sizeof full, "%s/%s", root, sub) >= (int)sizeof full ||
            lstat(full, &st)) {
            rc = -1;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            rc = version_walk(root, sub, b, depth + 1);
        } else if (S_ISREG(st.st_mode) && st.st_size <= (64 << 20)) {
            int fd = open(full, O_RDONLY | O_CLOEXEC);
            char *data = fd >= 0 ? malloc((size_t)st.st_size + 1) : NULL;
            ssize_t got = data ? read(fd, data, (size_t)st.st_size) : -1;
            uint8_t h[AUTH_HASH_LEN];
            if (got == (ssize_t)st.st_size) {
                auth_sha256(data, (size_t)got, h);
                rc = vb_add(b, sub, strlen(sub) + 1) || vb_add(b, h, sizeof h) ? -1 : 0;
            } else {
                rc = -1;
            }
            free(data);
            if (fd >= 0)
                close(fd);
        }
    }
    for (int i = 0; i < n; i++)
        free(ents[i]);
    free(ents);
    return rc;
}

int asg_version(const char *dir, const char *name, char out[65])
{
    char root[PATH_MAX];
    vbuf b = {0};
    if (snprintf(root, sizeof root, "%s/%s", dir, name) >= (int)sizeof root ||
        version_walk(root, "", &b, 0)) {
        free(b.p);
        return -1;
    }
    uint8_t h[AUTH_HASH_LEN];
    auth_sha256(b.p ? (const void *)b.p : "", b.len, h);
    free(b.p);
    for (int i = 0; i < AUTH_HASH_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
    return 0;
}
