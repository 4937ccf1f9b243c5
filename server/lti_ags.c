/* lti_ags: Assignment and Grade Services 2.0: OAuth2 access tokens from a
 * platform's token endpoint (client credentials with an RS256 client
 * assertion, RFC 7523) cached in memory until shortly before they expire,
 * and Score posts to a line item. Called by the outbox's delivery thread,
 * never on a request thread. */
#include "lti.h"
#include "lti_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AGS_SCORE_SCOPE "https://purl.imsglobal.org/spec/lti-ags/scope/score"
#define TOKEN_MAX 4096
#define TOKEN_MARGIN_MS 30000 /* a cached token is dropped this long before it expires */

/* ---- the Score URL ---------------------------------------------------------------- */

int lti_scores_url(const char *lineitem, char *out, size_t cap)
{
    size_t end = strcspn(lineitem, "#");
    size_t path_end = strcspn(lineitem, "?#");
    size_t cut = path_end;
    while (cut > 0 && lineitem[cut - 1] == '/')
        cut--;
    int n = snprintf(out, cap, "%.*s/scores%.*s", (int)cut, lineitem, (int)(end - path_end),
                     lineitem + path_end);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int lti_platform_host_ok(const db_lti_platform *p, const char *url)
{
    const char *const hosts[] = {p->issuer, p->auth_url, p->token_url, p->jwks_url,
                                 p->service_url[0] ? p->service_url : NULL, NULL};
    return lti_url_same_host(url, hosts);
}

/* ---- access tokens -------------------------------------------------------------------- */

#define TOKEN_SLOTS 32
static struct {
    int64_t platform_id;
    char scopes[256];
    char token[TOKEN_MAX];
    int64_t expires;      /* ms; 0: empty slot */
} tokens[TOKEN_SLOTS];
static pthread_mutex_t tokens_mu = PTHREAD_MUTEX_INITIALIZER;

void lti_tokens_forget(void)
{
    pthread_mutex_lock(&tokens_mu);
    memset(tokens, 0, sizeof tokens);
    pthread_mutex_unlock(&tokens_mu);
}

static int token_cached(int64_t pid, const char *scopes, char *token, size_t cap, int64_t now)
{
    int hit = 0;
    pthread_mutex_lock(&tokens_mu);
    for (int i = 0; i < TOKEN_SLOTS; i++)
        if (tokens[i].expires > now && tokens[i].platform_id == pid &&
            !strcmp(tokens[i].scopes, scopes) && strlen(tokens[i].token) < cap) {
            memcpy(token, tokens[i].token, strlen(tokens[i].token) + 1);
            hit = 1;
            break;
        }
    pthread_mutex_unlock(&tokens_mu);
    return hit;
}

static void token_store(int64_t pid, const char *scopes, const char *token, int64_t expires)
{
    if (strlen(scopes) >= sizeof tokens[0].scopes || strlen(token) >= TOKEN_MAX)
        return;
    pthread_mutex_lock(&tokens_mu);
    int slot = 0;
    for (int i = 0; i < TOKEN_SLOTS; i++) {
        if (tokens[i].platform_id == pid && !strcmp(tokens[i].scopes, scopes)) {
            slot = i;
            break;
        }
        if (tokens[i].expires < tokens[slot].expires)
            slot = i;
    }
    tokens[slot].platform_id = pid;
    snprintf(tokens[slot].scopes, sizeof tokens[slot].scopes, "%s", scopes);
    snprintf(tokens[slot].token, sizeof tokens[slot].token, "%s", token);
    tokens[slot].expires = expires;
    pthread_mutex_unlock(&tokens_mu);
}

/* Drops the cached token of pid for scopes (the platform refused it). */
static void token_drop(int64_t pid, const char *scopes)
{
    pthread_mutex_lock(&tokens_mu);
    for (int i = 0; i < TOKEN_SLOTS; i++)
        if (tokens[i].platform_id == pid && !strcmp(tokens[i].scopes, scopes))
            tokens[i].expires = 0;
    pthread_mutex_unlock(&tokens_mu);
}

/* Appends s percent-encoded (RFC 3986 unreserved kept) to out at *len. */
static int form_append(char *out, size_t cap, size_t *len, const char *key, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    int n = snprintf(out + *len, cap - *len, "%s%s=", *len ? "&" : "", key);
    if (n < 0 || (size_t)n >= cap - *len)
        return -1;
    *len += (size_t)n;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*len + 4 >= cap)
            return -1;
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            out[(*len)++] = (char)*p;
        } else {
            out[(*len)++] = '%';
            out[(*len)++] = hex[*p >> 4];
            out[(*len)++] = hex[*p & 15];
        }
    }
    out[*len] = '\0';
    return 0;
}

