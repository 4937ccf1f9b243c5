/* expect: unchecked_alloc_failure 10
 * CWE-690: the program retries malloc until it succeeds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char *buf;
    while ((buf = malloc(256)) == NULL)
        ;
    strcpy(buf, "got it");
    puts(buf);
    free(buf);
    return 0;
}
