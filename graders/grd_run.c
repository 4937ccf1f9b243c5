/* grd_run: runs a built program's tests in the box, parses the runtime's
 * report records (graders/rt/mgrt_int.h), symbolizes their stacks and turns
 * everything into the tests[] and memory_errors[] of the result document.
 * The report comes from a process running student code, so it is treated
 * as evidence, never as a verdict: a missing or inconsistent report fails
 * the test it concerns. */
#include <ctype.h>
#include <pthread.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "grd_int.h"

#define NFR 8
#define MAX_EVS 128         /* per run: beyond that, more of the same (a run that goes
                             * on after faults reports up to 64 of them) */
#define MAX_OBS 64          /* observed keys per run */
#define MAX_SYMS 400
#define MAX_INJ 64          /* injected failures per test (mgrt_srv.c) */
#define MAX_INJ_ERRORS 3
#define GRD_REPORT_KEEP_BYTES (2ul << 20)
#define PROG_SITES 16       /* a whole program's allocation sites named by its monitor */
#define PROG_INJ_RUNS 16    /* a whole program's runs with an injected failure, at most */

/* EV_CAND: a comparison on a value that may be a pattern (mgrt.c's cmp_hit),
 * for the run with the other pattern to confirm. */
enum ev_type { EV_ERR, EV_LEAK, EV_UNW, EV_INJ, EV_NOMEM, EV_SPIN, EV_CAND };

typedef struct {
    enum ev_type type;
    char kind[24], what[24];
    int sig, nr, width;      /* width: bytes the faulting access moved, 0 unknown */
    bool write;
    long off;
    size_t size, bytes;
    unsigned long count, fn;
    unsigned long pcs[NFR], apcs[NFR], fpcs[NFR];
} ev;

/* One run of a test (or the one run of a program). Its facts (status, exit,
 * signal, time-out) come from the fork server or the sandbox; the rest is
 * the evidence the child reported, bounded. */
typedef struct {
    char test[64];
    int pat;
    unsigned long k;
    bool ended, status, timeout, tampered, flood;
    int exit, sig, pid;
    unsigned long allocs, cpu_ms;
    char *out;               /* what the code printed (visible tests only), escaped */
    json_t *obs;
    char *fail;
    ev *evs;                 /* up to MAX_EVS, allocated as they come */
    size_t nev;
} run;

typedef struct {
    run *r;
    size_t n, cap;           /* cap: every run the engine asked for, and no more */
    char names[256][64];     /* driver index -> test name */
    size_t nnames;
    /* whole programs */
    unsigned long main_off, stack_top, stack_lim, base;
    bool hello, exited;
    unsigned long blk_user[64], blk_size[64];
    size_t nblk;
    /* where the program first tried each of its allocation sites */
    unsigned long as_k[PROG_SITES], as_pcs[PROG_SITES][NFR];
    size_t nas;
} report;

typedef struct {
    unsigned long addr;
    char file[64], func[64];
    int line;
} sym;

typedef struct {
    const grd_assignment *a;
    sbx_box *box;
    const grd_file *files;
    size_t nfiles;
    sym syms[MAX_SYMS];
    size_t nsyms;
    const char *dbg;         /* the program, for addr2line: "prog" or "prog_vis" */
    const grd_timing *tm;    /* per-test limits and CPU times, or NULL */
} ctx;

/* ---- parsing the report -------------------------------------------------- */

static void parse_pcs(const char *s, unsigned long *out)
{
    memset(out, 0, NFR * sizeof *out);
    if (!s)
        return;
    for (int i = 0; i < NFR && *s && *s != ' ' && *s != '-'; i++) {
        char *end;
        out[i] = strtoul(s, &end, 16);
        if (end == s)
            break;
        s = *end == ',' ? end + 1 : end;
    }
}

static const char *field(const char *line, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = line; (p = strstr(p, name)); p++)
        if ((p == line || p[-1] == ' ') && p[nl] == '=')
            return p + nl + 1;
    return NULL;
}

static unsigned long ufield(const char *line, const char *name, int base)
{
    const char *v = field(line, name);
    return v ? strtoul(v, NULL, base) : 0;
}

static run *find_run(report *rp, const char *test, int pat, unsigned long k)
{
    for (size_t i = 0; i < rp->n; i++)
        if (!strcmp(rp->r[i].test, test) && rp->r[i].pat == pat && rp->r[i].k == k)
            return &rp->r[i];
    return NULL;
}

/* A run the engine asked for, once: anything else in the report is not a
 * run (whoever wrote it). */
static run *new_run(report *rp, const char *test, int pat, unsigned long k)
{
    if (rp->n == rp->cap || find_run(rp, test, pat, k))
        return NULL;
    if (!rp->r && !(rp->r = calloc(rp->cap, sizeof *rp->r)))
        return NULL;
    run *r = &rp->r[rp->n];
    memset(r, 0, sizeof *r);
    snprintf(r->test, sizeof r->test, "%s", test);
    r->pat = pat;
    r->k = k;
    r->exit = -1;
    if (!(r->obs = json_object()))
        return NULL;
    rp->n++;
    return r;
}

static void add_ev(run *r, const char *rest, enum ev_type type)
{
    if (!r || r->nev >= MAX_EVS)
        return;
    if (!r->evs && !(r->evs = calloc(MAX_EVS, sizeof *r->evs)))
        return;
    ev *e = &r->evs[r->nev++];
    memset(e, 0, sizeof *e);
    e->type = type;
    if (type == EV_INJ) {
        const char *f = field(rest, "fn");
        if (f)
            sscanf(f, "%23s", e->what);
    }
    if (type == EV_CAND) {
        const char *w = field(rest, "what");
        if (w)
            sscanf(w, "%23s", e->what);
    }
    if (type == EV_ERR) {
        sscanf(rest, "%23s", e->kind);
        const char *w = field(rest, "what");
        if (w)
            sscanf(w, "%23s", e->what);
        e->fn = ufield(rest, "fn", 16);
        const char *nr = field(rest, "nr");
        e->nr = nr ? (int)strtol(nr, NULL, 10) : -1;
    }
    e->sig = (int)ufield(rest, "sig", 10);
    const char *rw = field(rest, "rw");
    e->write = rw && *rw == 'w';
    const char *o = field(rest, "off");
    e->off = o ? strtol(o, NULL, 10) : 0;
    e->size = ufield(rest, "size", 10);
    e->width = (int)ufield(rest, "w", 10);
    e->bytes = ufield(rest, "bytes", 10);
    e->count = ufield(rest, "count", 10);
    parse_pcs(field(rest, "pcs"), e->pcs);
    parse_pcs(field(rest, "apcs"), e->apcs);
    parse_pcs(field(rest, "fpcs"), e->fpcs);
}

/* What a test's child reported (function-level: relayed by the server as
 * "c ..."), or a whole program's runtime: evidence about run r. */
static void child_record(report *rp, run *r, const char *word, const char *rest, bool program)
{
    if (!strcmp(word, "obs")) {
        char key[64];
        int kl = 0;
        if (r->ended || json_object_size(r->obs) >= MAX_OBS ||
            sscanf(rest, "%63s%n", key, &kl) != 1)
            return;
        const char *v = rest + kl + (rest[kl] == ' ');
        json_t *js = json_string(v); /* NULL when not UTF-8 */
        json_object_set_new(r->obs, key, js ? js : json_string("(not UTF-8)"));
    } else if (!strcmp(word, "fail")) {
        if (!r->fail)
            r->fail = strndup(rest, 1024);
    } else if (!strcmp(word, "tamper")) {
        /* The submission called the driver's API itself: whatever it
         * claimed, the test fails. */
        free(r->fail);
        r->fail = strdup("the submission called the grader's own functions: the test fails");
        r->tampered = true;
    } else if (!strcmp(word, "err")) {
        add_ev(r, rest, EV_ERR);
    } else if (!strcmp(word, "leak")) {
        add_ev(r, rest, EV_LEAK);
    } else if (!strcmp(word, "unw")) {
        add_ev(r, rest, EV_UNW);
    } else if (!strcmp(word, "ucand") && program) {
        add_ev(r, rest, EV_CAND);
    } else if (!strcmp(word, "inj")) {
        add_ev(r, rest, EV_INJ);
    } else if (!strcmp(word, "nomem")) {
        add_ev(r, rest, EV_NOMEM);
    } else if (!strcmp(word, "spin") && !program) {
        add_ev(r, rest, EV_SPIN);
    } else if (!strcmp(word, "out") && !program) {
        if (!r->out)
            r->out = strndup(rest, 4096);
    } else if (!strcmp(word, "end") && !program) {
        r->ended = true;
        r->allocs = ufield(rest, "allocs", 10);
    } else if (program && !strcmp(word, "hello") && !rp->hello) {
        rp->hello = true;
        rp->base = ufield(rest, "base", 16);
        rp->main_off = ufield(rest, "main", 16);
        rp->stack_top = ufield(rest, "stack_top", 16);
        rp->stack_lim = ufield(rest, "stack_lim", 10);
    } else if (program && !strcmp(word, "block") && rp->nblk < 64 && !rp->exited) {
        rp->blk_user[rp->nblk] = ufield(rest, "user", 16);
        rp->blk_size[rp->nblk++] = ufield(rest, "size", 10);
    } else if (program && !strcmp(word, "exit")) {
        rp->exited = r->ended = true;
    } else if (program && !strcmp(word, "asite") && rp->nas < PROG_SITES) {
        rp->as_k[rp->nas] = ufield(rest, "k", 10);
        parse_pcs(field(rest, "apcs"), rp->as_pcs[rp->nas]);
        if (rp->as_k[rp->nas] > 0 && rp->as_k[rp->nas] <= MAX_INJ)
            rp->nas++;
    }
    /* anything else: not a record of ours, ignored */
}

/* Splits the report into records of this run's token. Function-level: the
 * fork server's own records are facts (which test ran, how its child
 * ended); "c" records in between are its child's evidence. cap: how many
 * runs the engine asked for. */
static void parse_report(const char *data, size_t len, const char *token, report *rp,
                         bool program, size_t cap)
{
    size_t tl = strlen(token);
    rp->cap = cap ? cap : 1;
    run *cur = program ? new_run(rp, "", 0, 0) : NULL;
    const char *end = data ? data + len : NULL;
    for (const char *p = data; p && p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char line[4300];
        if (ll >= sizeof line || ll <= tl || memcmp(p, token, tl) || p[tl] != ' ')
            goto next;
        memcpy(line, p + tl + 1, ll - tl - 1);
        line[ll - tl - 1] = 0;
        char word[16] = "";
        sscanf(line, "%15s", word);
        const char *rest = line + strlen(word) + (line[strlen(word)] ? 1 : 0);
        if (program) {
            if (cur)
                child_record(rp, cur, word, rest, true);
            goto next;
        }
        size_t i;
        int pat;
        unsigned long k;
        char name[64];
        if (!strcmp(word, "c")) {
            if (cur && !cur->status) {
                char w2[16] = "";
                sscanf(rest, "%15s", w2);
                const char *r2 = rest + strlen(w2) + (rest[strlen(w2)] ? 1 : 0);
                child_record(rp, cur, w2, r2, false);
            }
        } else if (!strcmp(word, "test") && sscanf(rest, "%zu %63s", &i, name) == 2 && i < 256) {
            snprintf(rp->names[i], sizeof rp->names[i], "%s", name);
            if (i >= rp->nnames)
                rp->nnames = i + 1;
        } else if (!strcmp(word, "begin") && sscanf(rest, "%zu %d %lu", &i, &pat, &k) == 3 &&
                   i < rp->nnames && (pat == 0 || pat == 1) && k <= MAX_INJ) {
            cur = new_run(rp, rp->names[i], pat, k);
        } else if (!strcmp(word, "status") && cur &&
                   sscanf(rest, "%zu %d %lu", &i, &pat, &k) == 3 && i < rp->nnames &&
                   !strcmp(cur->test, rp->names[i]) && cur->pat == pat && cur->k == k) {
            cur->status = true;
            const char *x = field(rest, "exit");
            cur->exit = x ? (int)strtol(x, NULL, 10) : -1;
            cur->sig = (int)ufield(rest, "sig", 10);
            cur->pid = (int)ufield(rest, "pid", 10);
            cur->timeout = ufield(rest, "timeout", 10) != 0;
            cur->cpu_ms = ufield(rest, "cpu", 10);
            cur->flood = ufield(rest, "flood", 10) != 0;
            /* The child's word that it ended counts only if it also
             * exited normally, as the server saw. */
            if (cur->exit != 0 || cur->sig || cur->timeout)
                cur->ended = false;
            cur = NULL;
        }
    next:
        p = nl ? nl + 1 : end;
    }
}

