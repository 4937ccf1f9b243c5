/* Variant (correct, full marks): written the way the lecture's example is
 * (§1.3): int main(), %p given main directly, malloc(100e6) unchecked, a
 * plain helper function for the nested call. Must be accepted. */
#include <stdio.h>
#include <stdlib.h>

void direction(int *outer) {
    int inner = 0;
    if (&inner < outer)
        printf("stack grows: down\n");
    else
        printf("stack grows: up\n");
}

int main() {
    printf("code: %p\n", main);
    void *p = malloc(100e6);  // 100 MB allocation
    printf("heap: %p\n", p);
    int x = 3;
    printf("stack: %p\n", &x);
    direction(&x);
    free(p);
    return 0;
}
