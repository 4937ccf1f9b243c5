/* Hostile: pushes characters into the input queue of the terminal on fd 0
 * (a classic sandbox escape when the box shares the caller's tty). */
#include <stdio.h>
#include <sys/ioctl.h>

int main(void)
{
    char c = 'x';
    int rc = ioctl(0, TIOCSTI, &c);
    printf("ioctl(TIOCSTI) = %d\n", rc);
    return 0;
}