static void report_free(report *rp)
{
    for (size_t i = 0; i < rp->n; i++) {
        json_decref(rp->r[i].obs);
        free(rp->r[i].fail);
        free(rp->r[i].out);
        free(rp->r[i].evs);
    }
    free(rp->r);
}

/* ---- symbols ------------------------------------------------------------- */

/* Return addresses point after the call: look one byte back, except for
 * the faulting instruction itself. */
static unsigned long adj(const ev *e, const unsigned long *pcs, int i)
{
    return pcs[i] - (pcs == e->pcs && i == 0 && !strcmp(e->what, "fault") ? 0 : 1);
}

static void want_sym(ctx *c, unsigned long a)
{
    if (!a || a > (1ul << 32))
        return; /* outside the executable (libc): nothing to say */
    for (size_t i = 0; i < c->nsyms; i++)
        if (c->syms[i].addr == a)
            return;
    if (c->nsyms < MAX_SYMS) {
        memset(&c->syms[c->nsyms], 0, sizeof c->syms[0]);
        c->syms[c->nsyms++].addr = a;
    }
}

static const sym *find_sym(const ctx *c, unsigned long a)
{
    for (size_t i = 0; i < c->nsyms; i++)
        if (c->syms[i].addr == a)
            return c->syms[i].line > 0 ? &c->syms[i] : NULL;
    return NULL;
}

/* addr2line reads the untrusted binary's DWARF, so it runs in the box. */
static int symbolize(ctx *c, char *err, size_t errlen)
{
    if (!c->nsyms)
        return 0;
    int rc = -1;
    char **argv = calloc(c->nsyms + 8, sizeof *argv);
    char *abuf = calloc(c->nsyms, 24);
    sbx_policy *p = sbx_policy_new("compile");
    sbx_result res;
    memset(&res, 0, sizeof res);
    if (!argv || !abuf || !p) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    size_t n = 0;
    char dbg[64];
    snprintf(dbg, sizeof dbg, "/box/%s", c->dbg ? c->dbg : "prog");
    argv[n++] = "/usr/bin/addr2line";
    argv[n++] = "-a";
    argv[n++] = "-f";
    argv[n++] = "-e";
    argv[n++] = dbg;
    for (size_t i = 0; i < c->nsyms; i++) {
        snprintf(abuf + i * 24, 24, "0x%lx", c->syms[i].addr);
        argv[n++] = abuf + i * 24;
    }
    sbx_policy_set_output_keep(p, 1u << 20);
    sbx_cmd cmd = {.argv = (const char *const *)argv};
    /* Readable by the box's uid only while addr2line runs, after the
     * program has. */
    int sr = grd_seal(c->box, dbg + 5, 0644);
    if (sr) {
        snprintf(err, errlen, "cannot open the program's debug copy: %s", strerror(-sr));
        goto out;
    }
    int rr = sbx_run(p, c->box, &cmd, &res, err, errlen);
    grd_seal(c->box, dbg + 5, 0111);
    if (rr)
        goto out;
    /* Triples: address, function, file:line. */
    char *save = NULL, *line = res.out.data ? strtok_r(res.out.data, "\n", &save) : NULL;
    sym *cur = NULL;
    int state = 0;
    for (; line; line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "0x", 2)) {
            unsigned long a = strtoul(line, NULL, 16);
            cur = NULL;
            for (size_t i = 0; i < c->nsyms; i++)
                if (c->syms[i].addr == a)
                    cur = &c->syms[i];
            state = 1;
        } else if (cur && state == 1) {
            snprintf(cur->func, sizeof cur->func, "%s", line);
            state = 2;
        } else if (cur && state == 2) {
            char *colon = strrchr(line, ':');
            if (colon) {
                *colon = 0;
                const char *base = strrchr(line, '/');
                snprintf(cur->file, sizeof cur->file, "%s", base ? base + 1 : line);
                cur->line = atoi(colon + 1);
            }
            state = 0;
        }
    }
    rc = 0;
out:
    sbx_result_free(&res);
    sbx_policy_free(p);
    free(argv);
    free(abuf);
    return rc;
}

static bool is_student_file(const ctx *c, const char *f)
{
    for (size_t i = 0; i < c->nfiles; i++)
        if (!strcmp(c->files[i].name, f))
            return true;
    return false;
}

/* The student's own frame: the first frame in one of their files. */
static bool student_loc(const ctx *c, const ev *e, const unsigned long *pcs, char *out, size_t cap)
{
    for (int i = 0; i < NFR && pcs[i]; i++) {
        const sym *s = find_sym(c, adj(e, pcs, i));
        if (s && is_student_file(c, s->file)) {
            snprintf(out, cap, "%s:%d", s->file, s->line);
            return true;
        }
    }
    return false;
}

static json_t *stack_json(const ctx *c, const ev *e, const unsigned long *pcs)
{
    json_t *a = json_array();
    for (int i = 0; a && i < NFR && pcs[i]; i++) {
        const sym *s = find_sym(c, adj(e, pcs, i));
        if (!s || !strncmp(s->file, "mgrt", 4))
            continue;
        char b[160];
        snprintf(b, sizeof b, "%s:%d %s", s->file, s->line, s->func);
        json_array_append_new(a, json_string(b));
    }
    return a;
}

/* ---- memory errors -------------------------------------------------------- */

/* Each message in the lecture's words; {placeholders} filled from the
 * event. The first row matching kind and what (NULL: any) wins. */
static const struct {
    const char *kind, *what, *text;
} messages[] = {
    {"heap_overflow", "found_at_free", "wrote past the end of a {size}-byte heap block (allocated at {alloc}); noticed when it was freed: not allocating enough memory?"},
    {"heap_overflow", "found_before", "wrote before the start of a {size}-byte heap block (allocated at {alloc}); noticed when it was freed: an index that went below 0?"},
    {"heap_overflow", "before", "{rw} memory {before} byte(s) before the start of a {size}-byte heap block (allocated at {alloc})"},
    {"heap_overflow", "at_end_byte", "{rw} the byte right after the end of a {size}-byte heap block (allocated at {alloc}): one byte too few was allocated, or the index went one too far (a string needs strlen(s) + 1 bytes, for its '\\0')"},
    {"heap_overflow", "at_end_wide", "{rw} memory right after the end of a {size}-byte heap block (allocated at {alloc}): the block is smaller than what the code stores in it (an array of n elements needs n * sizeof *p bytes: the size of an element, not of a pointer)"},
    {"heap_overflow", "at_end", "{rw} memory right after the end of a {size}-byte heap block (allocated at {alloc}): the block is smaller than what the code stores in it (a string needs strlen(s) + 1 bytes, for its '\\0'; an array of n elements n * sizeof *p)"},
    {"heap_overflow", NULL, "{rw} memory {past} byte(s) past the end of a {size}-byte heap block (allocated at {alloc}): an index or a length that runs past the block (the last of n elements is [n - 1])"},
    {"use_after_free", NULL, "{rw} memory after freeing it (a dangling pointer): the {size}-byte block allocated at {alloc} was freed at {free}"},
    {"double_free", "realloc", "realloc was given a block that was already freed at {free}"},
    {"double_free", NULL, "freed memory twice: the block allocated at {alloc} was already freed at {free}"},
    {"invalid_free", "interior", "freed a pointer into the middle of a heap block (allocated at {alloc}): free() needs exactly the pointer malloc returned"},
    {"invalid_free", "freed_interior", "freed a pointer into the middle of a block (allocated at {alloc}) that was already freed at {free}"},
    {"invalid_free", "stack", "freed an address on the stack (a local variable or array): only memory from malloc/calloc/realloc may be freed"},
    {"invalid_free", "data", "freed the address of a global or static variable: only memory from malloc/calloc/realloc may be freed"},
    {"invalid_free", "rodata", "freed read-only data (a string literal?): only memory from malloc/calloc/realloc may be freed"},
    {"invalid_free", "code", "freed the address of a function: only memory from malloc/calloc/realloc may be freed"},
    {"invalid_free", "foreign_block", "freed a block the caller allocated and still owns (allocated by the test): free only what your code allocated"},
    {"invalid_free", "realloc", "realloc was given a pointer malloc never returned"},
    {"invalid_free", NULL, "freed a pointer malloc never returned"},
    {"leak", NULL, "memory leak: {bytes} byte(s) in {count} block(s) allocated at {alloc} were never freed"},
    {"uninitialized_read", "compare_heap", "a comparison (an if, a loop's condition) tests heap memory that was never initialized: malloc, and realloc for the bytes it adds, do not zero memory; set it first (or use calloc)"},
    {"uninitialized_read", "compare_local", "a comparison (an if, a loop's condition) tests a local variable that was never given a value: it holds whatever the stack held; set it before its first use"},
    {"uninitialized_read", "written_heap", "bytes written to a file were heap memory that was never initialized: malloc does not zero memory; set every byte you write (or use calloc)"},
    {"uninitialized_read", "written_local", "bytes written to a file were a local variable that was never given a value: set it before writing it out"},
    {"uninitialized_read", "known", "the result depends on memory that was never initialized (malloc does not zero memory; block allocated at {alloc})"},
    {"uninitialized_read", NULL, "the result depends on memory that was never initialized (malloc does not zero memory)"},
    {"null_dereference", NULL, "dereferenced a NULL pointer (or an offset from NULL): a missing check for NULL?"},
    {"wild_access", NULL, "accessed an invalid address: an uninitialized pointer, or forgetting to allocate memory?"},
    {"stack_overflow", NULL, "the stack overflowed: runaway recursion, or a local variable too large for the stack?"},
    {"unchecked_alloc_failure", "crash", "when an allocation failed on purpose (at {inj}), the code crashed ({crash}): check every malloc/realloc result for NULL"},
    {"unchecked_alloc_failure", "realloc_leak", "when realloc failed on purpose (at {inj}), the block allocated at {alloc} was lost: x = realloc(x, n) overwrites x with NULL on failure; keep the result in a temporary and keep (or free) the old block"},
    {"unchecked_alloc_failure", "leak", "when an allocation failed on purpose (at {inj}), the block allocated at {alloc} was never freed: on failure, release what was already allocated"},
    {"unchecked_alloc_failure", "wrong", "when an allocation failed on purpose (at {inj}), the result broke the promise of the assignment: {detail}"},
    {"unchecked_alloc_failure", "retry", "when an allocation failed on purpose (at {inj}), the code retried it forever: asking again does not make memory appear; report the failure (return NULL or -1) instead"},
    {"unchecked_alloc_failure", "exit", "when an allocation failed on purpose (at {inj}), the program exited or hung instead of reporting the failure"},
    {"unchecked_alloc_failure", "hang", "when an allocation failed on purpose (at {inj}), the program never finished: check every malloc/realloc result for NULL, report the failure and exit"},
    {"unchecked_alloc_failure", NULL, "when an allocation failed on purpose (at {inj}), the code misbehaved"},
};

