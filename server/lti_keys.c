/* lti_keys: the tool's RSA-2048 signing keys (client assertions, Deep
 * Linking responses), kept in the database so that every server process
 * and restart signs with the same key. A rotation keeps the previous key
 * published for a grace period: platforms cache our JWKS, and assertions
 * signed just before the rotation must still verify. */
#include "lti.h"
#include "lti_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

/* A fresh key pair: its kid, PEM and public JWK text (malloc'd). */
static int key_new(char kid[64], char **pem, char **jwk, char *err, size_t errlen)
{
    EVP_PKEY *key = NULL;
    BIO *bio = NULL;
    json_t *j = NULL;
    int rc = -1;
    *pem = *jwk = NULL;
    if (lti_random_b64url(16, kid, 64) || !(key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
                                                                     (size_t)2048))) {
        snprintf(err, errlen, "OpenSSL could not make an RSA key");
        goto out;
    }
    char *mem;
    long n;
    if (!(bio = BIO_new(BIO_s_mem())) ||
        !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) ||
        (n = BIO_get_mem_data(bio, &mem)) <= 0 || !(*pem = strndup(mem, (size_t)n)) ||
        !(j = lti_pkey_to_jwk(key, kid)) || !(*jwk = json_dumps(j, JSON_COMPACT))) {
        snprintf(err, errlen, "out of memory writing the new key");
        goto out;
    }
    rc = 0;
out:
    if (rc) {
        free(*pem);
        free(*jwk);
        *pem = *jwk = NULL;
    }
    json_decref(j);
    BIO_free(bio);
    EVP_PKEY_free(key);
    return rc;
}

/* The first key pair. */
static int make_first(db *d, char *err, size_t errlen)
{
    char kid[64], *pem, *jwk;
    if (key_new(kid, &pem, &jwk, err, errlen))
        return -1;
    int rc = db_lti_tool_key_add(d, kid, pem, jwk, db_now_ms(), 0);
    free(pem);
    free(jwk);
    if (rc == DB_EXISTS) /* another process made one at the same moment */
        rc = DB_OK;
    if (rc != DB_OK)
        snprintf(err, errlen, "the tool's key could not be stored");
    return rc == DB_OK ? 0 : -1;
}

int lti_keys_rotate(db *d, int64_t grace_ms, char kid[64], char *err, size_t errlen)
{
    char *pem, *jwk;
    if (key_new(kid, &pem, &jwk, err, errlen))
        return -1;
    int64_t now = db_now_ms();
    /* a grace of 0 retires the old key at once (grace_end = now, > 0) */
    int rc = db_lti_tool_key_add(d, kid, pem, jwk, now, now + (grace_ms > 0 ? grace_ms : 0));
    free(pem);
    free(jwk);
    if (rc != DB_OK)
        snprintf(err, errlen, "the new key could not be stored");
    return rc == DB_OK ? 0 : -1;
}

typedef struct {
    char *kid;
    char *pem;
} cur_ctx;

static void take_current(void *ctx, const db_lti_tool_key *k)
{
    cur_ctx *c = ctx;
    c->kid = strdup(k->kid);
    c->pem = strdup(k->private_pem);
}

EVP_PKEY *lti_keys_current(db *d, char kid[64], char *err, size_t errlen)
{
    cur_ctx c = {0};
    EVP_PKEY *key = NULL;
    int rc = db_lti_tool_key_current(d, take_current, &c);
    if (rc == DB_NOT_FOUND) { /* serve makes one at start; this covers the rest */
        if (make_first(d, err, errlen))
            return NULL;
        rc = db_lti_tool_key_current(d, take_current, &c);
    }
    if (rc != DB_OK || !c.kid || !c.pem || strlen(c.kid) >= 64) {
        snprintf(err, errlen, rc == DB_NOT_FOUND ? "the tool has no key yet (memgrade serve "
                                                   "makes one at start)"
                                                 : "the tool's key could not be read");
        goto out;
    }
    BIO *bio = BIO_new_mem_buf(c.pem, -1);
    key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!key)
        snprintf(err, errlen, "the tool's stored key is not a PEM private key");
    else
        memcpy(kid, c.kid, strlen(c.kid) + 1);
out:
    free(c.kid);
    free(c.pem);
    return key;
}

int lti_keys_ensure(db *d, char *err, size_t errlen)
{
    char kid[64];
    EVP_PKEY *k = lti_keys_current(d, kid, err, errlen);
    EVP_PKEY_free(k);
    return k ? 0 : -1;
}

static void add_jwk(void *ctx, const db_lti_tool_key *k)
{
    json_error_t je;
    json_t *j = json_loads(k->public_jwk, 0, &je);
    if (j)
        json_array_append_new(ctx, j);
}

char *lti_keys_jwks(db *d, int64_t now)
{
    json_t *keys = json_array();
    if (!keys || db_lti_tool_key_each(d, now, add_jwk, keys) != DB_OK) {
        json_decref(keys);
        return NULL;
    }
    json_t *doc = json_pack("{s:o}", "keys", keys);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return text;
}
