/* expect: stack_overflow 10|13
 * Stack overflow: a recursive size count over a "tree" that links back to its root. */
#include <stdio.h>
#include <stdlib.h>

struct t {
    struct t *left, *right;
};

static int size(const struct t *n) {
    if (!n)
        return 0;
    return 1 + size(n->left) + size(n->right);
}

int main(void)
{
    struct t *root = calloc(1, sizeof *root);
    struct t *kid = calloc(1, sizeof *kid);
    if (!root || !kid)
        return 1;
    root->left = kid;
    kid->right = root;
    printf("%d\n", size(root));
    free(kid);
    free(root);
    return 0;
}