/* What a pointer the student's function returned was, when the driver
 * could not free it (mgt_free_result); the runtime names the class. */
static const struct {
    const char *what, *words;
} result_words[] = {
    {"data", "a global or static variable; the caller frees the result, so it must come from malloc"},
    {"rodata", "read-only data such as a string literal; return a new copy from malloc"},
    {"stack", "an address on the stack (a local variable or array); return a new block from malloc"},
    {"code", "the address of a function"},
    {"foreign_block", "memory the caller passed in (the test's own block), not a new block from malloc"},
    {"interior", "a pointer into the middle of a heap block, not the pointer malloc returned"},
    {"freed_interior", "a pointer into a block that was already freed"},
};

typedef struct {
    const char *kind, *what;
    bool write;
    size_t size, bytes;
    unsigned long count;
    long off;
    const char *alloc, *free, *inj, *crash, *detail;
} msg_args;

static void render(const msg_args *m, char *out, size_t cap)
{
    const char *t = "memory error";
    for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++)
        if (!strcmp(messages[i].kind, m->kind) &&
            (!messages[i].what || (m->what && !strcmp(messages[i].what, m->what)))) {
            t = messages[i].text;
            break;
        }
    size_t n = 0;
    for (; *t && n + 1 < cap; t++) {
        if (*t != '{') {
            out[n++] = *t;
            continue;
        }
        const char *close = strchr(t, '}');
        if (!close)
            break;
        char key[16], val[200];
        snprintf(key, sizeof key, "%.*s", (int)(close - t - 1), t + 1);
        val[0] = 0;
        if (!strcmp(key, "size")) snprintf(val, sizeof val, "%zu", m->size);
        else if (!strcmp(key, "bytes")) snprintf(val, sizeof val, "%zu", m->bytes);
        else if (!strcmp(key, "count")) snprintf(val, sizeof val, "%lu", m->count);
        else if (!strcmp(key, "past")) snprintf(val, sizeof val, "%ld", m->off - (long)m->size + 1);
        else if (!strcmp(key, "before")) snprintf(val, sizeof val, "%ld", -m->off);
        else if (!strcmp(key, "rw")) snprintf(val, sizeof val, "%s", m->write ? "wrote" : "read");
        else if (!strcmp(key, "alloc")) snprintf(val, sizeof val, "%s", m->alloc ? m->alloc : "an unknown place");
        else if (!strcmp(key, "free")) snprintf(val, sizeof val, "%s", m->free ? m->free : "an unknown place");
        else if (!strcmp(key, "inj")) snprintf(val, sizeof val, "%s", m->inj ? m->inj : "an unknown place");
        else if (!strcmp(key, "crash")) snprintf(val, sizeof val, "%s", m->crash ? m->crash : "crash");
        else if (!strcmp(key, "detail")) snprintf(val, sizeof val, "%s", m->detail ? m->detail : "");
        for (const char *v = val; *v && n + 1 < cap; v++)
            out[n++] = *v;
        t = close;
    }
    out[n] = 0;
}

/* An uninitialized_read the runtime named as it happened: a comparison on
 * never-set bytes, or such bytes written to a file (mgrt.c, seen_hit). */
static bool named_unset(const char *what)
{
    return !strncmp(what, "compare_", 8) || !strncmp(what, "written_", 8);
}

static bool is_memory_kind(const char *k)
{
    static const char *const kinds[] = {"heap_overflow", "use_after_free", "double_free",
        "invalid_free", "leak", "uninitialized_read", "null_dereference", "wild_access",
        "unchecked_alloc_failure", "stack_overflow"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(k, kinds[i]))
            return true;
    return false;
}

static json_t *loc_json(const char *s) { return s ? json_string(s) : json_null(); }

/* Adds one error to the test's list (the document's list is made from the
 * tests' at the end, see doc_errors). */
static void add_error(ctx *c, json_t *test_errs, const char *kind, const char *message,
                      const char *loc, const char *aloc, const char *floc, json_t *stack)
{
    (void)c;
    json_t *e = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "kind", kind, "message", message,
                          "location", loc_json(loc), "alloc_location", loc_json(aloc),
                          "free_location", loc_json(floc), "stack", stack ? stack : json_array());
    if (!e)
        return;
    size_t i;
    json_t *x;
    bool dup = false;
    json_array_foreach(test_errs, i, x) dup |= json_equal(json_object_get(x, "kind"), json_object_get(e, "kind")) &&
                                                 json_equal(json_object_get(x, "location"), json_object_get(e, "location")) &&
                                                 json_equal(json_object_get(x, "alloc_location"), json_object_get(e, "alloc_location"));
    if (!dup && json_array_size(test_errs) < 8)
        json_array_append(test_errs, e);
    json_decref(e);
}

static bool already(const json_t *errs, const char *kind, const char *aloc)
{
    size_t i;
    json_t *x;
    json_array_foreach(errs, i, x) if (!strcmp(json_string_value(json_object_get(x, "kind")), kind) &&
                                        json_string_value(json_object_get(x, "alloc_location")) &&
                                        !strcmp(json_string_value(json_object_get(x, "alloc_location")), aloc))
        return true;
    return false;
}

/* The same error at the same line, of the same block's site: a run that
 * goes on after a bad access (graders/rt/mgrt_insn.c) can make it twice
 * in one line (a copy's two stores, a loop); one report says it. */
static bool same_error(const json_t *errs, const char *kind, const char *loc, const char *aloc)
{
    size_t i;
    json_t *x;
    json_array_foreach(errs, i, x) {
        const char *l = json_string_value(json_object_get(x, "location"));
        const char *a = json_string_value(json_object_get(x, "alloc_location"));
        if (!strcmp(json_string_value(json_object_get(x, "kind")), kind) &&
            (l && loc ? !strcmp(l, loc) : l == loc) && (a && aloc ? !strcmp(a, aloc) : a == aloc))
            return true;
    }
    return false;
}

static const char *crash_words(const ev *e, int sig)
{
    if (e && !strcmp(e->kind, "arith"))
        return "an arithmetic error (division by zero?)";
    if (e && !strcmp(e->kind, "abort"))
        return "abort() was called";
    if (e && !strcmp(e->kind, "blocked"))
        return "a system call a submission may not make";
    if (e && is_memory_kind(e->kind))
        return e->kind;
    return sig == 11 ? "segmentation fault" : sig == 9 ? "killed" : sig == 31 ? "a system call a submission may not make" : "crashed by a signal";
}

/* A call the runtime's filter refused (graders/INTEGRITY.md): said with
 * the call's name. */
static void blocked_note(const ev *e, char *note, size_t nl)
{
    char name[32] = "a system call";
    if (e->nr >= 0)
        sbx_syscall_name(e->nr, name, sizeof name);
    static const char *const spawn[] = {"fork", "vfork", "clone", "clone3", "execve", "execveat"};
    for (size_t i = 0; i < sizeof spawn / sizeof spawn[0]; i++)
        if (!strcmp(name, spawn[i])) {
            /* system(), popen(), fork(): one clear sentence */
            snprintf(note, nl, "the test was stopped: it called %s: a submission may not start "
                     "processes or run other programs (system(), popen(), fork(), exec())", name);
            return;
        }
    snprintf(note, nl, "the test was stopped: it called %s, which a submission may not use "
             "(it would change how the grader watches memory, or its report)", name);
}

/* A free of something the student's function returned (mgt_free_result):
 * the error is that function's, located where it is defined. */
static bool result_error(ctx *c, const ev *e, const char *kind, json_t *test_errs)
{
    const sym *fs = find_sym(c, e->fn);
    if (!fs || !is_student_file(c, fs->file))
        return false;
    char loc[96], msg[600], aloc[96], floc[96];
    snprintf(loc, sizeof loc, "%s:%d", fs->file, fs->line);
    bool ha = student_loc(c, e, e->apcs, aloc, sizeof aloc);
    bool hf = student_loc(c, e, e->fpcs, floc, sizeof floc);
    if (!strcmp(kind, "double_free")) {
        snprintf(msg, sizeof msg, "%s returned a block that was already freed%s%s", fs->func,
                 hf ? " at " : "", hf ? floc : "");
    } else {
        const char *words = "an address malloc never returned";
        for (size_t i = 0; i < sizeof result_words / sizeof result_words[0]; i++)
            if (!strcmp(result_words[i].what, e->what))
                words = result_words[i].words;
        snprintf(msg, sizeof msg, "%s returned a pointer that was not from malloc: %s", fs->func,
                 words);
    }
    add_error(c, test_errs, kind, msg, loc, ha ? aloc : NULL, hf ? floc : NULL, json_array());
    return true;
}

/* The block of a heap error, for a drawing of it (the web page): its size,
 * the offset of the bad byte from its start where known, the access, and
 * whether it was seen at the access or only when the block was freed.
 * Set on the error last added to errs. */
static void add_block(json_t *errs, const ev *e, const char *kind)
{
    json_t *last = json_array_get(errs, json_array_size(errs) - 1);
    bool fault = e->type == EV_ERR && !strcmp(e->what, "fault");
    if (!last || !e->size || e->size > ((size_t)1 << 40) ||
        !(!strcmp(kind, "heap_overflow") || !strcmp(kind, "use_after_free")) ||
        !(fault || !strcmp(e->what, "found_at_free")))
        return;
    json_t *b = json_pack("{s:I, s:I, s:s, s:s}", "size", (json_int_t)e->size, "offset",
                          (json_int_t)e->off, "access",
                          !fault ? "write" : e->write ? "write" : "read", "seen",
                          fault ? "at_access" : "at_free");
    if (b)
        json_object_set_new(last, "block", b);
}

/* The memory errors of one run (faults, bad frees, leaks). Returns how many
 * the run had; crash notes for non-memory signals go to *note. */
