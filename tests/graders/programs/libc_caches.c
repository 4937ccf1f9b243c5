/* Correct: what the C library keeps for itself (localtime's time zone, an
 * open FILE and its buffer, stdout's buffer) is "still reachable", never
 * the student's leak. Must get full marks. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(void)
{
    time_t t = 0;
    if (!localtime(&t))
        return 1;
    FILE *f = fopen("/tmp/memgrade-cache-test", "w");
    if (f)
        fputs("kept open on purpose", f);
    char *p = malloc(16);
    if (!p)
        return 1;
    free(p);
    puts("memgrade fixture canary");
    return 0;
}
