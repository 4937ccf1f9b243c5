/* Hostile: the legacy vsyscall page (getcpu at 0xffffffffff600800) enters
 * the kernel without a syscall instruction; the filter must still judge it. */
#include <stdio.h>

int main(void)
{
    typedef long (*getcpu_fn)(unsigned *, unsigned *, void *);
    unsigned cpu = 0, node = 0;
    long rc = ((getcpu_fn)0xffffffffff600800UL)(&cpu, &node, NULL);
    printf("vsyscall getcpu = %ld cpu %u\n", rc, cpu);
    return 0;
}
