/* The lecture's leak (§2.5.4), bounded: malloc(4) in a loop, never freed.
 * Prints the canary, so only the leak can cost the point. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    for (int i = 0; i < 1000; i++)
        malloc(4);
    puts("memgrade fixture canary");
    return 0;
}
