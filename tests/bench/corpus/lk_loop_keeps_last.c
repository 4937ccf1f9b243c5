/* expect: leak 10
 * CWE-401: a loop allocates a line buffer per iteration and frees only the last. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    char *line = NULL;
    for (int i = 0; i < 5; i++) {
        line = malloc(32);
        if (!line)
            return 1;
        snprintf(line, 32, "line %d", i);
    }
    puts(line);
    free(line);
    return 0;
}
