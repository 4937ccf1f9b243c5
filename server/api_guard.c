/* api_guard: what keeps one client from holding the service's capacity.
 *
 * Deadlines a trickle does not reset. libmicrohttpd's timeout counts
 * silence, so a client sending a byte every few seconds keeps a
 * connection (one of --max-connections) forever. Every connection is
 * tracked here: a request must have sent its headers within
 * API_HEADER_DEADLINE_S of starting (the connection's accept, or the end
 * of the previous request on a kept-alive one) and its whole body within
 * API_BODY_DEADLINE_S of its headers; a sweeper thread shuts the socket of
 * one that did not, and libmicrohttpd closes it.
 *
 * A budget for request bodies. Bodies are held in memory until the
 * request ends (a submission's files, a JSON document, an upload): the
 * bytes held are counted per user and in total, and a request that would
 * go past either is refused (429 for the user's share, 503 for the total)
 * and the rest of its body thrown away, so unfinished uploads cannot pin
 * the server's memory. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api_int.h"

typedef enum { PH_HEADERS, PH_BODY, PH_ANSWER, PH_CLOSING } phase;

typedef struct gconn {
    struct gconn *prev, *next;
    int fd;
    phase ph;
    int64_t deadline_ms;
} gconn;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static gconn *conns;
static pthread_t sweeper;
static int running, stop;
static atomic_uint_fast64_t deadline_closes;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                  enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        gconn *g = calloc(1, sizeof *g);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!g)
            return; /* untracked: only its deadline is lost */
        g->fd = ci ? ci->connect_fd : -1;
        g->ph = PH_HEADERS;
        g->deadline_ms = mono_ms() + API_HEADER_DEADLINE_S * 1000;
        pthread_mutex_lock(&mu);
        g->next = conns;
        if (conns)
            conns->prev = g;
        conns = g;
        pthread_mutex_unlock(&mu);
        *socket_context = g;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        gconn *g = *socket_context;
        if (!g)
            return;
        /* Unlinked before libmicrohttpd closes the socket: the sweeper never
         * touches a descriptor that may already be another connection's. */
        pthread_mutex_lock(&mu);
        if (g->prev)
            g->prev->next = g->next;
        else
            conns = g->next;
        if (g->next)
            g->next->prev = g->prev;
        pthread_mutex_unlock(&mu);
        free(g);
        *socket_context = NULL;
    }
}

static gconn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void set_phase(struct MHD_Connection *c, phase ph, int64_t deadline_ms)
{
    gconn *g = c ? conn_of(c) : NULL;
    if (!g)
        return;
    pthread_mutex_lock(&mu);
    if (g->ph != PH_CLOSING) {
        g->ph = ph;
        g->deadline_ms = deadline_ms;
    }
    pthread_mutex_unlock(&mu);
}

void guard_headers_done(api_req *r)
{
    set_phase(r->conn, PH_BODY, mono_ms() + API_BODY_DEADLINE_S * 1000);
}

void guard_answering(api_req *r)
{
    set_phase(r->conn, PH_ANSWER, 0);
}

void guard_request_done(struct MHD_Connection *c)
{
    set_phase(c, PH_HEADERS, mono_ms() + API_HEADER_DEADLINE_S * 1000);
}

