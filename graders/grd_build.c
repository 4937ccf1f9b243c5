/* grd_build: builds /box/prog from the student's files, the runtime and the
 * assignment's driver, in two sandboxed runs: the student's files compile
 * alone, then ours join them at link time. What does not
 * change per submission (runtime, driver) is compiled once and its objects
 * kept in a cache keyed by the hash of their sources and flags, so a grade
 * compiles only the student's files and links. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grd_int.h"

#define OBJ_MAX (4u << 20)
#define SRC_MAX (1u << 20)

/* Students: what the course expects (-g for lines, frame pointers for the
 * runtime's stack walks, -O0 so lines match the source). */
/* -ftrivial-auto-var-init=pattern: a local the student never sets holds
 * 0xFE.. bytes, so a pointer used uninitialized is a non-canonical address
 * that faults every time (wild_access), never a stale NULL or a valid
 * address left by an earlier call. Warnings about it are still given. */
/* Each file is compiled to assembly (s0.s), which the engine reads for what
 * a submission may not contain (check_assembly), then assembled: cheaper
 * than -save-temps, which runs the preprocessor apart. */
static const char *const stu_argv[] = {"/usr/bin/gcc", "-std=gnu17", "-g", "-O0",
    "-fno-omit-frame-pointer", "-ftrivial-auto-var-init=pattern", "-Wall", "-Wextra",
    "-fdiagnostics-color=never", "-S"};
#define N_STU_ARGV (sizeof stu_argv / sizeof stu_argv[0])
/* No function reordering: every function of ours stays in .text between
 * the markers (no .text.startup, .text.unlikely), which is how the runtime
 * tells its own code from the student's. */
#define RT_FLAGS "-std=gnu17 -g -O2 -fno-omit-frame-pointer -fno-reorder-functions " \
                 "-fno-reorder-blocks-and-partition -w"
/* -fno-keep-static-consts: the driver built for visible tests only must not
 * carry the hidden tests' constant inputs either. */
#define DRV_FLAGS "-std=gnu17 -g -O0 -fno-omit-frame-pointer -fno-reorder-functions " \
                  "-fno-keep-static-consts -w"

/* The objects linked around the student's, in link order: the runtime
 * before the student's objects, the student's between the two markers. */
typedef struct {
    const char *obj, *src, *flags;
    int kinds;           /* bit GRD_FUNCTIONS / GRD_PROGRAM */
    bool driver;
    bool visible;        /* the driver of the visible tests alone (grd_split) */
} rt_obj;

#define K_FN (1 << GRD_FUNCTIONS)
#define K_PROG (1 << GRD_PROGRAM)
static const rt_obj rt_objs[] = {
    {"rt0.o", "mgrt_mark.c", "-O0 -w -DMGRT_MARK_RT", K_FN | K_PROG, false, false},
    {"mgrt.o", "mgrt_all.c", RT_FLAGS, K_FN, false, false},
    {"mgrt.o", "mgrt.c", RT_FLAGS " -DMGRT_UNITY", K_PROG, false, false},
    {"drv0.o", "mgrt_mark.c", "-O0 -w -DMGRT_MARK_DRIVER", K_FN, false, false},
    {"driver.o", NULL, DRV_FLAGS, K_FN, true, false},
    /* -O1: at -O0 gcc still emits the hidden tests' unused static functions,
     * and with them their inputs. */
    {"drvvis.o", NULL, DRV_FLAGS " -O1 -DMGT_SELECT", K_FN, true, true},
    {"mark0.o", "mgrt_mark.c", "-O0 -w", K_FN | K_PROG, false, false},
    {"mark1.o", "mgrt_mark.c", "-O0 -w -DMGRT_MARK_END", K_FN | K_PROG, false, false},
};
#define N_RT (sizeof rt_objs / sizeof rt_objs[0])

static const char *const rt_sources[] = {"mgrt.c", "mgrt_srv.c", "mgrt_all.c", "mgrt_mark.c",
                                         "mgrt_filter.c", "mgrt_led.c", "mgrt_insn.c", "mgrt_int.h",
                                         "mgt.h"};
#define N_RT_SRC (sizeof rt_sources / sizeof rt_sources[0])

/* C library functions the runtime and drivers call. A submission that
 * defines one of them would run its own code inside ours (a write() that
 * drops the runtime's reports, a strcmp that lies to the driver): the
 * linker is asked to trace each, and a definition outside the C library
 * and our objects is refused. */
