/* Hostile: asks to be traced (the first step of many ptrace escapes). */
#include <stdio.h>
#include <sys/ptrace.h>

int main(void)
{
    long rc = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    printf("ptrace = %ld\n", rc);
    return 0;
}
