/* expect: heap_overflow 15
 * CWE-170: a copy of exactly the characters, without the NUL, is printed with %s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    const char *word = "abcdefgh";
    size_t n = strlen(word);
    char *copy = malloc(n);
    if (!copy)
        return 1;
    memcpy(copy, word, n);
    printf("%s\n", copy);
    free(copy);
    return 0;
}
