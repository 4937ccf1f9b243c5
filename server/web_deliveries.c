/* web_deliveries: /dashboard/C/deliveries, the staff page of a course's
 * grade passbacks and webhook events with each one's state (SPEC §8), and
 * its retry button. Rows come from the API's own delivery log
 * (api_webhooks.c), so the page and GET .../deliveries never disagree.
 * Its route table comes before web_dashboard.c's in api.c, whose
 * /dashboard/C/A would otherwise take "deliveries" for an assignment. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "web.h"

#define PAGE_ROWS 500

/* The course of params[0] when the user is staff there, its title into
 * title; else the answer already given (login redirect, or 404 as the
 * dashboard answers for a course that is not theirs). */
static int deliveries_access(api_req *r, char title[256])
{
    if (web_require_user(r))
        return r->status;
    db *d = srv_db(r->s);
    if (!d)
        return web_error(r, 503, "The database is unavailable; try again in a moment.");
    if (!db_course_id_valid(r->params[0]) || !web_is_staff(r, r->params[0]) ||
        db_course_get(d, r->params[0], title, 256) != DB_OK)
        return web_not_found(r);
    return 0;
}

typedef struct {
    web_buf *b;
    api_req *r;
    size_t n;
} rows_ctx;

static void row_one(void *ctx, const db_delivery *dl)
{
    rows_ctx *c = ctx;
    web_buf *b = c->b;
    int score = !strcmp(dl->kind, "score");
    c->n++;
    web_printf(b, "<tr id=\"delivery-%" PRId64 "\" data-state=\"%s\" data-kind=\"%s\">"
                  "<td class=\"num\">%" PRId64 "</td><td>%s</td><td>",
               dl->id, dl->state, dl->kind, dl->id, score ? "Grade passback" : "Webhook");
    if (dl->submission_id)
        web_printf(b, "<a href=\"/submissions/%" PRId64 "\">#%" PRId64 "</a>", dl->submission_id,
                   dl->submission_id);
    web_printf(b, "</td><td>%s</td><td>", dl->user ? dl->user : "");
    if (score && dl->line_item)
        web_printf(b, "<code>%s</code>", dl->line_item);
    web_printf(b, "</td><td class=\"state state-%s\">%s</td><td class=\"num\">%" PRId64
                  "</td><td>",
               dl->state, dl->state, dl->attempts);
    if (dl->has_status)
        web_printf(b, "HTTP %ld", dl->last_status);
    if (dl->has_status && dl->last_error)
        web_raw(b, ": ");
    if (dl->last_error)
        web_printf(b, "%s", dl->last_error);
    web_raw(b, "</td><td>");
    if (!strcmp(dl->state, "pending"))
        web_time(b, dl->next_at, "");
    else if (!strcmp(dl->state, "delivered"))
        web_time(b, dl->delivered_at, "");
    web_raw(b, "</td><td>");
    web_time(b, dl->created_at, "");
    web_raw(b, "</td><td>");
    if (strcmp(dl->state, "delivered")) {
        web_printf(b, "<form method=\"post\" action=\"/dashboard/%s/deliveries/%" PRId64
                      "/retry\">",
                   c->r->params[0], dl->id);
        web_csrf_field(b, c->r);
        web_printf(b, "<button type=\"submit\">%s</button></form>",
                   strcmp(dl->state, "failed") ? "Send now" : "Retry");
    }
    web_raw(b, "</td></tr>\n");
}

