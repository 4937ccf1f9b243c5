/* libFuzzer target: the upload archive reader (upload_tar). Input starting
 * with the gzip magic goes through utar_gunzip first; anything else is read
 * as a plain tar. Every entry that comes out must have a clean relative
 * path: a crash, a leak, a sanitizer report or a path that could leave its
 * folder is a bug. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upload_tar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[512], *tar = NULL;
    size_t n = size, count = 0;
    const char *in = (const char *)data;
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
        if (utar_gunzip(in, size, &tar, &n, why, sizeof why))
            return 0;
        in = tar;
    }
    utar_entry *e = NULL;
    if (!utar_parse(in, n, &e, &count, why, sizeof why)) {
        for (size_t i = 0; i < count; i++) {
            const char *p = e[i].path;
            if (!*p || p[0] == '/' || strstr(p, "//") || strstr(p, "/.") ||
                p[0] == '.' || e[i].size > UP_MAX_FILE)
                abort();
        }
    }
    free(e);
    free(tar);
    return 0;
}
