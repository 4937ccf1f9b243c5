/* addrspace.c: prints the heap pointer before setting it (still NULL, so
 * printf's %p writes "(nil)"); the block is allocated and freed later. */
#include <stdio.h>
#include <stdlib.h>

static int grows_down(int *outer)
{
    int inner;
    return &inner < outer;
}

int main(void)
{
    void *heap = NULL;
    int x = 3;
    printf("code: %p\n", (void *)main);
    printf("heap: %p\n", heap);
    heap = malloc(100);
    printf("stack: %p\n", (void *)&x);
    printf("stack grows: %s\n", grows_down(&x) ? "down" : "up");
    free(heap);
    return 0;
}
