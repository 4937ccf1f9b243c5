/* api_courses: the course routes of SPEC §6 (courses, members, offered
 * assignments, extensions, gradebooks, regrades) and the course side of a
 * new submission (which course, what its deadline makes of it). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api_int.h"
#include "clock.h"

/* What a route needs of the caller in course params[0]. */
typedef enum { NEED_MEMBER, NEED_STAFF, NEED_INSTRUCTOR } course_need;

/* 0 when the caller may act on course as need says (*role: theirs there;
 * a global instructor counts as the course's instructor), else the status
 * already replied: 404 for an unknown course and for one they are not in
 * alike, 403 when they are in it without the rights. */
static int course_access(api_req *r, const char *course, course_need need, db_crole *role)
{
    db *d = srv_db(r->s);
    if (!d)
        return reply_error(r, 500, "the database is unavailable");
    int rc = db_course_role(d, course, r->user.id, role);
    if (rc == DB_ERROR)
        return reply_error(r, 500, "the database is unavailable");
    if (is_instructor(r)) {
        if (db_course_get(d, course, NULL, 0) != DB_OK)
            return reply_error(r, 404, "no such course '%.64s'", course);
        *role = DB_CROLE_INSTRUCTOR;
        return 0;
    }
    if (rc == DB_NOT_FOUND)
        return reply_error(r, 404, "no such course '%.64s'", course);
    if ((need == NEED_STAFF && *role == DB_CROLE_STUDENT) ||
        (need == NEED_INSTRUCTOR && *role != DB_CROLE_INSTRUCTOR))
        return reply_error(r, 403, "only the course's %s may do this",
                           need == NEED_STAFF ? "TAs and instructors" : "instructors");
    return 0;
}

int api_course_staff(api_req *r, const char *course)
{
    if (is_instructor(r))
        return 1;
    db *d = srv_db(r->s);
    db_crole role;
    return d && db_course_role(d, course, r->user.id, &role) == DB_OK &&
           role != DB_CROLE_STUDENT;
}

/* The offer of assignment in course: a stored one, or the default course's
 * implicit one (every catalog assignment, no deadline). DB_NOT_FOUND when
 * not offered. */
static int offer_of(api_req *r, db *d, const char *course, const char *assignment,
                    db_offer *o)
{
    int rc = db_offer_get(d, course, assignment, o);
    if (rc == DB_NOT_FOUND && !strcmp(course, DB_DEFAULT_COURSE) &&
        grd_catalog_find(r->s->catalog, assignment)) {
        size_t n = strlen(assignment);
        if (n >= sizeof o->assignment)
            return DB_NOT_FOUND; /* no catalog name is that long */
        memset(o, 0, sizeof *o);
        memcpy(o->assignment, assignment, n + 1);
        return DB_OK;
    }
    return rc;
}

/* The offer's times for user_id, with their extension applied. */
static void effective_times(db *d, const char *course, const db_offer *o, int64_t user_id,
                            int64_t *due, int64_t *accept_until, int *extended)
{
    int64_t xd = 0, xa = 0;
    *due = o->due;
    *accept_until = o->accept_until;
    *extended = db_extension_get(d, course, o->assignment, user_id, &xd, &xa) == DB_OK;
    if (*extended) {
        if (xd)
            *due = xd;
        if (xa)
            *accept_until = xa;
        if (*accept_until && *due > *accept_until)
            *accept_until = *due;
    }
}

int64_t api_course_due(api_req *r, const char *course, const char *assignment,
                       int64_t user_id)
{
    db *d = srv_db(r->s);
    db_offer o;
    if (!d || offer_of(r, d, course, assignment, &o) != DB_OK)
        return 0;
    int64_t due, until;
    int ext;
    effective_times(d, course, &o, user_id, &due, &until, &ext);
    return due;
}

typedef struct {
    api_req *r;
    db *d;
    const char *assignment;
    char found[64], found_student[64];
    int n, students;    /* offering courses, those of them the caller studies in */
} pick_ctx;

static void pick_one(void *ctx, const char *id, const char *title, db_crole role)
{
    pick_ctx *p = ctx;
    db_offer o;
    (void)title;
    if (!strcmp(id, DB_DEFAULT_COURSE) || db_offer_get(p->d, id, p->assignment, &o) != DB_OK)
        return;
    if (p->n++ == 0)
        snprintf(p->found, sizeof p->found, "%s", id);
    if (role == DB_CROLE_STUDENT && p->students++ == 0)
        snprintf(p->found_student, sizeof p->found_student, "%s", id);
}

