/* Hostile: a system call through the 32-bit int 0x80 gate (i386 numbering:
 * 20 = getpid), the other wrong-ABI door. */
#include <stdio.h>

int main(void)
{
    long rc = 20;
    __asm__ volatile("int $0x80" : "+a"(rc) : : "memory");
    printf("int80 getpid = %ld\n", rc);
    return 0;
}