static int h_deliveries_page(api_req *r)
{
    char title[256], url[2100];
    if (deliveries_access(r, title))
        return r->status;
    static const struct {
        const char *state, *label;
    } states[] = {{NULL, "all"}, {"pending", "pending"}, {"failed", "failed"},
                  {"delivered", "delivered"}};
    const char *state = query(r, "state");
    if (state && strcmp(state, "pending") && strcmp(state, "failed") &&
        strcmp(state, "delivered"))
        return web_error(r, 400, "state is pending, failed or delivered.");
    db *d = srv_db(r->s);
    int64_t at = 0;
    int wrc = db_webhook_get(d, r->params[0], url, sizeof url, &at);
    if (wrc == DB_ERROR)
        return web_error(r, 503, "The database is unavailable; try again in a moment.");
    web_buf b = WEB_BUF_INIT;
    char heading[320];
    snprintf(heading, sizeof heading, "Deliveries of %s", title);
    web_page_begin(&b, r, heading);
    web_printf(&b, "<h1>Deliveries of %s <span class=\"course-id\">(%s)</span></h1>\n"
                   "<p>Each grade passback to the LMS and each webhook event of this course, "
                   "with its state. A failed delivery can be sent again; a pending one is "
                   "retried by itself, later each time (up to an hour apart).</p>\n",
               title, r->params[0]);
    if (wrc == DB_OK)
        web_printf(&b, "<p id=\"webhook\">Webhook: <code>%s</code> (signed with the secret set "
                       "for it).</p>\n", url);
    else
        web_raw(&b, "<p id=\"webhook\">This course has no webhook. An instructor sets one with "
                    "<code>PUT /api/v1/courses/COURSE/webhook</code>.</p>\n");
    /* Staff of a big course look for the failed ones: a filter by state. */
    web_raw(&b, "<nav aria-label=\"Filter by state\"><p>Show:");
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        int cur = (!state && !states[i].state) ||
                  (state && states[i].state && !strcmp(state, states[i].state));
        web_raw(&b, i ? " &middot; " : " ");
        if (cur) {
            web_printf(&b, "<strong aria-current=\"page\">%s</strong>", states[i].label);
            continue;
        }
        web_raw(&b, "<a href=\"/dashboard/");
        web_url(&b, r->params[0]);
        web_raw(&b, "/deliveries");
        if (states[i].state)
            web_printf(&b, "?state=%s", states[i].state);
        web_printf(&b, "\">%s</a>", states[i].label);
    }
    web_raw(&b, "</p></nav>\n");
    web_printf(&b, "<div class=\"table-wrap\" tabindex=\"0\" role=\"region\" "
                   "aria-labelledby=\"deliveries-cap\"><table id=\"deliveries\">\n"
                   "<caption id=\"deliveries-cap\">The newest %d deliveries</caption>\n"
                   "<thead><tr><th scope=\"col\" class=\"num\">#</th><th scope=\"col\">Kind</th>"
                   "<th scope=\"col\">Submission</th><th scope=\"col\">Student</th>"
                   "<th scope=\"col\">Line item</th><th scope=\"col\">State</th>"
                   "<th scope=\"col\" class=\"num\">Attempts</th>"
                   "<th scope=\"col\">Last answer</th><th scope=\"col\">Next try / delivered</th>"
                   "<th scope=\"col\">Queued</th><th scope=\"col\">Action</th></tr></thead>\n<tbody>\n",
               PAGE_ROWS);
    rows_ctx c = {&b, r, 0};
    if (db_outbox_each(d, r->params[0], NULL, state, PAGE_ROWS, 0, row_one, &c) != DB_OK) {
        free(b.p);
        return web_error(r, 503, "The database is unavailable; try again in a moment.");
    }
    if (!c.n)
        web_raw(&b, "<tr><td colspan=\"11\">Nothing was sent yet.</td></tr>\n");
    web_raw(&b, "</tbody></table></div>\n");
    web_page_end(&b);
    return web_send(r, 200, &b);
}

static int h_deliveries_retry(api_req *r)
{
    char title[256], csrf[128];
    if (r->pending)
        return web_error(r, r->pending, "%s", r->pending_msg);
    if (deliveries_access(r, title))
        return r->status;
    if (web_form_get(r, "csrf", csrf, sizeof csrf))
        csrf[0] = '\0';
    if (web_require_csrf(r, csrf))
        return r->status;
    int st = api_delivery_retry(r);
    if (st != 202) {
        json_t *j = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
        const char *m = json_string_value(json_object_get(j, "error"));
        st = web_error(r, st, "The delivery was not retried: %s.", m ? m : "the request failed");
        json_decref(j);
        return st;
    }
    web_buf u = WEB_BUF_INIT;
    web_raw(&u, "/dashboard/");
    web_url(&u, r->params[0]);
    web_raw(&u, "/deliveries");
    return web_redirect_buf(r, &u);
}

const api_route web_deliveries_routes[] = {
    {"GET", "/dashboard/*/deliveries", h_deliveries_page, AUTH_NONE, NULL},
    {"POST", "/dashboard/*/deliveries/*/retry", h_deliveries_retry, AUTH_NONE, web_form_begin},
};
const size_t web_deliveries_nroutes = sizeof web_deliveries_routes / sizeof web_deliveries_routes[0];