int api_course_admit(api_req *r, const char *requested, const char *assignment,
                     db_sub_ctx *ctx, char course[64])
{
    db *d = srv_db(r->s);
    memset(ctx, 0, sizeof *ctx);
    if (!d)
        return reply_error(r, 503, "the database is unavailable");
    if (requested) {
        db_crole role;
        if (!db_course_id_valid(requested))
            return reply_error(r, 404, "no such course '%.64s'", requested);
        if (course_access(r, requested, NEED_MEMBER, &role))
            return r->status;
        snprintf(course, 64, "%s", requested);
        /* The default course's open-ended offer is not a way around the
         * deadline and attempt limit of a course the student is in. */
        pick_ctx p = {r, d, assignment, "", "", 0, 0};
        if (!strcmp(requested, DB_DEFAULT_COURSE) && !api_course_staff(r, requested) &&
            db_course_each(d, r->user.id, pick_one, &p) == DB_OK && p.students)
            return reply_error(r, 400, "%s is offered to you in %s: submit it there",
                               assignment, p.found_student);
    } else {
        /* The one course of the caller's that offers it; the default course
         * only when no other does, so its open-ended offer never becomes a
         * way around a course's deadline. */
        pick_ctx p = {r, d, assignment, "", "", 0, 0};
        if (db_course_each(d, r->user.id, pick_one, &p) != DB_OK)
            return reply_error(r, 503, "the database is unavailable");
        /* A course the caller studies in wins over one they teach in. */
        if (p.students > 1 || (p.students == 0 && p.n > 1))
            return reply_error(r, 400, "%s is offered in %d of your courses: say which with "
                                       "\"course\"", assignment, p.students ? p.students : p.n);
        snprintf(course, 64, "%s", p.students ? p.found_student
                                   : p.n      ? p.found
                                              : DB_DEFAULT_COURSE);
    }
    db_offer o;
    int rc = offer_of(r, d, course, assignment, &o);
    if (rc == DB_NOT_FOUND)
        return reply_error(r, 400, "%s is not offered in %s", assignment, course);
    if (rc != DB_OK)
        return reply_error(r, 503, "the database is unavailable");
    ctx->course = course;
    ctx->now = clk_now_ms();
    /* The course's staff try things out whatever the deadline. */
    if (api_course_staff(r, course))
        return 0;
    int64_t due, until;
    int ext;
    effective_times(d, course, &o, r->user.id, &due, &until, &ext);
    int64_t cutoff = until ? until : due;
    if (cutoff && ctx->now > cutoff) {
        char when[32];
        clk_format(cutoff, when);
        return reply_error(r, 403, "the deadline for %s in %s was %s", assignment, course, when);
    }
    if (due && ctx->now > due) {
        ctx->late_days = (ctx->now - due + 86400000 - 1) / 86400000;
        ctx->late_pct = o.late_penalty_per_day;
    }
    ctx->max_submissions = o.max_submissions;
    return 0;
}

/* ---- courses and members ---------------------------------------------------- */

typedef struct {
    json_t *list;
    int failed;
} list_ctx;

static void course_one(void *ctx, const char *id, const char *title, db_crole role)
{
    list_ctx *c = ctx;
    if (json_array_append_new(c->list, json_pack("{s:s, s:s, s:s}", "id", id, "title", title,
                                                 "role", db_crole_name(role))))
        c->failed = 1;
}

static int h_courses(api_req *r)
{
    db *d = srv_db(r->s);
    list_ctx c = {json_array(), 0};
    if (!c.list || !d ||
        db_course_each(d, is_instructor(r) ? 0 : r->user.id, course_one, &c) != DB_OK ||
        c.failed) {
        json_decref(c.list);
        return reply_error(r, 500, "the database is unavailable");
    }
    return reply_json(r, 200, json_pack("{s:o}", "courses", c.list));
}

/* The request's JSON object body with only the keys in allowed (NULL-ended),
 * or NULL with a 400 replied. */
