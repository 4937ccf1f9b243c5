/* lti_http: outgoing requests to LMS platforms and webhook receivers,
 * through libcurl (TLS with certificate and host checks on). Every URL is
 * held to a policy first (lti.h), so that nothing a course member writes
 * can make the server fetch an address of its own network. */
#include "lti.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <curl/curl.h>

#define RESP_MAX (1u << 20)

static atomic_int allow_private;
static atomic_int aborting;

void lti_http_abort_all(void) { atomic_store(&aborting, 1); }

/* libcurl calls this often, also while connecting: a request in flight at
 * shutdown ends now rather than at its timeout. */
static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)ud, (void)dt, (void)dn, (void)ut, (void)un;
    return atomic_load(&aborting) ? 1 : 0;
}

void lti_http_allow_private(int allow) { atomic_store(&allow_private, allow ? 1 : 0); }

int lti_http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int is_loopback_host(const char *host)
{
    return !strcasecmp(host, "localhost") || !strcmp(host, "127.0.0.1") ||
           !strcmp(host, "[::1]") || !strcmp(host, "::1");
}

/* Scheme, host and port of url (lower-case scheme and host; the port made
 * explicit); -1 when libcurl cannot parse it as an absolute http(s) URL. */
static int url_parts(const char *url, char *scheme, size_t slen, char *host, size_t hlen,
                     long *port)
{
    CURLU *u = curl_url();
    char *sc = NULL, *h = NULL, *p = NULL, *user = NULL;
    int rc = -1;
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_SCHEME, &sc, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto out;
    /* Credentials in a URL would be sent to whoever the host is. */
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
        goto out;
    if (strlen(sc) >= slen || strlen(h) >= hlen)
        goto out;
    for (size_t i = 0; sc[i]; i++)
        scheme[i] = (char)tolower((unsigned char)sc[i]);
    scheme[strlen(sc)] = '\0';
    for (size_t i = 0; h[i]; i++)
        host[i] = (char)tolower((unsigned char)h[i]);
    host[strlen(h)] = '\0';
    *port = strtol(p, NULL, 10);
    rc = strcmp(scheme, "https") && strcmp(scheme, "http") ? -1 : 0;
out:
    curl_free(sc);
    curl_free(h);
    curl_free(p);
    curl_free(user);
    curl_url_cleanup(u);
    return rc;
}

static int addr_private(const struct sockaddr *sa);

/* Whether host is an IP literal ("10.0.0.1", "[fd00::1]") of a private or
 * loopback address: refused up front, before any connection is tried. */
static int literal_private(const char *host)
{
    char h[64];
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof h) {
        memcpy(h, host + 1, n - 2);
        h[n - 2] = '\0';
        struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
        char *pct = strchr(h, '%'); /* a zone id */
        if (pct)
            *pct = '\0';
        return inet_pton(AF_INET6, h, &a6.sin6_addr) == 1 &&
               addr_private((const struct sockaddr *)&a6);
    }
    struct sockaddr_in a4 = {.sin_family = AF_INET};
    return inet_pton(AF_INET, host, &a4.sin_addr) == 1 &&
           addr_private((const struct sockaddr *)&a4);
}

int lti_url_check(const char *url, lti_url_kind kind, char *err, size_t errlen)
{
    char scheme[16], host[256];
    long port;
    const char *what = kind == LTI_URL_WEBHOOK ? "webhook URL" : "platform URL";
    if (!url || strlen(url) > 2048 || url_parts(url, scheme, sizeof scheme, host,
                                                sizeof host, &port)) {
        snprintf(err, errlen, "%s is not an absolute http(s) URL without credentials: %.200s",
                 what, url ? url : "(none)");
        return -1;
    }
    int loop = is_loopback_host(host);
    if (strcmp(scheme, "https") && !loop) {
        snprintf(err, errlen, "%s must use https (http only on 127.0.0.1, ::1 or localhost): %.200s",
                 what, url);
        return -1;
    }
    if (kind == LTI_URL_WEBHOOK && loop && !atomic_load(&allow_private)) {
        snprintf(err, errlen, "%s may not point at this server's own host: %.200s", what, url);
        return -1;
    }
    if (kind == LTI_URL_WEBHOOK && literal_private(host) && !atomic_load(&allow_private)) {
        snprintf(err, errlen, "%s may not point at a private or loopback address: %.200s",
                 what, url);
        return -1;
    }
    return 0;
}

int lti_url_same_host(const char *url, const char *const *urls)
{
    char s1[16], h1[256], s2[16], h2[256];
    long p1, p2;
    if (!url || url_parts(url, s1, sizeof s1, h1, sizeof h1, &p1))
        return 0;
    for (size_t i = 0; urls && urls[i]; i++)
        if (!url_parts(urls[i], s2, sizeof s2, h2, sizeof h2, &p2) && !strcmp(s1, s2) &&
            !strcmp(h1, h2) && p1 == p2)
            return 1;
    return 0;
}

/* Loopback, private (RFC 1918, fc00::/7), link-local (cloud metadata at
 * 169.254.169.254), unspecified, CGNAT and multicast addresses. */
static int addr_private(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
        return (a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 ||
               (a >> 16) == 0xa9fe || (a >> 20) == 0xac1 || (a >> 16) == 0xc0a8 ||
               (a >> 22) == (0x64400000u >> 22) || (a >> 28) == 0xe || (a >> 28) == 0xf;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            struct sockaddr_in v4 = {.sin_family = AF_INET};
            memcpy(&v4.sin_addr, a->s6_addr + 12, 4);
            return addr_private((const struct sockaddr *)&v4);
        }
        return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) ||
               IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_MULTICAST(a) ||
               (a->s6_addr[0] & 0xfe) == 0xfc;
    }
    return 1;
}

