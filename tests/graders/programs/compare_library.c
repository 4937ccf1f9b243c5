/* Comparisons the C library makes on heap bytes never written, where no
 * output changes: memcmp of two blocks never set, strcmp of one against a
 * word (its first byte decides: confirmed by the second run), strncmp
 * through a function pointer. Each is an uninitialized_read at the call's
 * line, as Valgrind says of the branch inside the library. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    unsigned char *a = malloc(32), *b = malloc(32);
    char *word = malloc(16);
    if (!a || !b || !word)
        return 1;
    int same = memcmp(a, b, 32) == 0;
    int is_quit = strcmp(word, "quit") == 0;
    int (*cmp)(const char *, const char *, size_t) = strncmp;
    int prefix = cmp(word, "help", 4) == 0;
    puts("memgrade fixture canary");
    free(a);
    free(b);
    free(word);
    return same * 0 + is_quit * 0 + prefix * 0;
}
