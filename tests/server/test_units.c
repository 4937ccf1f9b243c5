/* Unit tests of server modules through their headers: SHA-256 against the
 * FIPS 180-4 / NIST vectors, token shape, and the storage layer's queue
 * contract (migrations idempotent, claim order, a result stored only by the
 * job's owner, requeue of orphans). Table-driven; exit status = failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "db.h"

static int failures;
#define CHECK(cond, what)                                                  \
    do {                                                                   \
        if (cond) printf("ok   %s\n", what);                               \
        else { printf("FAIL %s (%s:%d)\n", what, __FILE__, __LINE__); failures++; } \
    } while (0)

static void hex(const uint8_t *h, char out[65])
{
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", h[i]);
}

static void test_sha256(void)
{
    static const struct { const char *in; size_t repeat; const char *want; } vec[] = {
        {"", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", 1,
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
        {"a", 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
        /* 55 and 56 bytes: the padding boundary. */
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1,
         "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1,
         "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
    };
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        size_t n = strlen(vec[i].in) * vec[i].repeat;
        char *buf = malloc(n + 1);
        for (size_t k = 0; k < vec[i].repeat; k++)
            memcpy(buf + k * strlen(vec[i].in), vec[i].in, strlen(vec[i].in));
        uint8_t h[32];
        char got[65], what[96];
        auth_sha256(buf, n, h);
        hex(h, got);
        snprintf(what, sizeof what, "sha256 vector %zu (%zu bytes)", i, n);
        CHECK(!strcmp(got, vec[i].want), what);
        free(buf);
    }
    char t1[AUTH_TOKEN_LEN + 1], t2[AUTH_TOKEN_LEN + 1];
    uint8_t h1[32], h2[32], h3[32];
    CHECK(auth_token_new(t1, h1) == 0 && auth_token_new(t2, h2) == 0, "tokens are generated");
    CHECK(strlen(t1) == 64 && strspn(t1, "0123456789abcdef") == 64, "a token is 64 hex digits");
    CHECK(strcmp(t1, t2) != 0 && memcmp(h1, h2, 32) != 0, "two tokens differ");
    auth_token_hash(t1, strlen(t1), h3);
    CHECK(!memcmp(h1, h3, 32), "the token's hash is reproducible");
}

/* PBKDF2-HMAC-SHA256 against RFC 7914 §11-style vectors (computed with
 * Python's hashlib.pbkdf2_hmac), a password longer than a block included,
 * and the stored form round-tripping. */
static void test_pbkdf2(void)
{
    static const struct { const char *pw, *salt; unsigned c; const char *want; } vec[] = {
        {"password", "salt", 1, "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"},
        {"password", "salt", 2, "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"},
        {"password", "salt", 4096, "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"},
        {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
         "NaCl", 3, "4c30796e6689521cd28c4f9b63504cb12c46446be99119ec073508a526c7814c"},
    };
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        uint8_t h[32];
        char got[65], what[80];
        auth_pbkdf2(vec[i].pw, strlen(vec[i].pw), (const uint8_t *)vec[i].salt,
                    strlen(vec[i].salt), vec[i].c, h);
        hex(h, got);
        snprintf(what, sizeof what, "pbkdf2 vector %zu (c=%u)", i, vec[i].c);
        CHECK(!strcmp(got, vec[i].want), what);
    }
    char stored[AUTH_PASSWORD_LEN], other[AUTH_PASSWORD_LEN];
    CHECK(auth_password_hash("correct horse", stored) == 0 &&
          !strncmp(stored, "$argon2id$", 10), "a password is stored as $argon2id$...");
    CHECK(!auth_password_needs_rehash(stored), "a fresh argon2id hash needs no rehash");
    CHECK(auth_password_verify("correct horse", stored), "the right password verifies");
    CHECK(!auth_password_verify("correct hors", stored), "a wrong one does not");
    CHECK(auth_password_hash("correct horse", other) == 0 && strcmp(stored, other),
          "two hashes of one password differ (salt)");
    CHECK(!auth_password_verify("x", "garbage"), "a malformed stored value never verifies");
    CHECK(!auth_password_verify("", ""), "an empty stored value never verifies");
    /* A PBKDF2 hash an earlier version stored (Python's hashlib): still
     * verifies, and asks to be rehashed. */
    char legacy[AUTH_PASSWORD_LEN];
    uint8_t salt[16], h[32];
    for (int i = 0; i < 16; i++)
        salt[i] = (uint8_t)i;
    auth_pbkdf2("hunter22", 8, salt, 16, 1000, h);
    char hh[65];
    hex(h, hh);
    snprintf(legacy, sizeof legacy, "pbkdf2-sha256$1000$000102030405060708090a0b0c0d0e0f$%s", hh);
    CHECK(auth_password_verify("hunter22", legacy) && !auth_password_verify("hunter23", legacy),
          "a stored PBKDF2 hash still verifies");
    CHECK(auth_password_needs_rehash(legacy), "a PBKDF2 hash asks to be rehashed");
}

