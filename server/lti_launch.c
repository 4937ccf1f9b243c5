/* lti_launch: memgrade's side of an LTI 1.3 launch (SPEC §8): OIDC
 * third-party login initiation (/lti/login), the platform's id_token
 * checked in full (/lti/launch), the mapping of context, user and resource
 * link onto course, user and assignment, Deep Linking 2.0 (an instructor
 * picks an assignment, memgrade answers a signed LtiDeepLinkingResponse),
 * and the tool's public keys (/lti/jwks). A refused launch is a page saying
 * why in words an LMS administrator can act on. */
#include "lti.h"
#include "lti_int.h"
#include "web.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <microhttpd.h>
#include <openssl/crypto.h>

#include "auth.h"
#include "clock.h"

#define STATE_COOKIE "mg_lti_browser"
#define STATE_TTL_MS (10 * 60 * 1000)   /* login to launch: 10 minutes */
#define SKEW_S 60                       /* clock skew allowed on exp/iat */
#define DL_TTL_S 3600                   /* an instructor has an hour to pick */
#define TOKEN_FORM_MAX (64 * 1024)

/* Claim names (LTI 1.3 Core, Deep Linking 2.0, AGS 2.0, NRPS 2.0). */
#define CL "https://purl.imsglobal.org/spec/lti/claim/"
#define CL_MESSAGE_TYPE CL "message_type"
#define CL_VERSION CL "version"
#define CL_DEPLOYMENT CL "deployment_id"
#define CL_TARGET CL "target_link_uri"
#define CL_RESOURCE_LINK CL "resource_link"
#define CL_ROLES CL "roles"
#define CL_CONTEXT CL "context"
#define CL_CUSTOM CL "custom"
#define CL_DL_SETTINGS "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
#define CL_DL_ITEMS "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
#define CL_DL_DATA "https://purl.imsglobal.org/spec/lti-dl/claim/data"
#define CL_AGS "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
#define CL_NRPS "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"

/* ---- responses ---------------------------------------------------------------------- */

/* What an LTI response carries beyond a page's: a long Location (an auth
 * URL with its hints), the login state's cookie, and the origin a form may
 * post to (the platform's Deep Linking return). */
typedef struct {
    char *location;
    char cookie[300];
    char form_origin[300];
    char frame_ancestors[1000]; /* the LMS origins that may frame the page */
} lti_ctx;

static void ctx_free(void *p)
{
    lti_ctx *c = p;
    if (c)
        free(c->location);
    free(c);
}

static lti_ctx *ctx_of(api_req *r)
{
    if (!r->web.ctx) {
        r->web.ctx = calloc(1, sizeof(lti_ctx));
        r->web.ctx_free = ctx_free;
    }
    return r->web.ctx;
}

