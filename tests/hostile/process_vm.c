/* Hostile: reads another process's memory without ptrace. */
#include <stdio.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void)
{
    char buf[64];
    struct iovec local = { buf, sizeof buf }, remote = { (void *)0x400000, sizeof buf };
    ssize_t rc = process_vm_readv(getppid(), &local, 1, &remote, 1, 0);
    printf("process_vm_readv = %zd\n", rc);
    return 0;
}
