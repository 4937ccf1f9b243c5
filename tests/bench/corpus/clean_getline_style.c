/* expect: none
 * Clean: a caller-owned buffer grown by a read-line-like helper over a fixed text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long next_line(const char **src, char **buf, size_t *cap)
{
    const char *s = *src;
    if (*s == '\0')
        return -1;
    size_t n = strcspn(s, "\n");
    if (n + 1 > *cap) {
        char *b = realloc(*buf, n + 1);
        if (!b)
            return -1;
        *buf = b;
        *cap = n + 1;
    }
    memcpy(*buf, s, n);
    (*buf)[n] = '\0';
    *src = s + n + (s[n] == '\n');
    return (long)n;
}

int main(void)
{
    const char *text = "first\nsecond line\n\nlast";
    char *buf = NULL;
    size_t cap = 0;
    long n, lines = 0, chars = 0;
    while ((n = next_line(&text, &buf, &cap)) >= 0) {
        lines++;
        chars += n;
    }
    printf("%ld %ld\n", lines, chars);
    free(buf);
    return 0;
}