static json_t *body_object(api_req *r, const char *const *allowed)
{
    if (r->pending) {
        reply_error(r, r->pending, "%s", r->pending_msg);
        return NULL;
    }
    json_error_t e;
    json_t *o = json_loadb(r->json ? r->json : "", r->json_len, JSON_REJECT_DUPLICATES, &e);
    if (!o) {
        reply_error(r, 400, "invalid JSON at line %d column %d: %s", e.line, e.column, e.text);
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        reply_error(r, 400, "the body must be a JSON object");
        return NULL;
    }
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            ok |= !strcmp(key, *a);
        if (!ok) {
            reply_error(r, 400, "unknown field '%.64s'", key);
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static int valid_title(const char *t)
{
    size_t n = strlen(t);
    if (n < 1 || n > 200)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f)
            return 0;
    return 1;
}

static int h_course_create(api_req *r)
{
    static const char *const keys[] = {"id", "title", NULL};
    json_t *o = body_object(r, keys);
    if (!o)
        return r->status;
    const char *id = json_string_value(json_object_get(o, "id"));
    const char *title = json_string_value(json_object_get(o, "title"));
    int st;
    db *d = srv_db(r->s);
    if (!id || !db_course_id_valid(id))
        st = reply_error(r, 400, "id must be 1-32 characters of a-z 0-9 _ -");
    else if (!title || !valid_title(title))
        st = reply_error(r, 400, "title must be 1-200 printable characters");
    else if (!d)
        st = reply_error(r, 500, "the database is unavailable");
    else {
        int rc = db_course_add(d, id, title);
        if (rc == DB_EXISTS)
            st = reply_error(r, 409, "course '%s' already exists", id);
        else if (rc != DB_OK)
            st = reply_error(r, 500, "the database is unavailable");
        else {
            snprintf(r->location, sizeof r->location, "/api/v1/courses/%s", id);
            st = reply_json(r, 201, json_pack("{s:s, s:s}", "id", id, "title", title));
        }
    }
    json_decref(o);
    return st;
}

static int h_member_put(api_req *r)
{
    static const char *const keys[] = {"role", NULL};
    db_crole mine;
    if (course_access(r, r->params[0], NEED_INSTRUCTOR, &mine))
        return r->status;
    json_t *o = body_object(r, keys);
    if (!o)
        return r->status;
    int role = db_crole_parse(json_string_value(json_object_get(o, "role")));
    json_decref(o);
    if (role < 0)
        return reply_error(r, 400, "role must be student, ta or instructor");
    db *d = srv_db(r->s);
    int64_t uid;
    int rc = db_user_id(d, r->params[1], &uid);
    if (rc == DB_NOT_FOUND)
        return reply_error(r, 404, "no such user '%.64s'", r->params[1]);
    if (rc != DB_OK || db_course_enrol(d, r->params[0], uid, (db_crole)role) != DB_OK)
        return reply_error(r, 500, "the database is unavailable");
    api_views_changed(r);
    return reply_json(r, 200, json_pack("{s:s, s:s, s:s}", "course", r->params[0], "user",
                                        r->params[1], "role", db_crole_name((db_crole)role)));
}

static int h_member_delete(api_req *r)
{
    db_crole mine;
    if (course_access(r, r->params[0], NEED_INSTRUCTOR, &mine))
        return r->status;
    if (!strcmp(r->params[0], DB_DEFAULT_COURSE))
        return reply_error(r, 400, "everyone is in the default course");
    db *d = srv_db(r->s);
    int64_t uid;
    int rc = db_user_id(d, r->params[1], &uid);
    if (rc == DB_OK)
        rc = db_course_drop(d, r->params[0], uid);
    if (rc == DB_NOT_FOUND)
        return reply_error(r, 404, "no user '%.64s' in %.64s", r->params[1], r->params[0]);
    if (rc != DB_OK)
        return reply_error(r, 500, "the database is unavailable");
    api_views_changed(r);
    return reply_json(r, 200, json_pack("{s:s, s:s, s:n}", "course", r->params[0], "user",
                                        r->params[1], "role"));
}

/* ---- offered assignments ------------------------------------------------------ */

static json_t *time_json(int64_t ms)
{
    if (!ms)
        return json_null();
    char t[32];
    clk_format(ms, t);
    return json_string(t);
}

static json_t *offer_json(api_req *r, const db_offer *o)
{
    const grd_assignment *a = grd_catalog_find(r->s->catalog, o->assignment);
    json_t *j = json_pack("{s:s, s:o, s:o, s:f, s:o, s:s}", "assignment", o->assignment,
                          "due", time_json(o->due), "accept_until", time_json(o->accept_until),
                          "late_penalty_per_day", o->late_penalty_per_day,
                          "max_submissions",
                          o->max_submissions ? json_integer(o->max_submissions) : json_null(),
                          "policy", o->policy_last ? "last" : "best");
    if (j && a) {
        json_object_set_new(j, "title", json_string(grd_assignment_title(a)));
        json_object_set_new(j, "max_score", json_real(grd_assignment_max_score(a)));
    }
    return j;
}

typedef struct {
    api_req *r;
    db *d;
    const char *course;
    int student;
    json_t *list;
    int failed;
} offers_ctx;

static void extension_one(void *ctx, const char *user, int64_t due, int64_t accept_until)
{
    json_array_append_new(ctx, json_pack("{s:s, s:o, s:o}", "user", user, "due", time_json(due),
                                         "accept_until", time_json(accept_until)));
}

static void offer_row(offers_ctx *c, const db_offer *o)
{
    json_t *j = offer_json(c->r, o);
    if (j && !c->student) {
        /* The course's staff see who has an extension. */
        json_t *x = json_array();
        if (!x || db_extension_each(c->d, c->course, o->assignment, extension_one, x) != DB_OK ||
            json_object_set_new(j, "extensions", x)) {
            json_decref(j);
            j = NULL;
        }
    }
    if (j && c->student) {
        int64_t used = 0, due, until;
        int ext;
        db_submission_count(c->d, c->course, o->assignment, c->r->user.id, &used);
        json_object_set_new(j, "submissions_used", json_integer(used));
        effective_times(c->d, c->course, o, c->r->user.id, &due, &until, &ext);
        json_object_set_new(j, "extension",
                            ext ? json_pack("{s:o, s:o}", "due", time_json(due),
                                            "accept_until", time_json(until))
                                : json_null());
    }
    if (!j || json_array_append_new(c->list, j))
        c->failed = 1;
}

static void offer_one(void *ctx, const db_offer *o)
{
    offer_row(ctx, o);
}

static int h_course_assignments(api_req *r)
{
    db_crole role;
    if (course_access(r, r->params[0], NEED_MEMBER, &role))
        return r->status;
    db *d = srv_db(r->s);
    offers_ctx c = {r, d, r->params[0], role == DB_CROLE_STUDENT, json_array(), 0};
    if (!c.list)
        return reply_error(r, 500, "out of memory");
    if (!strcmp(r->params[0], DB_DEFAULT_COURSE)) {
        /* Every catalog assignment, with the stored settings where there are. */
        for (size_t i = 0; i < grd_catalog_count(r->s->catalog); i++) {
            const char *name = grd_assignment_name(grd_catalog_at(r->s->catalog, i));
            db_offer o;
            if (offer_of(r, d, DB_DEFAULT_COURSE, name, &o) == DB_OK)
                offer_row(&c, &o);
        }
    } else if (db_offer_each(d, r->params[0], offer_one, &c) != DB_OK) {
        c.failed = 1;
    }
    if (c.failed) {
        json_decref(c.list);
        return reply_error(r, 500, "the database is unavailable");
    }
    return reply_json(r, 200, json_pack("{s:s, s:s, s:o}", "course", r->params[0], "role",
                                        db_crole_name(role), "assignments", c.list));
}

/* A time field of a body: absent or null is 0; 0 or the 400 replied. */
static int body_time(api_req *r, json_t *o, const char *key, int64_t *ms)
{
    json_t *v = json_object_get(o, key);
    *ms = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || clk_parse(json_string_value(v), ms))
        return reply_error(r, 400, "%s must be an ISO 8601 time such as 2026-12-01T23:59:00Z",
                           key);
    return 0;
}

