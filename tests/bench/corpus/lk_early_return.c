/* expect: leak 9
 * CWE-401: an early return on bad input forgets the buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int count_vowels(const char *s)
{
    char *copy = malloc(strlen(s) + 1);
    if (!copy)
        return -1;
    strcpy(copy, s);
    if (copy[0] == '\0')
        return 0;
    int n = 0;
    for (char *p = copy; *p; p++)
        n += strchr("aeiou", *p) != NULL;
    free(copy);
    return n;
}

int main(void)
{
    printf("%d %d\n", count_vowels("education"), count_vowels(""));
    return 0;
}