/* Whether t can go in an Authorization header as it is: RFC 6750's b64token
 * characters, no spaces or line breaks a platform could inject with. */
static int token_ok(const char *t)
{
    size_t n = strlen(t);
    return n > 0 && n < TOKEN_MAX &&
           strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=") == n;
}

int lti_access_token(db *d, int64_t platform_id, const char *scopes, char *token, size_t cap,
                     int *temporary, char *err, size_t errlen)
{
    *temporary = 0;
    int64_t now = db_now_ms();
    if (token_cached(platform_id, scopes, token, cap, now))
        return 0;
    db_lti_platform p;
    int rc = db_lti_platform_get(d, platform_id, &p);
    if (rc != DB_OK) {
        *temporary = rc == DB_ERROR;
        snprintf(err, errlen, rc == DB_NOT_FOUND ? "the platform is no longer registered"
                                                 : "the database is unavailable");
        return -1;
    }
    char jti[48];
    if (lti_random_b64url(24, jti, sizeof jti)) {
        *temporary = 1;
        snprintf(err, errlen, "no randomness for the client assertion");
        return -1;
    }
    json_t *claims = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", p.client_id, "sub",
                               p.client_id, "aud", p.token_url, "iat", (json_int_t)(now / 1000),
                               "exp", (json_int_t)(now / 1000 + 300), "jti", jti);
    char *ctext = claims ? json_dumps(claims, JSON_COMPACT) : NULL;
    json_decref(claims);
    char *assertion = ctext ? lti_jwt_sign(d, ctext, err, errlen) : NULL;
    free(ctext);
    if (!assertion) {
        *temporary = 1;
        return -1;
    }
    size_t blen = 0, bcap = strlen(assertion) * 3 + strlen(scopes) * 3 + 512;
    char *body = malloc(bcap);
    int ret = -1;
    lti_http_resp resp = {.retry_after = -1};
    json_t *doc = NULL;
    if (!body || form_append(body, bcap, &blen, "grant_type", "client_credentials") ||
        form_append(body, bcap, &blen, "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") ||
        form_append(body, bcap, &blen, "client_assertion", assertion) ||
        form_append(body, bcap, &blen, "scope", scopes)) {
        *temporary = 1;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    static const char *const hdr[] = {"Content-Type: application/x-www-form-urlencoded",
                                      "Accept: application/json", NULL};
    char herr[300];
    if (lti_http("POST", p.token_url, LTI_URL_PLATFORM, hdr, body, blen, &resp, herr,
                 sizeof herr)) {
        *temporary = lti_url_check(p.token_url, LTI_URL_PLATFORM, herr, sizeof herr) == 0;
        snprintf(err, errlen, "token endpoint: %s", herr);
        goto out;
    }
    if (resp.status != 200) {
        *temporary = resp.status >= 500 || resp.status == 429 || resp.status == 408;
        snprintf(err, errlen, "the token endpoint %.200s answered HTTP %ld: %.200s", p.token_url,
                 resp.status, resp.body ? resp.body : "");
        goto out;
    }
    json_error_t je;
    doc = json_loadb(resp.body, resp.len, 0, &je);
    const char *tok = json_string_value(json_object_get(doc, "access_token"));
    json_t *ei = json_object_get(doc, "expires_in");
    if (!tok || !token_ok(tok) || strlen(tok) >= cap) {
        snprintf(err, errlen, "the token endpoint %.200s gave no usable access_token",
                 p.token_url);
        goto out;
    }
    json_int_t secs = json_is_integer(ei) ? json_integer_value(ei)
                      : json_is_real(ei) ? (json_int_t)json_real_value(ei) : 3600;
    if (secs > 86400)
        secs = 86400;
    memcpy(token, tok, strlen(tok) + 1);
    if (secs * 1000 > TOKEN_MARGIN_MS)
        token_store(platform_id, scopes, tok, now + secs * 1000 - TOKEN_MARGIN_MS);
    ret = 0;
out:
    json_decref(doc);
    lti_http_resp_clear(&resp);
    free(body);
    free(assertion);
    return ret;
}

