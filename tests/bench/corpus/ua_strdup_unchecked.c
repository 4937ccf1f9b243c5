/* expect: unchecked_alloc_failure 9|10
 * CWE-690: strdup can fail too; its result is modified unchecked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char *s = strdup("mixed Case");
    s[0] = 'M';
    puts(s);
    free(s);
    return 0;
}
