/* Hostile: one system call by number (argv[3]) with all-zero arguments, for
 * calls the run profile must refuse however harmless they look with these
 * arguments; the refusal must come from the filter, not from the kernel
 * rejecting the zeros. Prints "syscall N = RC" if it returns. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    long nr = strtol(argv[3], NULL, 10);
    long rc = syscall(nr, 0, 0, 0, 0, 0, 0);
    printf("syscall %ld = %ld\n", nr, rc);
    return 0;
}
