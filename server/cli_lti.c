/* cli_lti: `memgrade lti ...` (SPEC §8): registering LMS platforms and
 * their deployments, and the tool's signing keys, straight on the database
 * like `memgrade course`: a running server uses a change at its next
 * launch. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "db.h"
#include "lti.h"
#include "lti_int.h"

static void lti_usage(void)
{
    fprintf(stderr,
            "usage: memgrade lti add-platform --issuer ISS --client-id ID --deployment-id DEP\n"
            "                    --auth-url URL --token-url URL --jwks-url URL\n"
            "                    [--service-url URL] [--db PATH]\n"
            "       memgrade lti list [--db PATH]\n"
            "       memgrade lti set ID [--issuer ISS] [--client-id ID] [--auth-url URL]\n"
            "                    [--token-url URL] [--jwks-url URL] [--service-url URL|\"\"]\n"
            "                    [--db PATH]\n"
            "       memgrade lti remove ID [--db PATH]\n"
            "       memgrade lti remove-deployment ID --deployment-id DEP [--db PATH]\n"
            "       memgrade lti keys list [--db PATH]\n"
            "       memgrade lti keys rotate [--grace DAYS] [--db PATH]\n");
}

typedef struct {
    const char *db, *issuer, *client_id, *deployment, *auth, *token, *jwks, *grace, *service;
    const char *pos[2];
    int npos;
} lti_args;

#define LTI_OPT(f) offsetof(lti_args, f)
static const struct {
    const char *name;
    size_t off;
    const char *field;     /* the platform column `lti set` changes, or NULL */
    int url;               /* a URL held to the platform policy */
} lti_opts[] = {
    {"--db", LTI_OPT(db), NULL, 0},
    {"--issuer", LTI_OPT(issuer), "issuer", 1},
    {"--client-id", LTI_OPT(client_id), "client_id", 0},
    {"--deployment-id", LTI_OPT(deployment), NULL, 0},
    {"--auth-url", LTI_OPT(auth), "auth_url", 1},
    {"--token-url", LTI_OPT(token), "token_url", 1},
    {"--jwks-url", LTI_OPT(jwks), "jwks_url", 1},
    {"--service-url", LTI_OPT(service), "service_url", 1},
    {"--grace", LTI_OPT(grace), NULL, 0},
};
#define NLTI_OPTS (sizeof lti_opts / sizeof lti_opts[0])

static const char *opt_val(const lti_args *a, size_t k)
{
    return *(const char *const *)((const char *)a + lti_opts[k].off);
}

static int parse_args(int argc, char **argv, int first, lti_args *a)
{
    memset(a, 0, sizeof *a);
    const char *env = getenv("MEMGRADE_DB");
    a->db = env && *env ? env : "memgrade.db";
    for (int i = first; i < argc; i++) {
        size_t k;
        for (k = 0; k < NLTI_OPTS; k++)
            if (!strcmp(argv[i], lti_opts[k].name))
                break;
        if (k < NLTI_OPTS) {
            if (i + 1 >= argc) {
                fprintf(stderr, "memgrade lti: %s needs a value\n", argv[i]);
                return -1;
            }
            *(const char **)((char *)a + lti_opts[k].off) = argv[++i];
        } else if (argv[i][0] != '-' && a->npos < 2) {
            a->pos[a->npos++] = argv[i];
        } else {
            fprintf(stderr, "memgrade lti: unexpected argument '%s' (try memgrade --help)\n",
                    argv[i]);
            return -1;
        }
    }
    return 0;
}

/* An identifier an LMS gives (client id, deployment id): 1-255 printable
 * ASCII characters. */
static int plain_id(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 255)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

