/* mgrt_int: what the runtime's own files share (the allocator in mgrt.c,
 * the fork server and driver API in mgrt_srv.c). Never seen by students or
 * drivers. Report records are one line each, prefixed with the run's token;
 * graders/grd_run.c parses them. */
#ifndef MEMGRADE_MGRT_INT_H
#define MEMGRADE_MGRT_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Built as one translation unit (mgrt_all.c, MGRT_UNITY) these are static:
 * a submission cannot link against the runtime's internals to forge a
 * report. Separately compiled (our own warning checks) they are hidden. */
#ifdef MGRT_UNITY
#define MGRT_HIDDEN static
#else
#define MGRT_HIDDEN __attribute__((visibility("hidden")))
#endif

/* Writes one report record ("<token> " fmt "\n") to the report channel. */
MGRT_HIDDEN void mgrt_rep(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
MGRT_HIDDEN void mgrt_vrep(const char *fmt, va_list ap);
/* Initialises the runtime once (idempotent). */
MGRT_HIDDEN void mgrt_init(void);
/* Installs the runtime's own seccomp filter (mgrt.c, "the filter"); 0 or -1. */
MGRT_HIDDEN int mgrt_lockdown(void);
#ifndef MGRT_SERVER
/* A whole program's run settings become read-only, at start. */
MGRT_HIDDEN void mgrt_arm(void);
#endif

/* The monitor (mgrt_led.c): keeps the ledger of a monitored process from
 * what it writes on its channel, relays the rest (at most keep bytes,
 * as "c ..." records when prefix). finish: its leak check, if it exited
 * without one. attempts: the student allocations it tried, by the books. */
MGRT_HIDDEN void mgrt_mon_start(int pattern, unsigned long fail_at, size_t keep, int prefix);
MGRT_HIDDEN void mgrt_mon_bytes(const char *p, size_t n);
MGRT_HIDDEN int mgrt_mon_drain(int fd);
MGRT_HIDDEN void mgrt_mon_finish(int exited);

#if defined MGRT_SERVER || !defined MGRT_UNITY
/* The fork server's (mgrt_srv.c). */
MGRT_HIDDEN unsigned long mgrt_mon_attempts(void);
MGRT_HIDDEN int mgrt_mon_flood(void);
/* In a test child: placement/fill pattern (0 or 1) and the student
 * allocation to fail (0: none). Starts counting for the test. */
MGRT_HIDDEN void mgrt_test_begin(int pattern, unsigned long fail_at);
/* Reports the test's leaks; returns the student allocations it counted. */
MGRT_HIDDEN unsigned long mgrt_test_end(void);
MGRT_HIDDEN unsigned long mgrt_calls(void);
/* In a test's child, before the lockdown: its records go to the server. */
MGRT_HIDDEN void mgrt_child(void);
/* In a test's child: SIGPROF makes it say where it is ("spin") and end. */
MGRT_HIDDEN void mgrt_spin_handler(void);
/* Frees p, a result of the student's function fn (an address), for the
 * driver: anything but a live block of the student's is fn's error. */
MGRT_HIDDEN void mgrt_free_result(void *p, uintptr_t fn, const uintptr_t *st);
MGRT_HIDDEN int mgrt_injected(void);
MGRT_HIDDEN unsigned long mgrt_live_student(void);
#endif

#endif
