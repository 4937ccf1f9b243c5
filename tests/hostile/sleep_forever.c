/* Hostile: uses no CPU and never ends; only the wall clock can stop it. */
#include <unistd.h>

int main(void)
{
    for (;;)
        pause();
}
