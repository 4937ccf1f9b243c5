/* cli_course: `memgrade course add|enrol|offer` (SPEC §6), straight on the
 * database like `memgrade user`: a running server sees the change at once
 * (a deadline set here decides the next submission at once; the views of
 * submissions the server caches follow within a minute). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "db.h"

static void course_usage(void)
{
    fprintf(stderr,
            "usage: memgrade course add ID --title TEXT [--db PATH]\n"
            "       memgrade course enrol ID USER --role student|ta|instructor [--db PATH]\n"
            "       memgrade course offer ID ASSIGNMENT [--due ISO8601] [--accept-until ISO8601]\n"
            "                             [--late-penalty PCT_PER_DAY] [--max-submissions N]\n"
            "                             [--policy best|last] [--db PATH]\n"
            "       memgrade course list [--db PATH]\n");
}

static const char *default_db(void)
{
    const char *env = getenv("MEMGRADE_DB");
    return env && *env ? env : "memgrade.db";
}

typedef struct {
    const char *db, *title, *role, *due, *until, *penalty, *max, *policy;
    const char *pos[2];
    int npos;
} course_args;

/* Options as a table: name and where its value goes. */
#define COURSE_OPT(f) offsetof(course_args, f)
static const struct {
    const char *name;
    size_t off;
} course_opts[] = {
    {"--db", COURSE_OPT(db)},           {"--title", COURSE_OPT(title)},
    {"--role", COURSE_OPT(role)},       {"--due", COURSE_OPT(due)},
    {"--accept-until", COURSE_OPT(until)}, {"--late-penalty", COURSE_OPT(penalty)},
    {"--max-submissions", COURSE_OPT(max)}, {"--policy", COURSE_OPT(policy)},
};

static int parse_args(int argc, char **argv, course_args *a)
{
    memset(a, 0, sizeof *a);
    a->db = default_db();
    for (int i = 2; i < argc; i++) {
        size_t k;
        for (k = 0; k < sizeof course_opts / sizeof course_opts[0]; k++)
            if (!strcmp(argv[i], course_opts[k].name))
                break;
        if (k < sizeof course_opts / sizeof course_opts[0]) {
            if (i + 1 >= argc) {
                fprintf(stderr, "memgrade course: %s needs a value\n", argv[i]);
                return -1;
            }
            *(const char **)((char *)a + course_opts[k].off) = argv[++i];
        } else if (argv[i][0] != '-' && a->npos < 2) {
            a->pos[a->npos++] = argv[i];
        } else {
            fprintf(stderr, "memgrade course: unexpected argument '%s' (try memgrade --help)\n",
                    argv[i]);
            return -1;
        }
    }
    return 0;
}

static void print_course(void *ctx, const char *id, const char *title, db_crole role)
{
    (void)ctx;
    (void)role;
    printf("%s\t%s\n", id, title);
}

/* An option's time: 0 when absent; -1 (message printed) when malformed. */
static int opt_time(const char *name, const char *v, int64_t *ms)
{
    *ms = 0;
    if (!v)
        return 0;
    if (clk_parse(v, ms)) {
        fprintf(stderr, "memgrade course: %s '%s' is not an ISO 8601 UTC time such as "
                        "2026-12-01T23:59:00Z\n", name, v);
        return -1;
    }
    return 0;
}