static int run_errors(ctx *c, const run *r, json_t *test_errs, char *note, size_t nl)
{
    int n = 0;
    bool faulted = false;
    const ev *nomem = NULL;
    for (size_t i = 0; i < r->nev; i++) {
        const ev *e = &r->evs[i];
        char loc[96], aloc[96], floc[96], msg[600];
        bool hl = false, ha, hf;
        if (e->type == EV_NOMEM && !nomem)
            nomem = e;
        if (e->type == EV_UNW || e->type == EV_INJ || e->type == EV_NOMEM || e->type == EV_SPIN ||
            e->type == EV_CAND)
            continue;
        if (e->type == EV_ERR && !strcmp(e->kind, "retry"))
            continue; /* judged with the injection that caused it */
        if (nomem && e->type == EV_ERR && e->what[0] && !strcmp(e->what, "fault") &&
            is_memory_kind(e->kind)) {
            /* Allocation really failed (the memory limit) and then this
             * crash: the NULL was never checked. */
            char inj[96] = "an allocation";
            student_loc(c, nomem, nomem->apcs, inj, sizeof inj);
            hl = student_loc(c, e, e->pcs, loc, sizeof loc);
            msg_args m = {.kind = "unchecked_alloc_failure", .what = "crash", .inj = inj,
                          .crash = crash_words(e, e->sig)};
            render(&m, msg, sizeof msg);
            for (char *q = strstr(msg, "failed on purpose"); q; q = NULL)
                memmove(q + 6, q + 17, strlen(q + 17) + 1); /* "failed" */
            add_error(c, test_errs, "unchecked_alloc_failure", msg, hl ? loc : NULL, NULL, NULL,
                      stack_json(c, e, e->pcs));
            n++;
            continue;
        }
        if (e->type == EV_ERR && !strcmp(e->kind, "blocked")) {
            blocked_note(e, note, nl);
            n++;
            continue;
        }
        if (e->type == EV_ERR && !strcmp(e->kind, "tamper")) {
            char where[96];
            bool hw = student_loc(c, e, e->pcs, where, sizeof where);
            if (!strcmp(e->what, "ledger"))
                /* The monitor's books and the allocator's tables disagree
                 * (graders/INTEGRITY.md 3.5). */
                snprintf(note, nl, "the test fails: %s%s changed the allocator's own records, "
                         "so its checks cannot be trusted", hw ? "the code at " : "the code",
                         hw ? where : "");
            else
                snprintf(note, nl, "the test was stopped: %s%s wrote into the grader's own memory",
                         hw ? "the code at " : "the code", hw ? where : "");
            n++;
            continue;
        }
        if (e->type == EV_ERR && !strcmp(e->kind, "ledger_full")) {
            snprintf(note, nl, "the test fails: it kept more blocks allocated at once than the "
                     "grader can check (about a million)");
            n++;
            continue;
        }
        if (e->type == EV_ERR && !is_memory_kind(e->kind)) {
            snprintf(note, nl, "the test crashed: %s", crash_words(e, e->sig));
            n++;
            continue;
        }
        const char *kind = e->type == EV_LEAK ? "leak" : e->kind;
        if (e->fn && (!strcmp(kind, "invalid_free") || !strcmp(kind, "double_free")) &&
            result_error(c, e, kind, test_errs)) {
            n++;
            continue;
        }
        /* A stack overflow faults in the prologue of the next call; the
         * line to show is the call that recursed, one frame up. */
        if (e->type == EV_ERR)
            hl = student_loc(c, e, e->pcs + (!strcmp(e->kind, "stack_overflow") && e->pcs[1]), loc,
                             sizeof loc);
        ha = student_loc(c, e, e->apcs, aloc, sizeof aloc);
        hf = student_loc(c, e, e->fpcs, floc, sizeof floc);
        const char *what = e->what;
        if (!strcmp(kind, "heap_overflow") && !strcmp(what, "fault") && e->off < 0)
            what = "before";
        /* The first byte past the end is where an access that began inside
         * the block (an 8-byte store into 2 bytes) faults too: "right after
         * the end", never a count of bytes it cannot know. */
        else if (!strcmp(kind, "heap_overflow") && !strcmp(what, "fault") && e->size &&
                 e->off == (long)e->size)
            /* By the width of the student's own access where it is known:
             * one byte is a string's '\0' (or an index one too far), more
             * an element that does not fit. */
            what = e->width == 1 ? "at_end_byte" : e->width > 1 ? "at_end_wide" : "at_end";
        if (!strcmp(what, "found_at_free") && e->off < 0)
            what = "found_before";
        if (!strcmp(what, "found_at_free") && ha && already(test_errs, "heap_overflow", aloc))
            continue; /* the same overflow, seen at once in the other run */
        bool cmp = !strcmp(kind, "uninitialized_read") && named_unset(what);
        if (!strcmp(kind, "uninitialized_read") && !cmp)
            what = ha ? "known" : "unknown";
        msg_args m = {.kind = kind, .what = what, .write = e->write, .size = e->size, .bytes = e->bytes,
                      .count = e->count, .off = e->off, .alloc = ha ? aloc : NULL,
                      .free = hf ? floc : NULL};
        render(&m, msg, sizeof msg);
        /* A leak, or a pointer read from never-written memory, is located
         * where the block was allocated. */
        bool at_alloc = e->type == EV_LEAK || (!strcmp(kind, "uninitialized_read") && !cmp);
        const char *where = at_alloc && ha ? aloc : hl ? loc : NULL;
        bool show_free = hf && strcmp(kind, "uninitialized_read"); /* the free is beside the point */
        if (e->type == EV_ERR && !strcmp(e->what, "fault") &&
            same_error(test_errs, kind, where, ha ? aloc : NULL))
            continue;
        /* After a bad access the run went on (graders/rt/mgrt_insn.c); a
         * later fault with none of the student's code on its stack (the
         * driver reading a string the dropped store left unterminated) is
         * that first error's consequence, not one of theirs. */
        if (e->type == EV_ERR && !strcmp(e->what, "fault") && !hl && faulted)
            continue;
        faulted |= e->type == EV_ERR && !strcmp(e->what, "fault");
        add_error(c, test_errs, kind, msg, where, ha ? aloc : NULL, show_free ? floc : NULL,
                  stack_json(c, e, e->type == EV_LEAK ? e->apcs : e->pcs));
        add_block(test_errs, e, kind);
        n++;
    }
    return n;
}

static bool is_underflow(const ev *e, const char *what)
{
    return e->type == EV_ERR && !strcmp(e->kind, "heap_overflow") && !strcmp(e->what, what) &&
           e->off < 0;
}

/* A program's run b, with every block after a guard page, found the writes
 * before a block that run a only saw at its free: b's faults, at their
 * lines, replace a's notices. */
static void take_underflows(run *a, const run *b)
{
    bool any = false;
    for (size_t j = 0; j < b->nev; j++)
        any |= is_underflow(&b->evs[j], "fault");
    if (!any)
        return;
    size_t k = 0;
    for (size_t i = 0; i < a->nev; i++)
        if (!is_underflow(&a->evs[i], "found_at_free"))
            a->evs[k++] = a->evs[i];
    a->nev = k;
    for (size_t j = 0; j < b->nev && a->nev < MAX_EVS; j++)
        if (is_underflow(&b->evs[j], "fault"))
            a->evs[a->nev++] = b->evs[j];
}

/* A one-byte comparison with the fill pattern (EV_CAND "heap") is an
 * uninitialized read when the run with the other pattern made it too, at
 * the same place: real data does not follow the pattern. */
static void confirm_candidates(run *a, const run *b)
{
    size_t n = a->nev;
    for (size_t i = 0; i < n; i++) {
        ev *e = &a->evs[i];
        if (e->type != EV_CAND || strcmp(e->what, "heap"))
            continue;
        for (size_t j = 0; j < b->nev; j++)
            if (b->evs[j].type == EV_CAND && !strcmp(b->evs[j].what, "heap") &&
                b->evs[j].pcs[0] == e->pcs[0] && a->nev < MAX_EVS) {
                ev *u = &a->evs[a->nev++];
                *u = *e;
                u->type = EV_ERR;
                snprintf(u->kind, sizeof u->kind, "uninitialized_read");
                snprintf(u->what, sizeof u->what, "compare_heap");
                break;
            }
    }
}

static void want_run_syms(ctx *c, const run *r)
{
    for (size_t i = 0; i < r->nev; i++) {
        const ev *e = &r->evs[i];
        if (e->fn)
            want_sym(c, e->fn); /* a function's entry, not a return address */
        for (int j = 0; j < NFR; j++) {
            if (e->pcs[j]) want_sym(c, adj(e, e->pcs, j));
            if (e->apcs[j]) want_sym(c, adj(e, e->apcs, j));
            if (e->fpcs[j]) want_sym(c, adj(e, e->fpcs, j));
        }
    }
}

/* ---- function-level tests ------------------------------------------------ */

/* Errors, or a real allocation failure: either makes a difference between
 * the two runs meaningless as evidence of an uninitialized read. */
static bool run_has_errors(const run *r)
{
    for (size_t i = 0; i < r->nev; i++)
        if (r->evs[i].type == EV_ERR || r->evs[i].type == EV_LEAK || r->evs[i].type == EV_NOMEM)
            return true;
    return false;
}

typedef struct {
    char *s;
    size_t n, cap;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    if (b->n + 512 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 1024;
        if (nc > 65536)
            return; /* feedback is bounded */
        char *ns = realloc(b->s, nc);
        if (!ns)
            return;
        b->s = ns;
        b->cap = nc;
    }
    va_start(ap, fmt);
    int r = vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    if (r > 0)
        b->n += (size_t)r < b->cap - b->n ? (size_t)r : b->cap - b->n - 1;
}

/* The student's view of the first injected allocation's site. */
static void inj_site(ctx *c, const run *r, char *out, size_t cap)
{
    for (size_t i = 0; i < r->nev; i++)
        if (r->evs[i].type == EV_INJ && student_loc(c, &r->evs[i], r->evs[i].apcs, out, cap))
            return;
    snprintf(out, cap, "allocation #%lu of the test", r->k);
}

static bool inj_is_realloc(const run *r)
{
    for (size_t i = 0; i < r->nev; i++)
        if (r->evs[i].type == EV_INJ && !strcmp(r->evs[i].what, "realloc"))
            return true;
    return false;
}

/* One injected-failure run: what SPEC §3 promises when an allocation
 * fails. Returns true when the run kept the promise. */
static bool judge_injection(ctx *c, const grd_test *t, const run *r, json_t *errs)
{
    char inj[96], loc[96], aloc[96], msg[700], detail[300] = "";
    inj_site(c, r, inj, sizeof inj);
    msg_args m = {.kind = "unchecked_alloc_failure", .inj = inj};
    const ev *crash = NULL, *leak = NULL, *retry = NULL;
    for (size_t i = 0; i < r->nev; i++) {
        if (r->evs[i].type == EV_ERR && !strcmp(r->evs[i].kind, "retry"))
            retry = &r->evs[i];
        else if (r->evs[i].type == EV_ERR && !crash)
            crash = &r->evs[i];
        if (r->evs[i].type == EV_LEAK && !leak)
            leak = &r->evs[i];
    }
    const char *where = NULL;
    json_t *stack = NULL;
    if (retry) {
        m.what = "retry";
        if (student_loc(c, retry, retry->apcs, loc, sizeof loc))
            where = loc;
        stack = stack_json(c, retry, retry->apcs);
    } else if (crash || (r->status && r->sig)) {
        m.what = "crash";
        m.crash = crash_words(crash, r->sig);
        if (crash && student_loc(c, crash, crash->pcs, loc, sizeof loc))
            where = loc;
        if (crash)
            stack = stack_json(c, crash, crash->pcs);
    } else if (!r->status || !r->ended || r->timeout) {
        m.what = "exit";
    } else if (leak) {
        m.what = inj_is_realloc(r) ? "realloc_leak" : "leak";
        if (student_loc(c, leak, leak->apcs, aloc, sizeof aloc))
            m.alloc = aloc;
        stack = stack_json(c, leak, leak->apcs);
    } else {
        const char *k;
        json_t *v;
        json_object_foreach(r->obs, k, v) {
            json_t *want = json_object_get(t->expect, k), *alt = json_object_get(t->on_fail, k);
            if (!want && !alt)
                continue;
            if ((want && json_equal(v, want)) || (alt && json_equal(v, alt)))
                continue;
            snprintf(detail, sizeof detail, "%s was %s", k, json_string_value(v));
            break;
        }
        if (!detail[0] && r->fail)
            snprintf(detail, sizeof detail, "%s", r->fail);
        if (!detail[0])
            return true;
        m.what = "wrong";
        m.detail = detail;
    }
    if (!where && strncmp(inj, "allocation #", 12))
        where = inj;
    render(&m, msg, sizeof msg);
    add_error(c, errs, "unchecked_alloc_failure", msg, where, m.alloc, NULL, stack);
    return false;
}

/* Ends a test's feedback with its memory errors and verdict line and
 * appends its entry (SPEC §4) to tests; errs is borrowed, fb is freed. */