static void *sweep(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    while (!stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 500 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&cv, &mu, &until);
        int64_t now = mono_ms();
        for (gconn *g = conns; g; g = g->next) {
            if ((g->ph == PH_HEADERS || g->ph == PH_BODY) && now >= g->deadline_ms &&
                g->fd >= 0) {
                /* libmicrohttpd sees the end of the stream and closes it. */
                shutdown(g->fd, SHUT_RDWR);
                g->ph = PH_CLOSING;
                atomic_fetch_add(&deadline_closes, 1);
            }
        }
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

int guard_start(void)
{
    stop = 0;
    if (pthread_create(&sweeper, NULL, sweep, NULL))
        return -1;
    running = 1;
    return 0;
}

void guard_stop(void)
{
    if (!running)
        return;
    pthread_mutex_lock(&mu);
    stop = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(sweeper, NULL);
    running = 0;
}

uint64_t guard_deadline_closes(void)
{
    return atomic_load(&deadline_closes);
}

/* ---- the body budget --------------------------------------------------------------- */

#define USER_SLOTS 4096

static struct {
    int64_t user_id;     /* 0: free */
    size_t bytes;
} users[USER_SLOTS];
static size_t total;
static pthread_mutex_t budget_mu = PTHREAD_MUTEX_INITIALIZER;

/* The slot of user_id (made when make); -1 when none (or the table is
 * full: that user then has only the total budget). */
static int user_slot(int64_t user_id, int make)
{
    size_t h = (size_t)((uint64_t)user_id * 0x9e3779b97f4a7c15ull >> 52) % USER_SLOTS;
    int free_slot = -1;
    for (size_t i = 0; i < USER_SLOTS; i++) {
        size_t k = (h + i) % USER_SLOTS;
        if (users[k].user_id == user_id)
            return (int)k;
        if (!users[k].user_id) {
            free_slot = (int)k;
            break;
        }
    }
    if (make && free_slot >= 0) {
        users[free_slot].user_id = user_id;
        users[free_slot].bytes = 0;
        return free_slot;
    }
    return -1;
}

int guard_body_take(api_req *r, size_t n)
{
    const srv_config *cfg = &r->s->cfg;
    int64_t uid = r->authed ? r->user.id : 0;
    int st = 0;
    /* One request within its route's cap (an assignment upload may be
     * larger than --max-request) always fits budgets otherwise empty. */
    size_t cap_total = cfg->body_budget, cap_user = cfg->body_budget_user;
    if (r->body_max > cap_total)
        cap_total = r->body_max;
    if (r->body_max > cap_user)
        cap_user = r->body_max;
    pthread_mutex_lock(&budget_mu);
    if (total + n > cap_total) {
        st = 503;
    } else {
        int k = uid ? user_slot(uid, 1) : -1;
        if (k >= 0 && users[k].bytes + n > cap_user) {
            st = 429;
            if (!users[k].bytes)
                users[k].user_id = 0; /* made for nothing */
        } else {
            if (k >= 0)
                users[k].bytes += n;
            total += n;
            r->held += n;
        }
    }
    pthread_mutex_unlock(&budget_mu);
    return st;
}

void guard_body_release(api_req *r)
{
    if (!r->held)
        return;
    pthread_mutex_lock(&budget_mu);
    total -= r->held;
    int k = r->authed ? user_slot(r->user.id, 0) : -1;
    if (k >= 0) {
        users[k].bytes -= r->held <= users[k].bytes ? r->held : users[k].bytes;
        if (!users[k].bytes) {
            /* Free the slot; keep later members of its probe chain
             * reachable by moving them back (linear probing delete). */
            size_t i = (size_t)k;
            users[i].user_id = 0;
            for (size_t j = (i + 1) % USER_SLOTS; users[j].user_id; j = (j + 1) % USER_SLOTS) {
                size_t h = (size_t)((uint64_t)users[j].user_id * 0x9e3779b97f4a7c15ull >> 52) %
                           USER_SLOTS;
                /* move j to i when its home h is not cyclically in (i, j] */
                int in = i <= j ? (h > i && h <= j) : (h > i || h <= j);
                if (!in) {
                    users[i] = users[j];
                    users[j].user_id = 0;
                    users[j].bytes = 0;
                    i = j;
                }
            }
        }
    }
    pthread_mutex_unlock(&budget_mu);
    r->held = 0;
}

size_t guard_body_total(void)
{
    pthread_mutex_lock(&budget_mu);
    size_t t = total;
    pthread_mutex_unlock(&budget_mu);
    return t;
}
