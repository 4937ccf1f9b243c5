/* Four errors in one run: the grader goes on after each bad access, as
 * Valgrind does, and ends with its leak check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char *name = malloc(5);
    strcpy(name, "hello");                 /* one byte past the end */
    int *n = malloc(sizeof *n);
    *n = 7;
    free(n);
    printf("%d\n", *n);                    /* read after free */
    int *keep = malloc(10 * sizeof *keep); /* never freed */
    keep[0] = 1;
    free(name);
    free(name);                            /* twice */
    puts("memgrade fixture canary");
    return 0;
}
