/* Hostile: turns off address space randomisation / makes data executable. */
#include <stdio.h>
#include <sys/personality.h>

int main(void)
{
    int rc = personality(ADDR_NO_RANDOMIZE | READ_IMPLIES_EXEC);
    printf("personality = %d\n", rc);
    return 0;
}
