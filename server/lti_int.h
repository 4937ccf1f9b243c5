/* lti_int: what lti_jwt.c, lti_keys.c, lti_ags.c, lti_launch.c and
 * cli_lti.c share beyond lti.h: base64url, the tool's keys as OpenSSL
 * objects, id_token verification and the Score URL. Not for use outside
 * the LTI files. */
#ifndef MEMGRADE_LTI_INT_H
#define MEMGRADE_LTI_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "db.h"

/* ---- base64url (RFC 4648 §5, no padding) (lti_jwt.c) ---------------------- */

/* p[0..n) as base64url without padding; malloc'd, NULL when out of memory. */
char *lti_b64url_encode(const unsigned char *p, size_t n);
/* Decodes s[0..n): only A-Z a-z 0-9 - _ (no padding, no white space), a
 * length that is not 1 mod 4, at most LTI_B64_MAX characters. *out is
 * malloc'd (NUL-terminated for convenience, *outlen bytes); -1 otherwise. */
#define LTI_B64_MAX (256u * 1024)
int lti_b64url_decode(const char *s, size_t n, unsigned char **out, size_t *outlen);
/* n random bytes as base64url into out (cap >= 4n/3 + 1); 0, or -1 when
 * OpenSSL has no randomness. */
int lti_random_b64url(size_t n, char *out, size_t cap);

/* ---- RSA keys as JWKs (lti_jwt.c) ---------------------------------------- */

/* An RSA public key from a JWK object (kty RSA, n, e; alg RS256 and use
 * sig when present); NULL with the reason in err. At least 2048 bits. */
EVP_PKEY *lti_jwk_to_pkey(const json_t *jwk, char *err, size_t errlen);
/* The public JWK (kty, alg RS256, use sig, kid, n, e) of key; new
 * reference, NULL when out of memory. */
json_t *lti_pkey_to_jwk(EVP_PKEY *key, const char *kid);

/* ---- the tool's keys (lti_keys.c) ------------------------------------------ */

/* Makes the first key pair when there is none (serve, at start). 0, or -1
 * with err. */
int lti_keys_ensure(db *d, char *err, size_t errlen);
/* A new current key; the current one stays published for grace_ms, keys
 * whose grace ended are dropped. *kid (cap 64) receives the new kid. */
int lti_keys_rotate(db *d, int64_t grace_ms, char kid[64], char *err, size_t errlen);
/* The current private key and its kid (64 bytes); caller frees the key
 * (EVP_PKEY_free). NULL with err when there is none. */
EVP_PKEY *lti_keys_current(db *d, char kid[64], char *err, size_t errlen);
/* {"keys": [...]} of every key published at now; malloc'd JSON text. */
char *lti_keys_jwks(db *d, int64_t now);

/* ---- id_token verification (lti_jwt.c) --------------------------------------- */

/* Checks token's signature: a compact JWS whose header says alg RS256 (and
 * nothing else), with a kid found among platform p's keys (fetched from its
 * jwks_url when unknown, at most once per LTI_JWKS_REFETCH_MS per
 * platform). 0 with *claims (new reference, a JSON object); 1 when the
 * token is refused, the reason in err in words for an LMS administrator;
 * -1 when our side failed (err says what). Claims are not checked here. */
#define LTI_JWKS_REFETCH_MS 10000
#define LTI_JWKS_TTL_MS (24LL * 3600 * 1000)
int lti_jwt_verify(db *d, const db_lti_platform *p, const char *token, json_t **claims,
                   char *err, size_t errlen);

/* The same for a JWT the tool signed itself (lti_jwt_sign) with a key it
 * still publishes. */
int lti_jwt_verify_own(db *d, const char *token, json_t **claims, char *err, size_t errlen);

/* ---- launches (lti_launch.c) ---------------------------------------------- */

/* The tool's external base URL (serve --public-url), without a trailing
 * slash; NULL or "" for http://BIND:PORT of the running server. Once,
 * before the server starts. */
void lti_set_public_url(const char *url);

/* What a launch makes of who someone is, shared with the roster sync
 * (lti_nrps.c) so that a member maps the same way whichever comes first.
 * The course role of an LTI roles array: the highest of Instructor (also
 * Administrator, ContentDeveloper), TeachingAssistant, else student. The
 * user name for a new user of platform pid's sub from the "email" or
 * "name" of obj (id_token claims, or an NRPS member: the same keys). */
db_crole lti_map_roles(const json_t *roles);
void lti_user_name(const json_t *obj, int64_t pid, const char *sub, char out[65]);

/* Whether url is on a host (scheme, host, port) of p's registered URLs
 * (issuer, auth, token, keys) or of its service_url: the only hosts a URL
 * taken from a launch (line item, roster, Deep Linking return) may be
 * called on. (lti_ags.c) */
int lti_platform_host_ok(const db_lti_platform *p, const char *url);

/* ---- AGS (lti_ags.c) -------------------------------------------------------- */

/* The Score service URL of a line item: "/scores" appended to its path,
 * before any query string (a fragment is dropped). 0, or -1 when it does
 * not fit in cap. */
int lti_scores_url(const char *lineitem, char *out, size_t cap);
/* Forgets every cached access token (tests, a platform removed). */
void lti_tokens_forget(void);

#endif
