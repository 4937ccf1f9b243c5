/* expect: use_after_free 14
 * CWE-416: a counter in a freed block is incremented. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int *counter = calloc(1, sizeof *counter);
    if (!counter)
        return 1;
    (*counter)++;
    printf("%d\n", *counter);
    free(counter);
    (*counter)++;
    return 0;
}