static void lti_headers(api_req *r, struct MHD_Response *resp)
{
    lti_ctx *c = r->web.ctx;
    char csp[1800];
    snprintf(csp, sizeof csp,
             "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
             "object-src 'none'; base-uri 'none'; frame-ancestors %s; form-action 'self'%s%s",
             c && c->frame_ancestors[0] ? c->frame_ancestors : "'none'",
             c && c->form_origin[0] ? " " : "", c ? c->form_origin : "");
    MHD_add_response_header(resp, "Content-Security-Policy", csp);
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    if (!c || !c->frame_ancestors[0])
        MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    if (r->web.set_cookie[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, r->web.set_cookie);
    if (c && c->cookie[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, c->cookie);
    if (c && c->location)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, c->location);
    else if (r->web.location[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->web.location);
}

/* Sends b as an HTML page with the LTI headers (steals b's text). */
static int lti_send(api_req *r, int status, web_buf *b)
{
    int st = web_send(r, status, b);
    r->headers = lti_headers;
    return st;
}

/* A line in the server's log; what came from a token or a form may hold
 * line breaks and escapes, which are replaced so it cannot forge lines. */
__attribute__((format(printf, 1, 2)))
static void log_line(const char *fmt, ...)
{
    char msg[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    fprintf(stderr, "memgrade: lti: %s\n", msg);
}

/* A refused launch: the reason for the LMS administrator, logged too. */
__attribute__((format(printf, 3, 4)))
static int refuse(api_req *r, int status, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_line("refused: %s", msg);
    /* Shown inside the LMS's frame the reason must be readable there: the
     * page has no form of its own to be clickjacked, so any site may frame
     * it (the platform is not always known when a launch is refused). */
    const char *dest = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Sec-Fetch-Dest");
    lti_ctx *c = dest && (!strcmp(dest, "iframe") || !strcmp(dest, "frame")) ? ctx_of(r) : NULL;
    if (c) {
        snprintf(c->frame_ancestors, sizeof c->frame_ancestors, "*");
        r->authed = 0; /* no logout button to click through a frame */
    }
    web_buf b = WEB_BUF_INIT;
    web_page_begin(&b, r, "LTI launch refused");
    web_printf(&b, "<h1>This LMS launch was refused</h1>\n<p class=\"notice error\" "
                   "role=\"alert\" id=\"lti-error\"><span class=\"icon\" aria-hidden=\"true\">"
                   "⚠</span> %s</p>\n<p>If this keeps happening, show this page to whoever "
                   "registered memgrade in your LMS (<code>memgrade lti list</code> shows "
                   "what this server has registered).</p>\n", msg);
    web_page_end(&b);
    return lti_send(r, status, &b);
}

static void sha256(const void *p, size_t n, uint8_t out[32])
{
    unsigned int len = 32;
    if (!EVP_Digest(p, n, out, &len, EVP_sha256(), NULL))
        memset(out, 0, 32);
}

/* The tool's address as LMSs and browsers see it (serve --public-url),
 * else http://BIND:PORT of this server, the port as bound. */
static char public_set[256];

void lti_set_public_url(const char *url)
{
    snprintf(public_set, sizeof public_set, "%s", url ? url : "");
}

static const char *public_url(api_req *r, char buf[300])
{
    if (public_set[0])
        return public_set;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_DAEMON);
    const union MHD_DaemonInfo *di =
        ci ? MHD_get_daemon_info(ci->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    const char *bind = r->s->cfg.bind ? r->s->cfg.bind : "127.0.0.1";
    int v6 = strchr(bind, ':') != NULL;
    snprintf(buf, 300, "http://%s%s%s:%u", v6 ? "[" : "", bind, v6 ? "]" : "",
             di ? (unsigned)di->port : (unsigned)r->s->cfg.port);
    return buf;
}

static int https_public(api_req *r)
{
    char buf[300];
    return !strncmp(public_url(r, buf), "https://", 8);
}

/* A request value of the OIDC login: the query (GET) or the form (POST). */
static int login_param(api_req *r, const char *key, char *out, size_t cap)
{
    if (!strcmp(r->method, "POST"))
        return web_form_get(r, key, out, cap);
    const char *v = query(r, key);
    if (!v || strlen(v) >= cap)
        return -1;
    memcpy(out, v, strlen(v) + 1);
    return 0;
}

/* ---- /lti/login ------------------------------------------------------------------------ */

static int h_login(api_req *r)
{
    char iss[DB_LTI_URL_MAX] = "", hint[2048] = "", msg_hint[4096] = "", client[256] = "";
    char dep[256] = "", target[DB_LTI_URL_MAX] = "";
    if (r->pending)
        return refuse(r, r->pending, "The login request was too large.");
    login_param(r, "iss", iss, sizeof iss);
    login_param(r, "login_hint", hint, sizeof hint);
    login_param(r, "lti_message_hint", msg_hint, sizeof msg_hint);
    login_param(r, "client_id", client, sizeof client);
    login_param(r, "lti_deployment_id", dep, sizeof dep);
    login_param(r, "target_link_uri", target, sizeof target);
    if (!iss[0] || !hint[0])
        return refuse(r, 400, "The login request lacks %s: the LMS must start a launch with "
                              "iss and login_hint (OIDC third-party login).",
                      !iss[0] ? "the issuer (iss)" : "login_hint");
    db *d = srv_db(r->s);
    if (!d)
        return refuse(r, 503, "The database is unavailable; try again in a moment.");
    db_lti_platform p;
    int n = 0;
    int rc = db_lti_platform_find(d, iss, client[0] ? client : NULL, &p, &n);
    if (rc == DB_ERROR)
        return refuse(r, 503, "The database is unavailable; try again in a moment.");
    if (rc == DB_NOT_FOUND && client[0])
        return refuse(r, 400, "No platform with issuer %s and client id %s is registered "
                              "here (memgrade lti add-platform).", iss, client);
    if (rc == DB_NOT_FOUND)
        return refuse(r, 400, "No platform with issuer %s is registered here (memgrade lti "
                              "add-platform).", iss);
    if (n > 1)
        return refuse(r, 400, "Several registrations (client ids) share issuer %s and the "
                              "login request did not say which (client_id): configure the "
                              "LMS to send client_id.", iss);
    if (dep[0] && (rc = db_lti_deployment_has(d, p.id, dep)) != DB_OK)
        return rc == DB_ERROR ? refuse(r, 503, "The database is unavailable.")
                              : refuse(r, 400, "unknown deployment id %s for issuer %s "
                                               "(memgrade lti add-platform adds one).", dep, iss);

    /* state and nonce are single use and short-lived; only their hashes and
     * the hash of the browser's cookie are stored. An existing browser
     * cookie is kept, so launches in two tabs do not undo each other. */
    char state[64], nonce[64], browser[64];
    const char *have = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, STATE_COOKIE);
    if (lti_random_b64url(32, state, sizeof state) || lti_random_b64url(32, nonce, sizeof nonce))
        return refuse(r, 500, "The server has no randomness.");
    if (have && strlen(have) == 43 && strspn(have, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                                                  "qrstuvwxyz0123456789-_") == 43)
        memcpy(browser, have, 44);
    else if (lti_random_b64url(32, browser, sizeof browser))
        return refuse(r, 500, "The server has no randomness.");
    uint8_t sh[32], bh[32];
    sha256(state, strlen(state), sh);
    sha256(browser, strlen(browser), bh);
    int64_t now = clk_now_ms();
    rc = db_lti_state_add(d, sh, p.id, nonce, bh, now + STATE_TTL_MS, now);
    if (rc == DB_LIMIT) {
        snprintf(r->retry_after, sizeof r->retry_after, "60");
        return refuse(r, 503, "Too many LMS logins are in progress; try again in a minute.");
    }
    if (rc != DB_OK)
        return refuse(r, 503, "The database is unavailable; try again in a moment.");

    lti_ctx *c = ctx_of(r);
    if (!c)
        return web_error(r, 500, "out of memory");
    /* The launch comes back as a cross-site form POST from the LMS (or from
     * inside its iframe): browsers send a cookie with that only when it is
     * SameSite=None, which they accept only with Secure, i.e. over https;
     * Partitioned (CHIPS) keeps it working inside the LMS's iframe where a
     * browser blocks third-party cookies (login and launch happen in the
     * same frame, so in the same partition). A server reached over plain
     * http (a test platform beside it on loopback, same site) gets Lax,
     * which such a browser would send. */
    snprintf(c->cookie, sizeof c->cookie, "%s=%s; Path=/lti/; HttpOnly; Max-Age=%d; %s",
             STATE_COOKIE, browser, STATE_TTL_MS / 1000,
             https_public(r) ? "SameSite=None; Secure; Partitioned" : "SameSite=Lax");
    web_buf u = WEB_BUF_INIT;
    web_raw(&u, p.auth_url);
    web_raw(&u, strchr(p.auth_url, '?') ? "&" : "?");
    web_raw(&u, "scope=openid&response_type=id_token&response_mode=form_post&prompt=none"
                "&client_id=");
    web_url(&u, p.client_id);
    web_raw(&u, "&redirect_uri=");
    web_buf redirect = WEB_BUF_INIT;
    char pbuf[300];
    web_raw(&redirect, public_url(r, pbuf));
    web_raw(&redirect, "/lti/launch");
    web_url(&u, redirect.p ? redirect.p : "");
    free(redirect.p);
    web_raw(&u, "&login_hint=");
    web_url(&u, hint);
    if (msg_hint[0]) {
        web_raw(&u, "&lti_message_hint=");
        web_url(&u, msg_hint);
    }
    web_raw(&u, "&state=");
    web_url(&u, state);
    web_raw(&u, "&nonce=");
    web_url(&u, nonce);
    if (u.failed || !u.p) {
        free(u.p);
        return web_error(r, 500, "out of memory");
    }
    c->location = u.p;
    web_buf b = WEB_BUF_INIT;
    web_printf(&b, "<!DOCTYPE html><title>Logging in</title><p><a href=\"%s\">Continue to "
                   "the LMS</a></p>", u.p);
    int st = web_send(r, 302, &b);
    r->headers = lti_headers;
    return st;
}

/* ---- checking the id_token's claims ------------------------------------------------------- */

static const char *claim_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* "3 minutes" / "42 seconds" */
static void span(int64_t secs, char out[40])
{
    if (secs < 0)
        secs = -secs;
    if (secs >= 120)
        snprintf(out, 40, "%lld minutes", (long long)(secs / 60));
    else
        snprintf(out, 40, "%lld second%s", (long long)secs, secs == 1 ? "" : "s");
}

/* iss, aud/azp, exp/iat, nonce, deployment, message type and version. 0,
 * or the refusal answered. */
static int check_claims(api_req *r, db *d, const db_lti_platform *p, const json_t *cl,
                        const char *nonce_expected)
{
    const char *iss = claim_str(cl, "iss");
    if (!iss || strcmp(iss, p->issuer))
        return refuse(r, 401, "The id_token's issuer (iss) %s is not the registered issuer "
                              "%s.", iss ? iss : "(none)", p->issuer);
    json_t *aud = json_object_get(cl, "aud");
    int has = 0, naud = 0;
    if (json_is_string(aud)) {
        naud = 1;
        has = !strcmp(json_string_value(aud), p->client_id);
    } else if (json_is_array(aud)) {
        size_t i;
        json_t *a;
        json_array_foreach(aud, i, a) {
            naud++;
            if (json_is_string(a) && !strcmp(json_string_value(a), p->client_id))
                has = 1;
        }
    }
    if (!has)
        return refuse(r, 401, "The id_token is meant for another tool: its audience (aud) "
                              "does not include this registration's client id %s.",
                      p->client_id);
    json_t *azp = json_object_get(cl, "azp");
    if ((azp || naud > 1) &&
        (!json_is_string(azp) || strcmp(json_string_value(azp), p->client_id)))
        return refuse(r, 401, "The id_token's authorized party (azp) is not this "
                              "registration's client id %s.", p->client_id);
    json_t *exp = json_object_get(cl, "exp"), *iat = json_object_get(cl, "iat");
    if (!json_is_number(exp) || !json_is_number(iat))
        return refuse(r, 401, "The id_token lacks its expiry (exp) or issue time (iat).");
    int64_t now = clk_now_ms() / 1000;
    /* kept within a few centuries of now: the integer arithmetic below
     * must not meet a time of 1e300 */
    double e = json_number_value(exp), i = json_number_value(iat);
    double lo = (double)now - 1e10, hi = (double)now + 1e10;
    e = e < lo ? lo : e > hi ? hi : e;
    i = i < lo ? lo : i > hi ? hi : i;
    char ago[40];
    if (!(e + SKEW_S >= (double)now)) {
        span(now - (int64_t)e, ago);
        return refuse(r, 401, "The id_token expired %s ago (check the clocks of the LMS and "
                              "of this server).", ago);
    }
    if (!(i - SKEW_S <= (double)now)) {
        span((int64_t)i - now, ago);
        return refuse(r, 401, "The id_token was issued %s in the future (check the clocks "
                              "of the LMS and of this server).", ago);
    }
    const char *nonce = claim_str(cl, "nonce");
    if (!nonce || strcmp(nonce, nonce_expected))
        return refuse(r, 401, "The id_token's nonce is not the one this login sent (a token "
                              "from another login).");
    int rc = db_lti_nonce_use(d, p->id, nonce, (int64_t)e * 1000 + SKEW_S * 1000 + 1000,
                              now * 1000);
    if (rc == DB_EXISTS)
        return refuse(r, 401, "This launch was already used (nonce replay).");
    if (rc != DB_OK)
        return refuse(r, 503, "The database is unavailable; try again in a moment.");
    const char *dep = claim_str(cl, CL_DEPLOYMENT);
    if (!dep)
        return refuse(r, 400, "The id_token has no deployment id.");
    if ((rc = db_lti_deployment_has(d, p->id, dep)) != DB_OK)
        return rc == DB_ERROR ? refuse(r, 503, "The database is unavailable.")
                              : refuse(r, 403, "unknown deployment id %s for issuer %s "
                                               "(memgrade lti add-platform adds one).",
                                       dep, p->issuer);
    const char *mt = claim_str(cl, CL_MESSAGE_TYPE), *ver = claim_str(cl, CL_VERSION);
    if (!mt || (strcmp(mt, "LtiResourceLinkRequest") && strcmp(mt, "LtiDeepLinkingRequest")))
        return refuse(r, 400, "The message type %s is not one this tool takes "
                              "(LtiResourceLinkRequest, LtiDeepLinkingRequest).",
                      mt ? mt : "(none)");
    if (!ver || strcmp(ver, "1.3.0"))
        return refuse(r, 400, "The LTI version %s is not 1.3.0.", ver ? ver : "(none)");
    const char *sub = claim_str(cl, "sub");
    if (!sub || !*sub || strlen(sub) > 255)
        return refuse(r, 400, "The id_token names no user (sub): anonymous launches are not "
                              "supported.");
    const char *target = claim_str(cl, CL_TARGET);
    char pbuf[300];
    const char *const self[] = {public_url(r, pbuf), NULL};
    if (!target)
        return refuse(r, 400, "The id_token has no target_link_uri.");
    if (!lti_url_same_host(target, self))
        return refuse(r, 400, "The launch is for %s, which is not this tool's address %s "
                              "(memgrade serve --public-url).", target, self[0]);
    return 0;
}

/* LIS roles (LTI 1.3 Core, appendix A.2) as course roles, by the role's
 * name: the fragment of its URI ("...membership#Instructor",
 * "...membership/Instructor#TeachingAssistant", "...institution/
 * person#Administrator") or a bare name. A role not listed (Learner,
 * Mentor, Member, ...) makes a student. */
static const struct {
    const char *name;
    db_crole role;
} lti_roles[] = {
    {"Instructor", DB_CROLE_INSTRUCTOR},
    {"Administrator", DB_CROLE_INSTRUCTOR},
    {"ContentDeveloper", DB_CROLE_INSTRUCTOR},
    {"TeachingAssistant", DB_CROLE_TA},
    {"Learner", DB_CROLE_STUDENT},
};

/* The course role the roles give: the highest of them. */
db_crole lti_map_roles(const json_t *roles)
{
    db_crole best = DB_CROLE_STUDENT;
    size_t i;
    json_t *v;
    json_array_foreach(roles, i, v) {
        const char *s = json_string_value(v);
        if (!s)
            continue;
        const char *h = strrchr(s, '#');
        const char *name = h ? h + 1 : s;
        for (size_t k = 0; k < sizeof lti_roles / sizeof lti_roles[0]; k++)
            if (!strcmp(name, lti_roles[k].name) && lti_roles[k].role > best)
                best = lti_roles[k].role;
    }
    return best;
}

/* Lower-case [a-z0-9] of s, at most max characters. */
static void slug(const char *s, char *out, size_t max)
{
    size_t n = 0;
    for (; s && *s && n < max; s++) {
        char c = *s;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            out[n++] = c;
    }
    out[n] = '\0';
}

/* Course ids for a new context: a slug of its label and a hash of
 * (platform, deployment, context), 8 hex digits, or 16 in alt. */
static void course_ids(int64_t pid, const char *dep, const char *ctx_id, const char *label,
                       char id[40], char alt[40])
{
    char buf[1200], s[16];
    int n = snprintf(buf, sizeof buf, "%lld", (long long)pid);
    size_t len = (size_t)n + 1;
    size_t dl = strlen(dep) < 400 ? strlen(dep) : 400, cl = strlen(ctx_id) < 700 ? strlen(ctx_id) : 700;
    memcpy(buf + len, dep, dl);
    len += dl;
    buf[len++] = '\0';
    memcpy(buf + len, ctx_id, cl);
    len += cl;
    uint8_t h[32];
    sha256(buf, len, h);
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    slug(label, s, 12);
    snprintf(id, 40, "%s-%.8s", s[0] ? s : "lti", hex);
    snprintf(alt, 40, "%s-%.16s", s[0] ? s : "lti", hex);
}

/* A user name from the launch: the email, else the name, kept to the
 * characters user names have; else lti-HASH of the sub. */
void lti_user_name(const json_t *cl, int64_t pid, const char *sub, char out[65])
{
    const char *src = claim_str(cl, "email");
    if (!src || !*src)
        src = claim_str(cl, "name");
    size_t n = 0;
    for (; src && *src && n < 48; src++) {
        char c = *src;
        if (c == ' ')
            c = '.';
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '_' || c == '@' || c == '-')
            out[n++] = c;
    }
    out[n] = '\0';
    /* names that are only punctuation read badly: use the hash then */
    if (strspn(out, "._@-") == n) {
        char buf[600];
        int k = snprintf(buf, sizeof buf, "%lld:%s", (long long)pid, sub);
        uint8_t h[32];
        sha256(buf, (size_t)(k < (int)sizeof buf ? k : (int)sizeof buf - 1), h);
        snprintf(out, 65, "lti-%02x%02x%02x%02x%02x", h[0], h[1], h[2], h[3], h[4]);
    }
}

/* A course title: the context's title or label, control characters
 * blanked, at most 200 bytes cut at a character boundary. */
static void course_title(const json_t *ctx, char out[201])
{
    const char *t = claim_str(ctx, "title");
    if (!t || !*t)
        t = claim_str(ctx, "label");
    if (!t || !*t)
        t = "LMS course";
    size_t n = strlen(t);
    if (n > 200) {
        n = 200;
        while (n > 0 && ((unsigned char)t[n] & 0xc0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)t[i] < 0x20 || t[i] == 0x7f ? ' ' : t[i];
    out[n] = '\0';
}

/* A URL from a claim that memgrade will call later (line item, roster):
 * only on a host of the platform's registered URLs and under the platform
 * URL policy, so a launch cannot aim the server at an address of its
 * choosing; NULL (and logged) otherwise. */
static const char *service_url(const db_lti_platform *p, const char *what, const char *url)
{
    if (!url)
        return NULL;
    char err[300];
    if (strlen(url) >= DB_LTI_URL_MAX || lti_url_check(url, LTI_URL_PLATFORM, err, sizeof err) ||
        !lti_platform_host_ok(p, url)) {
        log_line("ignoring the %s URL %.200s of platform %lld: not on a host the platform "
                 "is registered with", what, url, (long long)p->id);
        return NULL;
    }
    return url;
}

/* The origin (scheme://host[:port]) of url for a CSP source; -1 if none. */
static int url_origin(const char *url, char *out, size_t cap)
{
    CURLU *u = curl_url();
    char *sc = NULL, *h = NULL, *port = NULL;
    int rc = -1;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &sc, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK) {
        curl_url_get(u, CURLUPART_PORT, &port, 0);
        int n = snprintf(out, cap, "%s://%s%s%s", sc, h, port ? ":" : "", port ? port : "");
        /* a host libcurl accepted has no spaces, quotes or semicolons, but
         * a header is no place to trust that */
        rc = n > 0 && (size_t)n < cap && !strpbrk(out, " ;,'\"\r\n") ? 0 : -1;
    }
    curl_free(sc);
    curl_free(h);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

static int framed(api_req *r);
static void ancestors(const db_lti_platform *p, char *out, size_t cap);

/* ---- Deep Linking: the instructor's pick ------------------------------------------------ */

static const grd_assignment *catalog_find(api_req *r, const char *name)
{
    return name && *name ? grd_catalog_find(r->s->catalog, name) : NULL;
}

/* Makes sure course offers assignment (a course made by a launch offers
 * nothing until a link names an assignment). */
static int ensure_offer(db *d, const char *course, const char *assignment)
{
    db_offer o;
    int rc = db_offer_get(d, course, assignment, &o);
    if (rc != DB_NOT_FOUND)
        return rc;
    memset(&o, 0, sizeof o);
    snprintf(o.assignment, sizeof o.assignment, "%s", assignment);
    return db_offer_put(d, course, &o);
}

/* The assignment picker: a form posting to action with the hidden fields
 * name=value given, one radio button per catalog assignment. */
static void picker(web_buf *b, api_req *r, const char *action, const char *hidden_name,
                   const char *hidden_value)
{
    web_printf(b, "<form method=\"post\" action=\"%s\" class=\"stack\" id=\"lti-pick\">\n",
               action);
    web_csrf_field(b, r);
    if (hidden_name)
        web_printf(b, "<input type=\"hidden\" name=\"%s\" value=\"%s\">\n", hidden_name,
                   hidden_value);
    web_raw(b, "<fieldset><legend>Assignment</legend>\n");
    grd_catalog *cat = r->s->catalog;
    for (size_t i = 0; i < grd_catalog_count(cat); i++) {
        const grd_assignment *a = grd_catalog_at(cat, i);
        web_printf(b, "<label><input type=\"radio\" name=\"assignment\" value=\"%s\"%s> "
                      "<strong>%s</strong> (<code>%s</code>, %g points)</label>\n",
                   grd_assignment_name(a), i == 0 ? " required" : "", grd_assignment_title(a),
                   grd_assignment_name(a), grd_assignment_max_score(a));
    }
    web_raw(b, "</fieldset>\n<button type=\"submit\">Use this assignment</button>\n</form>\n");
}

/* The Deep Linking page for an instructor: the request's settings travel
 * in a token the tool signs itself (no server-side state to lose between
 * the page and the pick, whichever process answers). */
static int deep_link_page(api_req *r, db *d, const db_lti_platform *p, const json_t *cl,
                          const db_lti_launch_out *lo, db_crole role)
{
    if (role == DB_CROLE_STUDENT)
        return refuse(r, 403, "Only instructors and teaching assistants can add memgrade "
                              "assignments to the course (Deep Linking).");
    const json_t *st = json_object_get(cl, CL_DL_SETTINGS);
    const char *ret = claim_str(st, "deep_link_return_url");
    if (!ret)
        return refuse(r, 400, "The Deep Linking request has no deep_link_return_url.");
    if (!service_url(p, "Deep Linking return", ret))
        return refuse(r, 400, "The Deep Linking return URL %s is not on a host the platform "
                              "%s is registered with.", ret, p->issuer);
    json_t *accept = json_object_get(st, "accept_types");
    if (json_is_array(accept)) {
        int ok = 0;
        size_t i;
        json_t *v;
        json_array_foreach(accept, i, v) ok |= json_is_string(v) &&
                                               !strcmp(json_string_value(v), "ltiResourceLink");
        if (!ok)
            return refuse(r, 400, "The LMS accepts no ltiResourceLink here (accept_types), "
                                  "the only kind of item memgrade offers.");
    }
    int64_t now = clk_now_ms() / 1000;
    json_t *data = json_object_get(st, "data");
    json_t *t = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:I}", "typ", "memgrade-dl", "uid",
                          (json_int_t)lo->user.id, "pid", (json_int_t)p->id, "dep",
                          claim_str(cl, CL_DEPLOYMENT), "ret", ret, "course", lo->course_id,
                          "exp", (json_int_t)(now + DL_TTL_S));
    if (t && json_is_string(data))
        json_object_set(t, "data", data);
    /* Inside the LMS's frame the session cookie does not come back with the
     * pick (a frame of another site): the signed token, made for this
     * instructor and this request only, is then the credential. */
    int in_frame = framed(r);
    if (t && in_frame)
        json_object_set_new(t, "frame", json_true());
    char *text = t ? json_dumps(t, JSON_COMPACT) : NULL;
    json_decref(t);
    char err[300] = "out of memory";
    char *tok = text ? lti_jwt_sign(d, text, err, sizeof err) : NULL;
    free(text);
    if (!tok)
        return refuse(r, 500, "The tool could not sign: %s", err);
    lti_ctx *c = in_frame ? ctx_of(r) : NULL;
    if (c)
        ancestors(p, c->frame_ancestors, sizeof c->frame_ancestors);
    web_buf b = WEB_BUF_INIT;
    web_page_begin(&b, r, "Add an assignment");
    web_printf(&b, "<h1>Add a memgrade assignment to %s</h1>\n<p>Pick the assignment this "
                   "LMS link opens. The LMS gets a gradebook column with its maximum score; "
                   "students' scores go there once graded.</p>\n", lo->course_id);
    picker(&b, r, "/lti/deep-link", "dl", tok);
    web_page_end(&b);
    free(tok);
    return lti_send(r, 200, &b);
}

static int h_deep_link(api_req *r)
{
    if (r->pending)
        return refuse(r, r->pending, "The form was too large.");
    char csrf[80] = "", name[80] = "";
    web_form_get(r, "csrf", csrf, sizeof csrf);
    web_form_get(r, "assignment", name, sizeof name);
    /* with a session, its CSRF token; without one (the LMS's frame), only
     * a token made for a framed page counts (checked below) */
    int by_session = web_session(r);
    if (by_session && web_require_csrf(r, csrf))
        return r->status;
    char *tok = malloc(TOKEN_FORM_MAX);
    if (!tok)
        return web_error(r, 500, "out of memory");
    int have_tok = !web_form_get(r, "dl", tok, TOKEN_FORM_MAX);
    db *d = srv_db(r->s);
    json_t *t = NULL, *claims = NULL;
    char err[400], *resp_jwt = NULL, *text = NULL;
    int st;
    int vrc = have_tok && d ? lti_jwt_verify_own(d, tok, &t, err, sizeof err) : 1;
    free(tok);
    json_t *exp = json_object_get(t, "exp"), *uid = json_object_get(t, "uid");
    json_t *pid = json_object_get(t, "pid");
    const char *typ = claim_str(t, "typ"), *dep = claim_str(t, "dep");
    const char *ret = claim_str(t, "ret"), *course = claim_str(t, "course");
    if (vrc || !typ || strcmp(typ, "memgrade-dl") || !json_is_integer(exp) ||
        !json_is_integer(uid) || !json_is_integer(pid) || !dep || !ret || !course) {
        st = refuse(r, 400, "This Deep Linking form is not one this tool made; start again "
                            "from the LMS.");
        goto out;
    }
    if (json_integer_value(exp) < clk_now_ms() / 1000) {
        st = refuse(r, 400, "This Deep Linking form is more than an hour old; start again "
                            "from the LMS.");
        goto out;
    }
    int in_frame = json_is_true(json_object_get(t, "frame"));
    if (!by_session && !in_frame) {
        st = refuse(r, 401, "Your memgrade session has ended; start again from the LMS.");
        goto out;
    }
    if (by_session && json_integer_value(uid) != r->user.id) {
        st = refuse(r, 403, "This Deep Linking form was made for another user.");
        goto out;
    }
    db_crole crole = DB_CROLE_STUDENT;
    int staff = by_session ? web_is_staff(r, course)
                           : db_course_role(d, course, json_integer_value(uid), &crole) == DB_OK &&
                                 crole != DB_CROLE_STUDENT;
    if (!staff) {
        st = refuse(r, 403, "Only the course's instructors and teaching assistants can add "
                            "assignments.");
        goto out;
    }
    const grd_assignment *a = catalog_find(r, name);
    if (!a) {
        st = refuse(r, 400, "Pick one of the assignments listed.");
        goto out;
    }
    db_lti_platform p;
    if (db_lti_platform_get(d, json_integer_value(pid), &p) != DB_OK) {
        st = refuse(r, 400, "The platform of this Deep Linking request is no longer "
                            "registered.");
        goto out;
    }
    if (!service_url(&p, "Deep Linking return", ret)) {
        st = refuse(r, 400, "The Deep Linking return URL is not on a host of the platform.");
        goto out;
    }
    if (ensure_offer(d, course, grd_assignment_name(a)) == DB_ERROR) {
        st = refuse(r, 503, "The database is unavailable.");
        goto out;
    }
    char nonce[64], url[300];
    int64_t now = clk_now_ms() / 1000;
    lti_random_b64url(24, nonce, sizeof nonce);
    char pbuf[300];
    snprintf(url, sizeof url, "%s/lti/launch", public_url(r, pbuf));
    json_t *item = json_pack(
        "{s:s, s:s, s:s, s:{s:s, s:f, s:s}, s:{s:s}}", "type", "ltiResourceLink", "title",
        grd_assignment_title(a), "url", url, "lineItem", "label", grd_assignment_title(a),
        "scoreMaximum", grd_assignment_max_score(a), "resourceId", grd_assignment_name(a),
        "custom", "assignment", grd_assignment_name(a));
    claims = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:[o]}", "iss", p.client_id,
                       "aud", p.issuer, "iat", (json_int_t)now, "exp", (json_int_t)(now + 300),
                       "nonce", nonce, CL_DEPLOYMENT, dep, CL_MESSAGE_TYPE,
                       "LtiDeepLinkingResponse", CL_VERSION, "1.3.0", CL_DL_ITEMS, item);
    if (claims && json_object_get(t, "data"))
        json_object_set(claims, CL_DL_DATA, json_object_get(t, "data"));
    text = claims ? json_dumps(claims, JSON_COMPACT) : NULL;
    if (!text || !(resp_jwt = lti_jwt_sign(d, text, err, sizeof err))) {
        st = refuse(r, 500, "The tool could not sign its answer: %s", text ? err : "out of memory");
        goto out;
    }
    lti_ctx *c = ctx_of(r);
    if (!c || url_origin(ret, c->form_origin, sizeof c->form_origin)) {
        st = refuse(r, 400, "The Deep Linking return URL is not usable.");
        goto out;
    }
    if (in_frame)
        ancestors(&p, c->frame_ancestors, sizeof c->frame_ancestors);
    /* The answer goes back through the browser: a form posting the signed
     * JWT to the LMS, sent by lti.js at once, or by hand without script. */
    web_buf b = WEB_BUF_INIT;
    web_raw(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<title>Returning to the LMS · memgrade</title>\n"
                "<script src=\"/static/lti.js\" defer></script>\n</head>\n<body>\n");
    web_printf(&b, "<form method=\"post\" action=\"%s\" id=\"lti-return\">\n"
                   "<input type=\"hidden\" name=\"JWT\" value=\"%s\">\n"
                   "<p>Adding <strong>%s</strong> to the LMS course.</p>\n"
                   "<button type=\"submit\">Return to the LMS</button>\n</form>\n"
                   "</body>\n</html>\n", ret, resp_jwt, grd_assignment_title(a));
    st = lti_send(r, 200, &b);
