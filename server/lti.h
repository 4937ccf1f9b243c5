/* lti: memgrade as an LTI 1.3 tool, and webhooks (SPEC §8).
 *
 *   lti_http.c     outgoing HTTP(S) through libcurl, with the URL policy
 *   lti_jwt.c      JWTs: RS256 sign with the tool's key, verify against a
 *                  platform's JWKS (fetched, cached, refetched on a new kid)
 *   lti_keys.c     the tool's RSA keys: made at first start, rotated,
 *                  published at /lti/jwks
 *   lti_launch.c   /lti/login, /lti/launch, Deep Linking
 *   lti_ags.c      access tokens (client credentials, RS256 assertion) and
 *                  Score posts to a line item
 *   lti_nrps.c     roster sync (Names and Role Provisioning)
 *   lti_outbox.c   the delivery thread: grade passback and webhooks from the
 *                  durable outbox, with backoff
 *   cli_lti.c      memgrade lti ...
 */
#ifndef MEMGRADE_LTI_H
#define MEMGRADE_LTI_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* ---- outgoing HTTP (lti_http.c) --------------------------------------------- */

/* Where a request may go. LTI_URL_PLATFORM: a URL an administrator
 * registered (or one a platform's signed claims named, on a host the
 * platform is registered with): https, or http on a loopback host (SPEC §8).
 * LTI_URL_WEBHOOK: a URL course staff set: https to a public address; a
 * loopback or private address (as resolved, checked on connect) only when
 * the server allows it (lti_http_allow_private). */
typedef enum { LTI_URL_PLATFORM, LTI_URL_WEBHOOK } lti_url_kind;

/* Allows webhooks to loopback and private addresses (serve
 * --webhook-private: development and tests). */
void lti_http_allow_private(int allow);

/* 0 when url may be used for kind; otherwise -1 with the reason in err
 * ("webhook URL must use https"). Does not resolve names. */
int lti_url_check(const char *url, lti_url_kind kind, char *err, size_t errlen);

/* Whether url's host (scheme, host and port) is the same as the host of
 * one of the urls (NULL-terminated list). */
int lti_url_same_host(const char *url, const char *const *urls);

typedef struct {
    long status;           /* HTTP status; 0 when no answer came */
    char *body;            /* NUL-terminated, malloc'd (at most 1 MiB) */
    size_t len;
    int retry_after;       /* seconds from Retry-After (delta or date), -1: none */
    char *link_next;       /* the Link header's rel="next" URL, malloc'd, or NULL */
    char *content_type;    /* malloc'd, or NULL */
} lti_http_resp;

/* One request: method "GET"/"POST"/"PUT", headers "Name: value" (NULL-
 * terminated, may be NULL), body (may be NULL). Redirects are not followed.
 * 0 when an answer came (any status; see out->status), -1 with err on a
 * refused URL, a network failure or a timeout (10 s). out is cleared first. */
int lti_http(const char *method, const char *url, lti_url_kind kind,
             const char *const *headers, const char *body, size_t body_len,
             lti_http_resp *out, char *err, size_t errlen);
void lti_http_resp_clear(lti_http_resp *r);

/* Ends requests in flight at once, and fails later ones (shutdown). */
void lti_http_abort_all(void);

/* Process-wide libcurl set-up; once, before threads start. */
int lti_http_global_init(void);

/* ---- what the LTI files offer each other -------------------------------------- */

/* A compact JWS (RS256) of claims (a JSON object) signed with the tool's
 * current key, "kid" in its header; malloc'd, NULL with err. (lti_jwt.c) */
char *lti_jwt_sign(db *d, const char *claims_json, char *err, size_t errlen);

/* An OAuth2 access token from platform_id's token endpoint for the space-
 * separated scopes (client credentials with an RS256 client_assertion),
 * cached until shortly before it expires. 0 with token; -1 with err, and
 * *temporary set when trying later may help (network, 5xx, 429). (lti_ags.c) */
int lti_access_token(db *d, int64_t platform_id, const char *scopes, char *token, size_t cap,
                     int *temporary, char *err, size_t errlen);

/* What one delivery attempt (a Score, a webhook POST) came to. */
typedef enum {
    LTI_SENT = 0,          /* a 2xx answer */
    LTI_RETRY = 1,         /* worth trying again: no answer, 5xx, 429, 408 */
    LTI_GIVE_UP = -1,      /* will not get better (4xx, no line item, platform removed) */
} lti_outcome;

typedef struct {
    long status;           /* the answer's HTTP status, 0 for none */
    int retry_after;       /* seconds the answer asked for, -1 for none */
    char err[256];         /* what went wrong, for staff ("" when sent) */
} lti_send_result;

/* Posts a Score to the line item of link_id for user_id (userId = the
 * `sub` they launched with): scoreGiven, scoreMaximum, activityProgress
 * Completed, gradingProgress FullyGraded, timestamp = timestamp_ms as
 * ISO 8601 with milliseconds. The line item URL may carry a query string:
 * /scores goes at the end of its path. (lti_ags.c) */
lti_outcome lti_ags_send_score(db *d, int64_t link_id, int64_t user_id, double score_given,
                               double score_max, int64_t timestamp_ms, lti_send_result *out);

/* Wakes the delivery thread: something was queued. (lti_outbox.c) */
void lti_outbox_wake(void);

/* The delivery threads of `memgrade serve` (lti_outbox.c). */
typedef struct {
    const char *db_path;   /* one connection per thread, opened by lti_outbox_start */
    int threads;           /* deliveries at a time; at most one per course and kind */
    int max_attempts;      /* tries before a row is failed */
    int retry_base_ms;     /* the first retry's delay; x3 each time, at most 1 h */
} lti_outbox_config;
/* Starts the threads; pending rows left by an earlier process go out
 * first. 0, or -1 with err. */
int lti_outbox_start(const lti_outbox_config *cfg, char *err, size_t errlen);
/* Stops them: a delivery in flight is cut off (lti_http_abort_all) and
 * recorded as a failed attempt; what is not sent stays pending for the
 * next start. Call once no other thread needs lti_http. */
void lti_outbox_stop(void);
/* The delay before retry number attempts (1: the first) after a failure,
 * in ms: base * 3^(attempts-1) with +-20% jitter (rnd in [0,1)), at most
 * 1 h; retry_after_s (-1: none) when larger, also at most 1 h. */
int64_t lti_outbox_backoff_ms(int retry_base_ms, int64_t attempts, int retry_after_s, double rnd);

#endif
