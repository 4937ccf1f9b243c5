/* web_auth: logging in and out of the pages. A session is 256 random bits
 * in an HttpOnly cookie; the database keeps only its SHA-256, its user and
 * its CSRF token. Failed logins are limited per user name and per client
 * address; the first start of a server without users prints a one-time
 * login link. */
#include "web.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "auth.h"
#include "clock.h"

#define SESSION_COOKIE "mg_session"
#define LOGIN_COOKIE "mg_login"          /* the login form's CSRF token */
#define SESSION_MAX_MS (14LL * 86400 * 1000)  /* a session lives two weeks */
#define SESSION_IDLE_MS (3LL * 86400 * 1000)  /* ... or until 3 idle days */
#define SESSION_TOUCH_MS (60 * 1000)          /* last_seen written at most this often */
#define LOGIN_WINDOW_MS (15 * 60 * 1000)

/* ---- sessions ------------------------------------------------------------------ */

static int hex64(const char *s)
{
    return s && strlen(s) == AUTH_TOKEN_LEN && strspn(s, "0123456789abcdef") == AUTH_TOKEN_LEN;
}

int web_session(api_req *r)
{
    if (r->web.checked)
        return r->web.live;
    r->web.checked = 1;
    const char *id = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, SESSION_COOKIE);
    if (!hex64(id))
        return 0;
    uint8_t hash[AUTH_HASH_LEN];
    auth_token_hash(id, AUTH_TOKEN_LEN, hash);
    db *d = srv_db(r->s);
    db_user u;
    char csrf[AUTH_TOKEN_LEN + 1];
    int64_t last = 0, now = clk_now_ms();
    if (!d || db_session_get(d, hash, now, &u, csrf, &last) != DB_OK ||
        last + SESSION_IDLE_MS <= now)
        return 0;
    if (now - last > SESSION_TOUCH_MS)
        db_session_touch(d, hash, now);
    r->user = u;
    r->authed = 1;
    r->web.live = 1;
    memcpy(r->web.sid, hash, sizeof hash);
    memcpy(r->web.csrf, csrf, sizeof csrf);
    return 1;
}

int web_require_user(api_req *r)
{
    if (web_session(r))
        return 0;
    web_buf u = WEB_BUF_INIT;
    web_raw(&u, "/login?next=");
    web_url(&u, r->path);
    int st = u.failed ? web_error(r, 500, "out of memory") : web_redirect(r, u.p);
    free(u.p);
    return st;
}

static int same64(const char *a, const char *b)
{
    if (!hex64(a) || !hex64(b))
        return 0;
    unsigned diff = 0; /* all of it: no early exit to time */
    for (int i = 0; i < AUTH_TOKEN_LEN; i++)
        diff |= (unsigned)(a[i] ^ b[i]);
    return diff == 0;
}

int web_csrf_ok(api_req *r, const char *token)
{
    return r->web.live && same64(token, r->web.csrf);
}

int web_require_csrf(api_req *r, const char *token)
{
    if (web_csrf_ok(r, token))
        return 0;
    return web_error(r, 403,
                     "This form was not sent from a page of this site (its security token is "
                     "missing or out of date). Go back, reload the page and send it again.");
}

int web_api_cookie_auth(api_req *r)
{
    if (!web_session(r))
        return -1;
    r->web.by_cookie = 1;
    return 0;
}

