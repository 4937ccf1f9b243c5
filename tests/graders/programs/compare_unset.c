/* Comparisons on heap bytes never written, where no output changes: a
 * branch whose two sides print the same, realloc's new bytes taken for
 * zeros, a character tested (one byte: confirmed by the second run). Each
 * is an uninitialized_read at the comparison's line, as Valgrind says. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int *flags = malloc(4 * sizeof *flags);
    if (!flags)
        return 1;
    flags[0] = 1;
    if (flags[2] > 0)
        puts("memgrade fixture canary");
    else
        puts("memgrade fixture canary");
    int *g = realloc(flags, 8 * sizeof *flags);
    if (!g) {
        free(flags);
        return 1;
    }
    int nonzero = 0;
    for (int i = 4; i < 8; i++)
        nonzero += g[i] != 0;
    free(g);
    char *word = malloc(8);
    if (!word)
        return 1;
    int vowel = word[0] == 'a';
    free(word);
    return nonzero * 0 + vowel * 0;
}
