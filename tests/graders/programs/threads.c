/* Correct: four threads allocate, grow and free at once; the allocator must
 * stay consistent and find nothing wrong. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *work(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        char *p = malloc((size_t)(i % 100) + 1);
        if (!p)
            return NULL;
        memset(p, 1, (size_t)(i % 100) + 1);
        char *q = realloc(p, 200);
        free(q ? q : p);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, work, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    puts("memgrade fixture canary");
    return 0;
}
