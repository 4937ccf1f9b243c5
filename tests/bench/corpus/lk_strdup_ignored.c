/* expect: leak 10
 * CWE-401: strdup results are printed and never freed. */
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
