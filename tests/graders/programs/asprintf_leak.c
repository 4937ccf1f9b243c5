/* Buggy: asprintf's block (allocated by the C library on the program's
 * behalf) is never freed. Must be a leak at the asprintf line. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    char *s;
    if (asprintf(&s, "%s", "memgrade fixture canary") < 0)
        return 1;
    puts(s);
    return 0;
}
