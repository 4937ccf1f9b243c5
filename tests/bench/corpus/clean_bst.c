/* expect: none
 * Clean: a binary search tree with insert, in-order walk and post-order free. */
#include <stdio.h>
#include <stdlib.h>

struct t {
    int k;
    struct t *l, *r;
};

static struct t *insert(struct t *n, int k)
{
    if (!n) {
        n = malloc(sizeof *n);
        if (n) {
            n->k = k;
            n->l = n->r = NULL;
        }
        return n;
    }
    if (k < n->k)
        n->l = insert(n->l, k);
    else if (k > n->k)
        n->r = insert(n->r, k);
    return n;
}

static void walk(const struct t *n)
{
    if (!n)
        return;
    walk(n->l);
    printf("%d ", n->k);
    walk(n->r);
}

static void drop(struct t *n)
{
    if (!n)
        return;
    drop(n->l);
    drop(n->r);
    free(n);
}

int main(void)
{
    struct t *root = NULL;
    int keys[] = {50, 30, 70, 20, 40, 60, 80, 30};
    for (int i = 0; i < 8; i++)
        root = insert(root, keys[i]);
    walk(root);
    putchar('\n');
    drop(root);
    return 0;
}