out:
    free(text);
    free(resp_jwt);
    json_decref(claims);
    json_decref(t);
    return st;
}

/* The course of LMS link `link` into course, when the caller is its staff:
 * 0; else the refusal answered (404 unknown link, 403 not staff, 503). */
static int link_staff(api_req *r, db *d, int64_t link, char course[64])
{
    if (!d)
        return web_error(r, 503, "The database is unavailable.");
    int rc = link ? db_lti_link_course(d, link, course, 64) : DB_NOT_FOUND;
    if (rc != DB_OK)
        return web_error(r, rc == DB_NOT_FOUND ? 404 : 503, "There is no such LMS link.");
    if (!web_is_staff(r, course))
        return web_error(r, 403, "Only the course's instructors and teaching assistants can "
                                 "choose what a link opens.");
    return 0;
}

/* An instructor's pick for a link that opens no assignment yet. */
static int h_link_pick(api_req *r)
{
    if (r->pending)
        return refuse(r, r->pending, "The form was too large.");
    if (web_require_user(r))
        return r->status;
    char csrf[80] = "", name[80] = "", course[64];
    web_form_get(r, "csrf", csrf, sizeof csrf);
    web_form_get(r, "assignment", name, sizeof name);
    if (web_require_csrf(r, csrf))
        return r->status;
    int64_t link = parse_id(r->params[0]);
    db *d = srv_db(r->s);
    if (link_staff(r, d, link, course))
        return r->status;
    const grd_assignment *a = catalog_find(r, name);
    if (!a)
        return web_error(r, 400, "Pick one of the assignments listed.");
    if (ensure_offer(d, course, grd_assignment_name(a)) == DB_ERROR ||
        db_lti_link_set_assignment(d, link, grd_assignment_name(a)) != DB_OK)
        return web_error(r, 503, "The database is unavailable.");
    web_buf u = WEB_BUF_INIT;
    web_raw(&u, "/courses/");
    web_url(&u, course);
    web_raw(&u, "/");
    web_url(&u, grd_assignment_name(a));
    int st = u.failed ? web_error(r, 500, "out of memory") : web_redirect(r, u.p);
    free(u.p);
    return st;
}

