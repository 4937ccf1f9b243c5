/* api_upload: POST /api/v1/assignments (SPEC §6): a global instructor
 * uploads an assignment folder as a gzip'd tar (the body, or the one file
 * part of a multipart form); asg_install.c unpacks, checks and installs it
 * (in the grader process, which has the privileges the check needs), and
 * the catalog is reloaded: served without a restart. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "api_int.h"
#include "asg_install.h"
#include "grader_proc.h"

#define UP_MAX_BODY (8u << 20)      /* compressed */

/* One upload at a time: each ends in a catalog swap, in order. */
static pthread_mutex_t upload_mu = PTHREAD_MUTEX_INITIALIZER;

static int h_upload(api_req *r)
{
    if (r->pending)
        return reply_error(r, r->pending, "%s", r->pending_msg);
    if (r->pp) {
        enum MHD_Result ok = MHD_destroy_post_processor(r->pp);
        r->pp = NULL;
        if (ok != MHD_YES)
            return reply_error(r, 400, "malformed multipart body");
    }
    char why[512] = "", name[64] = "";
    int replaced = 0;
    json_t *problems = NULL;
    /* Unpacking, checking (the driver runs in the sandbox) and installing
     * need the privileges this process gave up: the grader does it. */
    pthread_mutex_lock(&upload_mu);
    int st = gp_active() ? gp_install(r->json, r->json_len, name, &replaced, &problems, why,
                                      sizeof why)
                         : asg_install(r->s->cfg.assignments, r->json, r->json_len, name,
                                       &replaced, &problems, why, sizeof why);
    grd_catalog *c = NULL;
    if (st == 200 || st == 201) {
        c = grd_catalog_open(r->s->cfg.assignments, NULL, NULL, why, sizeof why);
        if (!c || srv_catalog_swap(r->s, c)) {
            grd_catalog_free(c);
            c = NULL;
            st = -1;
        }
    }
    pthread_mutex_unlock(&upload_mu);
    if (st == 422)
        return reply_json(r, 422, json_pack("{s:s, s:o}", "error", why,
                                            "problems", problems ? problems : json_array()));
    json_decref(problems);
    if (st == -1)
        return reply_error(r, 500, "installed, but the catalog could not be reloaded: %s", why);
    if (st != 200 && st != 201)
        return reply_error(r, st, "%s", why);
    const grd_assignment *a = grd_catalog_find(c, name);
    snprintf(r->location, sizeof r->location, "/api/v1/assignments");
    json_t *doc = a ? grd_assignment_json(a) : json_pack("{s:s}", "name", name);
    json_object_set_new(doc, "replaced", json_boolean(replaced));
    if (replaced)
        json_object_set_new(doc, "regrade",
                            json_string("submissions graded against the old version keep "
                                        "their results: POST /api/v1/courses/COURSE/"
                                        "assignments/NAME/regrade regrades them"));
    return reply_json(r, replaced ? 200 : 201, doc);
}

static enum MHD_Result upload_part(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *filename, const char *content_type,
                                   const char *transfer_encoding, const char *data,
                                   uint64_t off, size_t size)
{
    api_req *r = cls;
    (void)kind, (void)key, (void)content_type, (void)transfer_encoding;
    if (!filename)
        return MHD_YES; /* plain fields carry nothing we need */
    if (off != r->json_len || r->json_len + size > UP_MAX_BODY)
        return MHD_NO; /* a second file, or too big */
    char *nj = realloc(r->json, r->json_len + size + 1);
    if (!nj)
        return MHD_NO;
    r->json = nj;
    memcpy(r->json + r->json_len, data, size);
    r->json_len += size;
    return MHD_YES;
}

static int upload_begin(api_req *r)
{
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t base = ct ? strcspn(ct, ";") : 0;
    while (base && ct[base - 1] == ' ')
        base--;
    r->body_max = UP_MAX_BODY;
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > UP_MAX_BODY)
        return reply_error(r, 413, "an upload is at most %u MiB", UP_MAX_BODY >> 20);
    static const char *const gz[] = {"application/gzip", "application/x-gzip",
                                     "application/x-tar+gzip", "application/octet-stream"};
    for (size_t i = 0; ct && i < sizeof gz / sizeof gz[0]; i++)
        if (base == strlen(gz[i]) && !strncasecmp(ct, gz[i], base))
            return 0;
    if (ct && base == 19 && !strncasecmp(ct, "multipart/form-data", 19)) {
        r->pp = MHD_create_post_processor(r->conn, 16 * 1024, upload_part, r);
        return r->pp ? 0 : reply_error(r, 400, "multipart/form-data without a boundary");
    }
    return reply_error(r, 415, "send application/gzip (a .tar.gz of the folder) or "
                               "multipart/form-data");
}

const api_route api_upload_routes[] = {
    {"POST", "/api/v1/assignments", h_upload, AUTH_INSTRUCTOR, upload_begin},
};
const size_t api_upload_nroutes = sizeof api_upload_routes / sizeof api_upload_routes[0];