static const char *const reserved[] = {
    "write", "read", "close", "fcntl", "pipe", "fork", "waitpid", "wait4", "kill", "raise",
    "_exit", "exit", "atexit", "abort", "mmap", "munmap", "mprotect", "madvise", "mremap",
    "sbrk", "brk", "sysconf", "getrlimit", "setrlimit", "getauxval", "dlsym", "sigaltstack",
    "sigemptyset", "sigaddset", "sigprocmask", "sigtimedwait", "clock_gettime",
    "pthread_mutex_lock", "pthread_mutex_unlock", "__errno_location", "__stack_chk_fail",
    "__libc_start_main", "getenv", "unsetenv", "memcpy", "memmove", "memset", "memcmp", "memchr",
    "strlen", "strnlen", "strcmp", "strncmp", "strchr", "strrchr", "strstr", "strcpy", "strncpy",
    "strcat", "strncat", "strtok", "strtol", "strtoul", "atoi", "snprintf", "vsnprintf",
    "sprintf", "vsprintf", "printf", "vprintf", "fprintf", "vfprintf", "puts", "fputs", "fwrite",
    "fflush", "sscanf", "__isoc99_sscanf", "dup2", "open", "pipe2", "poll", "setpgid",
    "sigdelset", "sigaction", "sigprocmask", "pthread_sigmask", "pthread_getattr_default_np",
    "pthread_setattr_default_np", "pthread_attr_setguardsize", "pthread_attr_destroy",
    "clock_getcpuclockid", "dl_iterate_phdr", "dup3", "getpid",
};

/* C library functions a submission may not call: the lecture's rule ("never
 * use brk()/sbrk() directly") and everything that reaches around the
 * instrumented allocator or the runtime's checks (graders/INTEGRITY.md). */
static const char *const refused[] = {
    "brk", "sbrk", "mmap", "mmap64", "munmap", "mremap", "mprotect", "pkey_mprotect",
    "remap_file_pages", "madvise", "syscall", "seccomp", "dlsym", "dlvsym", "dlopen", "dlmopen",
};
#define N_REFUSED (sizeof refused / sizeof refused[0])
#define N_RESERVED (sizeof reserved / sizeof reserved[0])

/* "-Wl,-ywrite,-yread,...": ld prints "FILE: definition of NAME" and
 * "FILE: reference to NAME" lines. */
static void trace_flag(char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "-Wl");
    for (size_t i = 0; i < N_RESERVED && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, ",-y%s", reserved[i]);
    for (size_t i = 0; i < N_REFUSED && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, ",-y%s", refused[i]);
}

static bool is_refused(const char *name)
{
    for (size_t i = 0; i < N_REFUSED; i++)
        if (!strcmp(refused[i], name))
            return true;
    return false;
}

/* Whether the file named in ld's output ("/usr/bin/ld: s0.o") is one of
 * the student's objects. */
static bool student_object(const char *file)
{
    const char *sp = strrchr(file, ' ');
    file = sp ? sp + 1 : file;
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    return base[0] == 's' && isdigit((unsigned char)base[1]) && strstr(base, ".o") &&
           !strstr(file, "/usr/lib/");
}

/* Removes the trace lines from the output. Returns the first name a file
 * of the student's defines that the runtime relies on (*refd false), or
 * calls that it may not (*refd true), copied into name; or false. */
static bool reserved_defined(char *out, size_t *len, char *name, size_t cap, bool *refd)
{
    bool found = false;
    size_t w = 0;
    for (size_t r = 0; out && r < *len;) {
        char *nl = memchr(out + r, '\n', *len - r);
        size_t l = nl ? (size_t)(nl - (out + r)) + 1 : *len - r;
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(l < sizeof line ? l : sizeof line - 1), out + r);
        char *def = strstr(line, ": definition of "), *ref = strstr(line, ": reference to ");
        if (def || ref) {
            char *mark = def ? def : ref;
            *mark = 0;
            const char *sym = mark + (def ? 16 : 15);
            char nm[128];
            snprintf(nm, sizeof nm, "%.*s", (int)strcspn(sym, "\r\n"), sym);
            if (!found && student_object(line) && (def || is_refused(nm))) {
                snprintf(name, cap, "%.*s", (int)cap - 1, nm);
                *refd = !def || is_refused(nm);
                found = true;
            }
        } else {
            memmove(out + w, out + r, l);
            w += l;
        }
        r += l;
    }
    if (out) {
        *len = w;
        out[w] = 0;
    }
    return found;
}

static bool wanted(const grd_assignment *a, const rt_obj *o)
{
    return (o->kinds & (1 << a->kind)) != 0 && (!o->visible || grd_split(a));
}

