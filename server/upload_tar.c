/* upload_tar: the archive side of an assignment upload, pure and bounded
 * (no I/O): gunzip with a cap on what it unpacks to, and a ustar reader
 * that keeps regular files and folders with plain relative names and
 * refuses everything else. What tests/fuzz/fuzz_upload.c drives. */
#include "upload_tar.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

int utar_gunzip(const char *in, size_t n, char **out, size_t *outlen, char *why, size_t wl)
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

int utar_parse(const char *tar, size_t n, utar_entry **out, size_t *count, char *why, size_t wl)
{
    utar_entry *e = NULL;
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
        utar_entry *ng = realloc(e, (ne + 1) * sizeof *ng);
        if (!ng) {
            snprintf(why, wl, "out of memory");
            goto fail;
        }
        e = ng;
        utar_entry *x = &e[ne];
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