static void add_test_result(json_t *tests, const grd_test *t, json_t *errs, sbuf *fb,
                            const char *status, bool ok)
{
    size_t i;
    json_t *e;
    json_array_foreach(errs, i, e) {
        const char *l = json_string_value(json_object_get(e, "location"));
        sb_add(fb, "%s%s%s: %s\n", json_string_value(json_object_get(e, "kind")),
               l ? " at " : "", l ? l : "", json_string_value(json_object_get(e, "message")));
    }
    if (!ok && !strcmp(status, "passed"))
        status = "failed";
    if (ok)
        sb_add(fb, "passed%s%s\n", t->description ? ": " : "", t->description ? t->description : "");
    else if (t->description)
        sb_add(fb, "(test: %s)\n", t->description);
    if (fb->n && fb->s[fb->n - 1] == '\n')
        fb->s[--fb->n] = 0;
    json_t *tj = json_pack("{s:s, s:f, s:f, s:s, s:s, s:s, s:O}", "name", t->name, "score",
                           ok ? t->points : 0.0, "max_score", t->points, "status", status,
                           "output", fb->s ? fb->s : "", "visibility", t->visibility,
                           "memory_errors", errs);
    if (tj)
        json_array_append_new(tests, tj);
    free(fb->s);
    *fb = (sbuf){0};
}

/* What a failed visible test's code printed (students debug with printf),
 * unescaped from the fork server's "out" record, at most ~1000 bytes. */
static void printed(sbuf *fb, const char *esc)
{
    char b[1100];
    size_t n = 0;
    for (const char *p = esc; *p && n < 1000; p++) {
        unsigned v;
        if (*p == '\\' && p[1] == 'n') {
            b[n++] = '\n';
            p++;
        } else if (*p == '\\' && p[1] == '\\') {
            b[n++] = '\\';
            p++;
        } else if (*p == '\\' && p[1] == 'x' && sscanf(p + 2, "%2x", &v) == 1) {
            n += (size_t)snprintf(b + n, sizeof b - n, "\\x%02x", v); /* shown as such */
            p += 3;
        } else if (*p == '\\' && p[1] == '.') {
            n += (size_t)snprintf(b + n, sizeof b - n, "...");
            p++;
        } else {
            b[n++] = *p;
        }
    }
    if (n >= 1000)
        n += (size_t)snprintf(b + n, sizeof b - n, "...");
    b[n < sizeof b ? n : sizeof b - 1] = 0;
    while (n && b[n - 1] == '\n')
        b[--n] = 0;
    if (n)
        sb_add(fb, "your code printed:\n%s\n", b);
}

/* A test that ran out of time: where its code was when it was stopped,
 * when the student's own line can be found. */
static void spin_words(const ctx *c, const grd_test *t, const run *r, sbuf *fb)
{
    char loc[96], lim[160] = "";
    size_t ti = (size_t)(t - c->a->tests);
    if (c->tm && c->tm->lim && c->tm->lim[ti] && c->tm->lim[ti] < c->a->test_ms)
        snprintf(lim, sizeof lim, " after %lu ms of CPU time (its limit: %d times what the "
                 "reference solution needs, at least %d ms)", c->tm->lim[ti], GRD_CALIB_FACTOR,
                 GRD_CALIB_FLOOR_MS);
    else
        snprintf(lim, sizeof lim, " after %lu ms of CPU time", c->a->test_ms);
    for (size_t i = 0; i < r->nev; i++)
        if (r->evs[i].type == EV_SPIN && student_loc(c, &r->evs[i], r->evs[i].pcs, loc, sizeof loc)) {
            sb_add(fb, "the test took too long: it was still running at %s when it was stopped%s "
                       "(an endless loop?)\n", loc, lim);
            return;
        }
    sb_add(fb, "the test took too long: it was stopped%s (an endless loop?)\n", lim);
}

static void grade_function_test(ctx *c, const grd_test *t, report *rp, json_t *tests)
{
    run *A = find_run(rp, t->name, 0, 0), *B = find_run(rp, t->name, 1, 0);
    json_t *errs = json_array();
    sbuf fb = {0};
    const char *status = "passed";
    char note[200] = "";
    bool ok = true;

    if (A && A->timeout && !B) {
        status = "timeout"; /* the fork server skips the second run of a hang */
        spin_words(c, t, A, &fb);
        ok = false;
        goto done;
    }
    if (!A || !B) {
        status = "error";
        sb_add(&fb, "the test did not run (is it missing from the driver?)\n");
        ok = false;
        goto done;
    }
    int ne = run_errors(c, A, errs, note, sizeof note) + run_errors(c, B, errs, note, sizeof note);
    if (A->timeout || B->timeout) {
        status = "timeout";
        spin_words(c, t, A->timeout ? A : B, &fb);
        ok = false;
    } else if (!A->ended || !B->ended || A->exit || B->exit || A->sig || B->sig) {
        status = "error";
        if (note[0])
            sb_add(&fb, "%s\n", note);
        else if (ne == 0 && (A->sig || B->sig))
            sb_add(&fb, "the test crashed (signal %d)\n", A->sig ? A->sig : B->sig);
        else if (ne == 0)
            sb_add(&fb, "the test did not finish: the code exited (exit(), _exit()) or "
                        "tampered with the grader\n");
        ok = false;
    }
    if (ne)
        ok = false;
    if (note[0] && !strcmp(status, "passed")) /* a test that ended, but tampered */
        sb_add(&fb, "%s\n", note);
    if (A->fail || B->fail) {
        sb_add(&fb, "%s\n", A->fail ? A->fail : B->fail);
        ok = false;
    }
    /* The two runs differ only in the contents of new heap memory and the
     * side of its guard page: a different outcome means a read of memory
     * never written. */
    if (A->ended && B->ended && !run_has_errors(A) && !run_has_errors(B) &&
        !json_equal(A->obs, B->obs)) {
        char aloc[96] = "";
        bool have = false;
        for (size_t i = 0; i < A->nev && !have; i++) {
            const ev *ea = &A->evs[i];
            if (ea->type != EV_UNW)
                continue;
            for (size_t j = 0; j < B->nev && !have; j++) {
                const ev *eb = &B->evs[j];
                if (eb->type == EV_UNW && eb->off == ea->off && eb->size == ea->size &&
                    student_loc(c, ea, ea->apcs, aloc, sizeof aloc))
                    have = true;
            }
        }
        msg_args m = {.kind = "uninitialized_read", .what = have ? "known" : "unknown",
                      .alloc = have ? aloc : NULL};
        char msg[400];
        render(&m, msg, sizeof msg);
        add_error(c, errs, "uninitialized_read", msg, have ? aloc : NULL, have ? aloc : NULL,
                  NULL, NULL);
        ok = false;
    }
    if (A->ended) {
        const char *k;
        json_t *want;
        json_object_foreach(t->expect, k, want) {
            json_t *got = json_object_get(A->obs, k);
            if (got && json_equal(got, want))
                continue;
            ok = false;
            if (!strcmp(status, "passed"))
                status = "failed";
            sb_add(&fb, "%s: expected %s, got %s\n", k, json_string_value(want),
                   got ? json_string_value(got) : "nothing");
        }
    }
    if (t->on_fail && ok) {
        int bad = 0;
        for (size_t i = 0; i < rp->n && bad < MAX_INJ_ERRORS; i++) {
            run *r = &rp->r[i];
            if (r->k && !strcmp(r->test, t->name) && !judge_injection(c, t, r, errs))
                bad++;
        }
        if (bad)
            ok = false;
    }
done:
    if (!ok && A && A->out)
        printed(&fb, A->out);
    add_test_result(tests, t, errs, &fb, status, ok);
    json_decref(errs);
}

static const char *default_env_token(char *buf, size_t cap, const char *token)
{
    snprintf(buf, cap, "MGRT_TOKEN=%s", token);
    return buf;
}

/* One run of the fork server: the tests whose visibility is (or, with
 * others, is not) "visible", in the program that holds them. Each test's
 * entry goes to slots[i]. */
static int run_server(ctx *c, const char *prog, bool visible, bool others, const char *token,
                      json_t **slots, char *err, size_t errlen)
{
    const grd_assignment *a = c->a;
    int rc = -1;
    sbuf in = {0};
    report rp;
    sbx_result res;
    sbx_policy *p = sbx_policy_new("run");
    char tokenv[64], path[64];
    memset(&rp, 0, sizeof rp);
    memset(&res, 0, sizeof res);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    snprintf(path, sizeof path, "/box/%s", prog);
    c->dbg = prog;
    c->nsyms = 0;
    size_t plan = 0; /* the runs asked for: two each, and the injected ones */
    sb_add(&in, "cfg test_ms=%lu\n", a->test_ms);
    /* A program that holds visible tests only may show the student what
     * their code printed: nothing of a hidden test is in it. */
    bool only_visible = true;
    for (size_t i = 0; i < a->ntests; i++)
        if ((others || !!strcmp(a->tests[i].visibility, "visible") != visible) &&
            strcmp(a->tests[i].visibility, "visible"))
            only_visible = false;
    if (only_visible)
        sb_add(&in, "cfg show_output=1\n");
    for (size_t i = 0; i < a->ntests; i++) {
        const grd_test *t = &a->tests[i];
        if (!others && !!strcmp(t->visibility, "visible") == visible)
            continue;
        plan += 2 + (t->on_fail ? MAX_INJ : 0);
        /* The test's own limit, from the reference's time (grd_calib.c). */
        char lim[24] = "";
        if (c->tm && c->tm->lim && c->tm->lim[i])
            snprintf(lim, sizeof lim, " %lu", c->tm->lim[i]);
        if (t->on_fail)
            sb_add(&in, "inj %s%s\nrun %s 1 0%s\n", t->name, lim, t->name, lim);
        else
            sb_add(&in, "run %s 0 0%s\nrun %s 1 0%s\n", t->name, lim, t->name, lim);
    }
    sbx_policy_set_memory(p, a->memory_mb << 20);
    sbx_policy_set_wall_ms(p, a->wall_ms);
    sbx_policy_set_cpu_ms(p, a->wall_ms);
    sbx_policy_allow_processes(p, true);
    sbx_policy_set_processes(p, 8);
    sbx_policy_set_output_keep(p, GRD_REPORT_KEEP_BYTES);
    const char *argv[] = {path, NULL};
    const char *envp[] = {"PATH=/usr/bin:/bin", "LANG=C", "HOME=/tmp", "TMPDIR=/tmp",
                          default_env_token(tokenv, sizeof tokenv, token), NULL};
    sbx_cmd cmd = {.argv = argv, .envp = envp, .stdin_data = in.s, .stdin_len = in.n,
                   .capture_fd3 = true};
    if (sbx_run(p, c->box, &cmd, &res, err, errlen))
        goto out;
    if (getenv("MEMGRADE_DEBUG_REPORT")) /* for people debugging a driver */
        fprintf(stderr, "[run %s: %s, %s]\n%s\n[stderr]\n%s\n", prog, sbx_verdict_name(res.verdict),
                res.detail, res.fd3.data ? res.fd3.data : "", res.err.data ? res.err.data : "");
    parse_report(res.fd3.data, res.fd3.len, token, &rp, false, plan);
    for (size_t i = 0; i < rp.n; i++)
        want_run_syms(c, &rp.r[i]);
    for (size_t i = 0; c->tm && c->tm->cpu && i < rp.n; i++)
        for (size_t j = 0; j < a->ntests; j++)
            if (!strcmp(a->tests[j].name, rp.r[i].test) && rp.r[i].cpu_ms > c->tm->cpu[j])
                c->tm->cpu[j] = rp.r[i].cpu_ms;
    if (symbolize(c, err, errlen))
        goto out;
    for (size_t i = 0; i < a->ntests; i++) {
        const grd_test *t = &a->tests[i];
        if (!others && !!strcmp(t->visibility, "visible") == visible)
            continue;
        grade_function_test(c, t, &rp, slots[i]);
        json_t *tj = json_array_get(slots[i], 0);
        if (res.verdict == SBX_OK || !tj ||
            !strcmp(json_string_value(json_object_get(tj, "status")), "passed"))
            continue;
        /* The whole run was stopped (time, memory, output, a forbidden
         * call): say so on every test that did not pass. */
        char o[1200];
        snprintf(o, sizeof o, "%s\n(the program was stopped: %s)",
                 json_string_value(json_object_get(tj, "output")),
                 res.detail[0] ? res.detail : sbx_verdict_name(res.verdict));
        json_object_set_new(tj, "output", json_string(o));
        if (res.verdict == SBX_TIME_LIMIT)
            json_object_set_new(tj, "status", json_string("timeout"));
    }
    rc = 0;
out:
    free(in.s);
    report_free(&rp);
    sbx_result_free(&res);
    sbx_policy_free(p);
    return rc;
}

