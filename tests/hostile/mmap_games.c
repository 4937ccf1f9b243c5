/* Hostile: address-space tricks against the memory limit: a 1 TiB
 * PROT_NONE reservation with MAP_NORESERVE, growing a small mapping to
 * 1 TiB with mremap, and a 1 TiB MAP_SHARED anonymous mapping. Prints
 * "NAME ok" (mapped) or "NAME ERR errno" for each. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>

#define TIB (1UL << 40)

static void show(const char *name, void *p)
{
    if (p == MAP_FAILED)
        printf("%s ERR %d\n", name, errno);
    else
        printf("%s ok\n", name);
}

int main(void)
{
    show("noreserve", mmap(NULL, TIB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                           -1, 0));
    void *small = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show("mremap", small == MAP_FAILED ? MAP_FAILED : mremap(small, 1 << 20, TIB, MREMAP_MAYMOVE));
    show("shared", mmap(NULL, TIB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    return 0;
}
