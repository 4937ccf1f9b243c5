/* Hostile: a system call number past the end of the table (the filter must
 * refuse numbers it has never heard of, not only the ones it lists). */
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    long rc = syscall(1000, 0, 0, 0);
    printf("syscall(1000) = %ld\n", rc);
    return 0;
}
