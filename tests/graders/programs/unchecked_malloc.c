/* Never checks malloc: when the allocation fails (the grader fails each
 * allocation site once), the write through NULL crashes at line 11. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    size_t n = 64;
    char *buf = malloc(n);
    strcpy(buf, "memgrade fixture canary");
    puts(buf);
    free(buf);
    return 0;
}
