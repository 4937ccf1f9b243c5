/* lti_jwt: compact JWS (RS256 only) for LTI 1.3: signing with the tool's
 * key, and checking a platform's id_token against its JWKS, fetched over
 * the URL policy of lti_http and cached in the database, refetched when a
 * token names a kid we have not seen (the platform rotated its key). All
 * cryptography is OpenSSL's (EVP); base64 is OpenSSL's too, with the
 * url-safe alphabet and the missing padding handled here. */
#include "lti.h"
#include "lti_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

/* ---- base64url ------------------------------------------------------------------ */

char *lti_b64url_encode(const unsigned char *p, size_t n)
{
    if (n > LTI_B64_MAX)
        return NULL;
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (!out)
        return NULL;
    int len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (int i = 0; i < len; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    return out;
}

int lti_b64url_decode(const char *s, size_t n, unsigned char **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (n > LTI_B64_MAX || n % 4 == 1)
        return -1;
    size_t pad = (4 - n % 4) % 4;
    char *b = malloc(n + pad + 1);
    unsigned char *o = malloc((n + pad) / 4 * 3 + 1);
    if (!b || !o)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            b[i] = c;
        else if (c == '-')
            b[i] = '+';
        else if (c == '_')
            b[i] = '/';
        else
            goto fail; /* padding, white space, '+', '/', NUL: not base64url */
    }
    memset(b + n, '=', pad);
    b[n + pad] = '\0';
    /* EVP_DecodeBlock counts the padding's zero bytes in its length */
    int len = n ? EVP_DecodeBlock(o, (const unsigned char *)b, (int)(n + pad)) : 0;
    if (len < 0 || (size_t)len < pad)
        goto fail;
    len -= (int)pad;
    o[len] = '\0';
    free(b);
    *out = o;
    *outlen = (size_t)len;
    return 0;
fail:
    free(b);
    free(o);
    return -1;
}

int lti_random_b64url(size_t n, char *out, size_t cap)
{
    unsigned char buf[64];
    if (n > sizeof buf || RAND_bytes(buf, (int)n) != 1)
        return -1;
    char *t = lti_b64url_encode(buf, n);
    int rc = t && strlen(t) < cap ? 0 : -1;
    if (!rc)
        memcpy(out, t, strlen(t) + 1);
    free(t);
    return rc;
}

/* ---- JWK <-> EVP_PKEY ------------------------------------------------------------- */

static BIGNUM *b64_bn(const json_t *v)
{
    const char *s = json_string_value(v);
    unsigned char *raw = NULL;
    size_t n = 0;
    if (!s || lti_b64url_decode(s, strlen(s), &raw, &n) || !n) {
        free(raw);
        return NULL;
    }
    BIGNUM *bn = BN_bin2bn(raw, (int)n, NULL);
    free(raw);
    return bn;
}

EVP_PKEY *lti_jwk_to_pkey(const json_t *jwk, char *err, size_t errlen)
{
    EVP_PKEY *key = NULL;
    BIGNUM *n = NULL, *e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const json_t *alg = json_object_get(jwk, "alg"), *use = json_object_get(jwk, "use");
    if (!kty || strcmp(kty, "RSA")) {
        snprintf(err, errlen, "the key is not an RSA key (kty %.20s)", kty ? kty : "missing");
        goto out;
    }
    if ((alg && (!json_is_string(alg) || strcmp(json_string_value(alg), "RS256"))) ||
        (use && (!json_is_string(use) || strcmp(json_string_value(use), "sig")))) {
        snprintf(err, errlen, "the key is published for another use than RS256 signatures");
        goto out;
    }
    if (!(n = b64_bn(json_object_get(jwk, "n"))) || !(e = b64_bn(json_object_get(jwk, "e")))) {
        snprintf(err, errlen, "the key's modulus or exponent is not base64url");
        goto out;
    }
    if (BN_num_bits(n) < 2048 || BN_num_bits(n) > 8192 || BN_num_bits(e) > 64 ||
        !BN_is_odd(e) || BN_is_one(e)) {
        snprintf(err, errlen, "the RSA key has %d bits (2048 to 8192 are accepted) or a bad "
                              "exponent", BN_num_bits(n));
        goto out;
    }
    if (!(bld = OSSL_PARAM_BLD_new()) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
        !(params = OSSL_PARAM_BLD_to_param(bld)) ||
        !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) ||
        EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        snprintf(err, errlen, "OpenSSL could not build the RSA key");
        key = NULL;
    }
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return key;
}

