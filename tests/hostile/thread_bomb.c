/* Hostile: as many spinning threads as it can create. */
#include <pthread.h>
#include <stdio.h>

static void *spin(void *arg)
{
    volatile unsigned long n = 0;
    for (;;)
        n++;
    return arg;
}

int main(void)
{
    int made = 0;
    for (int i = 0; i < 100000; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, spin, NULL) != 0)
            break;
        made++;
    }
    printf("threads %d\n", made);
    fflush(stdout);
    spin(NULL);
    return 0;
}
