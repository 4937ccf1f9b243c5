/* expect: invalid_free 9
 * CWE-590: a local array is handed to free. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void release(char *p)
{
    free(p);
}

int main(void)
{
    char word[16];
    strcpy(word, "stack");
    printf("%s\n", word);
    release(word);
    return 0;
}