int web_api_csrf(api_req *r)
{
    if (!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD"))
        return 0;
    const char *t = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-CSRF-Token");
    if (web_csrf_ok(r, t))
        return 0;
    return reply_error(r, 403, "a request authenticated by the session cookie must carry the "
                               "session's CSRF token in X-CSRF-Token");
}

/* Whether the browser reached us over https: only a proxy we were told to
 * trust (--trust-proxy 1) can say so. */
static int over_tls(api_req *r)
{
    const char *p = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Forwarded-Proto");
    return r->s->cfg.trust_proxy && p && !strcasecmp(p, "https");
}

static void set_cookie(api_req *r, const char *name, const char *value, long max_age)
{
    snprintf(r->web.set_cookie, sizeof r->web.set_cookie,
             "%s=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%ld%s", name, value, max_age,
             over_tls(r) ? "; Secure" : "");
}

int web_session_start(api_req *r, const db_user *u)
{
    char id[AUTH_TOKEN_LEN + 1], csrf[AUTH_TOKEN_LEN + 1];
    uint8_t hash[AUTH_HASH_LEN], unused[AUTH_HASH_LEN];
    if (auth_token_new(id, hash) || auth_token_new(csrf, unused))
        return web_error(r, 500, "The server has no randomness to make a session with.");
    db *d = srv_db(r->s);
    int64_t now = clk_now_ms();
    if (!d || db_session_add(d, hash, u->id, csrf, now, now + SESSION_MAX_MS,
                             now - SESSION_IDLE_MS) != DB_OK)
        return web_error(r, 500, "The database is unavailable: the session was not started.");
    set_cookie(r, SESSION_COOKIE, id, (long)(SESSION_MAX_MS / 1000));
    r->user = *u;
    r->authed = r->web.checked = r->web.live = 1;
    memcpy(r->web.sid, hash, sizeof hash);
    memcpy(r->web.csrf, csrf, sizeof csrf);
    return 0;
}

/* ---- the login rate limit -------------------------------------------------------- */

/* Failures per key (a user name or a client address) in a fixed window;
 * a small table where a new key replaces the stalest slot: an attacker
 * flooding it with keys only makes it forget, it never grows. */
#define LIMIT_SLOTS 1024
static struct {
    uint64_t key;
    int64_t start;
    int fails;
} limits[LIMIT_SLOTS];
static pthread_mutex_t limits_mu = PTHREAD_MUTEX_INITIALIZER;

static uint64_t limit_key(const char *kind, const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = kind; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    for (const char *p = s; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h ? h : 1;
}

/* Seconds until key may try again, 0 when it may now. */
static int limit_wait(uint64_t key, int max, int64_t now)
{
    int wait = 0;
    pthread_mutex_lock(&limits_mu);
    for (int i = 0; i < LIMIT_SLOTS; i++)
        if (limits[i].key == key && limits[i].fails >= max &&
            now < limits[i].start + LOGIN_WINDOW_MS)
            wait = (int)((limits[i].start + LOGIN_WINDOW_MS - now + 999) / 1000);
    pthread_mutex_unlock(&limits_mu);
    return wait;
}

static void limit_fail(uint64_t key, int64_t now)
{
    pthread_mutex_lock(&limits_mu);
    int slot = -1, stalest = 0;
    for (int i = 0; i < LIMIT_SLOTS; i++) {
        if (limits[i].key == key) {
            slot = i;
            break;
        }
        if (limits[i].start < limits[stalest].start)
            stalest = i;
    }
    if (slot < 0 || now >= limits[slot].start + LOGIN_WINDOW_MS) {
        if (slot < 0)
            slot = stalest;
        limits[slot].key = key;
        limits[slot].start = now;
        limits[slot].fails = 0;
    }
    limits[slot].fails++;
    pthread_mutex_unlock(&limits_mu);
}

static void limit_clear(uint64_t key)
{
    pthread_mutex_lock(&limits_mu);
    for (int i = 0; i < LIMIT_SLOTS; i++)
        if (limits[i].key == key)
            limits[i].fails = 0;
    pthread_mutex_unlock(&limits_mu);
}

/* The client's address: the peer, or behind a trusted proxy the last
 * address it appended to X-Forwarded-For. */
static void client_addr(api_req *r, char out[INET6_ADDRSTRLEN])
{
    snprintf(out, INET6_ADDRSTRLEN, "-");
    const char *fwd = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Forwarded-For");
    if (r->s->cfg.trust_proxy && fwd && *fwd) {
        const char *last = strrchr(fwd, ',');
        last = last ? last + 1 : fwd;
        while (*last == ' ')
            last++;
        snprintf(out, INET6_ADDRSTRLEN, "%.*s", (int)strcspn(last, " "), last);
        return;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, INET6_ADDRSTRLEN);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
                  INET6_ADDRSTRLEN);
}

/* ---- /login ------------------------------------------------------------------------ */

/* A local path to go to after logging in; "/" for anything else (an
 * absolute URL, //host, a backslash trick). */
static const char *safe_next(const char *next)
{
    if (!next || next[0] != '/' || next[1] == '/' || next[1] == '\\' ||
        strpbrk(next, "\r\n\\") || strlen(next) > 400)
        return "/";
    return next;
}

static int login_page(api_req *r, int status, const char *msg, const char *name,
                      const char *next)
{
    /* The login form's own CSRF token, double-submitted: a cookie and a
     * field that must match, so another site cannot log a browser in to an
     * account of its choosing. */
    char token[AUTH_TOKEN_LEN + 1];
    uint8_t unused[AUTH_HASH_LEN];
    if (auth_token_new(token, unused))
        return web_error(r, 500, "The server has no randomness.");
    set_cookie(r, LOGIN_COOKIE, token, 3600);
    web_buf b = WEB_BUF_INIT;
    web_page_begin(&b, r, "Log in");
    web_raw(&b, "<section class=\"narrow\">\n<h1>Log in</h1>\n");
    if (msg)
        web_printf(&b, "<p class=\"notice %s\" role=\"alert\"><span class=\"icon\" "
                       "aria-hidden=\"true\">%s</span> %s</p>\n",
                   status < 400 ? "info" : "error", status < 400 ? "ℹ" : "⚠", msg);
    web_printf(&b, "<form method=\"post\" action=\"/login\" class=\"stack\">\n"
                   "<input type=\"hidden\" name=\"csrf\" value=\"%s\">\n"
                   "<input type=\"hidden\" name=\"next\" value=\"%s\">\n"
                   "<label for=\"username\">User name</label>\n"
                   "<input id=\"username\" name=\"username\" autocomplete=\"username\" "
                   "required maxlength=\"64\" value=\"%s\" autocapitalize=\"none\" "
                   "spellcheck=\"false\">\n"
                   "<label for=\"password\">Password</label>\n"
                   "<input id=\"password\" name=\"password\" type=\"password\" "
                   "autocomplete=\"current-password\" required maxlength=\"1024\">\n"
                   "<button type=\"submit\">Log in</button>\n</form>\n"
                   "<p class=\"hint\">No password yet? Your instructor sets one with "
                   "<code>memgrade user passwd</code>.</p>\n</section>\n",
               token, safe_next(next), name ? name : "");
    web_page_end(&b);
    return web_send(r, status, &b);
}

static int h_login_get(api_req *r)
{
    const char *next = safe_next(query(r, "next"));
    if (web_session(r))
        return web_redirect(r, next);
    const char *bye = query(r, "bye");
    return login_page(r, 200, bye ? "You are logged out." : NULL, NULL, next);
}

/* A stored hash to verify against when the user does not exist, so a
 * wrong name costs the same time as a wrong password. */
static char dummy_hash[AUTH_PASSWORD_LEN];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static void dummy_init(void)
{
    if (auth_password_hash("memgrade: no such user", dummy_hash))
        dummy_hash[0] = '\0';
}

static int h_login_post(api_req *r)
{
    char name[128] = "", pw[1100] = "", csrf[80] = "", next[512] = "/";
    web_form_get(r, "username", name, sizeof name);
    web_form_get(r, "next", next, sizeof next);
    const char *go = safe_next(next);
    if (r->pending)
        return login_page(r, r->pending, "The form was too large.", NULL, go);
    const char *cookie = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, LOGIN_COOKIE);
    if (web_form_get(r, "csrf", csrf, sizeof csrf) || !same64(csrf, cookie))
        return login_page(r, 403, "The login form had expired (or cookies are off): "
                                  "please log in again.", name, go);
    if (web_form_get(r, "password", pw, sizeof pw) || !name[0] || strlen(name) > 64) {
        explicit_bzero(pw, sizeof pw);
        return login_page(r, 400, "Enter your user name and password.", name, go);
    }
    char addr[INET6_ADDRSTRLEN];
    client_addr(r, addr);
    int64_t now = clk_now_ms();
    uint64_t kuser = limit_key("u:", name), kaddr = limit_key("a:", addr);
    int max = r->s->cfg.login_limit > 0 ? r->s->cfg.login_limit : 10;
    int wait = limit_wait(kuser, max, now), wait_addr = limit_wait(kaddr, 4 * max, now);
    if (wait_addr > wait)
        wait = wait_addr;
    if (wait) {
        explicit_bzero(pw, sizeof pw);
        snprintf(r->retry_after, sizeof r->retry_after, "%d", wait);
        char msg[200];
        snprintf(msg, sizeof msg, "Too many failed logins. Try again in %d minute%s.",
                 (wait + 59) / 60, (wait + 59) / 60 == 1 ? "" : "s");
        return login_page(r, 429, msg, name, go);
    }
    db *d = srv_db(r->s);
    db_user u;
    char stored[AUTH_PASSWORD_LEN] = "";
    int rc = d ? db_user_login(d, name, &u, stored, sizeof stored) : DB_ERROR;
    if (rc == DB_ERROR) {
        explicit_bzero(pw, sizeof pw);
        return web_error(r, 500, "The database is unavailable.");
    }
    int ok;
    if (rc == DB_OK && stored[0]) {
        ok = auth_password_verify(pw, stored);
    } else {
        pthread_once(&dummy_once, dummy_init);
        auth_password_verify(pw, dummy_hash);
        ok = 0;
    }
    if (ok && auth_password_needs_rehash(stored)) {
        /* An older (PBKDF2) hash becomes argon2id now that we have the
         * password in hand. */
        char fresh[AUTH_PASSWORD_LEN];
        if (!auth_password_hash(pw, fresh))
            db_user_set_password(d, u.name, fresh);
    }
    explicit_bzero(pw, sizeof pw);
    if (!ok) {
        limit_fail(kuser, now);
        limit_fail(kaddr, now);
        return login_page(r, 401, "Wrong user name or password.", name, go);
    }
    limit_clear(kuser);
    if (web_session_start(r, &u))
        return r->status;
    return web_redirect(r, go);
}