static int h_offer_put(api_req *r)
{
    static const char *const keys[] = {"due", "accept_until", "late_penalty_per_day",
                                       "max_submissions", "policy", NULL};
    db_crole mine;
    if (course_access(r, r->params[0], NEED_INSTRUCTOR, &mine))
        return r->status;
    if (!grd_catalog_find(r->s->catalog, r->params[1]))
        return reply_error(r, 404, "no such assignment '%.64s'", r->params[1]);
    json_t *o = body_object(r, keys);
    if (!o)
        return r->status;
    db_offer of = {0};
    snprintf(of.assignment, sizeof of.assignment, "%.64s", r->params[1]);
    int st = 0;
    json_t *pen = json_object_get(o, "late_penalty_per_day");
    json_t *max = json_object_get(o, "max_submissions");
    json_t *pol = json_object_get(o, "policy");
    if (body_time(r, o, "due", &of.due) || body_time(r, o, "accept_until", &of.accept_until)) {
        st = r->status;
    } else if (of.due && of.accept_until && of.due > of.accept_until) {
        st = reply_error(r, 400, "due is after accept_until");
    } else if (!of.due && of.accept_until) {
        st = reply_error(r, 400, "accept_until needs a due date");
    } else if (pen && !json_is_null(pen) &&
               (!json_is_number(pen) || json_number_value(pen) < 0 ||
                json_number_value(pen) > 100)) {
        st = reply_error(r, 400, "late_penalty_per_day must be a percentage from 0 to 100");
    } else if (max && !json_is_null(max) &&
               (!json_is_integer(max) || json_integer_value(max) < 1 ||
                json_integer_value(max) > 1000000)) {
        st = reply_error(r, 400, "max_submissions must be a whole number from 1, or null");
    } else if (pol && !json_is_null(pol) && (!json_is_string(pol) ||
               (strcmp(json_string_value(pol), "best") && strcmp(json_string_value(pol), "last")))) {
        st = reply_error(r, 400, "policy must be best or last");
    }
    if (!st) {
        of.late_penalty_per_day = pen ? json_number_value(pen) : 0;
        of.max_submissions = max ? json_integer_value(max) : 0;
        of.policy_last = pol && json_is_string(pol) && !strcmp(json_string_value(pol), "last");
        db *d = srv_db(r->s);
        if (!d || db_offer_put(d, r->params[0], &of) != DB_OK)
            st = reply_error(r, 500, "the database is unavailable");
        else {
            api_views_changed(r);
            st = reply_json(r, 200, offer_json(r, &of));
        }
    }
    json_decref(o);
    return st;
}

