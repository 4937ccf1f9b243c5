/* cli_grade: `memgrade grade --assignment NAME [--json] [--assignments DIR]
 * FILE...` (SPEC §2): grades files offline exactly as the server would.
 * Exit 0 when a result was produced, 2 for bad usage, 1 for our failure. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "grd.h"

#define CLI_FILE_MAX (256 * 1024)
#define CLI_MAX_FILES 16

static int usage(const char *why)
{
    fprintf(stderr, "memgrade grade: %s (usage: memgrade grade --assignment NAME [--json] "
                    "[--assignments DIR] FILE...)\n", why);
    return 2;
}

static int read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    char *b = malloc(CLI_FILE_MAX + 1);
    size_t n = b ? fread(b, 1, CLI_FILE_MAX + 1, f) : 0;
    int rc = !b ? -ENOMEM : ferror(f) ? -EIO : n > CLI_FILE_MAX ? -EFBIG : 0;
    fclose(f);
    if (rc) {
        free(b);
        return rc;
    }
    b[n] = 0;
    *out = b;
    *len = n;
    return 0;
}

typedef struct {
    const char *name;
    char msg[512];
} skipped_ctx;

/* Keeps the message of the assignment asked for, if it is the one left out. */
static void note_skipped(void *ctx, const char *msg)
{
    skipped_ctx *k = ctx;
    char needle[160];
    snprintf(needle, sizeof needle, "/%.100s/manifest.json", k->name);
    if (strstr(msg, needle))
        snprintf(k->msg, sizeof k->msg, "%s", msg);
}

int cli_grade(int argc, char **argv)
{
    const char *name = NULL, *dir = cli_default_assignments();
    const char *paths[CLI_MAX_FILES];
    grd_file files[CLI_MAX_FILES];
    size_t n = 0;
    int json = 0, rc = 1;
    grd_catalog *cat = NULL;
    json_t *result = NULL;
    char err[512] = "", msg[600];
    memset(files, 0, sizeof files);

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--assignment") || !strcmp(argv[i], "--assignments")) {
            if (i + 1 >= argc) {
                snprintf(msg, sizeof msg, "%s needs a value", argv[i]);
                return usage(msg);
            }
            if (!strcmp(argv[i], "--assignments"))
                dir = argv[++i];
            else
                name = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            snprintf(msg, sizeof msg, "unknown option %.100s", argv[i]);
            return usage(msg);
        } else {
            if (n == CLI_MAX_FILES)
                return usage("too many files");
            paths[n++] = argv[i];
        }
    }
    if (!name)
        return usage("--assignment is required");
    if (!n)
        return usage("no file to grade");

    /* Another assignment's broken manifest is no reason not to grade this
     * one; this one's is, and the message says what is wrong with it. */
    skipped_ctx sk = {name, ""};
    cat = grd_catalog_open(dir, note_skipped, &sk, err, sizeof err);
    if (!cat) {
        fprintf(stderr, "memgrade grade: %s\n", err);
        return 2;
    }
    const grd_assignment *a = grd_catalog_find(cat, name);
    if (!a) {
        if (sk.msg[0])
            fprintf(stderr, "memgrade grade: %s\n", sk.msg);
        else
            fprintf(stderr, "memgrade grade: unknown assignment '%.100s'\n", name);
        rc = 2;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const char *base = strrchr(paths[i], '/');
        base = base ? base + 1 : paths[i];
        /* One file for a one-file assignment: whatever its name on disk,
         * it is graded as the file the assignment expects. */
        if (n == 1 && grd_assignment_file_count(a) == 1)
            base = grd_assignment_file(a, 0);
        bool known = false;
        for (size_t j = 0; j < grd_assignment_file_count(a); j++)
            known |= !strcmp(base, grd_assignment_file(a, j));
        for (size_t j = 0; j < i; j++)
            if (!strcmp(files[j].name, base))
                known = false;
        if (!known) {
            fprintf(stderr, "memgrade grade: %s is not a file %s expects (expects:", paths[i], name);
            for (size_t j = 0; j < grd_assignment_file_count(a); j++)
                fprintf(stderr, " %s", grd_assignment_file(a, j));
            fprintf(stderr, ")\n");
            rc = 2;
            goto out;
        }
        char *data = NULL;
        size_t len = 0;
        int r = read_file(paths[i], &data, &len);
        if (r) {
            fprintf(stderr, "memgrade grade: %s: %s\n", paths[i],
                    r == -EFBIG ? "larger than 256 KiB" : strerror(-r));
            rc = 2;
            goto out;
        }
        files[i].name = base;
        files[i].data = data;
        files[i].len = len;
    }
    if (n != grd_assignment_file_count(a)) {
        fprintf(stderr, "memgrade grade: %s expects %zu file(s), got %zu\n", name,
                grd_assignment_file_count(a), n);
        rc = 2;
        goto out;
    }
    if (grd_grade(cat, a, files, n, &result, err, sizeof err)) {
        fprintf(stderr, "memgrade grade: internal error: %s\n", err);
        rc = 1;
        goto out;
    }
    if (json) {
        char *s = json_dumps(result, JSON_INDENT(2));
        if (!s)
            goto out;
        puts(s);
        free(s);
    } else {
        char *s = grd_report_text(result, files, n);
        if (!s)
            goto out;
        fputs(s, stdout);
        free(s);
    }
    rc = fflush(stdout) ? 1 : 0;
out:
    for (size_t i = 0; i < n; i++)
        free((char *)files[i].data);
    json_decref(result);
    grd_catalog_free(cat);
    return rc;
}
