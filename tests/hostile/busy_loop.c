/* Hostile: burns CPU forever; must end by the CPU limit. */
int main(void)
{
    volatile unsigned long n = 0;
    for (;;)
        n++;
}