static json_t *bn_b64(EVP_PKEY *key, const char *param)
{
    BIGNUM *bn = NULL;
    json_t *v = NULL;
    if (!EVP_PKEY_get_bn_param(key, param, &bn))
        return NULL;
    int n = BN_num_bytes(bn);
    unsigned char *raw = malloc(n > 0 ? (size_t)n : 1);
    if (raw && BN_bn2bin(bn, raw) == n) {
        char *t = lti_b64url_encode(raw, (size_t)n);
        if (t)
            v = json_string(t);
        free(t);
    }
    free(raw);
    BN_free(bn);
    return v;
}

json_t *lti_pkey_to_jwk(EVP_PKEY *key, const char *kid)
{
    json_t *n = bn_b64(key, OSSL_PKEY_PARAM_RSA_N), *e = bn_b64(key, OSSL_PKEY_PARAM_RSA_E);
    if (!n || !e) {
        json_decref(n);
        json_decref(e);
        return NULL;
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "kty", "RSA", "alg", "RS256", "use",
                     "sig", "kid", kid, "n", n, "e", e);
}

/* ---- signing ----------------------------------------------------------------------- */

/* The RS256 signature of data with key, base64url; malloc'd or NULL. */
static char *rs256_sign(EVP_PKEY *key, const char *data, size_t n)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t siglen = 0;
    char *out = NULL;
    if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)data, n) != 1 ||
        !(sig = malloc(siglen)) ||
        EVP_DigestSign(md, sig, &siglen, (const unsigned char *)data, n) != 1)
        goto out;
    out = lti_b64url_encode(sig, siglen);
out:
    free(sig);
    EVP_MD_CTX_free(md);
    return out;
}

