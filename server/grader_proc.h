/* grader_proc: the privileged grader as a process of its own (SPEC §9).
 *
 * `memgrade serve` starts as root, forks the grader, and the process that
 * goes on to parse HTTP drops to an unprivileged user with no capabilities
 * (privsep_drop). The grader keeps root with only the capabilities the
 * sandbox needs and does exactly two things on request, over socketpairs
 * made before the fork (one per grading worker, one for uploads): grade a
 * submission's files against an assignment, and unpack, check and install
 * an uploaded assignment folder. It reads no network and no database; it
 * trusts nothing it is sent (the HTTP side may be compromised): every
 * length is bounded, names are checked as the catalog and the upload
 * checker check them, and student code still runs only in the sandbox.
 *
 * The grader dies with the HTTP process (PR_SET_PDEATHSIG) and exits when
 * its sockets close; it also reopens the access log, at the path fixed at
 * start, for the HTTP side, which may no longer create files there; if it dies, the HTTP process stops (fail-stop: an
 * unprivileged process cannot start a new privileged one) and the service
 * manager restarts both; running jobs are requeued at the next start. */
#ifndef MEMGRADE_GRADER_PROC_H
#define MEMGRADE_GRADER_PROC_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "grd.h"

/* Forks the grader with nchan grading channels (and one for uploads and
 * the log); the grader serves assignments from dir and reopens the access
 * log at log_path (NULL: none) on request. Then empties the caller's
 * capability bounding set (privsep_bound) and starts a thread that notices
 * the grader's death (gp_on_death). 0, or -1 with err. Call before any
 * thread starts. */
int gp_start(const char *dir, const char *log_path, int nchan, char *err, size_t errlen);
/* Whether the grader runs (gp_start succeeded and it has not stopped). */
int gp_active(void);
/* The grader's pid (for tests and the log), or -1. */
pid_t gp_pid(void);
/* Our end of channel chan (0 .. nchan, the last one for uploads), or -1:
 * for tests that speak to the grader as a compromised HTTP side would. */
int gp_channel_fd(int chan);

/* Grades files against assignment on channel chan (one per worker, so
 * workers never share a socket), niced by `nice` (grd_grade_niced). Same
 * contract as grd_grade; version gets the assignment's content hash the
 * grader graded against ("" unknown). -1 with err also when the grader is
 * gone. */
int gp_grade(int chan, const char *assignment, const grd_file *files, size_t nfiles, int nice,
             json_t **result, char version[65], char *err, size_t errlen);

/* Unpacks (gzip'd tar), checks and installs an assignment folder into the
 * grader's assignments folder (asg_install's contract). */
int gp_install(const char *gz, size_t len, char name[64], int *replaced, json_t **problems,
               char *why, size_t whylen);

/* The access log opened anew by the grader (after logrotate moved it) as a
 * descriptor of ours; -1 with err. */
int gp_open_log(char *err, size_t errlen);

/* Closes the channels and waits for the grader to exit. */
void gp_stop(void);

/* Called (once) from a thread that found the grader gone while the service
 * was not stopping; set by the service to begin a stop. */
extern void (*gp_on_death)(void);

/* Empties the calling thread's capability bounding set (inherited by the
 * threads it starts), keeping its effective capabilities for now. Call
 * right after gp_start, before any thread starts. No-op when not root. */
int privsep_bound(void);

/* Drops the calling process to user (real, effective and saved uid and
 * gid, supplementary groups only the user's primary one), empties every
 * capability set including the bounding set, sets no_new_privs and makes
 * the process non-dumpable. No-op (0) when not running as root. 0, or -1
 * with err. */
int privsep_drop(const char *user, char *err, size_t errlen);

#endif