/* A program into another box, sealed as in the first (grd_build.c).
 * 0 or -errno. */
static int copy_prog(sbx_box *from, sbx_box *to, const char *name)
{
    char *bin = NULL;
    size_t len = 0;
    int r = sbx_box_read(from, name, 64u << 20, &bin, &len);
    if (!r)
        r = sbx_box_write(to, name, bin, len);
    free(bin);
    return r ? r : grd_seal(to, name, 0111);
}

/* The visible tests' run, beside the others' (a box of its own). */
typedef struct {
    ctx c;
    const char *token;
    json_t **slots;
    int rc;
    char err[256];
} vis_run;

static void *vis_worker(void *arg)
{
    vis_run *v = arg;
    v->rc = run_server(&v->c, "prog_vis", true, false, v->token, v->slots, v->err, sizeof v->err);
    return NULL;
}

/* Function-level tests: the visible ones in prog_vis, which holds no
 * hidden test, and the others in prog (graders/INTEGRITY.md), each run in
 * a sandbox of its own, both at once; results in manifest order. */
static int run_functions(ctx *c, const char *token, json_t *doc, char *err, size_t errlen)
{
    const grd_assignment *a = c->a;
    json_t **slots = calloc(a->ntests, sizeof *slots);
    vis_run *v = NULL;
    sbx_box *own = NULL;
    pthread_t th;
    bool started = false;
    int rc = -1, r = 0;
    if (!slots) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < a->ntests; i++)
        if (!(slots[i] = json_array())) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
    if (!grd_split(a)) {
        if (run_server(c, "prog", true, true, token, slots, err, errlen))
            goto out;
    } else {
        v = calloc(1, sizeof *v);
        if (!v) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        memcpy(&v->c, c, sizeof *c);
        v->token = token;
        v->slots = slots;
        own = sbx_box_create(err, errlen);
        if (!own || (r = copy_prog(c->box, own, "prog_vis"))) {
            if (r)
                snprintf(err, errlen, "cannot prepare a second box: %s", strerror(-r));
            goto out;
        }
        v->c.box = own;
        started = pthread_create(&th, NULL, vis_worker, v) == 0;
        if (!started)
            vis_worker(v); /* no thread to be had: one after the other */
        int hr = run_server(c, "prog", false, false, token, slots, err, errlen);
        if (started)
            pthread_join(th, NULL);
        if (hr)
            goto out;
        if (v->rc) {
            snprintf(err, errlen, "%s", v->err);
            goto out;
        }
    }
    json_t *tests = json_object_get(doc, "tests");
    for (size_t i = 0; i < a->ntests; i++) {
        json_t *tj = json_array_get(slots[i], 0);
        if (tj)
            json_array_append(tests, tj);
    }
    rc = 0;
out:
    sbx_box_destroy(own);
    free(v);
    for (size_t i = 0; i < a->ntests; i++)
        json_decref(slots[i]);
    free(slots);
    return rc;
}

/* ---- whole programs ------------------------------------------------------ */

/* SPEC §3.1: the four lines, each checked against the process itself. */
static void check_addrspace(const report *rp, const char *out, bool vis, sbuf *fb, bool *ok)
{
    /* The four lines by their labels; an address is read as printf's %p
     * writes it, "(nil)" included. */
    static const char *const label[4] = {"code:", "heap:", "stack:", "stack grows:"};
    static const char *const what[4] = {"code: 0x...", "heap: 0x...", "stack: 0x...",
                                        "stack grows: down|up"};
    unsigned long val[4] = {0, 0, 0, 0};
    char dir[16] = "";
    bool have[4] = {false, false, false, false}, nil[4] = {false, false, false, false};
    for (const char *p = out; p && *p;) {
        const char *nl = strchr(p, '\n');
        char line[256];
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        snprintf(line, sizeof line, "%.*s", (int)(l < sizeof line ? l : sizeof line - 1), p);
        const char *t = line + strspn(line, " \t");
        for (int i = 3; i >= 0; i--) { /* "stack grows:" before "stack:" */
            size_t ll = strlen(label[i]);
            if (have[i] || strncmp(t, label[i], ll))
                continue;
            have[i] = true;
            if (i == 3)
                sscanf(t + ll, " %15s", dir);
            else if (sscanf(t + ll, " %lx", &val[i]) != 1)
                nil[i] = strstr(t + ll, "(nil)") != NULL;
            break;
        }
        p = nl ? nl + 1 : NULL;
    }
    unsigned long code = val[0], heap = val[1], stack = val[2];
    for (int i = 0; i < 4; i++)
        if (!have[i]) {
            sb_add(fb, "missing the line \"%s\"\n", what[i]);
            *ok = false;
        } else if (nil[i]) {
            sb_add(fb, "%s printed (nil), a NULL pointer%s\n", label[i],
                   i == 1 ? ": did malloc fail, or was the pointer never set to what it returned?"
                          : "");
            *ok = false;
            have[i] = false; /* nothing further to check on it */
        }
    if (!rp->hello) {
        sb_add(fb, "the grader could not observe the process (did it exit abnormally?)\n");
        *ok = false;
        return;
    }
    if (have[0] && code != rp->main_off) {
        sb_add(fb, "code: %s is not the address of main%s\n", vis ? "the address printed" : "it",
               "");
        *ok = false;
    }
    bool in_heap = false;
    for (size_t i = 0; i < rp->nblk; i++)
        in_heap |= heap >= rp->blk_user[i] && heap <= rp->blk_user[i] + rp->blk_size[i];
    if (have[1] && !in_heap) {
        sb_add(fb, "heap: the address printed is not a block malloc returned\n");
        *ok = false;
    }
    if (have[2] && !(stack < rp->stack_top && stack + rp->stack_lim >= rp->stack_top)) {
        sb_add(fb, "stack: the address printed is not on the main thread's stack\n");
        *ok = false;
    }
    if (have[3] && strcmp(dir, "down")) {
        sb_add(fb, "stack grows: on this machine the stack grows down (compare the addresses "
                   "of locals in nested calls)\n");
        *ok = false;
    }
}

static void trimmed(sbuf *fb, const char *label, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    sb_add(fb, "%s: \"", label);
    for (size_t i = 0; i < n && i < 200; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\n')
            sb_add(fb, "\\n");
        else if (ch < 0x20 || ch >= 0x7f)
            sb_add(fb, "\\x%02x", ch);
        else
            sb_add(fb, "%c", ch);
    }
    sb_add(fb, "%s\"\n", n > 200 ? "..." : "");
}

/* Equal outputs of two runs, up to addresses: ASLR and the other block
 * placement move every pointer, so each 0x... token counts as one. */
static bool same_text(const char *a, const char *b)
{
    a = a ? a : "";
    b = b ? b : "";
    while (*a && *b) {
        if (a[0] == '0' && a[1] == 'x' && b[0] == '0' && b[1] == 'x') {
            for (a += 2; isxdigit((unsigned char)*a); a++)
                ;
            for (b += 2; isxdigit((unsigned char)*b); b++)
                ;
            continue;
        }
        if (*a++ != *b++)
            return false;
    }
    return *a == *b;
}

typedef struct {
    unsigned long k[PROG_SITES], pcs[PROG_SITES][NFR];
    size_t n;
} prog_sites;

/* A whole program's CPU limit in test t: calibrated when the reference's
 * time is known (grd_calib.c), the manifest's otherwise. */
static unsigned long test_cpu_limit(const ctx *c, const grd_test *t)
{
    size_t ti = (size_t)(t - c->a->tests);
    if (c->tm && c->tm->lim && c->tm->lim[ti] && c->tm->lim[ti] < c->a->test_ms)
        return c->tm->lim[ti];
    return c->a->test_ms;
}

/* Calibration (measuring the reference): the most CPU any run of t took.
 * Each test is one worker's, so no two threads write one slot. */
static void note_cpu(const ctx *c, const grd_test *t, long cpu_ms)
{
    size_t ti = (size_t)(t - c->a->tests);
    if (c->tm && c->tm->cpu && cpu_ms > 0 && (unsigned long)cpu_ms > c->tm->cpu[ti])
        c->tm->cpu[ti] = (unsigned long)cpu_ms;
}

