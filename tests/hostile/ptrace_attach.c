/* Hostile: tries to attach to its parent and to process 1. */
#include <stdio.h>
#include <sys/ptrace.h>
#include <unistd.h>

int main(void)
{
    long a = ptrace(PTRACE_ATTACH, getppid(), NULL, NULL);
    long b = ptrace(PTRACE_ATTACH, 1, NULL, NULL);
    printf("ptrace = %ld %ld\n", a, b);
    return 0;
}
