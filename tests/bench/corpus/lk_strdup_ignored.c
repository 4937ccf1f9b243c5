/* expect: leak 14
 * expect: unchecked_alloc_failure 24
 * expect: unchecked_alloc_failure 25
 * CWE-401: strdup results are printed and never freed. And CWE-690: when
 * strdup fails, upper's NULL reaches printf("%s\n"), which gcc makes puts:
 * a crash at each call. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *upper(const char *s)
{
    char *u = strdup(s);
    if (!u)
        return NULL;
    for (char *p = u; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    return u;
}

int main(void)
{
    printf("%s\n", upper("quiet"));
    printf("%s\n", upper("please"));
    return 0;
}
