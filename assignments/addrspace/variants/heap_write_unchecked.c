/* Variant: stores a value in the heap block without checking that malloc
 * returned a block. Expected: unchecked_alloc_failure at the store when the
 * allocation fails. */
#include <stdio.h>
#include <stdlib.h>

/* Called through a volatile pointer so that the compiler cannot inline it:
 * the point is a real second stack frame below (or above) the caller's. */
static int deeper(const char *outer)
{
    char inner = 0;
    return &inner < outer;                 /* 1: the stack grows down */
}

static int (*volatile deeper_fn)(const char *) = deeper;

int main(void)
{
    int x = 3;
    char outer = 0;

    int *heap = malloc(sizeof(int));
    *heap = x;

    printf("code: %p\n", (void *)main);
    printf("heap: %p\n", (void *)heap);
    printf("stack: %p\n", (void *)&x);
    printf("stack grows: %s\n", deeper_fn(&outer) ? "down" : "up");

    free(heap);
    return 0;
}
