/* Test driver of the vector assignment (graders/DRIVER.md §2): calls the
 * student's functions and observes what they return; the engine compares the
 * observations with the manifest outside the sandbox. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mgt.h"
#include "vector.h"

#define UNTOUCHED 0x5eed                /* *out before a call that must fail */

/* Observes whether a call that had to fail left *out alone. */
static void obs_out(int out)
{
    if (out == UNTOUCHED)
        mgt_obs("out", "untouched");
    else
        mgt_obs("out", "changed to %d", out);
}

/* The value pushed at position i in the longer tests. */
static int value_at(size_t i)
{
    return (int)(i * 7u) - 3;
}

/* The array vec_init left in the vector (NULL when it allocates lazily):
 * for naming the function that allocated what release() frees. */
static const int *init_data;

/* Frees v's array the way the header lays it out, with the driver's own
 * code: every test but the vec_free ones cleans up here, so a bug in vec_free
 * costs its own tests and no other. An array that was never a heap block of
 * its own is the invalid_free of the function that stored it (MGT_FREE). */
static void release(vector *v)
{
    if (v->data != NULL && v->data == init_data)
        MGT_FREE(v->data, vec_init);
    else
        MGT_FREE(v->data, vec_push);
    v->data = NULL;
    v->len = v->cap = 0;
}

/* Pushes x and, when vec_push reports a failed allocation, checks what the
 * header promises: -1, v unchanged, the first len values intact (the values
 * pushed so far are value(0..len-1)). Returns 0 when x was pushed, -1 when
 * the test must stop (v is then released). */
static int push(vector *v, int x, int (*value)(size_t))
{
    vector before = *v;
    int r = vec_push(v, x);
    if (r == 0)
        return 0;
    if (r != -1) {
        mgt_fail("vec_push returned %d; it must return 0 or -1", r);
    } else if (v->data != before.data || v->len != before.len || v->cap != before.cap) {
        mgt_fail("vec_push returned -1 but changed the vector (data %p -> %p, "
                 "len %zu -> %zu, cap %zu -> %zu); a failed push must leave it "
                 "exactly as it was", (void *)before.data, (void *)v->data,
                 before.len, v->len, before.cap, v->cap);
    } else {
        for (size_t i = 0; value != NULL && i < v->len; i++)
            if (v->data[i] != value(i)) {
                mgt_fail("vec_push returned -1 and element %zu changed from %d to %d",
                         i, value(i), v->data[i]);
                break;
            }
        mgt_obs("push_failed", "yes");
    }
    release(v);
    return -1;
}

/* Observes the elements of v (read with vec_get) as "a b c". */
static void obs_values(const char *key, const vector *v)
{
    char text[512];
    size_t at = 0;
    text[0] = '\0';
    for (size_t i = 0; i < v->len && i < 40; i++) {
        int x = UNTOUCHED;
        int r = vec_get(v, i, &x);
        at += (size_t)snprintf(text + at, sizeof text - at, "%s%d%s",
                               i ? " " : "", x, r == 0 ? "" : "(get failed)");
    }
    mgt_obs(key, "%s", text);
}

static int start(vector *v)
{
    int r = vec_init(v);
    init_data = v->data;
    mgt_obs_int("init", r);
    return r;
}

static void init_empty(void)
{
    vector v;
    if (start(&v) != 0)
        return;
    mgt_obs_uint("len", v.len);
    int out = UNTOUCHED;
    mgt_obs_int("get0", vec_get(&v, 0, &out));
    obs_out(out);
    release(&v);
}

static void push_get(void)
{
    vector v;
    if (start(&v) != 0)
        return;
    int xs[] = { 10, 20, 30 };
    for (size_t i = 0; i < 3; i++)
        if (push(&v, xs[i], NULL) != 0)
            return;
    mgt_obs_uint("len", v.len);
    obs_values("values", &v);
    release(&v);
}

static void get_out_of_range(void)
{
    vector v;
    if (start(&v) != 0)
        return;
    for (int i = 1; i <= 3; i++)
        if (push(&v, i, NULL) != 0)
            return;
    int out = UNTOUCHED;
    mgt_obs_int("get_len", vec_get(&v, 3, &out));
    mgt_obs_int("get_1000", vec_get(&v, 1000, &out));
    mgt_obs_int("get_size_max", vec_get(&v, SIZE_MAX, &out));
    obs_out(out);
    mgt_obs_int("get_last", vec_get(&v, 2, &out));
    mgt_obs_int("last", out);
    release(&v);
}

static void pop_order(void)
{
    vector v;
    if (start(&v) != 0)
        return;
    for (int i = 1; i <= 3; i++)
        if (push(&v, i, NULL) != 0)
            return;
    char text[64];
    size_t at = 0;
    for (int k = 0; k < 3; k++) {
        int out = UNTOUCHED;
        int r = vec_pop(&v, &out);
        at += (size_t)snprintf(text + at, sizeof text - at, "%s%d%s",
                               k ? " " : "", out, r == 0 ? "" : "(pop failed)");
    }
    mgt_obs("popped", "%s", text);
    mgt_obs_uint("len", v.len);
    int out = UNTOUCHED;
    mgt_obs_int("pop_empty", vec_pop(&v, &out));
    obs_out(out);
    release(&v);
}

