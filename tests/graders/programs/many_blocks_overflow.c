/* 30000 live blocks, then one more that is written one byte too far: the
 * compact blocks' canaries must catch it when it is freed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    static void *keep[30000];
    for (int i = 0; i < 30000; i++)
        keep[i] = malloc(8);
    char *s = malloc(5);
    strcpy(s, "hello");
    free(s);
    for (int i = 0; i < 30000; i++)
        free(keep[i]);
    puts("memgrade fixture canary");
    return 0;
}
