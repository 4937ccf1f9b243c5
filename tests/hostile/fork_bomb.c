/* Hostile: classic fork bomb. Every process forks forever; with processes
 * refused the first fork is a blocked system call, with processes allowed the
 * box must end it by its process and time limits. */
#include <unistd.h>

int main(void)
{
    for (;;)
        fork();
}