/* Checks every option given: URLs by the platform policy, ids plain. */
static int check_values(const lti_args *a)
{
    for (size_t k = 0; k < NLTI_OPTS; k++) {
        const char *v = opt_val(a, k);
        char err[400];
        if (!v)
            continue;
        if (!*v && !strcmp(lti_opts[k].name, "--service-url"))
            continue; /* "" clears it */
        if (lti_opts[k].url && (strlen(v) >= DB_LTI_URL_MAX ||
                                lti_url_check(v, LTI_URL_PLATFORM, err, sizeof err))) {
            fprintf(stderr, "memgrade lti: %s: %s\n", lti_opts[k].name,
                    strlen(v) >= DB_LTI_URL_MAX ? "longer than 1023 characters" : err);
            return -1;
        }
        if ((!strcmp(lti_opts[k].name, "--client-id") ||
             !strcmp(lti_opts[k].name, "--deployment-id")) && !plain_id(v)) {
            fprintf(stderr, "memgrade lti: %s must be 1-255 printable characters without "
                            "spaces\n", lti_opts[k].name);
            return -1;
        }
    }
    return 0;
}

static int64_t parse_platform_id(const char *s)
{
    char *end;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    return s && !errno && end != s && !*end && v > 0 ? (int64_t)v : 0;
}

static void print_dep(void *ctx, const char *dep)
{
    int *first = ctx;
    printf("%s%s", *first ? "" : ",", dep);
    *first = 0;
}

static void print_platform(void *ctx, const db_lti_platform *p)
{
    db *d = ctx;
    printf("%lld\t%s\t%s\t", (long long)p->id, p->issuer, p->client_id);
    int first = 1;
    db_lti_deployment_each(d, p->id, print_dep, &first);
    printf("\tauth=%s\ttoken=%s\tjwks=%s%s%s\n", p->auth_url, p->token_url, p->jwks_url,
           p->service_url[0] ? "\tservices=" : "", p->service_url);
}

static void print_key(void *ctx, const db_lti_tool_key *k)
{
    (void)ctx;
    char made[32], until[32];
    clk_format(k->created_at, made);
    if (k->retired_at)
        clk_format(k->retired_at, until);
    printf("%s\t%s\tcreated %s\t%s%s\n", k->kid, k->retired_at ? "previous" : "current", made,
           k->retired_at ? "published until " : "", k->retired_at ? until : "");
}

static int add_platform(db *d, const lti_args *a)
{
    db_lti_platform p = {0};
    snprintf(p.issuer, sizeof p.issuer, "%s", a->issuer);
    snprintf(p.client_id, sizeof p.client_id, "%s", a->client_id);
    snprintf(p.auth_url, sizeof p.auth_url, "%s", a->auth);
    snprintf(p.token_url, sizeof p.token_url, "%s", a->token);
    snprintf(p.jwks_url, sizeof p.jwks_url, "%s", a->jwks);
    snprintf(p.service_url, sizeof p.service_url, "%s", a->service ? a->service : "");
    int64_t id = 0;
    int created = 0;
    int rc = db_lti_platform_add(d, &p, a->deployment, &id, &created);
    if (rc == DB_EXISTS) {
        fprintf(stderr, "memgrade lti: platform %s (client id %s) already has deployment %s\n",
                a->issuer, a->client_id, a->deployment);
        return 2;
    }
    if (rc != DB_OK)
        return 1;
    if (created)
        printf("platform %lld: %s client %s, deployment %s\n", (long long)id, a->issuer,
               a->client_id, a->deployment);
    else
        printf("platform %lld: added deployment %s (the URLs it has stay; change them with "
               "memgrade lti set)\n", (long long)id, a->deployment);
    return 0;
}

static int set_platform(db *d, const lti_args *a, int64_t id)
{
    int changed = 0;
    for (size_t k = 0; k < NLTI_OPTS; k++) {
        const char *v = opt_val(a, k);
        if (!v || !lti_opts[k].field)
            continue;
        int rc = db_lti_platform_set(d, id, lti_opts[k].field, v);
        if (rc == DB_NOT_FOUND) {
            fprintf(stderr, "memgrade lti: no platform %lld\n", (long long)id);
            return 2;
        }
        if (rc == DB_EXISTS) {
            fprintf(stderr, "memgrade lti: another platform has that issuer and client id\n");
            return 2;
        }
        if (rc != DB_OK)
            return 1;
        printf("platform %lld: %s = %s\n", (long long)id, lti_opts[k].field, v);
        changed++;
    }
    if (!changed) {
        fprintf(stderr, "memgrade lti: set needs one of --issuer --client-id --auth-url "
                        "--token-url --jwks-url --service-url\n");
        return 2;
    }
    return 0;
}