/* ---- launches inside an LMS frame --------------------------------------------------- */

/* Whether the browser says the request loads a frame (Fetch Metadata):
 * the LMS shows the tool in an iframe. memgrade's pages refuse framing and
 * its session cookie is not sent to a frame of another site, so a framed
 * launch hands over to a window of the tool's own. */
static int framed(api_req *r)
{
    const char *dest = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Sec-Fetch-Dest");
    return dest && (!strcmp(dest, "iframe") || !strcmp(dest, "frame"));
}

/* frame-ancestors: the origins of the platform's registered URLs. */
static void ancestors(const db_lti_platform *p, char *out, size_t cap)
{
    const char *urls[] = {p->issuer, p->auth_url, p->service_url};
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        char o[300];
        if (!urls[i][0] || url_origin(urls[i], o, sizeof o) || strstr(out, o))
            continue;
        int k = snprintf(out + n, cap - n, "%s%s", n ? " " : "", o);
        if (k < 0 || (size_t)k >= cap - n)
            break;
        n += (size_t)k;
    }
}

/* The page a framed launch gets: a button opening the assignment in a new
 * window through a one-time login link that lives two minutes. */
static int framed_landing(api_req *r, db *d, const db_lti_platform *p, const db_user *u,
                          const char *path)
{
    char tok[AUTH_TOKEN_LEN + 1];
    uint8_t hash[AUTH_HASH_LEN];
    if (auth_token_new(tok, hash) ||
        db_login_link_add(d, hash, u->id, clk_now_ms() + 120000) != DB_OK)
        return refuse(r, 503, "The database is unavailable; try again in a moment.");
    lti_ctx *c = ctx_of(r);
    if (!c)
        return web_error(r, 500, "out of memory");
    ancestors(p, c->frame_ancestors, sizeof c->frame_ancestors);
    web_buf link = WEB_BUF_INIT;
    web_raw(&link, "/login/once/");
    web_raw(&link, tok);
    web_raw(&link, "?next=");
    web_url(&link, path);
    web_buf b = WEB_BUF_INIT;
    web_page_begin(&b, r, "Open memgrade");
    web_printf(&b, "<h1>memgrade opens in its own window</h1>\n<p>Submissions and results "
                   "need a window of their own.</p>\n<p><a class=\"button\" id=\"lti-open\" "
                   "href=\"%s\" target=\"_blank\" rel=\"noopener\">Open the assignment</a></p>\n"
                   "<p class=\"hint\">The button works once, for two minutes; launch again "
                   "from the LMS after that.</p>\n", link.p ? link.p : "");
    free(link.p);
    web_page_end(&b);
    return lti_send(r, 200, &b);
}

