/* Tests of the manifest loader (graders/DRIVER.md §1) and the readable
 * report, through grd.h: a table of manifests, each loaded from a fresh
 * folder, with whether it must load and what the error must name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grd.h"

static int failures;

#define CHECK(cond, ...)                                  \
    do {                                                  \
        if (!(cond)) {                                    \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);   \
            printf(__VA_ARGS__);                          \
            printf("\n");                                 \
            failures++;                                   \
        }                                                 \
    } while (0)

#define T_OK "{\"name\":\"t1\",\"points\":2,\"expect\":{\"k\":\"v\"}}"

static const struct {
    const char *what, *manifest;
    int loads;          /* 1: loads; 0: refused */
    const char *err;    /* part of the message when refused */
    double max;         /* max_score when it loads */
} cases[] = {
    {"minimal functions", "{\"name\":\"a\",\"kind\":\"functions\",\"files\":[\"a.c\"],\"driver\":\"d.c\",\"tests\":[" T_OK "]}", 1, NULL, 2},
    {"program with options", "{\"name\":\"a\",\"kind\":\"program\",\"files\":[\"a.c\"],\"tests\":[{\"name\":\"x\",\"points\":1.5,\"args\":[\"1\"],\"expect_exit\":0,\"check\":\"addrspace\",\"min_peak_rss_mb\":1}]}", 1, NULL, 1.5},
    {"not json", "{\"name\":", 0, "manifest.json", 0},
    {"not an object", "[1,2]", 0, "not an object", 0},
    {"name differs from folder", "{\"name\":\"b\",\"kind\":\"functions\",\"files\":[\"a.c\"],\"driver\":\"d.c\",\"tests\":[" T_OK "]}", 0, "folder", 0},
    {"unknown kind", "{\"name\":\"a\",\"kind\":\"script\",\"files\":[\"a.c\"],\"tests\":[" T_OK "]}", 0, "kind", 0},
    {"functions without driver", "{\"name\":\"a\",\"kind\":\"functions\",\"files\":[\"a.c\"],\"tests\":[" T_OK "]}", 0, "driver", 0},
    {"file not .c", "{\"name\":\"a\",\"kind\":\"program\",\"files\":[\"a.py\"],\"tests\":[" T_OK "]}", 0, ".c", 0},
    {"path in file name", "{\"name\":\"a\",\"kind\":\"program\",\"files\":[\"../a.c\"],\"tests\":[" T_OK "]}", 0, "files", 0},
    {"no tests", "{\"name\":\"a\",\"kind\":\"program\",\"files\":[\"a.c\"],\"tests\":[]}", 0, "tests", 0},
    {"zero points", "{\"name\":\"a\",\"kind\":\"functions\",\"files\":[\"a.c\"],\"driver\":\"d.c\",\"tests\":[{\"name\":\"x\",\"points\":0,\"expect\":{}}]}", 0, "points", 0},
    {"bad visibility", "{\"name\":\"a\",\"kind\":\"functions\",\"files\":[\"a.c\"],\"driver\":\"d.c\",\"tests\":[{\"name\":\"x\",\"points\":1,\"visibility\":\"secret\",\"expect\":{}}]}", 0, "visibility", 0},
    {"expect not strings", "{\"name\":\"a\",\"kind\":\"functions\",\"files\":[\"a.c\"],\"driver\":\"d.c\",\"tests\":[{\"name\":\"x\",\"points\":1,\"expect\":{\"k\":1}}]}", 0, "strings", 0},
    {"duplicate test names", "{\"name\":\"a\",\"kind\":\"functions\",\"files\":[\"a.c\"],\"driver\":\"d.c\",\"tests\":[" T_OK "," T_OK "]}", 0, "two tests", 0},
    {"unknown check", "{\"name\":\"a\",\"kind\":\"program\",\"files\":[\"a.c\"],\"tests\":[{\"name\":\"x\",\"points\":1,\"check\":\"vibes\"}]}", 0, "check", 0},
    {"args not strings", "{\"name\":\"a\",\"kind\":\"program\",\"files\":[\"a.c\"],\"tests\":[{\"name\":\"x\",\"points\":1,\"args\":[1]}]}", 0, "type", 0},
};

static void write_manifest(const char *root, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/a", root);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/a/manifest.json", root);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

