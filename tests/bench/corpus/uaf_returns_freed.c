/* expect: use_after_free 22
 * CWE-416: a helper frees its buffer on the success path and returns it anyway. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *greeting(const char *who)
{
    char *g = malloc(strlen(who) + 7);
    if (!g)
        return NULL;
    strcpy(g, "hello ");
    strcat(g, who);
    free(g);
    return g;
}

int main(void)
{
    char *g = greeting("bob");
    if (g)
        printf("%c\n", g[0]);
    return 0;
}
