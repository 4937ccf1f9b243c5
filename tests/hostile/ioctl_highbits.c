/* Hostile: the kernel reads ioctl's request as 32 bits, seccomp sees all
 * 64: TIOCSTI with a high bit set must not pass as "not TIOCSTI". */
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    char c = 'x';
    long rc = syscall(SYS_ioctl, 0, (1UL << 32) | TIOCSTI, &c);
    printf("ioctl = %ld\n", rc);
    return 0;
}