/* ---- Score posts ------------------------------------------------------------------------ */

static void iso_ms(int64_t ms, char out[40])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 40 - n, ".%03dZ", (int)(ms % 1000));
}

lti_outcome lti_ags_send_score(db *d, int64_t link_id, int64_t user_id, double score_given,
                               double score_max, int64_t timestamp_ms, lti_send_result *out)
{
    memset(out, 0, sizeof *out);
    out->retry_after = -1;
    int64_t pid = 0;
    char lineitem[DB_LTI_URL_MAX], sub[512], url[DB_LTI_URL_MAX + 16];
    int rc = db_lti_score_target(d, link_id, user_id, &pid, lineitem, sizeof lineitem, sub,
                                 sizeof sub);
    if (rc != DB_OK) {
        snprintf(out->err, sizeof out->err, rc == DB_NOT_FOUND
                 ? "the launch has no line item any more (link or platform removed)"
                 : "the database is unavailable");
        return rc == DB_NOT_FOUND ? LTI_GIVE_UP : LTI_RETRY;
    }
    db_lti_platform p;
    if ((rc = db_lti_platform_get(d, pid, &p)) != DB_OK) {
        snprintf(out->err, sizeof out->err, rc == DB_NOT_FOUND
                 ? "the platform is no longer registered" : "the database is unavailable");
        return rc == DB_NOT_FOUND ? LTI_GIVE_UP : LTI_RETRY;
    }
    /* checked at launch too; the platform's URLs may have changed since */
    if (!lti_platform_host_ok(&p, lineitem)) {
        snprintf(out->err, sizeof out->err, "the line item %.150s is not on a host of the "
                 "registered platform", lineitem);
        return LTI_GIVE_UP;
    }
    if (lti_scores_url(lineitem, url, sizeof url)) {
        snprintf(out->err, sizeof out->err, "the line item URL is too long");
        return LTI_GIVE_UP;
    }
    if (!(score_given >= 0)) /* NaN too */
        score_given = 0;
    char ts[40];
    iso_ms(timestamp_ms, ts);
    json_t *doc = json_pack("{s:s, s:f, s:f, s:s, s:s, s:s}", "userId", sub, "scoreGiven",
                            score_given, "scoreMaximum", score_max, "activityProgress",
                            "Completed", "gradingProgress", "FullyGraded", "timestamp", ts);
    char *body = doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(doc);
    if (!body) {
        snprintf(out->err, sizeof out->err, "out of memory");
        return LTI_RETRY;
    }
    lti_outcome res = LTI_RETRY;
    for (int attempt = 0; attempt < 2; attempt++) {
        char token[TOKEN_MAX], err[256], auth[TOKEN_MAX + 32];
        int temporary = 0;
        if (lti_access_token(d, pid, AGS_SCORE_SCOPE, token, sizeof token, &temporary, err,
                             sizeof err)) {
            snprintf(out->err, sizeof out->err, "%s", err);
            res = temporary ? LTI_RETRY : LTI_GIVE_UP;
            break;
        }
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        const char *const hdr[] = {"Content-Type: application/vnd.ims.lis.v1.score+json", auth,
                                   NULL};
        lti_http_resp resp;
        if (lti_http("POST", url, LTI_URL_PLATFORM, hdr, body, strlen(body), &resp, err,
                     sizeof err)) {
            snprintf(out->err, sizeof out->err, "%s", err);
            res = LTI_RETRY;
            break;
        }
        out->status = resp.status;
        out->retry_after = resp.retry_after;
        long st = resp.status;
        if (st >= 200 && st < 300) {
            out->err[0] = '\0';
            res = LTI_SENT;
        } else {
            snprintf(out->err, sizeof out->err, "the platform answered HTTP %ld: %.150s", st,
                     resp.body ? resp.body : "");
            res = st >= 500 || st == 429 || st == 408 ? LTI_RETRY : LTI_GIVE_UP;
        }
        lti_http_resp_clear(&resp);
        if (st != 401 || attempt)
            break;
        token_drop(pid, AGS_SCORE_SCOPE); /* expired or revoked early: one more try */
    }
    free(body);
    return res;
}
