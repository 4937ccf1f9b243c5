/* libFuzzer target: the JSON submission parser and validator (api_submit)
 * against the real assignment catalog. Any crash, leak or sanitizer report
 * is a bug; refusals are the expected outcome for most inputs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_submit.h"

static grd_catalog *catalog;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char err[512];
    const char *dir = getenv("MEMGRADE_ASSIGNMENTS");
    catalog = grd_catalog_load(dir ? dir : MEMGRADE_SOURCE_DIR "/assignments", err, sizeof err);
    if (!catalog) {
        fprintf(stderr, "fuzz_submit: %s\n", err);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Small limits so the size checks are reachable with small inputs. */
    api_sub *s = api_sub_new(catalog, 512, 2048);
    if (!s)
        return 0;
    int st = api_sub_json(s, (const char *)data, size);
    if (!st)
        st = api_sub_finish(s);
    if (st == 0) {
        /* Accepted: every file is one the assignment expects, within limits. */
        const grd_assignment *a = api_sub_assignment(s);
        if (!a || api_sub_file_count(s) != grd_assignment_file_count(a))
            abort();
        for (size_t i = 0; i < api_sub_file_count(s); i++)
            if (api_sub_files(s)[i].len > 512)
                abort();
        uint8_t d1[32], d2[32];
        if (api_sub_digest(s, d1) || api_sub_digest(s, d2) || memcmp(d1, d2, 32))
            abort();
    } else if (st != 400 && st != 413 && st != 500) {
        abort();
    }
    api_sub_free(s);
    return 0;
}
