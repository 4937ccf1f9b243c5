/* web: the HTML pages of SPEC §7 served by `memgrade serve` itself. Pages are
 * route rows like the API's (api_int.h), answered on the same request
 * struct; what every page family shares is here: an HTML buffer whose %s
 * escapes, the page shell, the session behind the cookie, CSRF tokens and
 * role checks. Page families: web_auth.c (login, logout, sessions),
 * web_student.c (/, /courses/C/A, /submissions/ID), web_dashboard.c. */
#ifndef MEMGRADE_WEB_H
#define MEMGRADE_WEB_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api_int.h"

/* ---- HTML text ------------------------------------------------------------ */

/* A page being written: a tbuf (api_int.h) capped at WEB_PAGE_MAX. Out of
 * memory is remembered (b->failed) and answered 500 by web_send. */
#define WEB_PAGE_MAX (8u << 20)
typedef tbuf web_buf;
#define WEB_BUF_INIT {.max = WEB_PAGE_MAX}

/* Appends fmt as printf does, except that every %s argument is HTML-escaped
 * (& < > " ' become entities), so values can go into text and quoted
 * attributes alike. NULL for %s prints nothing. Markup goes in fmt or
 * through web_raw. */
__attribute__((format(printf, 2, 3)))
void web_printf(web_buf *b, const char *fmt, ...);
/* Appends s as it is (markup we wrote). */
void web_raw(web_buf *b, const char *s);
/* Appends s[0..len) escaped (bytes need not be NUL-free: NUL shows as
 * U+FFFD). */
void web_escn(web_buf *b, const char *s, size_t len);
/* Appends s percent-encoded for one URL path segment or query value. */
void web_url(web_buf *b, const char *s);

/* ---- the page shell ------------------------------------------------------- */

/* Writes the doctype, head (title "TITLE · memgrade", the stylesheet and
 * app.js from /static, the CSRF token in <meta name="csrf-token"> for
 * scripts), the header with the nav (Courses; Dashboard for staff), the
 * logged-in user and the logout button, and opens <main id="main">.
 * r->authed decides whether the user part is shown. */
void web_page_begin(web_buf *b, api_req *r, const char *title);
/* Closes <main>, the footer and the document. */
void web_page_end(web_buf *b);
/* Answers the page: status, text/html, the page security headers (CSP and
 * friends, every page). Steals b's text. Returns status (500 when b
 * failed). */
int web_send(api_req *r, int status, web_buf *b);
/* A whole readable error page: a heading for the status and the message.
 * Returns status. */
__attribute__((format(printf, 3, 4)))
int web_error(api_req *r, int status, const char *fmt, ...);
/* 303 See Other to url (a local path, copied). Returns 303. */
int web_redirect(api_req *r, const char *url);
/* web_redirect to a URL built in u (freed), or a 500 when building it ran
 * out of memory. */
int web_redirect_buf(api_req *r, web_buf *u);
/* A hidden form field carrying the session's CSRF token: every POST form
 * writes one (name "csrf"). */
void web_csrf_field(web_buf *b, api_req *r);
/* Formats an ISO 8601 UTC time for a page: <time datetime="...">UTC
 * text</time>, which app.js turns into the reader's local time. ms 0
 * writes none_text instead. */
void web_time(web_buf *b, int64_t ms, const char *none_text);

/* ---- sessions, CSRF and roles --------------------------------------------- */

/* Whether the request carries a live session cookie: 1 with r->user,
 * r->authed and r->web filled, else 0. Cheap to call twice. */
int web_session(api_req *r);
/* For pages that need a user: 0 when logged in; else answers 303 to
 * /login?next=<this path> and returns the status. */
int web_require_user(api_req *r);
/* Starts a session for u as the login form does (LTI launches too): the
 * cookie goes out with the response (r->web.set_cookie). 0, or a status
 * already answered. */
int web_session_start(api_req *r, const db_user *u);
/* Whether token is the session's CSRF token (constant-time compare). */
int web_csrf_ok(api_req *r, const char *token);
/* For POST handlers: 0 when token matches, else answers a 403 page and
 * returns 403. */
int web_require_csrf(api_req *r, const char *token);
/* Whether r's user is staff of course (TA or instructor there, or a
 * global instructor): the API's own rule (api_course_staff). */
int web_is_staff(api_req *r, const char *course);
/* Whether r's user is TA or instructor of any course, or a global
 * instructor: decides the Dashboard link. */
int web_is_staff_anywhere(api_req *r);

/* ---- forms ---------------------------------------------------------------- */

/* begin for routes taking an application/x-www-form-urlencoded body (the
 * body lands in r->json, capped at 64 KiB). */
int web_form_begin(api_req *r);
/* The value of field key in that body, decoded into out (cap bytes, NUL
 * terminated); 0 when present (and fits), -1 otherwise. */
int web_form_get(api_req *r, const char *key, char *out, size_t cap);

/* ---- data through the API ------------------------------------------------- */

/* Runs the API's own route for GET path (with query string) as r's user and
 * parses its JSON: the pages see exactly what the API lets this user see.
 * Returns the HTTP status the API gave; *out (caller decrefs) the document
 * or NULL. */
int web_api_get(api_req *r, const char *path, json_t **out);

/* ---- routes ---------------------------------------------------------------- */

/* The page route families: each a table like api_course_routes, listed in
 * api.c's route_tables. Page routes use AUTH_NONE and check the session
 * themselves (web_require_user), so a missing login is a redirect, not a
 * JSON 401. */
extern const api_route web_routes[];            /* web.c: /static/... */
extern const size_t web_nroutes;
extern const api_route web_auth_routes[];       /* web_auth.c */
extern const size_t web_auth_nroutes;
extern const api_route web_student_routes[];    /* web_student.c */
extern const size_t web_student_nroutes;
extern const api_route web_dashboard_routes[];  /* web_dashboard.c */
extern const size_t web_dashboard_nroutes;
extern const api_route web_deliveries_routes[]; /* web_deliveries.c: listed
                                                 * before web_dashboard_routes */
extern const size_t web_deliveries_nroutes;
extern const api_route lti_routes[];            /* lti_launch.c: /lti/... */
extern const size_t lti_nroutes;

/* An HTML 404 page for paths that are not the API's. */
int web_not_found(api_req *r);
/* Whether path belongs to the pages (not /api/, /healthz, /metrics). */
int web_is_page_path(const char *path);

/* A file of web/ compiled in (web_assets.c, generated at build time by
 * server/CMakeLists.txt), served at /static/NAME. */
typedef struct {
    const char *name, *mime, *etag;
    const unsigned char *data;
    size_t len;
} web_asset;

/* ---- what api.c and srv_main.c call -------------------------------------- */

/* Cookie authentication for the JSON API: 0 when a live session cookie was
 * found (r->user, r->authed, r->web.by_cookie set), -1 when there is none.
 * State-changing API requests made with it must carry the CSRF token in
 * X-CSRF-Token: web_api_csrf answers 403 otherwise (0 when fine). */
int web_api_cookie_auth(api_req *r);
int web_api_csrf(api_req *r);

/* First start: when the database has no user, creates instructor "admin"
 * and a one-time login link valid for WEB_LINK_TTL_MS, its path (with the
 * token) into path. 1 when created, 0 when users exist, -1 on failure. */
#define WEB_LINK_TTL_MS (24LL * 3600 * 1000)
int web_first_start(db *d, char *path, size_t pathlen);
/* A one-time login link for user name (memgrade user link): path into
 * path. 0, DB_NOT_FOUND, or -1. */
int web_login_link(db *d, const char *name, char *path, size_t pathlen);

#endif
