/* Variant (endless loop on bad input): a hand-written parser that never
 * steps over a character that is not a digit; otherwise the reference.
 * Each test with such an argument runs to its time limit, which comes from
 * the reference's own time (graders/grd_calib.c), not the manifest's 10 s. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses a positive decimal integer; 0 for anything else. */
static unsigned long parse_positive(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    unsigned long n = 0;
    size_t i = 0;
    while (s[i] != '\0') {
        if (s[i] >= '0' && s[i] <= '9') {
            n = n * 10 + (unsigned long)(s[i] - '0');
            i++;
        }
        /* BUG: a character that is not a digit is never stepped over, so
         * "abc", "12x" or "-5" keep this loop going forever. */
    }
    return n;
}

int main(int argc, char *argv[])
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: memuser MB [PASSES]\n");
        return 2;
    }
    unsigned long mb = parse_positive(argv[1]);
    unsigned long passes = argc == 3 ? parse_positive(argv[2]) : 1;
    if (mb == 0 || passes == 0) {
        fprintf(stderr, "usage: memuser MB [PASSES]  (MB and PASSES are positive integers)\n");
        return 2;
    }

    if (mb > SIZE_MAX / 1048576) {
        fprintf(stderr, "memuser: cannot allocate %lu MiB\n", mb);
        return 1;
    }
    size_t size = (size_t)mb * 1048576;
    char *block = malloc(size);
    if (block == NULL) {
        fprintf(stderr, "memuser: cannot allocate %lu MiB\n", mb);
        return 1;
    }

    unsigned long long touched = 0;
    for (unsigned long pass = 0; pass < passes; pass++) {
        memset(block, (int)('a' + pass % 26), size);
        touched += size;
    }

    printf("touched %llu bytes\n", touched);
    free(block);
    return 0;
}