static int h_logout(api_req *r)
{
    char csrf[80] = "";
    web_form_get(r, "csrf", csrf, sizeof csrf);
    if (!web_session(r))
        return web_redirect(r, "/login");
    if (web_require_csrf(r, csrf))
        return r->status;
    db *d = srv_db(r->s);
    if (!d || db_session_delete(d, r->web.sid) == DB_ERROR)
        return web_error(r, 500, "The database is unavailable: you are still logged in.");
    r->authed = r->web.live = 0;
    set_cookie(r, SESSION_COOKIE, "", 0);
    return web_redirect(r, "/login?bye=1");
}

/* ---- one-time login links ------------------------------------------------------------- */

static int h_login_once(api_req *r)
{
    char addr[INET6_ADDRSTRLEN];
    client_addr(r, addr);
    int64_t now = clk_now_ms();
    uint64_t kaddr = limit_key("a:", addr);
    int max = r->s->cfg.login_limit > 0 ? r->s->cfg.login_limit : 10;
    int wait = limit_wait(kaddr, 4 * max, now);
    if (wait) {
        snprintf(r->retry_after, sizeof r->retry_after, "%d", wait);
        return web_error(r, 429, "Too many failed logins from this address. Try again later.");
    }
    db_user u;
    uint8_t hash[AUTH_HASH_LEN];
    const char *tok = r->params[0];
    db *d = srv_db(r->s);
    int rc = DB_NOT_FOUND;
    if (hex64(tok)) {
        auth_token_hash(tok, AUTH_TOKEN_LEN, hash);
        rc = d ? db_login_link_take(d, hash, now, &u) : DB_ERROR;
    }
    if (rc == DB_ERROR)
        return web_error(r, 500, "The database is unavailable.");
    if (rc != DB_OK) {
        limit_fail(kaddr, now);
        return web_error(r, 404, "This login link was already used or has expired. A link "
                                 "works once: ask for a new one (memgrade user link NAME).");
    }
    if (web_session_start(r, &u))
        return r->status;
    /* an LTI launch inside an LMS frame hands over to a window of its
     * own with a short-lived link that goes on to the assignment */
    const char *next = query(r, "next");
    return web_redirect(r, next ? safe_next(next) : "/welcome");
}

