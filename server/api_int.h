/* api_int: what the API's route families (api.c, api_courses.c) share:
 * the request, the route table entry and the reply helpers. Not for use
 * outside server/api*.c. */
#ifndef MEMGRADE_API_INT_H
#define MEMGRADE_API_INT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "api_submit.h"
#include "auth.h"
#include "db.h"
#include "srv.h"

struct MHD_Response;

typedef enum { AUTH_NONE, AUTH_USER, AUTH_INSTRUCTOR } api_auth;

typedef struct api_req api_req;
typedef int (*api_handler)(api_req *r);

typedef struct {
    const char *method;
    const char *pattern;   /* '*' matches one path segment */
    api_handler fn;        /* answers once the request (and its body) is in */
    api_auth auth;
    api_handler begin;     /* routes with a body: checks before reading it */
} api_route;

#define API_MAX_PARAMS 3
#define API_PARAM_LEN 128

struct api_req {
    srv *s;
    struct MHD_Connection *conn;
    struct timespec t0;
    char method[16];
    char path[256];               /* for the access log, escaped */
    const api_route *route;
    char params[API_MAX_PARAMS][API_PARAM_LEN];
    db_user user;
    int authed;

    /* the upload */
    api_sub *sub;
    struct MHD_PostProcessor *pp;
    char *json;
    size_t json_len;
    size_t raw;                   /* body bytes received */
    int pending;                  /* a refusal decided while reading the body */
    char pending_msg[256];
    int admitted;

    /* the response */
    int status;
    char *body;
    size_t body_len;
    const char *ctype;
    char retry_after[16];
    char location[64];
    const char *allow;
    int queued;                   /* a response was handed to MHD */
    int replayed;                 /* an Idempotency-Key retry */
    int close_conn;               /* answer with Connection: close */
    size_t body_max;              /* the route's body cap; 0: --max-request */
    size_t held;                  /* body bytes counted against the budget */
    int body_reserved;            /* its declared length was counted up front */

    /* the pages (web*.c) */
    void (*headers)(api_req *r, struct MHD_Response *resp); /* extra response headers */
    const char *const *qargs;     /* internal API calls: the query as key,
                                   * value, ..., NULL (query() reads only it) */
    struct {
        int checked, live;        /* web_session ran; found a live session */
        int by_cookie;            /* the API request was authenticated by it */
        uint8_t sid[AUTH_HASH_LEN]; /* the session id's hash */
        char csrf[AUTH_TOKEN_LEN + 1]; /* the session's CSRF token */
        char set_cookie[256];     /* a Set-Cookie to send, or "" */
        char location[512];       /* a page redirect's Location, or "" */
        char form_csrf[AUTH_TOKEN_LEN + 1]; /* the token a multipart form sent */
        char paste_name[129];     /* a pasted file's name (multipart form) */
        void *ctx;                /* a page's own per-request state */
        void (*ctx_free)(void *ctx);
    } web;
};

/* The request's route for internal use by the pages (web.c): runs GET path
 * as r's user with the query qargs (key, value, ..., NULL), the body and
 * its length into *body (malloc'd, caller frees). Returns the status. */
int api_internal_get(api_req *r, const char *path, const char *const *qargs, char **body,
                     size_t *len);
/* The submission route's two halves, for the submit page (web_student.c):
 * the checks before the body and the handler once it is in. */
int api_submit_begin(api_req *r);
int api_submit(api_req *r);

/* The guards against clients that hold capacity (api_guard.c): per-request
 * deadlines a trickle does not reset, and the budget of body bytes held. */
#define API_HEADER_DEADLINE_S 20  /* from a request's start to its last header */
#define API_BODY_DEADLINE_S 120   /* from its headers to the end of its body */
enum MHD_ConnectionNotificationCode;
void guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                  enum MHD_ConnectionNotificationCode code);
void guard_headers_done(api_req *r);
void guard_answering(api_req *r);
void guard_request_done(struct MHD_Connection *c);
int guard_start(void);
void guard_stop(void);
uint64_t guard_deadline_closes(void);
/* Counts n more body bytes of r against the budgets: 0, or the refusal's
 * status (429: the user's share, 503: the total). */
