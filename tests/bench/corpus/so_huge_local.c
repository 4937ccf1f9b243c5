/* expect: stack_overflow 6|7|8|16
 * Stack overflow: a 64 MiB local array on an 8 MiB stack. */
#include <stdio.h>
#include <string.h>

static int histogram(const char *s) {
    int counts[16 * 1024 * 1024];
    memset(counts, 0, sizeof counts);
    for (; *s; s++)
        counts[(unsigned char)*s]++;
    return counts['l'];
}

int main(void)
{
    printf("%d\n", histogram("hello"));
    return 0;
}
