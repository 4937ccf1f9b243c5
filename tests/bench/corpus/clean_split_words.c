/* expect: none
 * Clean: a sentence split into strdup-ed words, each freed, then the array. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    const char *text = "the quick brown fox jumps";
    char *work = strdup(text);
    if (!work)
        return 1;
    char **words = NULL;
    size_t n = 0;
    for (char *t = strtok(work, " "); t; t = strtok(NULL, " ")) {
        char **w = realloc(words, (n + 1) * sizeof *w);
        if (!w)
            break;
        words = w;
        words[n] = strdup(t);
        if (!words[n])
            break;
        n++;
    }
    free(work);
    for (size_t i = n; i > 0; i--)
        printf("%s ", words[i - 1]);
    putchar('\n');
    for (size_t i = 0; i < n; i++)
        free(words[i]);
    free(words);
    return 0;
}
