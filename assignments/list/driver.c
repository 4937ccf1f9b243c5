/* Test driver of the list assignment (graders/DRIVER.md §2): calls the
 * student's functions and observes what they return; the engine compares the
 * observations with the manifest outside the sandbox. */
#define _POSIX_C_SOURCE 200809L          /* strnlen */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "list.h"
#include "mgt.h"

#define MAX_WALK 20000                  /* a cycle must not hang the test */

/* What a list looked like: its nodes, their value pointers and the first
 * bytes of each value, to tell whether a failed list_push touched it. */
typedef struct {
    size_t n;
    const node *nodes[8];
    const char *values[8];
    char text[8][16];
} snapshot;

static void take(snapshot *s, const node *head)
{
    s->n = 0;
    for (const node *cur = head; cur != NULL && s->n < 8; cur = cur->next, s->n++) {
        s->nodes[s->n] = cur;
        s->values[s->n] = cur->value;
        snprintf(s->text[s->n], sizeof s->text[s->n], "%.15s", cur->value ? cur->value : "");
    }
}

static int same(const snapshot *a, const snapshot *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->nodes[i] != b->nodes[i] || a->values[i] != b->values[i] ||
            strcmp(a->text[i], b->text[i]) != 0)
            return 0;
    return 1;
}

/* Frees a list the way the header lays it out (each value, then its node),
 * with the driver's own code: every test but the destroy ones cleans up
 * here, so a bug in list_destroy costs the destroy tests and no other. A
 * value or node that was never a heap block of its own is list_push's
 * invalid_free (MGT_FREE). A list that loops back on itself is not freed
 * (its nodes leak; the test has already failed on its observations). */
static void release(node *head)
{
    const node *slow = head, *fast = head;
    while (fast != NULL && fast->next != NULL) {
        slow = slow->next;
        fast = fast->next->next;
        if (slow == fast)
            return;
    }
    while (head != NULL) {
        node *next = head->next;
        MGT_FREE(head->value, list_push);
        MGT_FREE(head, list_push);
        head = next;
    }
}

/* Builds a list by pushing values[0..n-1] in order (so values[n-1] ends up
 * in front; n <= 8). When a push fails, checks what the header promises
 * (NULL, the old list untouched), destroys the old list and returns NULL
 * with *ok = 0. */
static node *build(const char *const *values, size_t n, int *ok)
{
    node *head = NULL;
    *ok = 1;
    for (size_t i = 0; i < n; i++) {
        snapshot before, after;
        take(&before, head);
        node *next = list_push(head, values[i]);
        if (next != NULL) {
            head = next;
            continue;
        }
        take(&after, head);
        if (!same(&before, &after))
            mgt_fail("list_push returned NULL but changed the list it was given");
        mgt_obs("push_failed", "yes");
        release(head);
        *ok = 0;
        return NULL;
    }
    return head;
}

/* Observes the list as "length" (nodes walked) and "list": the values,
 * escaped, in order, like "c" -> "b" -> "a" (at most 40 shown). Each value
 * is read up to max + 1 bytes, so a copy missing its '\0' shows what follows
 * it instead of running off its block here. */
static void obs_list(const char *prefix, const node *head, size_t max)
{
    static char text[1024];
    char key[48];
    size_t at = 0, n = 0;
    text[0] = '\0';
    for (const node *cur = head; cur != NULL && n < MAX_WALK; cur = cur->next, n++) {
        if (n >= 40 || at + 16 + 4 * max > sizeof text)
            continue;
        at += (size_t)snprintf(text + at, sizeof text - at, "%s", n ? " -> " : "");
        if (cur->value == NULL) {
            at += (size_t)snprintf(text + at, sizeof text - at, "NULL");
            continue;
        }
        size_t len = strnlen(cur->value, max + 1);
        text[at++] = '"';
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)cur->value[i];
            if (c >= 32 && c < 127 && c != '"' && c != '\\')
                text[at++] = (char)c;
            else
                at += (size_t)snprintf(text + at, sizeof text - at, "\\x%02x", c);
        }
        text[at++] = '"';
        text[at] = '\0';
    }
    snprintf(key, sizeof key, "%slength", prefix);
    mgt_obs_uint(key, n);
    snprintf(key, sizeof key, "%slist", prefix);
    mgt_obs(key, "%s", text);
}

static void push_one(void)
{
    node *head = list_push(NULL, "a");
    mgt_obs_ptr_null("head", head);
    if (head == NULL)
        return;
    mgt_obs_ptr_null("next", head->next);
    obs_list("", head, 1);
    release(head);
}

static void push_order(void)
{
    const char *const v[] = { "a", "b", "c" };
    int ok;
    node *head = build(v, 3, &ok);
    if (!ok)
        return;
    obs_list("", head, 1);
    release(head);
}

static void push_copies(void)
{
    char buf[] = "original";
    node *head = list_push(NULL, buf);
    if (head == NULL)
        return;
    mgt_obs("value", "%s", head->value == buf ? "the caller's pointer, not a copy" : "own copy");
    strcpy(buf, "changed!");
    obs_list("", head, 8);
    release(head);
}

