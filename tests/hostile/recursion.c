/* Hostile: unbounded recursion with a frame the optimiser cannot remove. */
#include <stdio.h>

static unsigned long deeper(unsigned long n)
{
    volatile char frame[256];
    frame[n % sizeof frame] = (char)n;
    return deeper(n + 1) + frame[(n + 1) % sizeof frame];
}

int main(void)
{
    printf("%lu\n", deeper(0));
    return 0;
}
