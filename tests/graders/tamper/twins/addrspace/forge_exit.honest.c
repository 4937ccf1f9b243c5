/* Honest twin of forge_exit.c: the same bugs, no trick. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    char *heap = malloc(100);                    /* BUG: never freed */
    (void)heap;
    printf("code: %p\n", (void *)0x401136);      /* BUG: made up */
    printf("heap: %p\n", (void *)0x4052a0);      /* BUG: made up */
    printf("stack: %p\n", (void *)0x7ffc1000);   /* BUG: made up */
    printf("stack grows: down\n");               /* BUG: not decided at run time */
    return 0;
}
