/* Units of the LTI files through their real interfaces: base64url (the
 * alphabet, padding and lengths RFC 4648 §5 allows, nothing else), the
 * Score URL of a line item with a query string, RSA keys as JWKs, and
 * tokens the tool signs and checks itself, on a real database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lti.h"
#include "lti_int.h"

static int failures;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (cond) {                                                            \
            printf("ok   ");                                                   \
        } else {                                                               \
            printf("FAIL ");                                                   \
            failures++;                                                        \
        }                                                                      \
        printf(__VA_ARGS__);                                                   \
        printf("\n");                                                          \
    } while (0)

static void test_b64(void)
{
    static const struct {
        const char *in;
        const char *raw;   /* NULL: refused */
        size_t rawlen;
    } dec[] = {
        {"", "", 0},
        {"Zg", "f", 1},
        {"Zm8", "fo", 2},
        {"Zm9v", "foo", 3},
        {"Zm9vYg", "foob", 4},
        {"-_8", "\xfb\xff", 2},
        {"Zm9v=", NULL, 0},       /* padding */
        {"Zg==", NULL, 0},
        {"Zm9+", NULL, 0},        /* the other alphabet */
        {"Zm9/", NULL, 0},
        {"Zm9 v", NULL, 0},       /* white space */
        {"Z", NULL, 0},           /* length 1 mod 4 */
        {"Zm9vY", NULL, 0},
        {"Zm\xc3\xa9v", NULL, 0}, /* non-ASCII */
    };
    for (size_t i = 0; i < sizeof dec / sizeof dec[0]; i++) {
        unsigned char *out = NULL;
        size_t n = 0;
        int rc = lti_b64url_decode(dec[i].in, strlen(dec[i].in), &out, &n);
        if (dec[i].raw)
            CHECK(rc == 0 && n == dec[i].rawlen && !memcmp(out, dec[i].raw, n),
                  "b64url decode \"%s\"", dec[i].in);
        else
            CHECK(rc == -1 && !out, "b64url refuses \"%s\"", dec[i].in);
        free(out);
    }
    unsigned char embedded_nul[] = {'a', 0, 'b'};
    char *e = lti_b64url_encode(embedded_nul, 3);
    unsigned char *back = NULL;
    size_t n = 0;
    CHECK(e && !strcmp(e, "YQBi") && !lti_b64url_decode(e, strlen(e), &back, &n) && n == 3 &&
              !memcmp(back, embedded_nul, 3),
          "b64url round trip with a NUL byte");
    free(e);
    free(back);
    for (size_t len = 0; len < 70; len++) {
        unsigned char buf[70];
        for (size_t k = 0; k < len; k++)
            buf[k] = (unsigned char)(k * 37 + len);
        char *t = lti_b64url_encode(buf, len);
        unsigned char *o = NULL;
        size_t m = 0;
        int ok = t && !strchr(t, '=') && !strchr(t, '+') && !strchr(t, '/') &&
                 !lti_b64url_decode(t, strlen(t), &o, &m) && m == len && !memcmp(o, buf, len);
        free(t);
        free(o);
        if (!ok) {
            CHECK(0, "b64url round trip of %zu bytes", len);
            return;
        }
    }
    CHECK(1, "b64url round trips 0..69 bytes, no padding, url alphabet");
    char big[LTI_B64_MAX + 8];
    memset(big, 'A', sizeof big);
    unsigned char *o = NULL;
    CHECK(lti_b64url_decode(big, sizeof big, &o, &n) == -1, "b64url refuses over %u characters",
          LTI_B64_MAX);
}

