/* web: what every page shares: the escaping HTML buffer, the page shell,
 * security headers, forms, static assets compiled in from web/ (generated
 * web_assets.c) and the pages' view of the API. */
#include "web.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <microhttpd.h>

/* ---- HTML text --------------------------------------------------------------- */

static void put(web_buf *b, const char *s, size_t n)
{
    if (b->failed || !n)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = cap <= b->max ? realloc(b->p, cap) : NULL;
        if (!np) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void web_raw(web_buf *b, const char *s)
{
    if (s)
        put(b, s, strlen(s));
}

void web_escn(web_buf *b, const char *s, size_t len)
{
    size_t from = 0;
    for (size_t i = 0; i < len; i++) {
        const char *e = NULL;
        switch (s[i]) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&quot;"; break;
        case '\'': e = "&#39;"; break;
        case '\0': e = "\xEF\xBF\xBD"; break;
        default: continue;
        }
        put(b, s + from, i - from);
        put(b, e, strlen(e));
        from = i + 1;
    }
    put(b, s + from, len - from);
}

void web_url(web_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            put(b, (const char *)&c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            put(b, e, 3);
        }
    }
}

/* One conversion spec of fmt (after '%'): its length and the argument type
 * it takes. */
enum { ARG_INT, ARG_LONG, ARG_LLONG, ARG_SIZE, ARG_DOUBLE, ARG_STR, ARG_PCT, ARG_BAD };

static int spec_type(const char *f, size_t *len, int *star, int *prec)
{
    size_t i = 0;
    *star = 0;
    *prec = -1;
    while (f[i] && strchr("-+ #0", f[i]))
        i++;
    while (f[i] >= '0' && f[i] <= '9')
        i++;
    if (f[i] == '.') {
        i++;
        if (f[i] == '*')
            *star = 1, i++;
        else
            *prec = 0;
        while (f[i] >= '0' && f[i] <= '9')
            *prec = *prec * 10 + (f[i++] - '0');
    }
    int lng = 0;
    if (f[i] == 'l' && f[i + 1] == 'l')
        lng = 2, i += 2;
    else if (f[i] == 'l' || f[i] == 'j')
        lng = 1, i++;
    else if (f[i] == 'z')
        lng = 3, i++;
    char c = f[i];
    *len = i + (c ? 1 : 0);
    switch (c) {
    case 'd': case 'i': case 'u': case 'x': case 'X': case 'c':
        return lng == 2 ? ARG_LLONG : lng == 1 ? ARG_LONG : lng == 3 ? ARG_SIZE : ARG_INT;
    case 'f': case 'g': case 'e': case 'G': case 'E':
        return ARG_DOUBLE;
    case 's':
        return ARG_STR;
    case '%':
        return ARG_PCT;
    default:
        return ARG_BAD;
    }
}