static int h_extension_put(api_req *r)
{
    static const char *const keys[] = {"due", "accept_until", NULL};
    db_crole mine;
    if (course_access(r, r->params[0], NEED_INSTRUCTOR, &mine))
        return r->status;
    db *d = srv_db(r->s);
    db_offer of;
    int rc = offer_of(r, d, r->params[0], r->params[1], &of);
    if (rc == DB_NOT_FOUND)
        return reply_error(r, 404, "%.64s is not offered in %.64s", r->params[1], r->params[0]);
    if (rc != DB_OK)
        return reply_error(r, 500, "the database is unavailable");
    int64_t uid;
    db_crole role;
    rc = db_user_id(d, r->params[2], &uid);
    if (rc == DB_OK)
        rc = db_course_role(d, r->params[0], uid, &role);
    if (rc == DB_NOT_FOUND)
        return reply_error(r, 404, "no user '%.64s' in %.64s", r->params[2], r->params[0]);
    if (rc != DB_OK)
        return reply_error(r, 500, "the database is unavailable");
    json_t *o = body_object(r, keys);
    if (!o)
        return r->status;
    int64_t due, until;
    int st = 0;
    if (body_time(r, o, "due", &due) || body_time(r, o, "accept_until", &until))
        st = r->status;
    else if (!due && !until)
        st = reply_error(r, 400, "an extension needs due or accept_until");
    else if (due && until && due > until)
        st = reply_error(r, 400, "due is after accept_until");
    else if (db_extension_put(d, r->params[0], r->params[1], uid, due, until) != DB_OK)
        st = reply_error(r, 500, "the database is unavailable");
    else {
        api_views_changed(r);
        st = reply_json(r, 200, json_pack("{s:s, s:s, s:s, s:o, s:o}", "course", r->params[0],
                                          "assignment", r->params[1], "user", r->params[2],
                                          "due", time_json(due), "accept_until",
                                          time_json(until)));
    }
    json_decref(o);
    return st;
}

/* ---- gradebook -------------------------------------------------------------------- */

/* One CSV field, quoted as RFC 4180 says when it holds a comma, a quote
 * or a line break. */
