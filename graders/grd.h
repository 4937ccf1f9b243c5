/* grd: grading a submission for one assignment, the way both the CLI
 * (`memgrade grade`) and the server's workers do it: compile with the
 * instrumented allocator inside the sandbox, run the assignment's tests in
 * the sandbox, decide every verdict outside it, and build the result
 * document of SPEC §4. */
#ifndef MEMGRADE_GRD_H
#define MEMGRADE_GRD_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* One submitted file: a bare name ("mystr.c") and its bytes. */
typedef struct {
    const char *name;
    const char *data;
    size_t len;
} grd_file;

/* The assignments found in one folder (one sub-folder each, with a
 * manifest). Immutable once loaded: safe to share between threads. */
typedef struct grd_catalog grd_catalog;
typedef struct grd_assignment grd_assignment;

/* Loads every assignment under dir. NULL with err filled when dir cannot be
 * read or a manifest is invalid (the message names the file). Caller owns
 * the catalog (grd_catalog_free). */
grd_catalog *grd_catalog_load(const char *dir, char *err, size_t errlen);
/* The same, but an assignment whose manifest is invalid is left out rather
 * than failing the whole catalog: one broken assignment never takes the
 * others down. skip (may be NULL) gets each left-out assignment's message.
 * NULL only when dir itself cannot be read. */
grd_catalog *grd_catalog_open(const char *dir, void (*skip)(void *ctx, const char *msg),
                              void *ctx, char *err, size_t errlen);
/* Strict check of the manifest of the assignment folder dir: unknown keys,
 * wrong types and bad values, each one call of fn (may be NULL) with a
 * line such as "manifest.json: tests[3].points: must be > 0". Returns the
 * number of problems (0: valid). */
int grd_manifest_check(const char *dir, void (*fn)(void *ctx, const char *msg), void *ctx);
void grd_catalog_free(grd_catalog *c);
size_t grd_catalog_count(const grd_catalog *c);
const grd_assignment *grd_catalog_at(const grd_catalog *c, size_t i);
/* NULL when no assignment has that name. */
const grd_assignment *grd_catalog_find(const grd_catalog *c, const char *name);
/* Whether s may name an assignment (its folder) or a file of one: letters,
 * digits, '.', '_' and '-', at most 64, not starting with '.'. */
bool grd_name_ok(const char *s);

const char *grd_assignment_name(const grd_assignment *a);
const char *grd_assignment_title(const grd_assignment *a);
double grd_assignment_max_score(const grd_assignment *a);
/* The file names a submission must consist of, exactly. */
size_t grd_assignment_file_count(const grd_assignment *a);
const char *grd_assignment_file(const grd_assignment *a, size_t i);
/* {"name", "title", "files": [...], "max_score"}; new reference. */
json_t *grd_assignment_json(const grd_assignment *a);

/* Grades files (exactly the assignment's expected names) and returns the
 * result document in *result (new reference; caller decrefs). Returns 0
 * whenever a document was produced, whatever the score: compile errors and
 * crashing submissions are results. Returns -1 with err filled only when our
 * own machinery failed (sandbox unavailable, out of memory); *result is then
 * NULL. Thread-safe: several workers may grade at once. */
int grd_grade(const grd_catalog *c, const grd_assignment *a,
              const grd_file *files, size_t nfiles, json_t **result,
              char *err, size_t errlen);
/* grd_grade in a thread of its own whose nice is `nice` (0 to 19) above the
 * process's: the sandbox starts the job's boxes that much lower (see
 * sbx.h), so that a student with other work waiting gives way first.
 * nice 0, or no thread to be had, grades in the calling thread. */
int grd_grade_niced(int nice, const grd_catalog *c, const grd_assignment *a,
                    const grd_file *files, size_t nfiles, json_t **result,
                    char *err, size_t errlen);

/* The readable report of a result document (what `memgrade grade` prints
 * without --json), with the offending source lines quoted from files.
 * New malloc'd string; NULL on out of memory. */
char *grd_report_text(const json_t *result, const grd_file *files, size_t nfiles);

/* memgrade's installed data folder (PREFIX/share/memgrade next to
 * PREFIX/bin/memgrade), or NULL for a binary in a build tree; and the
 * runtime's sources (there, or in the source tree). */
const char *grd_share_dir(void);
const char *grd_rt_dir(void);

#endif
