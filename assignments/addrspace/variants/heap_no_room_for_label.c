/* Variant: allocates 4 bytes for the heap block and copies the label "heap"
 * into it: 4 characters and the '\0' make 5. Expected: heap_overflow at the
 * strcpy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

    char *heap = malloc(4);
    if (heap == NULL) {
        fprintf(stderr, "addrspace: cannot allocate 4 bytes\n");
        return 1;
    }
    strcpy(heap, "heap");

    printf("code: %p\n", (void *)main);
    printf("heap: %p\n", (void *)heap);
    printf("stack: %p\n", (void *)&x);
    printf("stack grows: %s\n", deeper_fn(&outer) ? "down" : "up");

    free(heap);
    return 0;
}
