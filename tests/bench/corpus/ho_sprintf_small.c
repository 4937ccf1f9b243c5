/* expect: heap_overflow 12|13
 * CWE-787: sprintf formats a label longer than the block made for it. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int id = 123456;
    char *label = malloc(8);
    if (label == NULL)
        return 1;
    sprintf(label, "user-%d", id);
    puts(label);
    free(label);
    return 0;
}