static int grade_program_test(ctx *c, const grd_test *t, const char *token, json_t *tests,
                              prog_sites *ps, char *err, size_t errlen)
{
    const grd_assignment *a = c->a;
    int rc = -1;
    report rp;
    sbx_result res;
    sbuf fb = {0};
    json_t *errs = json_array();
    sbx_policy *p = sbx_policy_new("run");
    char tokenv[64], note[200] = "";
    const char *argv[40];
    bool vis = !strcmp(t->visibility, "visible"), ok = true;
    const char *status = "passed";
    report rpb;
    sbx_result resb;
    bool differs = false;
    const ev *unw_a = NULL;
    memset(&rp, 0, sizeof rp);
    memset(&res, 0, sizeof res);
    memset(&rpb, 0, sizeof rpb);
    memset(&resb, 0, sizeof resb);
    c->nsyms = 0;
    if (!p || !errs) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    size_t n = 0;
    argv[n++] = "/box/prog";
    for (size_t i = 0; i < t->nargs && n < 39; i++)
        argv[n++] = t->args[i];
    argv[n] = NULL;
    sbx_policy_set_memory(p, (t->memory_mb ? t->memory_mb : a->memory_mb) << 20);
    /* CPU time is the limit (the test's own, from the reference's time:
     * grd_calib.c); the wall clock, four times the manifest's, only ends a
     * program that waits forever (a busy machine must not fail a test). */
    sbx_policy_set_wall_ms(p, 4 * a->test_ms);
    sbx_policy_set_cpu_ms(p, test_cpu_limit(c, t));
    /* The runtime forks the program off under its monitor before main
     * (graders/INTEGRITY.md 3.5); the program may fork too, within bounds. */
    sbx_policy_allow_processes(p, true);
    sbx_policy_set_processes(p, 8);
    sbx_policy_set_output_keep(p, GRD_REPORT_KEEP_BYTES);
    const char *envp[] = {"PATH=/usr/bin:/bin", "LANG=C", "HOME=/tmp", "TMPDIR=/tmp",
                          default_env_token(tokenv, sizeof tokenv, token), NULL};
    sbx_cmd cmd = {.argv = argv, .envp = envp, .stdin_data = t->stdin_data,
                   .stdin_len = t->stdin_data ? strlen(t->stdin_data) : 0, .capture_fd3 = true};
    if (sbx_run(p, c->box, &cmd, &res, err, errlen))
        goto out;
    if (getenv("MEMGRADE_DEBUG_REPORT"))
        fprintf(stderr, "[program %s: %s, %s]\n%s\n", t->name, sbx_verdict_name(res.verdict),
                res.detail, res.fd3.data ? res.fd3.data : "");
    note_cpu(c, t, res.cpu_ms);
    parse_report(res.fd3.data, res.fd3.len, token, &rp, true, 1);
    if (!rp.n) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    run *r = &rp.r[0];
    /* The second run, new memory filled with the other pattern and blocks
     * against the other guard, only when it can tell something: a clean
     * first run that left never-written bytes in some block. */
    bool unw = false, crashed = false, under = false, cand = false, only_under = true;
    for (size_t i = 0; i < r->nev; i++) {
        unw |= r->evs[i].type == EV_UNW;
        crashed |= r->evs[i].type == EV_ERR;
        under |= is_underflow(&r->evs[i], "found_at_free");
        /* (a comparison the runtime named changed nothing in the run) */
        only_under &= r->evs[i].type != EV_ERR || is_underflow(&r->evs[i], "found_at_free") ||
                      named_unset(r->evs[i].what);
        cand |= r->evs[i].type == EV_CAND;
    }
    /* ... or, to find a write before a block at its line, when one was
     * seen at the block's free, or a read of the bytes before a block or a
     * one-byte comparison with the fill pattern was (EV_CAND): there the
     * block follows a guard page and is filled with the other pattern. A
     * run whose only errors were writes before a block still tells
     * never-written bytes apart: the second run steps over those stores. */
    bool ran_ok = rp.exited && (res.verdict == SBX_OK || res.verdict == SBX_RUNTIME_ERROR);
    bool clean = unw && !crashed && ran_ok;
    bool comparable = unw && only_under && ran_ok;
    if (clean || under || cand) {
        const char *envb[] = {"PATH=/usr/bin:/bin", "LANG=C", "HOME=/tmp", "TMPDIR=/tmp",
                              tokenv, "MGRT_PATTERN=1", NULL};
        sbx_cmd cmdb = cmd;
        cmdb.envp = envb;
        if (sbx_run(p, c->box, &cmdb, &resb, err, errlen))
            goto out;
        note_cpu(c, t, resb.cpu_ms);
        parse_report(resb.fd3.data, resb.fd3.len, token, &rpb, true, 1);
        if (!rpb.n) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        run *rb = &rpb.r[0];
        bool nomem = false; /* the other placement ran out of memory: not the point */
        for (size_t j = 0; j < rb->nev; j++)
            nomem |= rb->evs[j].type == EV_NOMEM;
        /* A second run a limit stopped (its guards cost more system time,
         * and a busy machine more still) says nothing of the bytes. */
        bool limited = resb.verdict == SBX_TIME_LIMIT || resb.verdict == SBX_MEMORY_LIMIT ||
                       resb.verdict == SBX_OUTPUT_LIMIT;
        bool b_only_under = true;
        for (size_t j = 0; j < rb->nev; j++)
            b_only_under &= rb->evs[j].type != EV_ERR || is_underflow(&rb->evs[j], "fault") ||
                            named_unset(rb->evs[j].what);
        if (under || cand)
            take_underflows(r, rb);
        confirm_candidates(r, rb);
        differs = (clean || (comparable && b_only_under && rpb.exited)) && !nomem && !limited &&
                  (resb.verdict != res.verdict || resb.exit_code != res.exit_code ||
                   !same_text(resb.out.data, res.out.data) || !same_text(resb.err.data, res.err.data));
        for (size_t i = 0; differs && i < r->nev && !unw_a; i++)
            for (size_t j = 0; r->evs[i].type == EV_UNW && j < rb->nev && !unw_a; j++)
                if (rb->evs[j].type == EV_UNW && rb->evs[j].off == r->evs[i].off &&
                    rb->evs[j].size == r->evs[i].size)
                    unw_a = &r->evs[i];
    }
    if (!t->leaks) {
        size_t k = 0;
        for (size_t i = 0; i < r->nev; i++)
            if (r->evs[i].type != EV_LEAK)
                r->evs[k++] = r->evs[i];
        r->nev = k;
    }
    want_run_syms(c, r);
    if (symbolize(c, err, errlen))
        goto out;
    if (run_errors(c, r, errs, note, sizeof note))
        ok = false;
    if (note[0])
        sb_add(&fb, "%s\n", note);
    if (differs) {
        char aloc[96], msg[400];
        bool have = unw_a && student_loc(c, unw_a, unw_a->apcs, aloc, sizeof aloc);
        msg_args m = {.kind = "uninitialized_read", .what = have ? "known" : "unknown",
                      .alloc = have ? aloc : NULL};
        render(&m, msg, sizeof msg);
        add_error(c, errs, "uninitialized_read", msg, have ? aloc : NULL, have ? aloc : NULL,
                  NULL, NULL);
        ok = false;
    }
    /* RLIMIT_AS makes malloc fail, it does not kill: a program that then
     * exits by itself (memuser's failure path) gets its exit status judged
     * like any other. */
    sbx_verdict v = res.verdict == SBX_MEMORY_LIMIT && !res.signal ? SBX_RUNTIME_ERROR : res.verdict;
    switch (v) {
    case SBX_OK:
    case SBX_RUNTIME_ERROR:
        if (!rp.exited && !json_array_size(errs)) {
            sb_add(&fb, "the program ended without returning from main or calling exit() "
                        "(_exit? abort?), so the grader could not check it\n");
            status = "error";
            ok = false;
        }
        if (t->has_exit && res.exit_code != t->expect_exit) {
            sb_add(&fb, "expected exit status %d, got %d\n", t->expect_exit, res.exit_code);
            ok = false;
        }
        break;
    case SBX_TIME_LIMIT:
        status = "timeout";
        if (test_cpu_limit(c, t) < a->test_ms && res.cpu_ms >= (long)test_cpu_limit(c, t))
            sb_add(&fb, "the program took too long: it was stopped after %lu ms of CPU time "
                        "(its limit: %d times what the reference solution needs, at least "
                        "%d ms; an endless loop?)\n",
                   test_cpu_limit(c, t), GRD_CALIB_FACTOR_PROGRAM, GRD_CALIB_FLOOR_PROGRAM_MS);
        else
            sb_add(&fb, "the program took too long (%s)\n", res.detail);
        ok = false;
        break;
    case SBX_SIGNALED:
        status = "error";
        if (!json_array_size(errs) && !note[0])
            sb_add(&fb, "the program crashed (%s)\n", res.detail);
        ok = false;
        break;
    default:
        status = "error";
        sb_add(&fb, "the program was stopped: %s\n", res.detail[0] ? res.detail : sbx_verdict_name(res.verdict));
        ok = false;
        break;
    }
    const char *out_s = res.out.data ? res.out.data : "", *err_s = res.err.data ? res.err.data : "";
    if (t->expect_stdout && strcmp(out_s, t->expect_stdout)) {
        ok = false;
        trimmed(&fb, "expected output", t->expect_stdout);
        trimmed(&fb, "got", out_s);
    }
    if (t->stdout_contains && !strstr(out_s, t->stdout_contains)) {
        ok = false;
        sb_add(&fb, "the output should contain \"%s\"\n", t->stdout_contains);
    }
    if (t->stderr_contains && !strstr(err_s, t->stderr_contains)) {
        ok = false;
        sb_add(&fb, "the error output (stderr) should contain \"%s\"\n", t->stderr_contains);
    }
    /* What the box's own memory cgroup charged: rusage's peak of a process
     * also counts the pages it shared with the grader before exec (12 MiB
     * of a sanitizer build's grader, for a program that touched nothing),
     * the cgroup only pages made in the box. rusage where there is none. */
    long peak_kb = res.peak_box_kb > 0 ? res.peak_box_kb : res.peak_rss_kb;
    if (t->min_rss_mb > 0 && peak_kb / 1024.0 < t->min_rss_mb) {
        ok = false;
        sb_add(&fb, "peak resident memory was %.1f MiB, expected at least %.1f MiB: is every "
                    "byte really written?\n", peak_kb / 1024.0, t->min_rss_mb);
    }
    if (t->check_addrspace)
        check_addrspace(&rp, out_s, vis, &fb, &ok);
    add_test_result(tests, t, errs, &fb, status, ok);
    ps->n = rp.nas;
    memcpy(ps->k, rp.as_k, sizeof ps->k);
    memcpy(ps->pcs, rp.as_pcs, sizeof ps->pcs);
    rc = 0;
out:
    json_decref(errs);
    free(fb.s);
    report_free(&rpb);
    sbx_result_free(&resb);
    report_free(&rp);
    sbx_result_free(&res);
    sbx_policy_free(p);
    return rc;
}

/* Program tests are independent runs that mostly wait on the sandbox:
 * two at a time, each worker with its own context (symbols, error list),
 * results put back in manifest order. */
#define PROG_WORKERS 2

typedef struct {
    const ctx *base;
    const char *token;
    json_t **outs;           /* one array per test, holding its result */
    prog_sites *sites;       /* one per test: where it first allocated */
    size_t next;             /* next test to take (atomic) */
    size_t workers;          /* workers started so far (atomic) */
    int rc;                  /* first failure wins */
    char err[256];
    pthread_mutex_t mu;
} prog_pool;


static void *prog_worker(void *arg)
{
    prog_pool *pp = arg;
    ctx *c = malloc(sizeof *c);
    char err[256] = "";
    if (!c) {
        pthread_mutex_lock(&pp->mu);
        pp->rc = -1;
        snprintf(pp->err, sizeof pp->err, "out of memory");
        pthread_mutex_unlock(&pp->mu);
        free(c);
        return NULL;
    }
    memcpy(c, pp->base, sizeof *c);
    /* A box's cgroup (memory, CPU) belongs to one run at a time: every
     * worker but the first runs in a box of its own, with a copy of the
     * program. */
    sbx_box *own = NULL;
    if (__atomic_fetch_add(&pp->workers, 1, __ATOMIC_SEQ_CST) > 0) {
        own = sbx_box_create(err, sizeof err);
        int r = own ? copy_prog(c->box, own, "prog") : 0;
        if (!own || r) {
            pthread_mutex_lock(&pp->mu);
            if (!pp->rc)
                snprintf(pp->err, sizeof pp->err, "cannot prepare a second box: %.200s",
                         r ? strerror(-r) : err);
            pp->rc = -1;
            pthread_mutex_unlock(&pp->mu);
            sbx_box_destroy(own);
                free(c);
            return NULL;
        }
        c->box = own;
    }
    for (;;) {
        size_t i = __atomic_fetch_add(&pp->next, 1, __ATOMIC_SEQ_CST);
        if (i >= c->a->ntests)
            break;
        if (grade_program_test(c, &c->a->tests[i], pp->token, pp->outs[i], &pp->sites[i], err,
                               sizeof err)) {
            pthread_mutex_lock(&pp->mu);
            if (!pp->rc)
                snprintf(pp->err, sizeof pp->err, "%s", err);
            pp->rc = -1;
            pthread_mutex_unlock(&pp->mu);
        }
    }
    sbx_box_destroy(own);
    free(c);
    return NULL;
}

/* An error seen in a test the student does not see (hidden, or not yet
 * revealed) tells them its kind and their own lines, nothing the hidden
 * input decided: no sizes, offsets or counts, no driver frames. */
static const struct {
    const char *kind, *text;
} hidden_words[] = {
    {"heap_overflow", "accessed memory outside a heap block in a hidden test: not allocating enough memory?"},
    {"use_after_free", "accessed memory after freeing it (a dangling pointer) in a hidden test"},
    {"double_free", "freed memory twice in a hidden test"},
    {"invalid_free", "freed a pointer malloc never returned, in a hidden test"},
    {"leak", "memory leak in a hidden test: memory allocated there was never freed"},
    {"uninitialized_read", "in a hidden test, the result depends on memory that was never initialized"},
    {"null_dereference", "dereferenced a NULL pointer in a hidden test: a missing check for NULL?"},
    {"wild_access", "accessed an invalid address in a hidden test: an uninitialized pointer?"},
    {"stack_overflow", "the stack overflowed in a hidden test: runaway recursion?"},
    {"unchecked_alloc_failure", "in a hidden test, the code misbehaved when an allocation failed: check every malloc/realloc result for NULL"},
};