static int make_link(db *d, int64_t user_id, char *path, size_t pathlen)
{
    char tok[AUTH_TOKEN_LEN + 1];
    uint8_t hash[AUTH_HASH_LEN];
    if (auth_token_new(tok, hash) ||
        db_login_link_add(d, hash, user_id, clk_now_ms() + WEB_LINK_TTL_MS) != DB_OK)
        return -1;
    snprintf(path, pathlen, "/login/once/%s", tok);
    return 0;
}

int web_first_start(db *d, char *path, size_t pathlen)
{
    int64_t n = 0;
    if (db_user_count(d, &n) != DB_OK)
        return -1;
    if (n)
        return 0;
    char tok[AUTH_TOKEN_LEN + 1];
    uint8_t hash[AUTH_HASH_LEN];
    int64_t id = 0;
    /* The API token made with the account is not shown: `memgrade user
     * token admin` gives one when it is wanted. */
    if (auth_token_new(tok, hash) || db_user_add(d, "admin", DB_ROLE_INSTRUCTOR, hash, &id))
        return -1;
    return make_link(d, id, path, pathlen) ? -1 : 1;
}

int web_login_link(db *d, const char *name, char *path, size_t pathlen)
{
    int64_t id = 0;
    int rc = db_user_id(d, name, &id);
    if (rc != DB_OK)
        return rc;
    return make_link(d, id, path, pathlen);
}

