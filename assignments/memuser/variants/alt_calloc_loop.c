/* Variant (correct, full marks): parses with sscanf, allocates with calloc
 * (pages the kernel has not given yet, like malloc's) and writes the block
 * with a loop of its own. Must get full marks and no error. */
#include <stdio.h>
#include <stdlib.h>

static int positive(const char *s, unsigned long *out)
{
    char extra;
    if (s[0] == '-' || s[0] == '+')
        return 0;
    if (sscanf(s, "%lu%c", out, &extra) != 1)
        return 0;
    return *out > 0;
}

int main(int argc, char **argv)
{
    unsigned long mb, passes = 1;
    if (argc < 2 || argc > 3 || !positive(argv[1], &mb) ||
        (argc == 3 && !positive(argv[2], &passes))) {
        fprintf(stderr, "Usage: %s MB [PASSES]\n", argv[0]);
        exit(2);
    }
    size_t size = mb * 1024 * 1024;
    if (size / (1024 * 1024) != mb) {
        fprintf(stderr, "%s: cannot allocate %lu MB\n", argv[0], mb);
        exit(1);
    }
    char *p = calloc(size, 1);
    if (p == NULL) {
        fprintf(stderr, "%s: cannot allocate %lu MB\n", argv[0], mb);
        exit(1);
    }
    for (unsigned long k = 0; k < passes; k++)
        for (size_t i = 0; i < size; i += 1)
            p[i] = (char)(i + k);
    printf("touched %zu bytes\n", size * passes);
    free(p);
    return 0;
}
