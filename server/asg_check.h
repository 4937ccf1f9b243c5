/* asg_check: checks an assignment folder as `memgrade assignment check`
 * and an upload through the API do (SPEC §6): the manifest strictly valid
 * (graders' grd_manifest_check), its driver and headers present, the driver
 * compiling, the reference at full marks with no memory error, and every
 * variant grading as variants/expected.json says. Grading goes through
 * grd_grade: the instructor's driver runs in the sandbox. */
#ifndef MEMGRADE_ASG_CHECK_H
#define MEMGRADE_ASG_CHECK_H

typedef void (*asg_problem_fn)(void *ctx, const char *msg);

/* Checks the folder dir (an absolute path ending in /name); fn (may be
 * NULL) gets one line per problem, "manifest.json: tests[3].points: must be
 * > 0" style. Returns the number of problems: 0 when the assignment is
 * good. */
int asg_check(const char *dir, const char *name, asg_problem_fn fn, void *ctx);

#endif
