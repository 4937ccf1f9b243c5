/* Variant: prints what the heap block holds next to its address, but never
 * wrote anything into it. Expected: uninitialized_read of the block. */
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
    if (heap == NULL) {
        fprintf(stderr, "addrspace: cannot allocate 100 bytes\n");
        return 1;
    }

    printf("code: %p\n", (void *)main);
    printf("heap: %p\n", (void *)heap);
    printf("heap holds: %d\n", *heap);
    printf("stack: %p\n", (void *)&x);
    printf("stack grows: %s\n", deeper_fn(&outer) ? "down" : "up");

    free(heap);
    return 0;
}