static void test_scores_url(void)
{
    static const struct {
        const char *lineitem, *scores;
    } t[] = {
        {"https://x/api/lti/courses/1/line_items/2?foo=1",
         "https://x/api/lti/courses/1/line_items/2/scores?foo=1"},
        {"https://x/api/lti/courses/1/line_items/2", "https://x/api/lti/courses/1/line_items/2/scores"},
        {"https://x/lineitems/2/", "https://x/lineitems/2/scores"},
        {"https://x/lineitems/2/?a=1&b=2", "https://x/lineitems/2/scores?a=1&b=2"},
        {"https://x/li/2?a=1#frag", "https://x/li/2/scores?a=1"},
        {"https://x/li/2#frag?x", "https://x/li/2/scores"},
        {"https://moodle.example/mod/lti/services.php/2/lineitems/7/lineitem?type_id=1",
         "https://moodle.example/mod/lti/services.php/2/lineitems/7/lineitem/scores?type_id=1"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char out[300];
        CHECK(!lti_scores_url(t[i].lineitem, out, sizeof out) && !strcmp(out, t[i].scores),
              "scores URL of %s", t[i].lineitem);
    }
    char small[20];
    CHECK(lti_scores_url("https://x/api/lti/line_items/2", small, sizeof small) == -1,
          "a scores URL that does not fit is refused");
}

static void test_keys(const char *dir)
{
    char path[512], err[300];
    snprintf(path, sizeof path, "%s/units.db", dir);
    db *d = db_open(path, err, sizeof err);
    CHECK(d != NULL, "db_open: %s", d ? "" : err);
    if (!d)
        return;
    char *jw = lti_keys_jwks(d, db_now_ms());
    CHECK(jw && !strcmp(jw, "{\"keys\":[]}"), "a new database has no key: %s", jw ? jw : "NULL");
    free(jw);
    char *t = lti_jwt_sign(d, "{\"a\":1}", err, sizeof err);
    CHECK(t != NULL, "the first signature makes the first key");
    CHECK(!lti_keys_ensure(d, err, sizeof err), "lti_keys_ensure keeps it");
    json_t *claims = NULL;
    CHECK(t && !lti_jwt_verify_own(d, t, &claims, err, sizeof err) &&
              json_integer_value(json_object_get(claims, "a")) == 1,
          "a token the tool signs verifies against its own JWKS");
    json_decref(claims);
    claims = NULL;
    /* a flipped bit in the signature, then in the claims */
    if (t) {
        char *bad = strdup(t);
        size_t n = strlen(bad);
        bad[n - 2] = bad[n - 2] == 'A' ? 'B' : 'A';
        CHECK(lti_jwt_verify_own(d, bad, &claims, err, sizeof err) == 1 && !claims,
              "a changed signature is refused: %s", err);
        strcpy(bad, t);
        char *dot = strchr(bad, '.');
        dot[1] = dot[1] == 'e' ? 'f' : 'e';
        CHECK(lti_jwt_verify_own(d, bad, &claims, err, sizeof err) == 1 && !claims,
              "changed claims are refused");
        free(bad);
    }
    char kid[64];
    CHECK(!lti_keys_rotate(d, 1500, kid, err, sizeof err), "rotate with 1.5 s of grace");
    CHECK(t && !lti_jwt_verify_own(d, t, &claims, err, sizeof err),
          "a token signed before the rotation still verifies in the grace period");
    json_decref(claims);
    usleep(1600 * 1000);
    CHECK(!lti_keys_rotate(d, 0, kid, err, sizeof err), "rotate without grace");
    claims = NULL;
    CHECK(t && lti_jwt_verify_own(d, t, &claims, err, sizeof err) == 1,
          "... and once its grace ended it no longer does: %s", err);
    free(t);
    char *jwks = lti_keys_jwks(d, db_now_ms());
    json_t *doc = jwks ? json_loads(jwks, 0, NULL) : NULL;
    json_t *k = json_array_get(json_object_get(doc, "keys"), 0);
    EVP_PKEY *pk = k ? lti_jwk_to_pkey(k, err, sizeof err) : NULL;
    CHECK(json_array_size(json_object_get(doc, "keys")) == 1 && pk &&
              EVP_PKEY_get_bits(pk) == 2048 && !json_object_get(k, "d") &&
              !json_object_get(k, "p"),
          "the JWKS holds 2048-bit public keys only (no private parts)");
    EVP_PKEY_free(pk);
    json_t *weak = json_deep_copy(k);
    json_object_set_new(weak, "n", json_string("AQAB"));
    CHECK(!lti_jwk_to_pkey(weak, err, sizeof err), "a tiny RSA modulus is refused: %s", err);
    json_object_set_new(weak, "kty", json_string("oct"));
    CHECK(!lti_jwk_to_pkey(weak, err, sizeof err), "a non-RSA key is refused");
    json_decref(weak);
    weak = json_deep_copy(k);
    json_object_set_new(weak, "alg", json_string("HS256"));
    CHECK(!lti_jwk_to_pkey(weak, err, sizeof err), "a key published for HS256 is refused");
    json_decref(weak);
    json_decref(doc);
    free(jwks);
    db_close(d);
}

int main(void)
{
    char dir[] = "/tmp/mgltiu.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    test_b64();
    test_scores_url();
    test_keys(dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd))
        printf("could not remove %s\n", dir);
    printf("test_lti_units: %d failure(s)\n", failures);
    return failures ? 1 : 0;
}