static void csv_field(tbuf *b, const char *v, int last)
{
    if (strpbrk(v, ",\"\r\n")) {
        tb_printf(b, "\"");
        for (const char *p = v; *p; p++)
            tb_printf(b, *p == '"' ? "\"\"" : "%c", *p);
        tb_printf(b, "\"");
    } else {
        tb_printf(b, "%s", v);
    }
    tb_printf(b, last ? "\r\n" : ",");
}

typedef struct {
    json_t *rows;
    tbuf *csv;
    int policy_last;
    int failed;
} book_ctx;

static void book_one(void *ctx, const db_course_grade *g)
{
    book_ctx *c = ctx;
    int has_final = c->policy_last ? g->has_last : g->has_best;
    double final = c->policy_last ? g->last_score : g->best_score;
    int64_t late = c->policy_last ? g->last_late_days : g->best_late_days;
    if (c->csv) {
        char best[32] = "", last[32] = "", fin[32] = "", max[32] = "", n[24], ld[24],
             at[32] = "";
        if (g->has_best)
            snprintf(best, sizeof best, "%.10g", g->best_score);
        if (g->has_last)
            snprintf(last, sizeof last, "%.10g", g->last_score);
        if (has_final) {
            snprintf(fin, sizeof fin, "%.10g", final);
            snprintf(max, sizeof max, "%.10g", g->max_score);
        }
        snprintf(n, sizeof n, "%" PRId64, g->attempts);
        snprintf(ld, sizeof ld, "%" PRId64, has_final ? late : 0);
        if (g->attempts)
            clk_format(g->last_submitted_at, at);
        const char *f[] = {g->user, n, best, last, fin, max, ld, at};
        for (size_t i = 0; i < 8; i++)
            csv_field(c->csv, f[i], i == 7);
        return;
    }
    json_t *o = json_pack("{s:s, s:I, s:I}", "user", g->user, "attempts",
                          (json_int_t)g->attempts, "late_days",
                          (json_int_t)(has_final ? late : 0));
    if (o) {
        json_object_set_new(o, "best_score", g->has_best ? json_real(g->best_score) : json_null());
        json_object_set_new(o, "last_score", g->has_last ? json_real(g->last_score) : json_null());
        json_object_set_new(o, "final_score", has_final ? json_real(final) : json_null());
        json_object_set_new(o, "best_submission",
                            g->has_best ? json_integer(g->best_submission) : json_null());
        json_object_set_new(o, "last_submission",
                            g->attempts ? json_integer(g->last_submission) : json_null());
        json_object_set_new(o, "last_submitted_at",
                            g->attempts ? time_json(g->last_submitted_at) : json_null());
    }
    if (!o || json_array_append_new(c->rows, o))
        c->failed = 1;
}

static int h_course_grades(api_req *r)
{
    db_crole mine;
    if (course_access(r, r->params[0], NEED_STAFF, &mine))
        return r->status;
    db *d = srv_db(r->s);
    db_offer of;
    int rc = offer_of(r, d, r->params[0], r->params[1], &of);
    if (rc == DB_NOT_FOUND)
        return reply_error(r, 404, "%.64s is not offered in %.64s", r->params[1], r->params[0]);
    if (rc != DB_OK)
        return reply_error(r, 500, "the database is unavailable");
    const char *format = query(r, "format");
    int csv = format && !strcmp(format, "csv");
    if (format && !csv && strcmp(format, "json"))
        return reply_error(r, 400, "format must be json or csv");
    tbuf b = {.max = 64u << 20};
    book_ctx c = {csv ? NULL : json_array(), csv ? &b : NULL, of.policy_last, 0};
    if (csv)
        tb_printf(&b, "user,attempts,best_score,last_score,final_score,max_score,late_days,"
                      "last_submitted_at\r\n");
    if ((!csv && !c.rows) || db_course_grades(d, r->params[0], r->params[1], book_one, &c) ||
        c.failed || b.failed) {
        json_decref(c.rows);
        free(b.p);
        return reply_error(r, 500, "the database is unavailable");
    }
    if (csv)
        return reply(r, 200, "text/csv; charset=utf-8", b.p, b.len);
    const grd_assignment *a = grd_catalog_find(r->s->catalog, r->params[1]);
    return reply_json(r, 200, json_pack("{s:s, s:s, s:s, s:f, s:o}", "course", r->params[0],
                                        "assignment", r->params[1], "policy",
                                        of.policy_last ? "last" : "best", "max_score",
                                        a ? grd_assignment_max_score(a) : 0.0,
                                        "students", c.rows));
}

