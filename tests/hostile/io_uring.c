/* Hostile: io_uring runs system calls the seccomp filter never sees. */
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif

int main(void)
{
    char params[120];                /* struct io_uring_params */
    memset(params, 0, sizeof params);
    long rc = syscall(__NR_io_uring_setup, 8, params);
    printf("io_uring_setup = %ld\n", rc);
    return 0;
}
