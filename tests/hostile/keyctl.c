/* Hostile: the kernel keyring is shared state outside every namespace. */
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    long rc = syscall(SYS_add_key, "user", "mg", "secret", 6, -3 /* session */);
    printf("add_key = %ld\n", rc);
    return 0;
}
