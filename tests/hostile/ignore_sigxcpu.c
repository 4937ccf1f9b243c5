/* Hostile: ignores the CPU limit's warning signal and keeps burning. */
#include <signal.h>

int main(void)
{
    signal(SIGXCPU, SIG_IGN);
    volatile unsigned long n = 0;
    for (;;)
        n++;
}