char *lti_jwt_sign(db *d, const char *claims_json, char *err, size_t errlen)
{
    char kid[64];
    char *h64 = NULL, *c64 = NULL, *sig = NULL, *out = NULL, *head = NULL;
    EVP_PKEY *key = lti_keys_current(d, kid, err, errlen);
    if (!key)
        return NULL;
    json_t *h = json_pack("{s:s, s:s, s:s}", "alg", "RS256", "typ", "JWT", "kid", kid);
    head = h ? json_dumps(h, JSON_COMPACT) : NULL;
    json_decref(h);
    if (!head || !(h64 = lti_b64url_encode((const unsigned char *)head, strlen(head))) ||
        !(c64 = lti_b64url_encode((const unsigned char *)claims_json, strlen(claims_json)))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    size_t hn = strlen(h64), cn = strlen(c64);
    if (!(out = malloc(hn + cn + 2))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    memcpy(out, h64, hn);
    out[hn] = '.';
    memcpy(out + hn + 1, c64, cn + 1);
    if (!(sig = rs256_sign(key, out, hn + 1 + cn))) {
        snprintf(err, errlen, "OpenSSL could not sign with the tool's key");
        free(out);
        out = NULL;
        goto out;
    }
    char *whole = realloc(out, hn + cn + strlen(sig) + 3);
    if (!whole) {
        free(out);
        out = NULL;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    out = whole;
    strcat(out, ".");
    strcat(out, sig);
out:
    free(head);
    free(h64);
    free(c64);
    free(sig);
    EVP_PKEY_free(key);
    return out;
}

/* ---- the platform's JWKS ----------------------------------------------------------- */

/* When each platform's JWKS was last fetched (ms), so that tokens naming
 * made-up kids cannot make us hammer the platform: a small table, the
 * stalest slot reused. */
#define FETCH_SLOTS 64
static struct {
    int64_t platform_id, at;
} fetched[FETCH_SLOTS];
static pthread_mutex_t fetched_mu = PTHREAD_MUTEX_INITIALIZER;

/* Whether platform_id's JWKS may be fetched now (and notes that it is). */
static int fetch_allowed(int64_t platform_id, int64_t now, int64_t *ago)
{
    int slot = -1, stalest = 0, ok = 1;
    pthread_mutex_lock(&fetched_mu);
    for (int i = 0; i < FETCH_SLOTS; i++) {
        if (fetched[i].platform_id == platform_id) {
            slot = i;
            break;
        }
        if (fetched[i].at < fetched[stalest].at)
            stalest = i;
    }
    if (slot >= 0 && now - fetched[slot].at < LTI_JWKS_REFETCH_MS) {
        ok = 0;
        *ago = now - fetched[slot].at;
    } else {
        slot = slot >= 0 ? slot : stalest;
        fetched[slot].platform_id = platform_id;
        fetched[slot].at = now;
    }
    pthread_mutex_unlock(&fetched_mu);
    return ok;
}

#define JWKS_MAX_KEYS 64

/* Fetches p's JWKS and stores its RSA signing keys. 0, or -1 with err. */
static int jwks_fetch(db *d, const db_lti_platform *p, char *err, size_t errlen)
{
    lti_http_resp resp;
    char herr[300];
    static const char *const hdr[] = {"Accept: application/json", NULL};
    if (lti_http("GET", p->jwks_url, LTI_URL_PLATFORM, hdr, NULL, 0, &resp, herr, sizeof herr)) {
        snprintf(err, errlen, "the platform's key set could not be fetched: %s", herr);
        return -1;
    }
    int rc = -1;
    const char *kids[JWKS_MAX_KEYS];
    char *texts[JWKS_MAX_KEYS];
    size_t n = 0;
    json_error_t je;
    json_t *doc = NULL;
    if (resp.status != 200) {
        snprintf(err, errlen, "the platform's key set at %.200s answered HTTP %ld", p->jwks_url,
                 resp.status);
        goto out;
    }
    doc = json_loadb(resp.body, resp.len, JSON_REJECT_DUPLICATES, &je);
    json_t *keys = json_object_get(doc, "keys");
    if (!json_is_array(keys)) {
        snprintf(err, errlen, "the platform's key set at %.200s is not a JWKS ({\"keys\": [...]})",
                 p->jwks_url);
        goto out;
    }
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
        const char *kid = json_string_value(json_object_get(k, "kid"));
        const char *kty = json_string_value(json_object_get(k, "kty"));
        if (!kid || !kty || strcmp(kty, "RSA") || strlen(kid) > 200 || n == JWKS_MAX_KEYS)
            continue;
        if (!(texts[n] = json_dumps(k, JSON_COMPACT)))
            goto out;
        kids[n++] = kid;
    }
    if (db_lti_pkeys_replace(d, p->id, kids, (const char *const *)texts, n, db_now_ms())) {
        snprintf(err, errlen, "the platform's keys could not be stored");
        goto out;
    }
    rc = 0;
out:
    for (size_t j = 0; j < n; j++)
        free(texts[j]);
    json_decref(doc);
    lti_http_resp_clear(&resp);
    return rc;
}

/* The platform's key kid as an EVP_PKEY: from the cache, else (or when the
 * cache is a day old) after a fetch the rate limit allows. 0, 1 refused
 * (err), -1 failed. */
static int platform_key(db *d, const db_lti_platform *p, const char *kid, EVP_PKEY **out,
                        char *err, size_t errlen)
{
    char *jwk = NULL;
    int64_t at = 0, now = db_now_ms(), ago = 0;
    int rc = db_lti_pkey_get(d, p->id, kid, &jwk, &at);
    if (rc == DB_ERROR) {
        snprintf(err, errlen, "the database is unavailable");
        return -1;
    }
    if ((rc == DB_NOT_FOUND || now - at > LTI_JWKS_TTL_MS) && fetch_allowed(p->id, now, &ago)) {
        char ferr[400];
        if (jwks_fetch(d, p, ferr, sizeof ferr)) {
            fprintf(stderr, "memgrade: lti: %s\n", ferr);
            if (rc == DB_NOT_FOUND) { /* a stale cached key still does */
                snprintf(err, errlen, "%s", ferr);
                return 1;
            }
        } else {
            free(jwk);
            jwk = NULL;
            rc = db_lti_pkey_get(d, p->id, kid, &jwk, &at);
            if (rc == DB_ERROR) {
                snprintf(err, errlen, "the database is unavailable");
                return -1;
            }
        }
    }
    if (rc == DB_NOT_FOUND) {
        if (ago)
            snprintf(err, errlen, "the id_token was signed with key \"%.80s\", which the "
                     "platform's key set (%.200s, fetched %lld s ago) does not have",
                     kid, p->jwks_url, (long long)(ago / 1000));
        else
            snprintf(err, errlen, "the id_token was signed with key \"%.80s\", which the "
                     "platform's key set (%.200s) does not have", kid, p->jwks_url);
        return 1;
    }
    json_error_t je;
    json_t *doc = json_loads(jwk, 0, &je);
    free(jwk);
    char kerr[200];
    *out = doc ? lti_jwk_to_pkey(doc, kerr, sizeof kerr) : NULL;
    json_decref(doc);
    if (!*out) {
        snprintf(err, errlen, "the platform's key \"%.80s\" is not usable: %s", kid,
                 doc ? kerr : "not JSON");
        return 1;
    }
    return 0;
}

/* ---- verifying ---------------------------------------------------------------------- */

static json_t *b64_json(const char *s, size_t n)
{
    unsigned char *raw = NULL;
    size_t len = 0;
    json_error_t je;
    if (lti_b64url_decode(s, n, &raw, &len))
        return NULL;
    json_t *doc = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, &je);
    free(raw);
    if (doc && !json_is_object(doc)) {
        json_decref(doc);
        doc = NULL;
    }
    return doc;
}

/* Where a verification gets the key a token's kid names: 0 with *key, 1
 * refused (err), -1 failed. */
typedef int (*key_fn)(void *ctx, const char *kid, EVP_PKEY **key, char *err, size_t errlen);

static int jws_verify(const char *token, key_fn getkey, void *ctx, json_t **claims, char *err,
                      size_t errlen)
{
    *claims = NULL;
    size_t len = strlen(token);
    const char *dot1 = strchr(token, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (len > LTI_B64_MAX || !dot1 || !dot2 || strchr(dot2 + 1, '.') || dot1 == token ||
        dot2 == dot1 + 1) {
        snprintf(err, errlen, "the id_token is not a signed JWT (three base64url parts "
                              "separated by dots)");
        return 1;
    }
    json_t *head = b64_json(token, (size_t)(dot1 - token));
    if (!head) {
        snprintf(err, errlen, "the id_token's header is not base64url-encoded JSON");
        return 1;
    }
    int rc = 1;
    EVP_PKEY *key = NULL;
    EVP_MD_CTX *md = NULL;
    unsigned char *sig = NULL;
    size_t siglen = 0;
    const char *alg = json_string_value(json_object_get(head, "alg"));
    const char *kid = json_string_value(json_object_get(head, "kid"));
    if (!alg || strcmp(alg, "RS256")) {
        snprintf(err, errlen, "the id_token is signed with algorithm \"%.20s\"; LTI 1.3 "
                 "requires RS256", alg ? alg : "(none)");
        goto out;
    }
    if (json_object_get(head, "crit")) {
        snprintf(err, errlen, "the id_token's header has critical extensions (crit) this "
                              "tool does not know");
        goto out;
    }
    if (!kid || !*kid || strlen(kid) > 200) {
        snprintf(err, errlen, "the id_token's header names no key (kid); the platform must "
                              "send one");
        goto out;
    }
    if (!dot2[1]) {
        snprintf(err, errlen, "the id_token has no signature");
        goto out;
    }
    if ((rc = getkey(ctx, kid, &key, err, errlen)))
        goto out;
    rc = 1;
    if (lti_b64url_decode(dot2 + 1, strlen(dot2 + 1), &sig, &siglen)) {
        snprintf(err, errlen, "the id_token's signature is not base64url");
        goto out;
    }
    if (!(md = EVP_MD_CTX_new()) ||
        EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) != 1) {
        snprintf(err, errlen, "OpenSSL could not set up the signature check");
        rc = -1;
        goto out;
    }
    /* 1: good; 0: bad signature; < 0: malformed (also a bad signature) */
    if (EVP_DigestVerify(md, sig, siglen, (const unsigned char *)token,
                         (size_t)(dot2 - token)) != 1) {
        snprintf(err, errlen, "the id_token's signature does not match the key \"%.80s\" "
                 "(forged, or signed with another key)", kid);
        goto out;
    }
    if (!(*claims = b64_json(dot1 + 1, (size_t)(dot2 - dot1 - 1)))) {
        snprintf(err, errlen, "the id_token's claims are not a JSON object");
        goto out;
    }
    rc = 0;
out:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    free(sig);
    json_decref(head);
    return rc;
}

typedef struct {
    db *d;
    const db_lti_platform *p;
} platform_ctx;

static int platform_key_fn(void *ctx, const char *kid, EVP_PKEY **key, char *err, size_t errlen)
{
    platform_ctx *c = ctx;
    return platform_key(c->d, c->p, kid, key, err, errlen);
}

int lti_jwt_verify(db *d, const db_lti_platform *p, const char *token, json_t **claims,
                   char *err, size_t errlen)
{
    platform_ctx c = {d, p};
    return jws_verify(token, platform_key_fn, &c, claims, err, errlen);
}

/* One of the tool's own published keys by kid. */
static int own_key_fn(void *ctx, const char *kid, EVP_PKEY **key, char *err, size_t errlen)
{
    char *text = lti_keys_jwks(ctx, db_now_ms());
    json_error_t je;
    json_t *doc = text ? json_loads(text, 0, &je) : NULL;
    free(text);
    size_t i;
    json_t *k;
    int rc = 1;
    snprintf(err, errlen, "signed with a key this tool does not publish");
    json_array_foreach(json_object_get(doc, "keys"), i, k) {
        const char *kk = json_string_value(json_object_get(k, "kid"));
        if (kk && !strcmp(kk, kid)) {
            *key = lti_jwk_to_pkey(k, err, errlen);
            rc = *key ? 0 : 1;
            break;
        }
    }
    json_decref(doc);
    return rc;
}

int lti_jwt_verify_own(db *d, const char *token, json_t **claims, char *err, size_t errlen)
{
    return jws_verify(token, own_key_fn, d, claims, err, errlen);
}
