/* api: the HTTP API of SPEC §5 on libmicrohttpd. Routing is one table;
 * handlers return an HTTP status and fill a response; every refusal is a
 * JSON {"error": ...}; each request is counted in /metrics and written to
 * the access log. */
#ifndef MEMGRADE_API_H
#define MEMGRADE_API_H

#include <stddef.h>

#include "srv.h"

struct MHD_Daemon;

/* Starts serving s on its configured address and port (listen true), or
 * with no listening socket at all (listen false: connections are handed in
 * with MHD_add_connection, as the fuzz target does). NULL with err filled
 * on failure. */
struct MHD_Daemon *api_start(srv *s, int listen, char *err, size_t errlen);
/* The port actually bound (useful with --port 0). */
int api_port(struct MHD_Daemon *d);
/* Stops accepting, tells keep-alive clients to close, waits up to
 * grace_ms for requests in flight, then stops the daemon. */
void api_stop(struct MHD_Daemon *d, srv *s, int grace_ms);

/* The OpenAPI 3 document served at /api/v1/openapi.json: server/openapi.json,
 * compiled in by server/CMakeLists.txt. Keep it in step with the routes
 * table in api.c (test_api.py checks every route is there). */
extern const char api_openapi_json[];

#endif
