/* expect: null_dereference 10
 * CWE-476/CWE-252: getenv of an unset variable goes straight into strlen. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    const char *home = getenv("MEMGRADE_BENCH_UNSET_VARIABLE");
    size_t n = strlen(home);
    printf("%zu\n", n);
    return 0;
}
