/* tsb: helpers shared by the sandbox tests: failure reporting, compiling a
 * fixture with the real gcc inside a box, and the "nothing escaped" checks
 * (leftover processes, files that must not appear on the host). */
#ifndef MEMGRADE_TSB_H
#define MEMGRADE_TSB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "sbx.h"

/* Records a failed expectation (file:line and message on stderr) and counts
 * it; the test's exit status is the count. */
#define TSB_CHECK(cond, ...) \
    tsb_check_((cond), #cond, __FILE__, __LINE__, __VA_ARGS__)
bool tsb_check_(bool ok, const char *expr, const char *file, int line,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int tsb_failures(void);

/* Milliseconds on the monotonic clock. */
long tsb_now_ms(void);

/* Reads a whole file into a new NUL-terminated buffer (caller frees). NULL
 * on error. */
char *tsb_slurp(const char *path, size_t *len);

/* Path of a file in the source tree: MEMGRADE_SOURCE_DIR "/" rel. Static
 * buffer, valid until the next call. */
const char *tsb_src(const char *rel);

/* Limits of a compile; 0 keeps the tests' generous default. */
typedef struct {
    unsigned long cpu_ms, wall_ms, memory;
} tsb_limits;

/* Compiles src (the text of a C file) inside box b as /box/x.c with
 *   /usr/bin/gcc -O0 -o /box/prog /box/x.c
 * under the "compile" profile with limits lim (NULL: defaults). Fills res
 * (caller frees with sbx_result_free). Returns sbx_run's status;
 * *elapsed_ms (may be NULL) gets the wall time measured by our own clock. */
int tsb_compile(sbx_box *b, const char *src, size_t len, const tsb_limits *lim,
                sbx_result *res, long *elapsed_ms);

/* The default wall limit of tsb_compile. */
#define TSB_COMPILE_WALL_MS 30000

/* Prints a result on stderr, for diagnosing a failure. */
void tsb_dump(const char *what, const sbx_result *r);

/* Lists processes visible in /proc other than this one and the pids in
 * keep[0..nkeep). Writes "pid(comm) state" items into buf; returns how many
 * were found. The tests run as pid 1 of a fresh PID namespace, so anything
 * found is a process the sandbox left behind. */
int tsb_stray_processes(const pid_t *keep, size_t nkeep, char *buf, size_t buflen);

/* True when the tests run as pid 1 of their own PID namespace with their own
 * /proc (the ctest wrapper's unshare), which the process checks rely on. */
bool tsb_in_private_pidns(void);

/* Starts a process outside any box that must survive hostile runs. */
pid_t tsb_spawn_victim(void);
/* True when victim is still alive (not exited, not a zombie). */
bool tsb_alive(pid_t victim);
void tsb_reap(pid_t victim);

/* A TCP listener on 127.0.0.1 (ephemeral port). Returns the fd or -1 and
 * puts the port in *port. */
int tsb_listen_loopback(int *port);
/* True when a connection is waiting on (or was made to) the listener. */
bool tsb_listener_saw_connection(int fd);

/* True when path exists (lstat). */
bool tsb_exists(const char *path);

/* True when text contains any line of the file at path that is at least
 * minlen bytes long; the first such line goes to hit. */
bool tsb_contains_line_of(const char *text, const char *path, size_t minlen,
                          char *hit, size_t hitlen);

/* The ctest registration and a test's case table must agree: every name of
 * names[0..n) is in listed[0..nlisted) and vice versa. 0, or 1 after
 * reporting each mismatch. */
int tsb_check_list(const char *const *names, size_t n, int nlisted,
                   char *const *listed);

#endif