__attribute__((format(printf, 2, 3)))
void web_printf(web_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *p = fmt;
    while (*p) {
        const char *pct = strchr(p, '%');
        if (!pct) {
            put(b, p, strlen(p));
            break;
        }
        put(b, p, (size_t)(pct - p));
        size_t len;
        int star, prec;
        int t = spec_type(pct + 1, &len, &star, &prec);
        char spec[32], out[128];
        if (len + 2 > sizeof spec || t == ARG_BAD) {
            b->failed = 1; /* a format we do not speak: a bug, shown as a 500 */
            break;
        }
        memcpy(spec, pct, len + 1);
        spec[len + 1] = '\0';
        if (star)
            prec = va_arg(ap, int);
        int n = 0;
        /* spec is one conversion cut from fmt, which the compiler checked
         * against the arguments (format attribute on web_printf). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        switch (t) {
        case ARG_STR: {
            const char *s = va_arg(ap, const char *);
            if (s) {
                size_t sl = strlen(s);
                if (prec >= 0 && (size_t)prec < sl)
                    sl = (size_t)prec;
                web_escn(b, s, sl);
            }
            break;
        }
        case ARG_PCT: put(b, "%", 1); break;
        case ARG_INT: n = star ? snprintf(out, sizeof out, spec, prec, va_arg(ap, int))
                               : snprintf(out, sizeof out, spec, va_arg(ap, int)); break;
        case ARG_LONG: n = snprintf(out, sizeof out, spec, va_arg(ap, long)); break;
        case ARG_LLONG: n = snprintf(out, sizeof out, spec, va_arg(ap, long long)); break;
        case ARG_SIZE: n = snprintf(out, sizeof out, spec, va_arg(ap, size_t)); break;
        case ARG_DOUBLE: n = star ? snprintf(out, sizeof out, spec, prec, va_arg(ap, double))
                                  : snprintf(out, sizeof out, spec, va_arg(ap, double)); break;
        }
#pragma GCC diagnostic pop
        if (t != ARG_STR && t != ARG_PCT && n > 0)
            put(b, out, (size_t)n < sizeof out ? (size_t)n : sizeof out - 1);
        p = pct + 1 + len;
    }
    va_end(ap);
}

void web_time(web_buf *b, int64_t ms, const char *none_text)
{
    if (!ms) {
        web_printf(b, "%s", none_text);
        return;
    }
    char iso[32], human[48];
    iso_time(ms, iso);
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(human, sizeof human, "%Y-%m-%d %H:%M UTC", &tm);
    web_printf(b, "<time datetime=\"%s\">%s</time>", iso, human);
}

/* ---- the page shell ------------------------------------------------------------ */

/* The asset table (web_assets.c, generated by server/CMakeLists.txt). */
extern const web_asset web_assets[];
extern const size_t web_nassets;

static const web_asset *asset(const char *name)
{
    for (size_t i = 0; i < web_nassets; i++)
        if (!strcmp(web_assets[i].name, name))
            return &web_assets[i];
    return NULL;
}

/* /static/NAME?v=ETAG: a new build changes the URL, so browsers may keep
 * an asset for a year. */
static void asset_url(web_buf *b, const char *name)
{
    const web_asset *a = asset(name);
    /* the ETag without its quotes */
    web_printf(b, "/static/%s?v=%.*s", name, a ? (int)strlen(a->etag) - 2 : 1,
               a ? a->etag + 1 : "0");
}

void web_page_begin(web_buf *b, api_req *r, const char *title)
{
    web_raw(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    web_printf(b, "<title>%s · memgrade</title>\n", title);
    web_raw(b, "<link rel=\"stylesheet\" href=\"");
    asset_url(b, "app.css");
    web_raw(b, "\">\n<link rel=\"icon\" href=\"");
    asset_url(b, "favicon.svg");
    web_raw(b, "\" type=\"image/svg+xml\">\n<script src=\"");
    asset_url(b, "app.js");
    web_raw(b, "\" defer></script>\n");
    if (r->authed && r->web.live)
        web_printf(b, "<meta name=\"csrf-token\" content=\"%s\">\n", r->web.csrf);
    web_raw(b, "</head>\n<body>\n<a class=\"skip\" href=\"#main\">Skip to content</a>\n"
               "<header class=\"top\">\n<a class=\"brand\" href=\"/\">memgrade</a>\n");
    if (r->authed && r->web.live) {
        web_raw(b, "<nav aria-label=\"Main\"><ul>\n<li><a href=\"/\">Courses</a></li>\n");
        if (web_is_staff_anywhere(r))
            web_raw(b, "<li><a href=\"/dashboard\">Dashboard</a></li>\n");
        web_raw(b, "<li><a href=\"/welcome\">Help</a></li>\n</ul></nav>\n");
        /* The account's global role only where it says something: a
         * student account that teaches a course is staff there. */
        int instr = is_instructor(r);
        web_printf(b, "<form class=\"who\" method=\"post\" action=\"/logout\">"
                      "<span class=\"user\">Signed in as <strong>%s</strong>%s</span> ",
                   r->user.name, instr ? " (instructor)" : "");
        web_csrf_field(b, r);
        web_raw(b, "<button type=\"submit\">Log out</button></form>\n");
    }
    web_raw(b, "</header>\n<main id=\"main\" tabindex=\"-1\">\n");
}

void web_page_end(web_buf *b)
{
    web_raw(b, "</main>\n<footer><p>memgrade · feedback on memory errors in C</p></footer>\n"
               "</body>\n</html>\n");
}

void web_csrf_field(web_buf *b, api_req *r)
{
    web_printf(b, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", r->web.csrf);
}

/* The headers of every page: what may run (our own script and style only),
 * framing, referrers, the session cookie and a page redirect. */
static void page_headers(api_req *r, struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; script-src 'self'; style-src 'self'; "
                            "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                            "frame-ancestors 'none'; form-action 'self'");
    MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    if (r->web.set_cookie[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, r->web.set_cookie);
    if (r->web.location[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->web.location);
}

int web_send(api_req *r, int status, web_buf *b)
{
    r->headers = page_headers;
    if (b->failed || !b->p) {
        free(b->p);
        static const char oom[] = "<!DOCTYPE html><title>Server error</title>"
                                  "<h1>Server error</h1><p>The page could not be built.</p>";
        return reply(r, 500, "text/html; charset=utf-8", strdup(oom), sizeof oom - 1);
    }
    return reply(r, status, "text/html; charset=utf-8", b->p, b->len);
}

static const char *status_title(int status)
{
    switch (status) {
    case 400: return "Bad request";
    case 403: return "Not allowed";
    case 404: return "Not found";
    case 405: return "Method not allowed";
    case 409: return "Conflict";
    case 413: return "Too large";
    case 415: return "Unsupported upload";
    case 422: return "Not accepted";
    case 429: return "Too many requests";
    case 503: return "Busy";
    default: return status >= 500 ? "Server error" : "Error";
    }
}

__attribute__((format(printf, 3, 4)))
int web_error(api_req *r, int status, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    web_buf b = WEB_BUF_INIT;
    web_page_begin(&b, r, status_title(status));
    web_printf(&b, "<h1>%s</h1>\n<p class=\"notice error\" role=\"alert\">"
                   "<span class=\"icon\" aria-hidden=\"true\">⚠</span> %s</p>\n"
                   "<p><a href=\"/\">Back to your courses</a></p>\n",
               status_title(status), msg);
    web_page_end(&b);
    return web_send(r, status, &b);
}

int web_redirect(api_req *r, const char *url)
{
    snprintf(r->web.location, sizeof r->web.location, "%s", url);
    r->location[0] = '\0'; /* the API's own (a submission's URL) gives way */
    web_buf b = WEB_BUF_INIT;
    web_printf(&b, "<!DOCTYPE html><title>Moved</title><p><a href=\"%s\">Continue</a></p>", url);
    return web_send(r, 303, &b);
}

int web_redirect_buf(api_req *r, web_buf *u)
{
    int st = u->failed || !u->p ? web_error(r, 500, "Out of memory.") : web_redirect(r, u->p);
    free(u->p);
    u->p = NULL;
    return st;
}

int web_not_found(api_req *r)
{
    web_session(r);
    return web_error(r, 404, "There is no page at this address.");
}

int web_is_page_path(const char *path)
{
    return strncmp(path, "/api/", 5) && strcmp(path, "/api") && strcmp(path, "/healthz") &&
           strcmp(path, "/metrics");
}

int web_is_staff(api_req *r, const char *course)
{
    return r->authed && (is_instructor(r) || api_course_staff(r, course));
}

typedef struct {
    int staff;
} staff_ctx;

static void staff_one(void *ctx, const char *id, const char *title, db_crole role)
{
    (void)id, (void)title;
    if (role != DB_CROLE_STUDENT)
        ((staff_ctx *)ctx)->staff = 1;
}

int web_is_staff_anywhere(api_req *r)
{
    if (!r->authed)
        return 0;
    if (is_instructor(r))
        return 1;
    staff_ctx c = {0};
    db *d = srv_db(r->s);
    if (d)
        db_course_each(d, r->user.id, staff_one, &c);
    return c.staff;
}

/* ---- forms ------------------------------------------------------------------------- */

#define WEB_FORM_MAX (64 * 1024)

int web_form_begin(api_req *r)
{
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t base = ct ? strcspn(ct, ";") : 0;
    while (base && ct[base - 1] == ' ')
        base--;
    if (!ct || base != 33 || strncasecmp(ct, "application/x-www-form-urlencoded", 33)) {
        web_session(r);
        return web_error(r, 415, "This address takes a form (application/x-www-form-urlencoded).");
    }
    r->body_max = WEB_FORM_MAX;
    return 0;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                        : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes one urlencoded item s[0..n) into out; -1 when it does not fit. */
static int form_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

int web_form_get(api_req *r, const char *key, char *out, size_t cap)
{
    const char *s = r->json ? r->json : "";
    size_t len = r->json ? r->json_len : 0, klen = strlen(key);
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && s[end] != '&')
            end++;
        size_t eq = i;
        while (eq < end && s[eq] != '=')
            eq++;
        char name[64];
        if (eq - i < sizeof name && !form_decode(s + i, eq - i, name, sizeof name) &&
            strlen(name) == klen && !strcmp(name, key))
            return form_decode(s + (eq < end ? eq + 1 : end), eq < end ? end - eq - 1 : 0, out,
                               cap);
        i = end + 1;
    }
    return -1;
}

/* ---- the API, seen by a page ---------------------------------------------------- */

int web_api_get(api_req *r, const char *path, json_t **out)
{
    *out = NULL;
    /* path may carry a query: split it into the key, value list. */
    char buf[1024];
    const char *args[17] = {NULL};
    snprintf(buf, sizeof buf, "%s", path);
    char *q = strchr(buf, '?');
    size_t na = 0;
    if (q) {
        *q++ = '\0';
        for (char *save = NULL, *kv = strtok_r(q, "&", &save); kv && na + 2 < 16;
             kv = strtok_r(NULL, "&", &save)) {
            char *eq = strchr(kv, '=');
            if (eq)
                *eq++ = '\0';
            args[na++] = kv;
            args[na++] = eq ? eq : "";
        }
    }
    args[na] = NULL;
    char *body = NULL;
    size_t len = 0;
    int st = api_internal_get(r, buf, args, &body, &len);
    if (body)
        *out = json_loadb(body, len, 0, NULL);
    free(body);
    return st;
}

/* ---- static assets ---------------------------------------------------------------- */

static void asset_headers(api_req *r, struct MHD_Response *resp)
{
    const web_asset *a = r->web.ctx;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                            "public, max-age=31536000, immutable");
    if (a)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, a->etag);
}

static int h_static(api_req *r)
{
    const web_asset *a = asset(r->params[0]);
    if (!a)
        return web_not_found(r);
    char *copy = malloc(a->len + 1);
    if (!copy)
        return reply_error(r, 500, "out of memory");
    memcpy(copy, a->data, a->len);
    r->web.ctx = (void *)a; /* static: no ctx_free */
    r->headers = asset_headers;
    return reply(r, 200, a->mime, copy, a->len);
}

const api_route web_routes[] = {
    {"GET", "/static/*", h_static, AUTH_NONE, NULL},
};
const size_t web_nroutes = sizeof web_routes / sizeof web_routes[0];