/* ---- regrades ------------------------------------------------------------------------ */

static int h_regrade_start(api_req *r)
{
    db_crole mine;
    if (course_access(r, r->params[0], NEED_INSTRUCTOR, &mine))
        return r->status;
    db *d = srv_db(r->s);
    db_offer of;
    int rc = grd_catalog_find(r->s->catalog, r->params[1])
                 ? offer_of(r, d, r->params[0], r->params[1], &of) : DB_NOT_FOUND;
    if (rc == DB_NOT_FOUND)
        return reply_error(r, 404, "%.64s is not offered in %.64s", r->params[1], r->params[0]);
    if (rc != DB_OK)
        return reply_error(r, 500, "the database is unavailable");
    int64_t id = 0, total = 0;
    if (db_regrade_create(d, r->params[0], r->params[1], &id, &total) != DB_OK)
        return reply_error(r, 500, "the database is unavailable");
    srv_regrade_added(r->s, total);
    snprintf(r->location, sizeof r->location, "/api/v1/courses/%.16s/regrades/%" PRId64,
             r->params[0], id);
    return reply_json(r, 202, json_pack("{s:I, s:I, s:s}", "id", (json_int_t)id, "total",
                                        (json_int_t)total, "url", r->location));
}

static int h_regrade_get(api_req *r)
{
    db_crole mine;
    if (course_access(r, r->params[0], NEED_STAFF, &mine))
        return r->status;
    int64_t id = parse_id(r->params[1]);
    db_regrade g;
    db *d = srv_db(r->s);
    int rc = id ? db_regrade_get(d, id, &g) : DB_NOT_FOUND;
    if (rc == DB_OK && strcmp(g.course, r->params[0]))
        rc = DB_NOT_FOUND;
    if (rc == DB_NOT_FOUND)
        return reply_error(r, 404, "no such regrade");
    if (rc != DB_OK)
        return reply_error(r, 500, "the database is unavailable");
    return reply_json(r, 200, json_pack("{s:I, s:I, s:I, s:I, s:s}", "id", (json_int_t)id,
                                        "total", (json_int_t)g.total, "done",
                                        (json_int_t)g.done, "failed", (json_int_t)g.failed,
                                        "status", g.status));
}

/* For the dashboard pages (web_dashboard.c): the API's own rules, so a
 * form and a JSON request can never disagree. */
int api_course_offer(api_req *r, const char *course, const char *assignment, db_offer *o)
{
    db *d = srv_db(r->s);
    return d ? offer_of(r, d, course, assignment, o) : DB_ERROR;
}

int api_extension_put(api_req *r)
{
    return h_extension_put(r);
}

int api_regrade_start(api_req *r)
{
    return h_regrade_start(r);
}

const api_route api_course_routes[] = {
    {"GET", "/api/v1/courses", h_courses, AUTH_USER, NULL},
    {"POST", "/api/v1/courses", h_course_create, AUTH_INSTRUCTOR, api_json_begin},
    {"PUT", "/api/v1/courses/*/members/*", h_member_put, AUTH_USER, api_json_begin},
    {"DELETE", "/api/v1/courses/*/members/*", h_member_delete, AUTH_USER, NULL},
    {"GET", "/api/v1/courses/*/assignments", h_course_assignments, AUTH_USER, NULL},
    {"PUT", "/api/v1/courses/*/assignments/*", h_offer_put, AUTH_USER, api_json_begin},
    {"PUT", "/api/v1/courses/*/assignments/*/extensions/*", h_extension_put, AUTH_USER,
     api_json_begin},
    {"GET", "/api/v1/courses/*/assignments/*/grades", h_course_grades, AUTH_USER, NULL},
    {"POST", "/api/v1/courses/*/assignments/*/regrade", h_regrade_start, AUTH_USER, NULL},
    {"GET", "/api/v1/courses/*/regrades/*", h_regrade_get, AUTH_USER, NULL},
};
const size_t api_course_nroutes = sizeof api_course_routes / sizeof api_course_routes[0];