typedef struct {
    lti_http_resp *out;
    lti_url_kind kind;
    int refused;           /* the address was not allowed */
    int too_big;
} req_ctx;

static curl_socket_t open_socket(void *clientp, curlsocktype purpose,
                                 struct curl_sockaddr *address)
{
    req_ctx *c = clientp;
    (void)purpose;
    if (c->kind == LTI_URL_WEBHOOK && !atomic_load(&allow_private) &&
        addr_private(&address->addr)) {
        c->refused = 1;
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype, address->protocol);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    req_ctx *c = ud;
    lti_http_resp *r = c->out;
    size_t len = size * n;
    if (r->len + len > RESP_MAX) {
        c->too_big = 1;
        return 0;
    }
    char *b = realloc(r->body, r->len + len + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, p, len);
    r->body = b;
    r->len += len;
    b[r->len] = '\0';
    return len;
}

/* The rel="next" target of a Link header value: entries "<url>; rel=next"
 * separated by commas (RFC 8288); rel may list several relations. */
static char *link_next(const char *v, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == ',' || v[i] == '\t'))
            i++;
        if (i >= n || v[i] != '<')
            return NULL;
        size_t u0 = ++i;
        while (i < n && v[i] != '>')
            i++;
        if (i >= n)
            return NULL;
        size_t u1 = i++;
        /* the parameters up to the next entry */
        size_t p0 = i;
        int quoted = 0;
        while (i < n && (quoted || v[i] != ',')) {
            if (v[i] == '"')
                quoted = !quoted;
            i++;
        }
        for (size_t k = p0; k + 3 < i; k++) {
            if (strncasecmp(v + k, "rel", 3))
                continue;
            size_t m = k + 3;
            while (m < i && v[m] == ' ')
                m++;
            if (m >= i || v[m] != '=')
                continue;
            m++;
            while (m < i && (v[m] == ' ' || v[m] == '"'))
                m++;
            /* rel="next" or rel="prev next" */
            while (m < i && v[m] != '"' && v[m] != ';') {
                size_t w = m;
                while (m < i && v[m] != ' ' && v[m] != '"' && v[m] != ';')
                    m++;
                if (m - w == 4 && !strncasecmp(v + w, "next", 4))
                    return strndup(v + u0, u1 - u0);
                while (m < i && v[m] == ' ')
                    m++;
            }
        }
    }
    return NULL;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    req_ctx *c = ud;
    lti_http_resp *r = c->out;
    size_t len = size * n;
    size_t name_len = 0;
    while (name_len < len && p[name_len] != ':')
        name_len++;
    if (name_len >= len)
        return len;
    const char *v = p + name_len + 1;
    size_t vlen = len - name_len - 1;
    while (vlen && (*v == ' ' || *v == '\t'))
        v++, vlen--;
    while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
        vlen--;
    if (name_len == 11 && !strncasecmp(p, "Retry-After", 11)) {
        char tmp[64];
        size_t k = vlen < sizeof tmp - 1 ? vlen : sizeof tmp - 1;
        memcpy(tmp, v, k);
        tmp[k] = '\0';
        char *end;
        long secs = strtol(tmp, &end, 10);
        if (end != tmp && !*end && secs >= 0) {
            r->retry_after = secs > 86400 ? 86400 : (int)secs;
        } else {
            time_t t = curl_getdate(tmp, NULL), now = time(NULL);
            if (t > 0)
                r->retry_after = t <= now ? 0 : t - now > 86400 ? 86400 : (int)(t - now);
        }
    } else if (name_len == 4 && !strncasecmp(p, "Link", 4) && !r->link_next) {
        r->link_next = link_next(v, vlen);
    } else if (name_len == 12 && !strncasecmp(p, "Content-Type", 12)) {
        free(r->content_type);
        r->content_type = strndup(v, vlen);
    }
    return len;
}

void lti_http_resp_clear(lti_http_resp *r)
{
    free(r->body);
    free(r->link_next);
    free(r->content_type);
    memset(r, 0, sizeof *r);
    r->retry_after = -1;
}

int lti_http(const char *method, const char *url, lti_url_kind kind,
             const char *const *headers, const char *body, size_t body_len,
             lti_http_resp *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->retry_after = -1;
    if (lti_url_check(url, kind, err, errlen))
        return -1;
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    req_ctx c = {.out = out, .kind = kind};
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    /* no "Expect: 100-continue" round trip for small bodies */
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "memgrade");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &c);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &c);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    if (!strcmp(method, "POST") || !strcmp(method, "PUT")) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
        if (!strcmp(method, "PUT"))
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
    } else if (strcmp(method, "GET")) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
    CURLcode rc = curl_easy_perform(h);
    int ret = 0;
    if (rc != CURLE_OK) {
        if (c.refused)
            snprintf(err, errlen, "refused: %.200s resolves to a private or loopback address",
                     url);
        else if (rc == CURLE_ABORTED_BY_CALLBACK)
            snprintf(err, errlen, "%.200s: cut off: the server is shutting down", url);
        else if (c.too_big)
            snprintf(err, errlen, "the answer from %.200s is larger than 1 MiB", url);
        else
            snprintf(err, errlen, "%.200s: %s", url, curl_easy_strerror(rc));
        ret = -1;
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
        if (!out->body)
            out->body = strdup("");
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    if (ret)
        lti_http_resp_clear(out);
    return ret;
}