/* ---- /welcome and the password form ------------------------------------------------------ */

static int h_welcome(api_req *r)
{
    if (web_require_user(r))
        return r->status;
    web_buf b = WEB_BUF_INIT;
    web_page_begin(&b, r, "Getting started");
    const char *msg = query(r, "done");
    web_printf(&b, "<h1>Welcome, %s</h1>\n", r->user.name);
    if (msg)
        web_raw(&b, "<p class=\"notice info\" role=\"status\"><span class=\"icon\" "
                    "aria-hidden=\"true\">✓</span> Your password is set.</p>\n");
    if (r->user.role == DB_ROLE_INSTRUCTOR) {
        web_raw(&b,
            "<p>memgrade grades C programs that use <code>malloc</code> and <code>free</code> "
            "and shows students each memory error on their own source. Three steps "
            "to a first graded submission, on the machine that runs the server "
            "(<code>memgrade</code> is <code>build/memgrade</code> in the source tree):</p>\n"
            "<ol class=\"steps\">\n"
            "<li><h2>Add students</h2><pre><code>memgrade user add alice --role student\n"
            "echo 'a long passphrase' | memgrade user passwd alice</code></pre>"
            "<p>Every user is in the course <code>default</code>. For a course of your "
            "own:</p><pre><code>memgrade course add os101 --title 'Operating systems'\n"
            "memgrade course enrol os101 alice --role student</code></pre></li>\n"
            "<li><h2>Offer an assignment</h2><pre><code>memgrade course offer os101 mystr "
            "--due 2026-12-01T23:59:00Z --max-submissions 20</code></pre>"
            "<p>The course <code>default</code> offers every assignment of the catalog "
            "without a deadline:");
        for (size_t i = 0; i < grd_catalog_count(r->s->catalog); i++)
            web_printf(&b, "%s<code>%s</code>", i ? ", " : " ",
                       grd_assignment_name(grd_catalog_at(r->s->catalog, i)));
        web_raw(&b, ".</p></li>\n"
            "<li><h2>Try a submission</h2><p>Open <a href=\"/\">your courses</a>, pick an "
            "assignment and upload a file: the result page shows each test and each memory "
            "error on its line. A buggy example to try is in "
            "<code>assignments/mystr/variants/</code>.</p></li>\n</ol>\n"
            "<p>Staff see their courses on the <a href=\"/dashboard\">dashboard</a>. "
            "Scripts and LMSs use the JSON API (<a href=\"/api/v1/openapi.json\">OpenAPI"
            "</a>); <code>memgrade user token NAME</code> gives a token.</p>\n");
    } else {
        web_raw(&b, "<p>Open <a href=\"/\">your courses</a>, pick an assignment and upload "
                    "your files. The result page shows each test and each memory error on "
                    "the line of your code where it happened.</p>\n");
    }
    web_raw(&b, "<h2 id=\"pw\">Your password</h2>\n"
                "<form method=\"post\" action=\"/account/password\" class=\"stack narrow\">\n");
    web_csrf_field(&b, r);
    web_raw(&b, "\n<label for=\"current\">Current password (empty if you logged in with a "
                "link and have none)</label>\n"
                "<input id=\"current\" name=\"current\" type=\"password\" "
                "autocomplete=\"current-password\" maxlength=\"1024\">\n"
                "<label for=\"new\">New password (8 characters or more)</label>\n"
                "<input id=\"new\" name=\"new\" type=\"password\" autocomplete=\"new-password\" "
                "required minlength=\"8\" maxlength=\"1024\">\n"
                "<button type=\"submit\">Set password</button>\n</form>\n");
    web_page_end(&b);
    return web_send(r, 200, &b);
}

