/* expect: double_free 21
 * CWE-415: two owners of one block both free it. */
#include <stdio.h>
#include <stdlib.h>

struct pair {
    int *left;
    int *right;
};

int main(void)
{
    struct pair p;
    p.left = malloc(sizeof(int));
    if (!p.left)
        return 1;
    *p.left = 5;
    p.right = p.left;
    printf("%d\n", *p.right);
    free(p.left);
    free(p.right);
    return 0;
}
