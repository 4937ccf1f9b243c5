/* The lecture's "not allocating enough memory" (§2.5.2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char *src = "hello";
    char *dst = (char *)malloc(strlen(src));
    strcpy(dst, src);
    puts("memgrade fixture canary");
    free(dst);
    return 0;
}