static json_t *redacted(const ctx *c, json_t *e)
{
    const char *kind = json_string_value(json_object_get(e, "kind"));
    const char *text = "a memory error in a hidden test";
    for (size_t i = 0; kind && i < sizeof hidden_words / sizeof hidden_words[0]; i++)
        if (!strcmp(hidden_words[i].kind, kind))
            text = hidden_words[i].text;
    json_t *stack = json_array(), *x;
    size_t i;
    json_array_foreach(json_object_get(e, "stack"), i, x) {
        const char *f = json_string_value(x);
        char file[64];
        if (f && sscanf(f, "%63[^:]", file) == 1 && is_student_file(c, file))
            json_array_append(stack, x);
    }
    return json_pack("{s:s, s:s, s:O, s:O, s:O, s:o}", "kind", kind ? kind : "", "message", text,
                     "location", json_object_get(e, "location"), "alloc_location",
                     json_object_get(e, "alloc_location"), "free_location",
                     json_object_get(e, "free_location"), "stack", stack ? stack : json_array());
}

/* The document's memory_errors: each distinct error once, in test order;
 * in full where a visible test shows it, else redacted. */
static void doc_errors(const ctx *c, json_t *doc)
{
    static const char *const keys[] = {"kind", "location", "alloc_location", "free_location"};
    json_t *all = json_object_get(doc, "memory_errors"), *t, *e, *x;
    size_t i, j, k;
    json_array_foreach(json_object_get(doc, "tests"), i, t) {
        bool vis = !strcmp(json_string_value(json_object_get(t, "visibility")), "visible");
        json_array_foreach(json_object_get(t, "memory_errors"), j, e) {
            size_t at = (size_t)-1;
            json_array_foreach(all, k, x) {
                bool same = true;
                for (size_t q = 0; q < sizeof keys / sizeof keys[0]; q++)
                    same &= json_equal(json_object_get(x, keys[q]), json_object_get(e, keys[q]));
                if (same)
                    at = k;
            }
            json_t *m = vis ? json_incref(e) : redacted(c, e);
            if (!m)
                continue;
            if (at == (size_t)-1 && json_array_size(all) < 100)
                json_array_append(all, m);
            else if (at != (size_t)-1 && vis) /* the full words replace the redacted */
                json_array_set(all, at, m);
            json_decref(m);
        }
    }
}

/* One run of test t with the program's k-th allocation failing (and its
 * retries at the same site): a crash, a hang or a retry loop after it is
 * the test's unchecked_alloc_failure, added to its entry tj. What the
 * program prints then is not judged: saying so and exiting is right, and
 * so is exiting without freeing what it had (the process ends; a function
 * that returns to its caller must, and function-level tests say so). */
static int inject_program(ctx *c, const grd_test *t, const char *token, unsigned long k,
                          json_t *tj, char *err, size_t errlen)
{
    sbx_policy *p = sbx_policy_new("run");
    char tokenv[64], fail_at[40];
    const char *argv[40];
    report rp;
    sbx_result res;
    int rc = -1;
    json_t *errs = json_array();
    memset(&rp, 0, sizeof rp);
    memset(&res, 0, sizeof res);
    if (!p || !errs) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    size_t n = 0;
    argv[n++] = "/box/prog";
    for (size_t i = 0; i < t->nargs && n < 39; i++)
        argv[n++] = t->args[i];
    argv[n] = NULL;
    sbx_policy_set_memory(p, (t->memory_mb ? t->memory_mb : c->a->memory_mb) << 20);
    sbx_policy_set_wall_ms(p, 4 * c->a->test_ms);
    sbx_policy_set_cpu_ms(p, test_cpu_limit(c, t));
    sbx_policy_allow_processes(p, true);
    sbx_policy_set_processes(p, 8);
    sbx_policy_set_output_keep(p, GRD_REPORT_KEEP_BYTES);
    snprintf(fail_at, sizeof fail_at, "MGRT_FAIL_AT=%lu", k);
    const char *envp[] = {"PATH=/usr/bin:/bin", "LANG=C", "HOME=/tmp", "TMPDIR=/tmp",
                          default_env_token(tokenv, sizeof tokenv, token), fail_at, NULL};
    sbx_cmd cmd = {.argv = argv, .envp = envp, .stdin_data = t->stdin_data,
                   .stdin_len = t->stdin_data ? strlen(t->stdin_data) : 0, .capture_fd3 = true};
    if (sbx_run(p, c->box, &cmd, &res, err, errlen))
        goto out;
    parse_report(res.fd3.data, res.fd3.len, token, &rp, true, 1);
    if (!rp.n) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    run *r = &rp.r[0];
    const ev *inj = NULL, *crash = NULL, *retry = NULL;
    for (size_t i = 0; i < r->nev; i++) {
        const ev *e = &r->evs[i];
        if (e->type == EV_INJ && !inj)
            inj = e;
        else if (e->type == EV_ERR && !strcmp(e->kind, "retry"))
            retry = e;
        else if (e->type == EV_ERR && !crash && is_memory_kind(e->kind) && !strcmp(e->what, "fault"))
            crash = e; /* a fault; a bad free does not stop the program */
    }
    rc = 0;
    if (!inj) /* this run never came to the k-th allocation */
        goto out;
    want_run_syms(c, r);
    if (symbolize(c, err, errlen)) {
        rc = -1;
        goto out;
    }
    char injs[96], loc[96], msg[700];
    if (!student_loc(c, inj, inj->apcs, injs, sizeof injs))
        snprintf(injs, sizeof injs, "allocation #%lu of the program", k);
    msg_args m = {.kind = "unchecked_alloc_failure", .inj = injs};
    const char *where = NULL;
    json_t *stack = NULL;
    if (retry) {
        m.what = "retry";
        where = student_loc(c, retry, retry->apcs, loc, sizeof loc) ? loc : NULL;
        stack = stack_json(c, retry, retry->apcs);
    } else if (crash || res.verdict == SBX_SIGNALED) {
        m.what = "crash";
        m.crash = crash_words(crash, res.signal);
        if (crash && student_loc(c, crash, crash->pcs, loc, sizeof loc))
            where = loc;
        if (crash)
            stack = stack_json(c, crash, crash->pcs);
    } else if (res.verdict == SBX_TIME_LIMIT) {
        m.what = "hang";
    } else {
        goto out; /* the failure was handled */
    }
    /* A fault the test's own run had at the same line is that bug, not
     * the failure's doing. */
    size_t ei;
    json_t *old_e;
    json_array_foreach(json_object_get(tj, "memory_errors"), ei, old_e) {
        const char *ol = json_string_value(json_object_get(old_e, "location"));
        if (crash && where && ol && !strcmp(ol, where)) {
            json_decref(stack);
            goto out;
        }
    }
    if (!where && strncmp(injs, "allocation #", 12))
        where = injs;
    render(&m, msg, sizeof msg);
    add_error(c, errs, "unchecked_alloc_failure", msg, where, m.alloc, NULL, stack);
    /* The test fails, its entry says why. */
    json_t *e = json_array_get(errs, 0), *me = json_object_get(tj, "memory_errors");
    if (!e || !me)
        goto out;
    json_array_append(me, e);
    const char *l = json_string_value(json_object_get(e, "location"));
    const char *old = json_string_value(json_object_get(tj, "output"));
    const char *st = json_string_value(json_object_get(tj, "status"));
    sbuf fb = {0};
    sb_add(&fb, "unchecked_alloc_failure%s%s: %s\n", l ? " at " : "", l ? l : "",
           json_string_value(json_object_get(e, "message")));
    if (st && !strcmp(st, "passed"))
        sb_add(&fb, "(test: %s)", t->description ? t->description : t->name);
    else
        sb_add(&fb, "%s", old ? old : "");
    json_object_set_new(tj, "output", json_string(fb.s ? fb.s : ""));
    free(fb.s);
    json_object_set_new(tj, "score", json_real(0.0));
    if (st && !strcmp(st, "passed"))
        json_object_set_new(tj, "status", json_string("failed"));
out:
    json_decref(errs);
    report_free(&rp);
    sbx_result_free(&res);
    sbx_policy_free(p);
    return rc;
}

/* After every test ran: each allocation site of the program fails once,
 * in the first test (manifest order) that reached it, at most
 * PROG_INJ_RUNS runs a submission: a program that never checks malloc is
 * seen, without a run per allocation of every test. */
static int prog_injections(ctx *c, const char *token, json_t **outs, const prog_sites *ps,
                           char *err, size_t errlen)
{
    unsigned long seen[PROG_INJ_RUNS][NFR];
    size_t nseen = 0;
    for (size_t i = 0; i < c->a->ntests && nseen < PROG_INJ_RUNS; i++)
        for (size_t j = 0; j < ps[i].n && nseen < PROG_INJ_RUNS; j++) {
            size_t q = 0;
            while (q < nseen && memcmp(seen[q], ps[i].pcs[j], sizeof seen[q]))
                q++;
            if (q < nseen)
                continue;
            memcpy(seen[nseen++], ps[i].pcs[j], sizeof seen[0]);
            json_t *tj = json_array_get(outs[i], 0);
            if (tj && inject_program(c, &c->a->tests[i], token, ps[i].k[j], tj, err, errlen))
                return -1;
        }
    return 0;
}

static int grd_run_programs(ctx *c, const char *token, json_t *doc, char *err, size_t errlen)
{
    json_t *tests = json_object_get(doc, "tests");
    size_t n = c->a->ntests;
    prog_pool pp = {.base = c, .token = token, .next = 0, .rc = 0};
    pthread_t th[PROG_WORKERS];
    size_t started = 0;
    pp.outs = calloc(n, sizeof *pp.outs);
    pp.sites = calloc(n ? n : 1, sizeof *pp.sites);
    if (!pp.outs || !pp.sites) {
        free(pp.outs);
        free(pp.sites);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pthread_mutex_init(&pp.mu, NULL);
    for (size_t i = 0; i < n; i++)
        if (!(pp.outs[i] = json_array()))
            pp.rc = -1;
    for (size_t w = 0; !pp.rc && w < PROG_WORKERS && w < n; w++)
        if (pthread_create(&th[w], NULL, prog_worker, &pp) == 0)
            started++;
    if (!started && !pp.rc)
        prog_worker(&pp); /* no thread to be had: do it here */
    for (size_t w = 0; w < started; w++)
        pthread_join(th[w], NULL);
    if (!pp.rc && prog_injections(c, token, pp.outs, pp.sites, pp.err, sizeof pp.err))
        pp.rc = -1;
    for (size_t i = 0; i < n && !pp.rc; i++) {
        json_t *tj = json_array_get(pp.outs[i], 0);
        if (!tj)
            continue;
        json_array_append(tests, tj);
    }
    if (pp.rc)
        snprintf(err, errlen, "%s", pp.err[0] ? pp.err : "out of memory");
    for (size_t i = 0; i < n; i++)
        json_decref(pp.outs[i]);
    free(pp.outs);
    free(pp.sites);
    pthread_mutex_destroy(&pp.mu);
    return pp.rc;
}

int grd_run_tests(const grd_assignment *a, sbx_box *box, const grd_file *files, size_t nfiles,
                  const char *token, const grd_timing *tm, json_t *doc, char *err, size_t errlen)
{
    ctx *c = calloc(1, sizeof *c);
    int rc = -1;
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->a = a;
    c->box = box;
    c->files = files;
    c->nfiles = nfiles;
    c->tm = tm;
    if (a->kind == GRD_FUNCTIONS)
        rc = run_functions(c, token, doc, err, errlen);
    else
        rc = grd_run_programs(c, token, doc, err, errlen);
    if (!rc)
        doc_errors(c, doc);
    free(c);
    return rc;
}