static int keys_cmd(db *d, const lti_args *a)
{
    const char *verb = a->npos > 1 ? a->pos[1] : "";
    char err[300];
    if (!strcmp(verb, "list") && !a->grace)
        return db_lti_tool_key_each(d, db_now_ms(), print_key, NULL) == DB_OK ? 0 : 1;
    if (strcmp(verb, "rotate")) {
        lti_usage();
        return 2;
    }
    double days = 7;
    if (a->grace) {
        char *end;
        errno = 0;
        days = strtod(a->grace, &end);
        if (errno || end == a->grace || *end || !(days >= 0) || days > 365) {
            fprintf(stderr, "memgrade lti: --grace must be a number of days from 0 to 365\n");
            return 2;
        }
    }
    char kid[64];
    if (lti_keys_rotate(d, (int64_t)(days * 86400 * 1000), kid, err, sizeof err)) {
        fprintf(stderr, "memgrade lti: %s\n", err);
        return 1;
    }
    printf("new key %s; the previous one stays published at /lti/jwks for %g day(s)\n", kid,
           days);
    return 0;
}

int cli_lti(int argc, char **argv)
{
    const char *verb = argc > 1 ? argv[1] : "";
    lti_args a;
    if (parse_args(argc, argv, 1, &a))
        return 2;
    /* pos[0] is the verb itself */
    int add = !strcmp(verb, "add-platform"), list = !strcmp(verb, "list");
    int set = !strcmp(verb, "set"), rm = !strcmp(verb, "remove");
    int rmdep = !strcmp(verb, "remove-deployment"), keys = !strcmp(verb, "keys");
    int want_pos = add || list ? 1 : keys ? 2 : 2;
    int has_platform_opts = a.issuer || a.client_id || a.auth || a.token || a.jwks || a.service;
    if (!(add || list || set || rm || rmdep || keys) || a.npos != want_pos ||
        (add && !(a.issuer && a.client_id && a.deployment && a.auth && a.token && a.jwks)) ||
        (!add && !set && has_platform_opts) || (!add && !rmdep && a.deployment) ||
        (rmdep && !a.deployment) || (!keys && a.grace)) {
        lti_usage();
        return 2;
    }
    if (check_values(&a))
        return 2;
    int64_t id = set || rm || rmdep ? parse_platform_id(a.pos[1]) : 0;
    if ((set || rm || rmdep) && !id) {
        fprintf(stderr, "memgrade lti: '%s' is not a platform id (see memgrade lti list)\n",
                a.pos[1]);
        return 2;
    }
    char err[512];
    db *d = db_open(a.db, err, sizeof err);
    if (!d) {
        fprintf(stderr, "memgrade lti: %s\n", err);
        return 1;
    }
    int rc = 1, drc;
    if (add) {
        rc = add_platform(d, &a);
    } else if (list) {
        rc = db_lti_platform_each(d, print_platform, d) == DB_OK ? 0 : 1;
    } else if (set) {
        rc = set_platform(d, &a, id);
    } else if (rm) {
        drc = db_lti_platform_remove(d, id);
        if (drc == DB_NOT_FOUND)
            fprintf(stderr, "memgrade lti: no platform %lld\n", (long long)id);
        else if (drc == DB_OK)
            printf("removed platform %lld (the courses it made stay)\n", (long long)id);
        rc = drc == DB_OK ? 0 : drc == DB_NOT_FOUND ? 2 : 1;
    } else if (rmdep) {
        drc = db_lti_deployment_remove(d, id, a.deployment);
        if (drc == DB_NOT_FOUND)
            fprintf(stderr, "memgrade lti: platform %lld has no deployment %s\n", (long long)id,
                    a.deployment);
        else if (drc == DB_OK)
            printf("platform %lld: removed deployment %s\n", (long long)id, a.deployment);
        rc = drc == DB_OK ? 0 : drc == DB_NOT_FOUND ? 2 : 1;
    } else {
        rc = keys_cmd(d, &a);
    }
    db_close(d);
    return rc;
}