static void test_manifests(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char root[] = "/tmp/grd-test-XXXXXX", err[512] = "", cmd[600];
        if (!mkdtemp(root)) {
            perror("mkdtemp");
            exit(1);
        }
        write_manifest(root, cases[i].manifest);
        grd_catalog *c = grd_catalog_load(root, err, sizeof err);
        if (cases[i].loads) {
            CHECK(c != NULL, "%s: refused: %s", cases[i].what, err);
            if (c) {
                const grd_assignment *a = grd_catalog_find(c, "a");
                CHECK(a && grd_assignment_max_score(a) == cases[i].max, "%s: max_score", cases[i].what);
                CHECK(grd_catalog_count(c) == 1 && grd_catalog_at(c, 1) == NULL, "%s: count", cases[i].what);
                json_t *j = a ? grd_assignment_json(a) : NULL;
                CHECK(j && json_array_size(json_object_get(j, "files")) == 1, "%s: json", cases[i].what);
                json_decref(j);
            }
        } else {
            CHECK(c == NULL, "%s: loaded", cases[i].what);
            CHECK(strstr(err, cases[i].err) != NULL, "%s: error \"%s\" lacks \"%s\"", cases[i].what,
                  err, cases[i].err);
            CHECK(strstr(err, "manifest.json") != NULL, "%s: error does not name the file", cases[i].what);
        }
        grd_catalog_free(c);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        if (system(cmd) != 0)
            printf("warning: could not remove %s\n", root);
    }
}

static void test_missing_folder(void)
{
    char err[256] = "";
    grd_catalog *c = grd_catalog_load("/nonexistent/memgrade", err, sizeof err);
    CHECK(c == NULL && strstr(err, "/nonexistent/memgrade"), "missing folder: %s", err);
}

/* Wrong file names are a result for the student, not our failure. */
static void test_wrong_files(void)
{
    char err[256] = "";
    grd_catalog *c = grd_catalog_load(MEMGRADE_SOURCE_DIR "/assignments", err, sizeof err);
    CHECK(c != NULL, "bundled catalog: %s", err);
    const grd_assignment *a = c ? grd_catalog_find(c, "mystr") : NULL;
    CHECK(a != NULL, "mystr missing");
    if (a) {
        grd_file f = {"other.c", "int x;\n", 7};
        json_t *r = NULL;
        int rc = grd_grade(c, a, &f, 1, &r, err, sizeof err);
        CHECK(rc == 0 && r, "grade: %s", err);
        CHECK(r && !strcmp(json_string_value(json_object_get(r, "status")), "compile_error"),
              "status of a wrong file name");
        CHECK(r && json_number_value(json_object_get(r, "score")) == 0, "score");
        json_decref(r);
    }
    grd_catalog_free(c);
}

static void test_report(void)
{
    const char *src = "int main(void)\n{\n    char *p = malloc(3);\n    p[3] = 0;\n}\n";
    grd_file f = {"a.c", src, strlen(src)};
    json_error_t je;
    json_t *doc = json_loads(
        "{\"assignment\":\"a\",\"status\":\"graded\",\"score\":1,\"max_score\":2,"
        "\"compile\":{\"ok\":true,\"output\":\"a.c:1: warning: x\"},"
        "\"tests\":[{\"name\":\"t\",\"score\":1,\"max_score\":2,\"status\":\"failed\","
        "\"output\":\"line one\\nline two\",\"visibility\":\"visible\",\"memory_errors\":[]}],"
        "\"memory_errors\":[{\"kind\":\"heap_overflow\",\"message\":\"past the end\","
        "\"location\":\"a.c:4\",\"alloc_location\":\"a.c:3\",\"free_location\":null,"
        "\"stack\":[]},{\"kind\":\"leak\",\"message\":\"m\",\"location\":\"a.c:99\","
        "\"alloc_location\":null,\"free_location\":null,\"stack\":[]}],\"duration_ms\":5}",
        0, &je);
    CHECK(doc != NULL, "report fixture: %s", je.text);
    char *r = doc ? grd_report_text(doc, &f, 1) : NULL;
    CHECK(r != NULL, "no report");
    if (r) {
        CHECK(strstr(r, "score 1 / 2"), "score line:\n%s", r);
        CHECK(strstr(r, "heap_overflow at a.c:4"), "error line:\n%s", r);
        CHECK(strstr(r, "4 | p[3] = 0;"), "quoted access:\n%s", r);
        CHECK(strstr(r, "3 | char *p = malloc(3);"), "quoted allocation:\n%s", r);
        CHECK(strstr(r, "line two"), "test output:\n%s", r);
        CHECK(strstr(r, "warning: x"), "compiler output:\n%s", r);
    }
    free(r);
    json_decref(doc);
}

int main(void)
{
    test_manifests();
    test_missing_folder();
    test_wrong_files();
    test_report();
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures != 0;
}
