/* vector.h: a growable array of ints (the vector assignment).
 *
 * You write vector.c, which implements these five functions. The grader
 * supplies this header and its own main(); do not write a main().
 * A vector owns its data array on the heap: data points to cap ints, of
 * which the first len are in use. */
#ifndef VECTOR_H
#define VECTOR_H

#include <stddef.h>

typedef struct { int *data; size_t len; size_t cap; } vector;

/* Makes v an empty vector (len 0). You may allocate a first array here or
 * leave data NULL until the first push.
 * Returns 0, or -1 if an allocation fails. */
int vec_init(vector *v);

/* Appends x at the end of v, growing the array when it is full.
 * Growth must be geometric (for example, double cap): 100000 pushes may call
 * the allocator at most 64 times.
 * Returns 0, or -1 if an allocation fails; then v is unchanged and its data
 * are intact (keep the old array until realloc has succeeded). */
int vec_push(vector *v, int x);

/* Stores element i of v in *out (an output parameter).
 * Returns 0, or -1 if i >= len (then *out is not touched). */
int vec_get(const vector *v, size_t i, int *out);

/* Removes the last element of v and stores it in *out.
 * Returns 0, or -1 if v is empty (then *out is not touched). */
int vec_pop(vector *v, int *out);

/* Releases the array of v; afterwards v is {NULL, 0, 0}, ready for vec_init
 * again. */
void vec_free(vector *v);

#endif