int guard_body_take(api_req *r, size_t n);
void guard_body_release(api_req *r);
size_t guard_body_total(void);

/* A bounded growable text buffer for /metrics and CSV. */
typedef struct {
    char *p;
    size_t len, cap, max;
    int failed;
} tbuf;

__attribute__((format(printf, 2, 3)))
void tb_printf(tbuf *b, const char *fmt, ...);

/* Sets the response (steals body, malloc'd); returns status. */
int reply(api_req *r, int status, const char *ctype, char *body, size_t len);
/* Steals doc. */
int reply_json(api_req *r, int status, json_t *doc);
__attribute__((format(printf, 3, 4)))
int reply_error(api_req *r, int status, const char *fmt, ...);
const char *query(api_req *r, const char *key);
/* A strictly positive decimal id; 0 when s is not one. */
int64_t parse_id(const char *s);
/* A global instructor. */
int is_instructor(const api_req *r);
void iso_time(int64_t ms, char out[32]);

/* begin for routes whose body is a small JSON document (r->json). */
int api_json_begin(api_req *r);

/* The assignment upload route (api_upload.c). */
extern const api_route api_upload_routes[];
extern const size_t api_upload_nroutes;

/* The course routes (api_courses.c). */
extern const api_route api_course_routes[];
extern const size_t api_course_nroutes;

/* The roster sync route (lti_nrps.c). */
extern const api_route lti_nrps_routes[];
extern const size_t lti_nrps_nroutes;

/* The webhook and delivery-log routes (api_webhooks.c); /metrics' outbox
 * counts; a delivery row as the API shows it (new reference, NULL on out of
 * memory); and POST .../deliveries/ID/retry's handler (params course, id),
 * for the deliveries page. */
extern const api_route api_webhook_routes[];
extern const size_t api_webhook_nroutes;
void api_outbox_metrics(api_req *r, tbuf *b);
json_t *api_delivery_json(const db_delivery *dl);
int api_delivery_retry(api_req *r);

/* GET /api/v1/workers and the grading processes' gauges in /metrics
 * (api_workers.c). */
extern const api_route api_worker_routes[];
extern const size_t api_worker_nroutes;
void api_workers_metrics(api_req *r, tbuf *b);

/* Bumped whenever a stored result or a deadline changes: cached views of
 * submissions older than this are not served (api.c). */
void api_views_changed(api_req *r);

/* For submissions (api.c → api_courses.c): decides the course of a new
 * submission by user r->user to assignment (requested: the body's course,
 * or NULL) and what its deadline makes of it now. 0 with ctx filled
 * (ctx->course points into course_buf), else the refusal already replied. */
int api_course_admit(api_req *r, const char *requested, const char *assignment,
                     db_sub_ctx *ctx, char course_buf[64]);

/* Whether r's user may see submissions of course as a TA or instructor
 * there (global instructors always may). */
int api_course_staff(api_req *r, const char *course);

/* For the dashboard pages: the offer of assignment in course as the API
 * sees it (the default course offers the whole catalog), DB_NOT_FOUND when
 * not offered; and the API's handlers for PUT .../extensions/USER (params
 * course, assignment, user; r->json the JSON body) and POST .../regrade
 * (params course, assignment), which reply as the API does. */
int api_course_offer(api_req *r, const char *course, const char *assignment, db_offer *o);
int api_extension_put(api_req *r);
int api_regrade_start(api_req *r);

/* The caller's effective due date of assignment in course (their
 * extension, else the offer's), 0 when there is none. */
int64_t api_course_due(api_req *r, const char *course, const char *assignment,
                       int64_t user_id);

#endif