/* The link line between gcc and the student's objects, in rt_objs order:
 * with the whole driver, or (visible) with the visible tests' alone. */
static size_t link_objs(const grd_assignment *a, bool visible, const char **out)
{
    size_t n = 0;
    for (size_t i = 0; i < N_RT; i++)
        if (wanted(a, &rt_objs[i]) && strcmp(rt_objs[i].obj, "mark1.o") &&
            (!rt_objs[i].driver || rt_objs[i].visible == visible))
            out[n++] = rt_objs[i].obj;
    return n;
}

bool grd_split(const grd_assignment *a)
{
    size_t vis = 0;
    for (size_t i = 0; i < a->ntests; i++)
        vis += !strcmp(a->tests[i].visibility, "visible");
    return a->kind == GRD_FUNCTIONS && vis && vis < a->ntests;
}

/* The driver's test table, cut down to the visible tests: each test's
 * MGT_PICK_ macro (mgt.h) keeps it or leaves a hole. Quoted for sh. */
static int pick_flags(const grd_assignment *a, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    for (size_t i = 0; i < a->ntests; i++) {
        int w = snprintf(out + n, cap - n, " '-DMGT_PICK_%s(f)=%s'", a->tests[i].name,
                         !strcmp(a->tests[i].visibility, "visible") ? "{#f,f}" : "{\"\",0}");
        if (w < 0 || (size_t)w >= cap - n)
            return -1;
        n += (size_t)w;
    }
    return 0;
}

uint64_t grd_fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 0x100000001b3ull;
    return h;
}

typedef struct {
    char *name, *data;
    size_t len;
} blob;

static void blobs_free(blob *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(b[i].name);
        free(b[i].data);
    }
}

/* Our sources for the box: runtime, driver, headers. */
static int load_sources(const grd_assignment *a, blob *out, size_t *n, uint64_t *key,
                        char *err, size_t errlen)
{
    char path[4096];
    uint64_t h = 0xcbf29ce484222325ull;
    *n = 0;
    for (size_t i = 0; i < N_RT; i++) /* every object's flags */
        h = grd_fnv(h, rt_objs[i].flags, strlen(rt_objs[i].flags) + 1);
    h = grd_fnv(h, &a->kind, sizeof a->kind);
    for (size_t i = 0; i < a->ntests; i++) { /* which tests the visible driver keeps */
        h = grd_fnv(h, a->tests[i].name, strlen(a->tests[i].name) + 1);
        h = grd_fnv(h, a->tests[i].visibility, strlen(a->tests[i].visibility) + 1);
    }
    for (size_t i = 0; i < N_RT_SRC + 1 + a->nheaders; i++) {
        const char *name;
        if (i < N_RT_SRC) {
            name = rt_sources[i];
            snprintf(path, sizeof path, "%s/%s", grd_rt_dir(), name);
        } else if (i == N_RT_SRC) {
            if (a->kind != GRD_FUNCTIONS)
                continue;
            name = a->driver;
            snprintf(path, sizeof path, "%s/%s", a->dir, name);
        } else {
            name = a->headers[i - N_RT_SRC - 1];
            snprintf(path, sizeof path, "%s/%s", a->dir, name);
        }
        blob *b = &out[(*n)++];
        b->name = strdup(i == N_RT_SRC ? "driver.c" : name);
        int r = grd_read_file(path, SRC_MAX, &b->data, &b->len);
        if (!b->name || r) {
            snprintf(err, errlen, "%s: %s", path, r ? strerror(-r) : "out of memory");
            return -1;
        }
        h = grd_fnv(h, b->name, strlen(b->name) + 1);
        h = grd_fnv(h, b->data, b->len);
    }
    *key = h;
    return 0;
}

const char *grd_cache_dir(void)
{
    const char *d = getenv("MEMGRADE_CACHE");
    return d && *d ? d : "/tmp/memgrade-cache";
}

/* Objects from the cache are linked into every program we grade: the
 * folder must be ours and writable by nobody else, or someone could plant
 * a runtime of their own (a /tmp path is guessable). */
bool grd_trusted_dir(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode) && sb.st_uid == geteuid() &&
           !(sb.st_mode & 022);
}

/* Objects from the cache, all or nothing. */
static bool cache_get(const grd_assignment *a, uint64_t key, blob *objs)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%016llx", grd_cache_dir(), (unsigned long long)key);
    if (!grd_trusted_dir(grd_cache_dir()) || !grd_trusted_dir(path))
        return false;
    for (size_t i = 0; i < N_RT; i++) {
        if (!wanted(a, &rt_objs[i]))
            continue;
        snprintf(path, sizeof path, "%s/%016llx/%s", grd_cache_dir(), (unsigned long long)key,
                 rt_objs[i].obj);
        if (grd_read_file(path, OBJ_MAX, &objs[i].data, &objs[i].len))
            return false;
    }
    return true;
}

