/* Variant: never checks malloc's result and writes into the block. Expected:
 * unchecked_alloc_failure at the store when malloc fails. */
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

    char *heap = malloc(100);
    heap[0] = 'x';

    printf("code: %p\n", (void *)main);
    printf("heap: %p\n", heap);
    printf("stack: %p\n", (void *)&x);
    printf("stack grows: %s\n", deeper_fn(&outer) ? "down" : "up");

    free(heap);
    return 0;
}