static int offer(db *d, const course_args *a)
{
    db_offer o = {0};
    snprintf(o.assignment, sizeof o.assignment, "%s", a->pos[1]);
    if (opt_time("--due", a->due, &o.due) || opt_time("--accept-until", a->until, &o.accept_until))
        return 2;
    if (o.accept_until && !o.due) {
        fprintf(stderr, "memgrade course: --accept-until needs --due\n");
        return 2;
    }
    if (o.due && o.accept_until && o.due > o.accept_until) {
        fprintf(stderr, "memgrade course: --due is after --accept-until\n");
        return 2;
    }
    if (a->penalty) {
        char *end;
        errno = 0;
        o.late_penalty_per_day = strtod(a->penalty, &end);
        if (errno || end == a->penalty || *end || !(o.late_penalty_per_day >= 0) ||
            o.late_penalty_per_day > 100) {
            fprintf(stderr, "memgrade course: --late-penalty must be a percentage from 0 to 100\n");
            return 2;
        }
    }
    if (a->max) {
        char *end;
        errno = 0;
        long long n = strtoll(a->max, &end, 10);
        if (errno || end == a->max || *end || n < 1 || n > 1000000) {
            fprintf(stderr, "memgrade course: --max-submissions must be a whole number from 1\n");
            return 2;
        }
        o.max_submissions = n;
    }
    if (a->policy && strcmp(a->policy, "best") && strcmp(a->policy, "last")) {
        fprintf(stderr, "memgrade course: --policy must be best or last\n");
        return 2;
    }
    o.policy_last = a->policy && !strcmp(a->policy, "last");
    int rc = db_offer_put(d, a->pos[0], &o);
    if (rc == DB_NOT_FOUND) {
        fprintf(stderr, "memgrade course: no course '%s'\n", a->pos[0]);
        return 2;
    }
    if (rc != DB_OK)
        return 1;
    printf("%s offers %s\n", a->pos[0], o.assignment);
    return 0;
}

int cli_course(int argc, char **argv)
{
    const char *verb = argc > 1 ? argv[1] : "";
    course_args a;
    if (parse_args(argc, argv, &a))
        return 2;
    int add = !strcmp(verb, "add"), enrol = !strcmp(verb, "enrol"), off = !strcmp(verb, "offer");
    int list = !strcmp(verb, "list");
    if (!(add || enrol || off || list) || a.npos != (list ? 0 : add ? 1 : 2) ||
        (add && !a.title) || (enrol && !a.role) || (!add && a.title) || (!enrol && a.role) ||
        (!off && (a.due || a.until || a.penalty || a.max || a.policy))) {
        course_usage();
        return 2;
    }
    if (!list && !db_course_id_valid(a.pos[0])) {
        fprintf(stderr, "memgrade course: a course id is 1-32 characters of a-z 0-9 _ -\n");
        return 2;
    }
    int role = enrol ? db_crole_parse(a.role) : 0;
    if (role < 0) {
        fprintf(stderr, "memgrade course: --role must be student, ta or instructor\n");
        return 2;
    }
    if (add && (!*a.title || strlen(a.title) > 200)) {
        fprintf(stderr, "memgrade course: --title must be 1-200 characters\n");
        return 2;
    }
    char err[512];
    db *d = db_open(a.db, err, sizeof err);
    if (!d) {
        fprintf(stderr, "memgrade course: %s\n", err);
        return 1;
    }
    int rc = 1;
    if (list) {
        rc = db_course_each(d, 0, print_course, NULL) == DB_OK ? 0 : 1;
    } else if (add) {
        int drc = db_course_add(d, a.pos[0], a.title);
        if (drc == DB_EXISTS)
            fprintf(stderr, "memgrade course: '%s' already exists\n", a.pos[0]);
        else if (drc == DB_OK)
            printf("added course %s\n", a.pos[0]);
        rc = drc == DB_OK ? 0 : drc == DB_EXISTS ? 2 : 1;
    } else if (enrol) {
        int64_t uid;
        int drc = db_user_id(d, a.pos[1], &uid);
        if (drc == DB_NOT_FOUND) {
            fprintf(stderr, "memgrade course: no user '%s'\n", a.pos[1]);
        } else if (drc == DB_OK) {
            drc = db_course_enrol(d, a.pos[0], uid, (db_crole)role);
            if (drc == DB_NOT_FOUND)
                fprintf(stderr, "memgrade course: no course '%s'\n", a.pos[0]);
            else if (drc == DB_OK)
                printf("%s is a %s in %s\n", a.pos[1], a.role, a.pos[0]);
        }
        rc = drc == DB_OK ? 0 : drc == DB_NOT_FOUND ? 2 : 1;
    } else {
        rc = offer(d, &a);
    }
    db_close(d);
    return rc;
}
