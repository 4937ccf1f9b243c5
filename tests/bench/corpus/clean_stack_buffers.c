/* expect: none
 * Clean: local arrays and variables, all set before use, snprintf bounded. */
#include <stdio.h>
#include <string.h>

static int digits(unsigned v, char *out, size_t cap)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < (int)sizeof tmp);
    if ((size_t)n + 1 > cap)
        return -1;
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

int main(void)
{
    char buf[16];
    char line[64];
    int n = digits(90210, buf, sizeof buf);
    snprintf(line, sizeof line, "%d:%s", n, buf);
    printf("%s %zu\n", line, strlen(line));
    return 0;
}