static void test_db(const char *dir)
{
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/units.db", dir);
    db *d = db_open(path, err, sizeof err);
    CHECK(d != NULL, "db opens and migrates");
    if (!d)
        return;
    db_close(d);
    d = db_open(path, err, sizeof err);
    CHECK(d != NULL, "reopening runs no migration twice");
    uint8_t h[32] = {1}, h2[32] = {2};
    int64_t uid = 0;
    CHECK(db_user_add(d, "ann", DB_ROLE_STUDENT, h, &uid) == DB_OK && uid > 0, "user added");
    CHECK(db_user_add(d, "ann", DB_ROLE_INSTRUCTOR, h2, NULL) == DB_EXISTS, "duplicate name refused");
    db_user u;
    CHECK(db_user_by_token(d, h, &u) == DB_OK && u.id == uid && !strcmp(u.name, "ann") &&
          u.role == DB_ROLE_STUDENT, "user found by token hash");
    CHECK(db_user_by_token(d, h2, &u) == DB_NOT_FOUND, "unknown hash: not found");

    db_file f = {"mystr.c", "int x;\n", 7};
    int64_t s1 = 0, s2 = 0;
    uint8_t dg1[32] = {7}, dg2[32] = {8};
    int replayed = -1;
    int64_t s3 = 0;
    CHECK(db_submission_create(d, uid, "mystr", &f, 1, NULL, dg1, &s1, &replayed) == DB_OK &&
          db_submission_create(d, uid, "mystr", &f, 1, "k1", dg1, &s2, &replayed) == DB_OK &&
          s2 > s1 && !replayed, "two submissions stored");
    CHECK(db_submission_create(d, uid, "mystr", &f, 1, "k1", dg1, &s3, &replayed) == DB_OK &&
          s3 == s2 && replayed == 1, "same Idempotency-Key and content: the same submission");
    CHECK(db_submission_create(d, uid, "mystr", &f, 1, "k1", dg2, &s3, &replayed) == DB_EXISTS &&
          s3 == s2 && !replayed, "same key, other content: refused");
    int64_t depth = 0;
    CHECK(db_queue_depth(d, &depth) == DB_OK && depth == 2, "both queued");
    db_job j1, j2, j3;
    CHECK(db_job_claim(d, "A", &j1) == DB_OK && j1.submission_id == s1 && j1.attempts == 1 &&
          j1.nfiles == 1 && j1.files[0].len == 7 && !memcmp(j1.files[0].data, "int x;\n", 7),
          "oldest job claimed with its files");
    CHECK(db_job_claim(d, "A", &j2) == DB_OK && j2.submission_id == s2, "next job claimed");
    CHECK(db_job_claim(d, "A", &j3) == DB_NOT_FOUND, "queue empty");
    CHECK(db_job_finish(d, j1.job_id, "B", "graded", 1, 2, 5, "{}", NULL) == DB_NOT_FOUND,
          "someone else cannot store a result for our job");
    CHECK(db_job_finish(d, j1.job_id, "A", "graded", 1, 2, 5, "{\"score\":1}", "{\"s\":1}") == DB_OK,
          "the owner stores the result");
    CHECK(db_job_finish(d, j1.job_id, "A", "graded", 2, 2, 5, "{}", NULL) == DB_NOT_FOUND,
          "a second result for the same job is refused");
    db_submission s;
    CHECK(db_submission_get(d, s1, 1, &s) == DB_OK && !strcmp(s.status, "graded") &&
          s.has_score && s.score == 1 && !strcmp(s.document, "{\"score\":1}") &&
          s.student_document && !strcmp(s.student_document, "{\"s\":1}"),
          "graded submission reads back with its first result");
    db_submission_clear(&s);
    /* A dead process held j2: at start it is requeued and graded once. */
    int64_t n = 0;
    CHECK(db_job_requeue_all(d, &n) == DB_OK && n == 1, "the orphaned job is requeued");
    CHECK(db_job_finish(d, j2.job_id, "A", "graded", 1, 2, 5, "{}", NULL) == DB_NOT_FOUND,
          "the dead owner's late result is refused");
    CHECK(db_job_claim(d, "C", &j3) == DB_OK && j3.submission_id == s2 && j3.attempts == 2,
          "the requeued job is claimed again, second attempt");
    CHECK(db_job_finish(d, j3.job_id, "C", "graded", 2, 2, 5, "{}", NULL) == DB_OK, "and stored once");
    CHECK(db_submission_get(d, s2, 0, &s) == DB_OK && !strcmp(s.status, "graded") && s.score == 2,
          "second submission graded");
    db_submission_clear(&s);
    CHECK(db_submission_get(d, 424242, 0, &s) == DB_NOT_FOUND, "missing submission: not found");
    char *data = NULL;
    size_t len = 0;
    CHECK(db_submission_file(d, s1, "mystr.c", &data, &len) == DB_OK && len == 7, "file read back");
    free(data);
    db_job_clear(&j1);
    db_job_clear(&j2);
    db_job_clear(&j3);
    db_close(d);
}

int main(void)
{
    char dir[] = "/tmp/mgunits.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    test_sha256();
    test_pbkdf2();
    test_db(dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd))
        failures++;
    printf("test_units: %d failure(s)\n", failures);
    return failures != 0;
}
