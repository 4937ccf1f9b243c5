/* expect: double_free 21
 * CWE-415: an error path frees the buffer, then the common cleanup frees it again. */
#include <stdio.h>
#include <stdlib.h>

static int parse(const char *s, char *buf)
{
    if (s[0] != '#') {
        free(buf);
        return -1;
    }
    return 0;
}

int main(void)
{
    char *buf = malloc(32);
    if (!buf)
        return 1;
    int rc = parse("oops", buf);
    free(buf);
    printf("%d\n", rc);
    return 0;
}