/* Each object is written under a temporary name and renamed, so concurrent
 * graders see a whole file or none. */
static void cache_put(const grd_assignment *a, uint64_t key, sbx_box *box)
{
    char dir[4096], tmp[4200], dst[4200];
    mkdir(grd_cache_dir(), 0700);
    snprintf(dir, sizeof dir, "%s/%016llx", grd_cache_dir(), (unsigned long long)key);
    mkdir(dir, 0700);
    if (!grd_trusted_dir(grd_cache_dir()) || !grd_trusted_dir(dir))
        return; /* not ours: build every time rather than trust it */
    for (size_t i = 0; i < N_RT; i++) {
        char *data = NULL;
        size_t len = 0;
        if (!wanted(a, &rt_objs[i]) || sbx_box_read(box, rt_objs[i].obj, OBJ_MAX, &data, &len))
            continue;
        snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, rt_objs[i].obj);
        snprintf(dst, sizeof dst, "%s/%s", dir, rt_objs[i].obj);
        int fd = mkostemp(tmp, O_CLOEXEC); /* unique across threads and processes */
        if (fd >= 0) {
            bool ok = write(fd, data, len) == (ssize_t)len;
            close(fd);
            if (!ok || rename(tmp, dst))
                unlink(tmp);
        }
        free(data);
    }
}

