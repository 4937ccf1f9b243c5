/* expect: double_free 18
 * CWE-415: blocks freed in a loop without being set to NULL are freed again at cleanup. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    char *slots[3];
    for (int i = 0; i < 3; i++) {
        slots[i] = malloc(16);
        if (!slots[i])
            return 1;
    }
    for (int i = 0; i < 3; i++)
        if (i % 2 == 0)
            free(slots[i]);
    for (int i = 0; i < 3; i++)
        free(slots[i]);
    puts("done");
    return 0;
}
