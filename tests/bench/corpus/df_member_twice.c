/* expect: double_free 14
 * CWE-415: a member is freed on its own, then again by the struct destructor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct doc {
    char *title;
    int pages;
};

static void doc_free(struct doc *d)
{
    free(d->title);
    free(d);
}

int main(void)
{
    struct doc *d = malloc(sizeof *d);
    if (!d)
        return 1;
    d->title = strdup("notes");
    d->pages = 3;
    printf("%s %d\n", d->title, d->pages);
    free(d->title);
    doc_free(d);
    return 0;
}
