/* expect: none
 * Clean: structs with padding copied whole by memcpy; only fields are printed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct item {
    char tag;
    double weight;
    short qty;
};

int main(void)
{
    struct item *a = malloc(3 * sizeof *a);
    struct item *b = malloc(3 * sizeof *b);
    if (!a || !b) {
        free(a);
        free(b);
        return 1;
    }
    for (int i = 0; i < 3; i++) {
        a[i].tag = (char)('x' + i);
        a[i].weight = i * 1.5;
        a[i].qty = (short)(i + 1);
    }
    memcpy(b, a, 3 * sizeof *a);
    for (int i = 0; i < 3; i++)
        printf("%c %.1f %d\n", b[i].tag, b[i].weight, b[i].qty);
    free(a);
    free(b);
    return 0;
}