static int append(char *s, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int append(char *s, size_t cap, const char *fmt, ...)
{
    size_t n = strlen(s);
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(s + n, cap - n, fmt, ap);
    va_end(ap);
    return r < 0 || (size_t)r >= cap - n ? -1 : 0;
}

/* Appends len bytes of text to the build's output. 0, or -1 out of memory
 * (the output is then left as it was). */
static int add_text(grd_build *out, const char *text, size_t len)
{
    if (!len)
        return 0;
    char *n = realloc(out->output, out->output_len + len + 1);
    if (!n)
        return -1;
    memcpy(n + out->output_len, text, len);
    out->output_len += len;
    n[out->output_len] = 0;
    out->output = n;
    return 0;
}

/* Appends a run's stderr then stdout (gcc's diagnostics, then ld's trace
 * lines). 0, or -1 out of memory. */
static int take_output(grd_build *out, const sbx_result *res)
{
    return add_text(out, res->err.data, res->err.len) ||
           add_text(out, res->out.data, res->out.len) ? -1 : 0;
}

/* Removes a file from the box, if there. */
static void box_rm(sbx_box *box, const char *name)
{
    char path[4200];
    if (snprintf(path, sizeof path, "%s/%s", sbx_box_path(box), name) < (int)sizeof path)
        unlink(path);
}

/* Leaves only the programs in the box: the tests must not find the driver
 * (hidden tests' inputs), our sources or objects there. */
static void box_clean(const grd_assignment *a, sbx_box *box, const grd_file *files,
                      size_t nfiles, const blob *src, size_t nsrc)
{
    char name[32];
    for (size_t i = 0; i < nfiles; i++) {
        box_rm(box, files[i].name);
        for (const char *ext = "oswu"; *ext; ext++) {
            snprintf(name, sizeof name, "s%zu.%c", i, *ext);
            box_rm(box, name);
        }
    }
    for (size_t i = 0; i < nsrc; i++)
        box_rm(box, src[i].name);
    for (size_t i = 0; i < N_RT; i++)
        if (wanted(a, &rt_objs[i]))
            box_rm(box, rt_objs[i].obj);
    box_rm(box, "l0.log");
    box_rm(box, "l1.log");
}

/* What the assembly of a student's file may not hold (gcc wrote it with
 * -S): inline assembly, and code that runs before main or after
 * it ends (constructors, destructors, init/fini sections, ifunc resolvers)
 * run in the fork server, where no code of the student's may ever run.
 * Returns 1 with why filled, 0, or -1 out of memory. */
static const struct {
    const char *needle, *why;
} asm_refused[] = {
    {"#APP", "uses inline assembly (asm): a submission is written in C"},
    {".init_array", "defines a constructor (code that runs before main): tests call your functions"},
    {".preinit_array", "defines code that runs before main: tests call your functions"},
    {".fini_array", "defines a destructor (code that runs after main): tests call your functions"},
    {".ctors", "defines a constructor (code that runs before main): tests call your functions"},
    {".dtors", "defines a destructor (code that runs after main): tests call your functions"},
    {"@gnu_indirect_function", "defines an ifunc resolver (code that runs before main)"},
    {".section\t.init,", "puts code in the .init section (it runs before main)"},
    {".section\t.fini,", "puts code in the .fini section (it runs after main)"},
    {".symver", "renames symbol versions"},
};

/* What the compiler made of file i in the box (s<i>.<ext>): 0 with *text
 * (free it), 1 with why filled when it cannot be read, -1 out of memory. */
static int compiler_output(sbx_box *box, const grd_file *files, size_t i, const char *ext,
                           char **text, size_t *len, char *why, size_t cap)
{
    char name[32];
    snprintf(name, sizeof name, "s%zu.%s", i, ext);
    *text = NULL;
    *len = 0;
    int r = sbx_box_read(box, name, 64u << 20, text, len);
    if (r == -ENOMEM)
        return -1;
    if (r) {
        snprintf(why, cap, "\nerror: %s: the compiler's output could not be checked (%s)",
                 files[i].name, strerror(-r));
        return 1;
    }
    return 0;
}

static int check_assembly(sbx_box *box, const grd_file *files, size_t nfiles, char *why,
                          size_t cap)
{
    for (size_t i = 0; i < nfiles; i++) {
        char *text;
        size_t len;
        int r = compiler_output(box, files, i, "s", &text, &len, why, cap);
        if (r)
            return r;
        for (size_t j = 0; j < sizeof asm_refused / sizeof asm_refused[0]; j++)
            if (memmem(text, len, asm_refused[j].needle, strlen(asm_refused[j].needle))) {
                snprintf(why, cap, "\nerror: %s %s.", files[i].name, asm_refused[j].why);
                free(text);
                return 1;
            }
        free(text);
    }
    return 0;
}

/* A whole program's comparisons reach the runtime through
 * -fsanitize-coverage=trace-cmp; gcc lets a function opt out of it
 * (no_sanitize_coverage, no_sanitize(...)), and a macro can paste that
 * name together out of pieces no search of the source finds. The
 * preprocessed text (s0.i) holds the pasted name: any spelling of
 * no_sanitize in a part of it that does not come from a system header is
 * refused. Returns 1 with why filled, 0, or -1 out of memory. */
static int check_preprocessed(sbx_box *box, const grd_file *files, size_t nfiles, char *why,
                              size_t cap)
{
    for (size_t i = 0; i < nfiles; i++) {
        char *text;
        size_t len;
        int r = compiler_output(box, files, i, "i", &text, &len, why, cap);
        if (r)
            return r;
        /* Line markers: # LINE "FILE" FLAGS, flag 3 for a system header. */
        bool sys = false, bad = false;
        for (size_t at = 0; at < len && !bad;) {
            char *nl = memchr(text + at, '\n', len - at);
            size_t l = nl ? (size_t)(nl - (text + at)) : len - at;
            const char *line = text + at;
            if (l > 2 && line[0] == '#' && line[1] == ' ' && line[2] >= '0' && line[2] <= '9') {
                const char *q = memchr(line, '"', l), *e = NULL;
                for (const char *c = q ? q + 1 : NULL; c && c < line + l; c++)
                    if (*c == '\\')
                        c++;
                    else if (*c == '"') {
                        e = c;
                        break;
                    }
                sys = false;
                for (const char *c = e ? e + 1 : line + l; c < line + l; c++)
                    if (*c == '3' && c[-1] == ' ' && (c + 1 == line + l || c[1] == ' '))
                        sys = true; /* a flag of its own, not a digit of one */
            } else if (!sys && memmem(line, l, "no_sanitize", 11)) {
                bad = true;
            }
            at += l + 1;
        }
        free(text);
        if (bad) {
            snprintf(why, cap, "\nerror: %s turns the checker off for some of its code "
                               "(a no_sanitize attribute): a submission is checked whole.",
                     files[i].name);
            return 1;
        }
    }
    return 0;
}

/* The linker names the driver's functions (hidden tests among them) when
 * a submission lacks a function they call: say which function is missing,
 * never where the tests are. The driver's lines go; 0, or -1 out of memory
 * (the output is then left as it was). */
static int hide_driver_lines(grd_build *out)
{
    char *o = out->output, *nb = malloc(out->output_len + 1);
    size_t w = 0, n = out->output_len;
    char said[1024] = "";
    if (!o)
        return 0;
    if (!nb)
        return -1;
    for (size_t r = 0; r < n;) {
        char *nl = memchr(o + r, '\n', n - r);
        size_t l = nl ? (size_t)(nl - (o + r)) + 1 : n - r;
        char line[600];
        snprintf(line, sizeof line, "%.*s", (int)(l < sizeof line ? l : sizeof line - 1), o + r);
        if (!strstr(line, "driver.") && !strstr(line, "drvvis.")) {
            memcpy(nb + w, o + r, l);
            w += l;
        } else {
            char *u = strstr(line, "undefined reference to `");
            char fn[128], key[140];
            if (u && sscanf(u + 24, "%127[^']", fn) == 1 &&
                snprintf(key, sizeof key, " %s ", fn) > 0 && !strstr(said, key) &&
                strlen(said) + strlen(key) < sizeof said) {
                strcat(said, key);
                char msg[300];
                int m = snprintf(msg, sizeof msg, "error: the tests call %s, which the "
                                 "submission does not define\n", fn);
                char *g = m > 0 ? realloc(nb, out->output_len + w + (size_t)m + 1) : NULL;
                if (!g) {
                    free(nb);
                    return -1;
                }
                nb = g;
                memcpy(nb + w, msg, (size_t)m);
                w += (size_t)m;
            }
        }
        r += l;
    }
    nb[w] = 0;
    free(out->output);
    out->output = nb;
    out->output_len = w;
    return 0;
}

int grd_seal(sbx_box *box, const char *name, int mode)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", sbx_box_path(box), name);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat sb;
    int rc = 0;
    if (fstat(fd, &sb) || !S_ISREG(sb.st_mode))
        rc = -EINVAL;
    else if (fchown(fd, 0, 0) || fchmod(fd, (mode_t)mode))
        rc = -errno;
    close(fd);
    return rc;
}

