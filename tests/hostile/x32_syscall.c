/* Hostile: a system call through the x32 ABI, which filters written for
 * x86_64 numbers often forget. */
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

int main(void)
{
    long rc = syscall(__X32_SYSCALL_BIT | __NR_getpid);
    printf("x32 getpid = %ld\n", rc);
    return 0;
}
