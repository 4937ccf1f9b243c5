/* libFuzzer target: what an LMS (or a forger) sends the LTI side as a
 * token: base64url decoding and the compact JWS checks of lti_jwt.c, run
 * as the tool verifies its own tokens (the same code path as an id_token,
 * minus the network), and the Score URL of a line item. Refusals are the
 * expected outcome; a crash, leak or sanitizer report is a bug. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lti.h"
#include "lti_int.h"

static db *d;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char path[] = "/tmp/mgfuzzjwt.XXXXXX", err[300];
    int fd = mkstemp(path);
    if (fd < 0)
        abort();
    close(fd);
    d = db_open(path, err, sizeof err);
    if (!d || lti_keys_ensure(d, err, sizeof err)) {
        fprintf(stderr, "fuzz_jwt: %s\n", err);
        abort();
    }
    unlink(path); /* the open connection keeps it */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    unsigned char *raw = NULL;
    size_t n = 0;
    if (!lti_b64url_decode(s, size, &raw, &n)) {
        char *back = lti_b64url_encode(raw, n);
        /* what decodes re-encodes to a string that decodes the same */
        unsigned char *again = NULL;
        size_t m = 0;
        if (!back || lti_b64url_decode(back, strlen(back), &again, &m) || m != n ||
            memcmp(again, raw, n))
            abort();
        free(again);
        free(back);
    }
    free(raw);
    json_t *claims = NULL;
    char err[300];
    if (strlen(s) == size) {
        int rc = lti_jwt_verify_own(d, s, &claims, err, sizeof err);
        if (rc == 0 && !json_is_object(claims))
            abort();
        json_decref(claims);
        char url[256];
        lti_scores_url(s, url, sizeof url);
    }
    free(s);
    return 0;
}
