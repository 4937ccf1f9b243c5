/* expect: double_free 18
 * CWE-415: the old pointer is freed after realloc already released it (the block moved). */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    char *old = malloc(8);
    if (!old)
        return 1;
    old[0] = 'x';
    char *grown = realloc(old, 8192);
    if (!grown) {
        free(old);
        return 1;
    }
    printf("%c\n", grown[0]);
    free(old);
    free(grown);
    return 0;
}
