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

/* Process-wide libcurl set-up; once, before threads start. */
int lti_http_global_init(void);

#endif
