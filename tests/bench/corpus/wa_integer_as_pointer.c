/* expect: wild_access 10
 * CWE-587: an integer that is not an address is used as a pointer. */
#include <stdint.h>
#include <stdio.h>

int main(void)
{
    uintptr_t cookie = 0x5eed0000beefULL;
    int *p = (int *)cookie;
    *p = 4;
    printf("%d\n", *p);
    return 0;
}
