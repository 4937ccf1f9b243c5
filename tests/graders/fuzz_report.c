/* libFuzzer target: the runtime's report as the engine reads it. The report
 * comes out of a process running student code, so every byte of it is
 * untrusted input to the host: parse it, judge every mystr test from it (as
 * a function-level run) and check it as a whole program's (addrspace
 * lines), with sanitizers watching. Built by run_fuzz.sh with clang. */
#include "../../graders/grd_run.c"

static grd_catalog *cat;
static const grd_assignment *mystr, *addrspace;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    if (!cat) {
        cat = grd_catalog_load(MEMGRADE_SOURCE_DIR "/assignments", err, sizeof err);
        mystr = cat ? grd_catalog_find(cat, "mystr") : NULL;
        addrspace = cat ? grd_catalog_find(cat, "addrspace") : NULL;
        if (!mystr || !addrspace)
            abort();
    }
    static const char src[] = "char *str_dup(const char *s);\n";
    grd_file f = {"mystr.c", src, sizeof src - 1};
    ctx *c = calloc(1, sizeof *c);
    json_t *doc = json_pack("{s:[], s:[]}", "tests", "memory_errors");
    json_t *tests = json_object_get(doc, "tests"), *all = json_array();
    if (!c || !doc || !all)
        abort();
    c->a = mystr;
    c->files = &f;
    c->nfiles = 1;

    report rp;
    memset(&rp, 0, sizeof rp);
    size_t plan = 0;
    for (size_t i = 0; i < mystr->ntests; i++)
        plan += 2 + (mystr->tests[i].on_fail ? MAX_INJ : 0);
    parse_report((const char *)data, size, "tok", &rp, false, plan);
    if (rp.n > plan)
        abort(); /* the parser made runs nobody asked for */
    for (size_t i = 0; i < rp.n; i++)
        want_run_syms(c, &rp.r[i]); /* collected, not symbolized: no sandbox here */
    for (size_t i = 0; i < mystr->ntests; i++)
        grade_function_test(c, &mystr->tests[i], &rp, tests);
    doc_errors(c, doc);
    report_free(&rp);

    report pr;
    memset(&pr, 0, sizeof pr);
    parse_report((const char *)data, size, "tok", &pr, true, 1);
    char *text = malloc(size + 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = 0;
    sbuf fb = {0};
    bool ok = true;
    check_addrspace(&pr, text, true, &fb, &ok);
    if (pr.n)
        run_errors(c, &pr.r[0], all, err, sizeof err);
    free(fb.s);
    free(text);
    report_free(&pr);

    char *dump = json_dumps(doc, 0);
    free(dump);
    json_decref(doc);
    json_decref(all);
    free(c);
    return 0;
}
