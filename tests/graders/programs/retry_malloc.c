/* Retries a failed malloc forever (line 11): asking again does not make
 * memory appear. Otherwise correct. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char *buf;
    do
        buf = malloc(64);
    while (buf == NULL);
    strcpy(buf, "memgrade fixture canary");
    puts(buf);
    free(buf);
    return 0;
}