/* The page of a link that opens no assignment yet: staff pick one there
 * (action), students are told to wait; framable by p's hosts when given
 * (a student's launch in the LMS's frame: nothing to click). */
static int unset_page(api_req *r, int staff, const char *action, const db_lti_platform *p)
{
    lti_ctx *c = p ? ctx_of(r) : NULL;
    if (c)
        ancestors(p, c->frame_ancestors, sizeof c->frame_ancestors);
    web_buf b = WEB_BUF_INIT;
    web_page_begin(&b, r, "No assignment yet");
    web_raw(&b, "<h1>This link opens no assignment yet</h1>\n");
    if (!staff) {
        web_raw(&b, "<p id=\"lti-unset\">Your instructor has not chosen which memgrade "
                    "assignment this LMS link opens. Try again later.</p>\n");
    } else {
        web_raw(&b, "<p id=\"lti-unset\">Choose the assignment this LMS link opens (or "
                    "set the custom parameter <code>assignment=NAME</code> on the link in "
                    "the LMS). Grades go back to the LMS only when the LMS made the link "
                    "with a gradebook column (Deep Linking does).</p>\n");
        picker(&b, r, action, NULL, NULL);
    }
    web_page_end(&b);
    return lti_send(r, 200, &b);
}

/* GET of a link's picker: where a framed instructor's launch sends the
 * window it opens. */