int grd_build_program(const grd_assignment *a, sbx_box *box, const grd_file *files,
                      size_t nfiles, grd_build *out, char *err, size_t errlen)
{
    blob src[N_RT_SRC + 1 + 64], objs[N_RT];
    size_t nsrc = 0;
    uint64_t key = 0;
    int rc = -1, r;
    sbx_policy *pol = NULL;
    sbx_result res;
    char *script = NULL;
    const size_t scap = 16384;
    memset(src, 0, sizeof src);
    memset(objs, 0, sizeof objs);
    memset(&res, 0, sizeof res);
    memset(out, 0, sizeof *out);

    if (load_sources(a, src, &nsrc, &key, err, errlen))
        goto out;
    bool cached = cache_get(a, key, objs);
    script = calloc(1, scap);
    pol = sbx_policy_new("compile");
    if (!script || !pol) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    sbx_policy_set_output_keep(pol, 256 * 1024);

    /* Phase 1: the student's files are compiled in a box that holds them
     * and the assignment's public headers, nothing of ours: what the
     * compiler can read (#include, asm(".incbin")) the student may see, and
     * the driver holds the hidden tests' inputs. Exit 1 (10 from the
     * script): the student's files do not compile. */
    for (size_t i = 0; i < nfiles; i++)
        if ((r = sbx_box_write(box, files[i].name, files[i].data, files[i].len)))
            goto box_fail;
    for (size_t i = N_RT_SRC + (a->kind == GRD_FUNCTIONS); i < nsrc; i++)
        if ((r = sbx_box_write(box, src[i].name, src[i].data, src[i].len)))
            goto box_fail;
    const char *argv_sh[] = {"/bin/sh", "-c", script, NULL};
    const char *const *argv = argv_sh;
    append(script, scap, "ok=1\n");
    for (size_t i = 0; i < nfiles; i++) {
        for (size_t j = 0; j < N_STU_ARGV; j++) /* the same flags for every file */
            append(script, scap, "%s ", stu_argv[j]);
        /* A whole program's comparisons go through the runtime, which
         * names those on never-set values (mgrt.c, cmp_hit). */
        if (a->kind == GRD_PROGRAM)
            append(script, scap, "-fsanitize-coverage=trace-cmp ");
        append(script, scap, "'%s' -o s%zu.s >s%zu.w 2>&1 && gcc -c s%zu.s -o s%zu.o 2>&1 ",
               files[i].name, i, i, i, i);
        /* The comparisons the C library makes for a whole program, and
         * what it writes to files, go through the runtime too (mgrt.c,
         * mgrt_memcmp, mgrt_write): the file's own references are renamed,
         * function pointers to them included. */
        if (a->kind == GRD_PROGRAM)
            append(script, scap, "&& objcopy --redefine-sym memcmp=mgrt_memcmp "
                   "--redefine-sym bcmp=mgrt_bcmp --redefine-sym strcmp=mgrt_strcmp "
                   "--redefine-sym strncmp=mgrt_strncmp --redefine-sym write=mgrt_write "
                   "--redefine-sym fwrite=mgrt_fwrite s%zu.o ", i);
        append(script, scap, "|| ok=0; cat s%zu.w\n", i);
        /* The same file preprocessed, for what no text search of the
         * source would find (check_preprocessed). */
        if (a->kind == GRD_PROGRAM)
            append(script, scap, "%s -std=gnu17 -E '%s' -o s%zu.i 2>/dev/null &\n", stu_argv[0],
                   files[i].name, i);
        /* gcc finds more locals read before they are set with its
         * optimizer's data flow (an accumulator never zeroed is one at -O1
         * only): its definite "is used uninitialized" there, not already
         * said at -O0, joins the output (grd_grade.c, uninit_locals).
         * Without inlining, or it would name the caller's line. No code
         * comes of it; it runs beside the assembler. */
        append(script, scap, "%s -std=gnu17 -O1 -fno-inline -Wuninitialized -fdiagnostics-color=never -S "
               "-o /dev/null '%s' 2>&1 | grep -F ' is used uninitialized' | grep -vxF -f s%zu.w "
               ">s%zu.u &\n", stu_argv[0], files[i].name, i, i);
    }
    append(script, scap, "wait\n");
    for (size_t i = 0; i < nfiles; i++)
        append(script, scap, "[ $ok = 1 ] && cat s%zu.u\n", i);
    if (append(script, scap, "[ $ok = 1 ] || exit 10\n")) {
        snprintf(err, errlen, "build script too long");
        goto out;
    }
    sbx_cmd cmd = {.argv = argv};
    if (sbx_run(pol, box, &cmd, &res, err, errlen))
        goto out;
    if (take_output(out, &res))
        goto oom;
    if (res.verdict != SBX_OK)
        goto verdict;
    char why[400];
    int chk = check_assembly(box, files, nfiles, why, sizeof why);
    if (chk == 0 && a->kind == GRD_PROGRAM)
        chk = check_preprocessed(box, files, nfiles, why, sizeof why);
    if (chk < 0)
        goto oom;
    if (chk > 0) {
        add_text(out, why, strlen(why));
        box_clean(a, box, files, nfiles, src, nsrc);
        rc = 0;
        goto out;
    }
    sbx_result_free(&res);
    memset(&res, 0, sizeof res);

    /* Phase 2: our objects (or sources, to compile once and cache) join the
     * student's, and the linker puts them together: prog with the whole
     * driver and, when the tests are split (grd_split), prog_vis with the
     * visible tests' driver. Exit 11: they do not link; 12: ours did not
     * compile (our failure, on stderr). */
    for (size_t i = 0; i < nsrc; i++)
        if (!cached && (r = sbx_box_write(box, src[i].name, src[i].data, src[i].len)))
            goto box_fail;
    for (size_t i = 0; cached && i < N_RT; i++)
        if (wanted(a, &rt_objs[i]) &&
            (r = sbx_box_write(box, rt_objs[i].obj, objs[i].data, objs[i].len)))
            goto box_fail;
    char trace[2048], picks[8192];
    trace_flag(trace, sizeof trace);
    if (grd_split(a) && pick_flags(a, picks, sizeof picks)) {
        snprintf(err, errlen, "build script too long");
        goto out;
    }
    script[0] = 0;
    if (!cached)
        for (size_t i = 0; i < N_RT; i++)
            if (wanted(a, &rt_objs[i]))
                append(script, scap, "gcc %s%s -I. -c %s -o %s >&2 2>&1 || exit 12\n",
                       rt_objs[i].flags, rt_objs[i].visible ? picks : "",
                       rt_objs[i].driver ? "driver.c" : rt_objs[i].src, rt_objs[i].obj);
    if (!cached && grd_split(a)) {
        /* Checked once, before it is cached: the visible tests' driver
         * defines no other test's function. */
        append(script, scap, "if nm drvvis.o | grep -E ' [tT] (x");
        for (size_t i = 0; i < a->ntests; i++)
            if (strcmp(a->tests[i].visibility, "visible"))
                append(script, scap, "|%s", a->tests[i].name);
        append(script, scap, ")$' >&2; then exit 13; fi\n");
    }
    /* The two links run at once; the whole driver's first, with the trace
     * of reserved names, and its messages are the ones shown. */
    for (int vis = 0; vis <= (int)grd_split(a); vis++) {
        const char *lo[N_RT];
        size_t nlo = link_objs(a, vis, lo);
        append(script, scap, "gcc -g -o %s", vis ? "prog_vis" : "prog");
        for (size_t i = 0; i < nlo; i++)
            append(script, scap, " %s", lo[i]);
        for (size_t i = 0; i < nfiles; i++)
            append(script, scap, " s%zu.o", i);
        append(script, scap, " mark1.o %s >l%d.log 2>&1 %s\n", vis ? "" : trace, vis,
               grd_split(a) && !vis ? "& p=$!" : "");
    }
    if (grd_split(a))
        append(script, scap, "r1=$?; wait $p; r0=$?; cat l0.log; [ $r0 = 0 ] && cat l1.log\n"
                             "[ $r0 = 0 ] && [ $r1 = 0 ] || exit 11\n");
    else
        append(script, scap, "r0=$?; cat l0.log; [ $r0 = 0 ] || exit 11\n");
    if (strlen(script) + 1 >= scap) {
        snprintf(err, errlen, "build script too long");
        goto out;
    }
    cmd.argv = argv_sh;
    if (sbx_run(pol, box, &cmd, &res, err, errlen))
        goto out;
    if (getenv("MEMGRADE_DEBUG_REPORT")) /* for people debugging a driver */
        fprintf(stderr, "[link: %s]\n%s\n%s\n", res.detail, res.err.data ? res.err.data : "",
                res.out.data ? res.out.data : "");
    if (take_output(out, &res) || hide_driver_lines(out))
        goto oom;

verdict:;
    char bad[64];
    bool refd = false;
    if (reserved_defined(out->output, &out->output_len, bad, sizeof bad, &refd) &&
        res.verdict == SBX_OK) {
        char msg[400];
        if (refd)
            snprintf(msg, sizeof msg, "%serror: the submission calls %s(), which it may not: "
                     "memory comes from malloc, calloc and realloc (never brk/sbrk/mmap "
                     "directly), and the grader's checks stay as they are.",
                     out->output_len ? "\n" : "", bad);
        else
            snprintf(msg, sizeof msg, "%serror: the submission defines %s(), a C library "
                     "function the grader relies on: give yours another name.",
                     out->output_len ? "\n" : "", bad);
        add_text(out, msg, strlen(msg));
        if (!cached)
            cache_put(a, key, box);
        box_clean(a, box, files, nfiles, src, nsrc);
        rc = 0;
    } else if (res.verdict == SBX_OK) {
        if (!cached)
            cache_put(a, key, box);
        box_clean(a, box, files, nfiles, src, nsrc);
        for (int vis = 0; vis <= (int)grd_split(a); vis++)
            if ((r = grd_seal(box, vis ? "prog_vis" : "prog", 0111)))
                goto box_fail;
        rc = 1;
    } else if (res.verdict == SBX_RUNTIME_ERROR && res.exit_code == 13) {
        snprintf(err, errlen, "the visible tests' driver still holds a hidden test: %.300s",
                 res.err.data ? res.err.data : "");
    } else if (res.verdict == SBX_RUNTIME_ERROR && res.exit_code == 12) {
        snprintf(err, errlen, "the grader's runtime or driver did not compile: %.300s",
                 res.err.data ? res.err.data : "");
    } else if (res.verdict == SBX_RUNTIME_ERROR && (res.exit_code == 10 || res.exit_code == 11)) {
        const char *hint = NULL;
        if (out->output && res.exit_code == 11) {
            if (strstr(out->output, "multiple definition of `main'"))
                hint = "\nnote: the grader supplies main() for this assignment: remove yours.";
            else if (strstr(out->output, "multiple definition of"))
                hint = "\nnote: memgrade supplies malloc, free and the rest of the memory API "
                       "(and signal handling); a submission may not define them.";
        }
        if (hint)
            add_text(out, hint, strlen(hint));
        rc = 0;
    } else {
        /* The compiler itself was stopped: too slow, too big, or it tried
         * something the sandbox forbids (a hostile #include). */
        char msg[300];
        snprintf(msg, sizeof msg, "%scompilation stopped: %s",
                 out->output_len ? "\n" : "", res.detail[0] ? res.detail : sbx_verdict_name(res.verdict));
        add_text(out, msg, strlen(msg));
        rc = 0;
    }
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
    goto out;
box_fail:
    snprintf(err, errlen, "cannot write into the box: %s", strerror(-r));
out:
    blobs_free(src, nsrc);
    blobs_free(objs, N_RT);
    free(script);
    sbx_result_free(&res);
    sbx_policy_free(pol);
    return rc;
}

void grd_build_free(grd_build *b)
{
    free(b->output);
    b->output = NULL;
}