static void pop_empty_fresh(void)
{
    vector v;
    if (start(&v) != 0)
        return;
    int out = UNTOUCHED;
    mgt_obs_int("pop_empty", vec_pop(&v, &out));
    obs_out(out);
    mgt_obs_uint("len", v.len);
    release(&v);
}

static void push_after_pop(void)
{
    vector v;
    if (start(&v) != 0)
        return;
    int out;
    if (push(&v, 1, NULL) != 0 || push(&v, 2, NULL) != 0)
        return;
    mgt_obs_int("pop", vec_pop(&v, &out));
    mgt_obs_int("popped", out);
    if (push(&v, 7, NULL) != 0)
        return;
    mgt_obs_uint("len", v.len);
    obs_values("values", &v);
    release(&v);
}

static void extreme_values(void)
{
    vector v;
    if (start(&v) != 0)
        return;
    int xs[] = { INT_MIN, -1, 0, INT_MAX };
    for (size_t i = 0; i < 4; i++)
        if (push(&v, xs[i], NULL) != 0)
            return;
    obs_values("values", &v);
    release(&v);
}

static void many_pushes(void)
{
    vector v;
    if (start(&v) != 0)
        return;
    const size_t n = 100000;
    for (size_t i = 0; i < n; i++) {
        if (push(&v, value_at(i), value_at) != 0)
            return;
        /* Growing by a few ints at a time makes 100000 pushes slow enough to
         * time out; stop early and say why instead. */
        if (i % 1024 == 1023 && mgt_alloc_calls() > 1000) {
            mgt_obs("allocator_calls", "%lu in the first %zu pushes: more than 64, "
                    "grow geometrically", mgt_alloc_calls(), i + 1);
            release(&v);
            return;
        }
    }
    unsigned long calls = mgt_alloc_calls();
    mgt_obs_uint("len", v.len);
    if (calls <= 64)
        mgt_obs("allocator_calls", "at most 64");
    else
        mgt_obs("allocator_calls", "%lu: more than 64, grow geometrically", calls);
    size_t wrong = 0;
    for (size_t i = 0; i < n; i++) {
        int x = UNTOUCHED;
        if (vec_get(&v, i, &x) != 0 || x != value_at(i))
            wrong++;
    }
    mgt_obs_uint("wrong_elements", wrong);
    release(&v);
}

static void pop_all(void)
{
    vector v;
    if (start(&v) != 0)
        return;
    const size_t n = 5000;
    for (size_t i = 0; i < n; i++)
        if (push(&v, value_at(i), value_at) != 0)
            return;
    size_t wrong = 0, pops = 0;
    int out;
    /* Pop most of it, then push it back: room a shrinking vec_pop gave
     * back must be grown again before it is written. */
    for (size_t k = 0; k < n - 500; k++)
        if (vec_pop(&v, &out) != 0 || out != value_at(n - 1 - k))
            wrong++;
    for (size_t i = 500; i < n; i++)
        if (push(&v, value_at(i), value_at) != 0)
            return;
    while (pops <= n && vec_pop(&v, &out) == 0) {
        if (out != value_at(n - 1 - pops))
            wrong++;
        pops++;
    }
    mgt_obs_uint("pops", pops);
    mgt_obs_uint("wrong_elements", wrong);
    mgt_obs_uint("len", v.len);
    release(&v);
}

static void free_resets(void)
{
    vector v;
    if (start(&v) != 0)
        return;
    for (int i = 0; i < 5; i++)
        if (push(&v, i, NULL) != 0)
            return;
    vec_free(&v);
    mgt_obs_ptr_null("data", v.data);
    mgt_obs_uint("len", v.len);
    mgt_obs_uint("cap", v.cap);
}

static void free_twice(void)
{
    vector v;
    if (start(&v) != 0)
        return;
    for (int i = 0; i < 5; i++)
        if (push(&v, i, NULL) != 0)
            return;
    vec_free(&v);
    vec_free(&v);                       /* v is {NULL, 0, 0}: nothing to free */
    mgt_obs("vec_free", "returned");
}

static void reuse_after_free(void)
{
    vector v;
    if (start(&v) != 0)
        return;
    for (int i = 0; i < 20; i++)
        if (push(&v, i, NULL) != 0)
            return;
    vec_free(&v);
    if (vec_init(&v) != 0)
        return;
    init_data = v.data;
    for (int i = 0; i < 3; i++)
        if (push(&v, 100 + i, NULL) != 0)
            return;
    mgt_obs_uint("len", v.len);
    obs_values("values", &v);
    vec_free(&v);
}

static void push_alloc_failure(void)
{
    vector v;
    if (start(&v) != 0)
        return;
    const size_t n = 300;
    for (size_t i = 0; i < n; i++)
        if (push(&v, value_at(i), value_at) != 0)
            return;
    mgt_obs_uint("len", v.len);
    mgt_obs_int("last", v.len == n ? v.data[n - 1] : 0);
    release(&v);
}

MGT_TESTS(
    MGT_TEST(init_empty),
    MGT_TEST(push_get),
    MGT_TEST(get_out_of_range),
    MGT_TEST(pop_order),
    MGT_TEST(pop_empty_fresh),
    MGT_TEST(push_after_pop),
    MGT_TEST(extreme_values),
    MGT_TEST(many_pushes),
    MGT_TEST(pop_all),
    MGT_TEST(free_resets),
    MGT_TEST(free_twice),
    MGT_TEST(reuse_after_free),
    MGT_TEST(push_alloc_failure),
)