static void push_empty_string(void)
{
    const char *const v[] = { "", "x", "" };
    int ok;
    node *head = build(v, 3, &ok);
    if (!ok)
        return;
    obs_list("", head, 1);
    release(head);
}

static void length_counts(void)
{
    mgt_obs_uint("empty", list_length(NULL));
    const char *const v[] = { "one", "two", "three", "four" };
    int ok;
    node *head = build(v, 4, &ok);
    if (!ok)
        return;
    mgt_obs_uint("four", list_length(head));
    release(head);
}

/* Builds c -> b -> a, removes target, observes the result and whether the
 * head returned is the old head. */
static void remove_from_three(const char *target)
{
    const char *const v[] = { "a", "b", "c" };
    int ok;
    node *head = build(v, 3, &ok);
    if (!ok)
        return;
    node *second = head->next;
    node *after = list_remove(head, target);
    mgt_obs("new_head", "%s", after == head ? "same" : after == second ? "second"
                              : after == NULL ? "NULL" : "other");
    obs_list("", after, 1);
    mgt_obs_uint("list_length", list_length(after));
    release(after);
}

static void remove_head(void)   { remove_from_three("c"); }
static void remove_middle(void) { remove_from_three("b"); }
static void remove_tail(void)   { remove_from_three("a"); }
static void remove_missing(void){ remove_from_three("zz"); }

static void remove_empty(void)
{
    node *after = list_remove(NULL, "a");
    mgt_obs_ptr_null("head", after);
}

static void remove_only(void)
{
    node *head = list_push(NULL, "solo");
    if (head == NULL)
        return;
    node *after = list_remove(head, "solo");
    mgt_obs_ptr_null("head", after);
    release(after);
}

static void remove_duplicates(void)
{
    const char *const v[] = { "a", "q", "a", "z" };   /* z -> a -> q -> a */
    int ok;
    node *head = build(v, 4, &ok);
    if (!ok)
        return;
    head = list_remove(head, "a");
    obs_list("first_", head, 1);
    head = list_remove(head, "a");
    obs_list("second_", head, 1);
    release(head);
}

static void remove_uses_value(void)
{
    /* the value to remove is another array with the same characters */
    const char *const v[] = { "alpha", "beta", "gamma" };
    int ok;
    node *head = build(v, 3, &ok);
    if (!ok)
        return;
    char target[] = "beta";
    head = list_remove(head, target);
    obs_list("", head, 5);
    release(head);
}

static void remove_exact_match(void)
{
    /* "ab" is also the start of "abc": only the node equal to it goes */
    const char *const v[] = { "a", "ab", "abc" };     /* abc -> ab -> a */
    int ok;
    node *head = build(v, 3, &ok);
    if (!ok)
        return;
    head = list_remove(head, "ab");
    obs_list("", head, 3);
    release(head);
}

static void destroy_null(void)
{
    list_destroy(NULL);
    mgt_obs("list_destroy", "returned");
}

/* The only test (with destroy_null) that cleans up through list_destroy: a
 * list it leaves allocated is a leak, a node it reads after freeing it a
 * use after free, here and nowhere else. */
static void destroy_frees_all(void)
{
    const char *const v[] = { "a", "bb", "", "dddd" };
    int ok;
    node *head = build(v, 4, &ok);
    if (!ok)
        return;
    list_destroy(head);
    static char names[300][8];
    head = NULL;
    for (int i = 0; i < 300; i++) {
        snprintf(names[i], sizeof names[i], "d%d", i);
        node *h = list_push(head, names[i]);
        if (h == NULL) {
            release(head);
            return;
        }
        head = h;
    }
    list_destroy(head);
    mgt_obs("list_destroy", "returned");
}

static void long_list(void)
{
    enum { N = 2000 };
    static char names[N][8];
    node *head = NULL;
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "n%d", i);
        node *h = list_push(head, names[i]);
        if (h == NULL) {
            release(head);
            return;
        }
        head = h;
    }
    mgt_obs_uint("length", list_length(head));
    head = list_remove(head, "n0");          /* the tail */
    head = list_remove(head, "n1000");       /* the middle */
    head = list_remove(head, "n1999");       /* the head */
    mgt_obs_uint("after_removes", list_length(head));
    mgt_obs_str("head_value", head != NULL ? head->value : NULL);
    release(head);
}

static void push_alloc_failure(void)
{
    const char *const v[] = { "first", "second", "third" };
    int ok;
    node *head = build(v, 3, &ok);
    if (!ok)
        return;
    obs_list("", head, 6);
    release(head);
}

MGT_TESTS(
    MGT_TEST(push_one),
    MGT_TEST(push_order),
    MGT_TEST(push_copies),
    MGT_TEST(push_empty_string),
    MGT_TEST(length_counts),
    MGT_TEST(remove_head),
    MGT_TEST(remove_middle),
    MGT_TEST(remove_tail),
    MGT_TEST(remove_missing),
    MGT_TEST(remove_empty),
    MGT_TEST(remove_only),
    MGT_TEST(remove_duplicates),
    MGT_TEST(remove_uses_value),
    MGT_TEST(remove_exact_match),
    MGT_TEST(destroy_null),
    MGT_TEST(destroy_frees_all),
    MGT_TEST(long_list),
    MGT_TEST(push_alloc_failure),
)