static int h_password(api_req *r)
{
    if (web_require_user(r))
        return r->status;
    char csrf[80] = "", cur[1100] = "", fresh[1100] = "";
    web_form_get(r, "csrf", csrf, sizeof csrf);
    if (web_require_csrf(r, csrf))
        return r->status;
    web_form_get(r, "current", cur, sizeof cur);
    web_form_get(r, "new", fresh, sizeof fresh);
    db *d = srv_db(r->s);
    db_user u;
    char stored[AUTH_PASSWORD_LEN] = "", hash[AUTH_PASSWORD_LEN];
    int st = 0;
    if (!d || db_user_login(d, r->user.name, &u, stored, sizeof stored) != DB_OK)
        st = web_error(r, 500, "The database is unavailable.");
    else if (stored[0] && !auth_password_verify(cur, stored))
        st = web_error(r, 403, "The current password is not right: nothing changed.");
    else if (strlen(fresh) < 8 || strlen(fresh) > 1024)
        st = web_error(r, 400, "A password is 8 to 1024 characters: nothing changed.");
    else if (auth_password_hash(fresh, hash) || db_user_set_password(d, u.name, hash) != DB_OK)
        st = web_error(r, 500, "The password could not be stored.");
    else /* whoever else was logged in as this user is not any more */
        db_sessions_end(d, u.id, r->web.sid);
    explicit_bzero(cur, sizeof cur);
    explicit_bzero(fresh, sizeof fresh);
    return st ? st : web_redirect(r, "/welcome?done=1");
}

const api_route web_auth_routes[] = {
    {"GET", "/login", h_login_get, AUTH_NONE, NULL},
    {"POST", "/login", h_login_post, AUTH_NONE, web_form_begin},
    {"POST", "/logout", h_logout, AUTH_NONE, web_form_begin},
    {"GET", "/login/once/*", h_login_once, AUTH_NONE, NULL},
    {"GET", "/welcome", h_welcome, AUTH_NONE, NULL},
    {"POST", "/account/password", h_password, AUTH_NONE, web_form_begin},
};
const size_t web_auth_nroutes = sizeof web_auth_routes / sizeof web_auth_routes[0];