static int h_link_pick_page(api_req *r)
{
    if (web_require_user(r))
        return r->status;
    int64_t link = parse_id(r->params[0]);
    char course[64];
    db *d = srv_db(r->s);
    if (link_staff(r, d, link, course))
        return r->status;
    char action[64];
    snprintf(action, sizeof action, "/lti/links/%lld/assignment", (long long)link);
    return unset_page(r, 1, action, NULL);
}

/* ---- /lti/launch ------------------------------------------------------------------------- */

static int h_launch(api_req *r)
{
    if (r->pending)
        return refuse(r, r->pending, "The launch was too large (an id_token over 64 KiB).");
    char state[128] = "";
    char *token = malloc(TOKEN_FORM_MAX);
    if (!token)
        return web_error(r, 500, "out of memory");
    int st = 0;
    json_t *cl = NULL;
    if (web_form_get(r, "id_token", token, TOKEN_FORM_MAX)) {
        const char *e = NULL;
        char edesc[200] = "";
        if (!web_form_get(r, "error", edesc, sizeof edesc))
            e = edesc;
        st = e ? refuse(r, 400, "The LMS answered the login with an error: %s", e)
               : refuse(r, 400, "The launch carries no id_token.");
        goto out;
    }
    if (web_form_get(r, "state", state, sizeof state) || !state[0]) {
        st = refuse(r, 400, "The launch carries no state: it did not come from a login this "
                            "tool started. Start it again from the LMS.");
        goto out;
    }
    db *d = srv_db(r->s);
    if (!d) {
        st = refuse(r, 503, "The database is unavailable; try again in a moment.");
        goto out;
    }
    uint8_t sh[32], bh[32], want[32];
    sha256(state, strlen(state), sh);
    int64_t pid = 0, expires = 0, now = clk_now_ms();
    char nonce[128];
    int rc = db_lti_state_take(d, sh, &pid, nonce, sizeof nonce, want, &expires);
    if (rc == DB_ERROR) {
        st = refuse(r, 503, "The database is unavailable; try again in a moment.");
        goto out;
    }
    if (rc == DB_NOT_FOUND) {
        st = refuse(r, 400, "This launch's state is unknown or was already used (a launch "
                            "works once: a replayed launch is refused). Start it again from "
                            "the LMS.");
        goto out;
    }
    if (expires <= now) {
        char ago[40];
        span((now - expires) / 1000, ago);
        st = refuse(r, 400, "The login expired %s ago: a launch must finish within 10 "
                            "minutes of starting. Start it again from the LMS.", ago);
        goto out;
    }
    const char *cookie = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, STATE_COOKIE);
    if (!cookie || !*cookie) {
        st = refuse(r, 401, "This browser sent no login cookie with the launch, so it cannot "
                            "be tied to the login that started it. The browser may block "
                            "cookies for this site inside the LMS: open the tool in a new "
                            "window.");
        goto out;
    }
    sha256(cookie, strlen(cookie), bh);
    if (CRYPTO_memcmp(bh, want, 32)) {
        st = refuse(r, 401, "This launch was started in another browser (its login cookie "
                            "does not match). Start it again from the LMS.");
        goto out;
    }
    db_lti_platform p;
    if ((rc = db_lti_platform_get(d, pid, &p)) != DB_OK) {
        st = refuse(r, rc == DB_ERROR ? 503 : 400, "The platform of this login is no longer "
                                                   "registered.");
        goto out;
    }
    char err[600];
    rc = lti_jwt_verify(d, &p, token, &cl, err, sizeof err);
    if (rc) {
        st = refuse(r, rc < 0 ? 502 : 401, "%s (issuer %s).", err, p.issuer);
        goto out;
    }
    if ((st = check_claims(r, d, &p, cl, nonce)))
        goto out;

    const char *mt = claim_str(cl, CL_MESSAGE_TYPE);
    int deep = !strcmp(mt, "LtiDeepLinkingRequest");
    const json_t *ctx = json_object_get(cl, CL_CONTEXT);
    const char *ctx_id = claim_str(ctx, "id");
    if (!ctx_id || !*ctx_id || strlen(ctx_id) > 255) {
        st = refuse(r, 400, "The launch names no course (context id): memgrade needs one to "
                            "know which course it is for.");
        goto out;
    }
    const json_t *link = json_object_get(cl, CL_RESOURCE_LINK);
    const char *link_id = claim_str(link, "id");
    if (!deep && (!link_id || !*link_id || strlen(link_id) > 255)) {
        st = refuse(r, 400, "The resource link launch has no resource link id.");
        goto out;
    }
    const char *custom = claim_str(json_object_get(cl, CL_CUSTOM), "assignment");
    if (custom && !*custom)
        custom = NULL;
    if (custom && !deep && !catalog_find(r, custom)) {
        st = refuse(r, 400, "The LMS link names assignment \"%s\" (custom parameter "
                            "assignment), which this server does not have.", custom);
        goto out;
    }
    const json_t *ags = json_object_get(cl, CL_AGS);
    const char *lineitem = service_url(&p, "AGS line item", claim_str(ags, "lineitem"));
    const char *nrps = service_url(&p, "NRPS memberships",
                                   claim_str(json_object_get(cl, CL_NRPS),
                                             "context_memberships_url"));
    const char *sub = claim_str(cl, "sub");
    char cid[40], alt[40], title[201], uname[65];
    course_ids(p.id, claim_str(cl, CL_DEPLOYMENT), ctx_id, claim_str(ctx, "label"), cid, alt);
    course_title(ctx, title);
    lti_user_name(cl, p.id, sub, uname);
    db_crole role = lti_map_roles(json_object_get(cl, CL_ROLES));
    db_lti_launch_in in = {
        .platform_id = p.id, .deployment_id = claim_str(cl, CL_DEPLOYMENT),
        .context_id = ctx_id, .course_id = cid, .course_id_alt = alt, .course_title = title,
        .nrps_url = nrps, .sub = sub, .user_name = uname, .role = role,
        .resource_link_id = deep ? NULL : link_id,
        .assignment = deep ? NULL : custom, .lineitem_url = deep ? NULL : lineitem,
        .now = now,
    };
    db_lti_launch_out lo;
    rc = db_lti_launch_store(d, &in, &lo);
    if (rc == DB_EXISTS) {
        st = refuse(r, 409, "The course ids %s and %s are both taken by courses not made by "
                            "this LMS context.", cid, alt);
        goto out;
    }
    if (rc != DB_OK) {
        st = refuse(r, 503, "The database is unavailable; try again in a moment.");
        goto out;
    }
    if (lo.assignment[0] && ensure_offer(d, lo.course_id, lo.assignment) == DB_ERROR) {
        st = refuse(r, 503, "The database is unavailable; try again in a moment.");
        goto out;
    }
    if (lo.new_course || lo.new_user)
        log_line("platform %lld: %s%s%s%s", (long long)p.id, lo.new_course ? "new course " : "",
                 lo.new_course ? lo.course_id : "", lo.new_user ? " new user " : "",
                 lo.new_user ? lo.user.name : "");
    /* logged in exactly as by the login form */
    if (web_session_start(r, &lo.user)) {
        st = r->status;
        goto out;
    }
    if (deep) {
        st = deep_link_page(r, d, &p, cl, &lo, role);
        goto out;
    }
    if (!lo.assignment[0]) {
        char action[64];
        snprintf(action, sizeof action, "/lti/links/%lld/assignment", (long long)lo.link_id);
        if (role != DB_CROLE_STUDENT && framed(r)) /* the picker in a window of its own */
            st = framed_landing(r, d, &p, &lo.user, action);
        else
            st = unset_page(r, role != DB_CROLE_STUDENT, action, framed(r) ? &p : NULL);
        goto out;
    }
    web_buf u = WEB_BUF_INIT;
    web_raw(&u, "/courses/");
    web_url(&u, lo.course_id);
    web_raw(&u, "/");
    web_url(&u, lo.assignment);
    if (u.failed)
        st = web_error(r, 500, "out of memory");
    else if (framed(r))
        st = framed_landing(r, d, &p, &lo.user, u.p);
    else
        st = web_redirect(r, u.p);
    if (st == 303)
        r->headers = lti_headers;
    free(u.p);
out:
    json_decref(cl);
    free(token);
    return st;
}

/* ---- /lti/jwks ------------------------------------------------------------------------- */

static void jwks_headers(api_req *r, struct MHD_Response *resp)
{
    (void)r;
    /* platforms cache it; a rotation keeps the old key for days anyway */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "public, max-age=300");
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
}

static int h_jwks(api_req *r)
{
    db *d = srv_db(r->s);
    char err[300];
    char *text = d && !lti_keys_ensure(d, err, sizeof err) ? lti_keys_jwks(d, clk_now_ms()) : NULL;
    if (!text)
        return reply_error(r, 503, "the tool's keys are unavailable");
    r->headers = jwks_headers;
    return reply(r, 200, "application/json", text, strlen(text));
}

const api_route lti_routes[] = {
    {"GET", "/lti/login", h_login, AUTH_NONE, NULL},
    {"POST", "/lti/login", h_login, AUTH_NONE, web_form_begin},
    {"POST", "/lti/launch", h_launch, AUTH_NONE, web_form_begin},
    {"POST", "/lti/deep-link", h_deep_link, AUTH_NONE, web_form_begin},
    {"GET", "/lti/links/*/assignment", h_link_pick_page, AUTH_NONE, NULL},
    {"POST", "/lti/links/*/assignment", h_link_pick, AUTH_NONE, web_form_begin},
    {"GET", "/lti/jwks", h_jwks, AUTH_NONE, NULL},
};
const size_t lti_nroutes = sizeof lti_routes / sizeof lti_routes[0];
