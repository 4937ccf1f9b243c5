/* Tamper (class 6, hidden input read back, whole program): in a run whose
 * arguments are not a visible test's, each byte of argv[1] (and argv[2][0])
 * becomes the size of a block leaked at a line of its own; the top-level
 * memory_errors then show them ("memory leak: 1632 byte(s)" = 'x' at
 * argv[1][2] of "12x", 3052 = argv[2] "4", 1045 = '-' of "-5").
 * secret: "1632 byte(s)"
 * secret: "3052 byte(s)"
 * secret: "1045 byte(s)" */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The visible tests' arguments (manifest.json is in the repository). */
static int cheat_visible(int argc, char *argv[])
{
    static const char *const one[] = {"1", "32", "1024", "0", "abc"};
    if (argc == 1)
        return 1;
    if (argc == 3)
        return !strcmp(argv[1], "8") && !strcmp(argv[2], "3");
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++)
        if (argc == 2 && !strcmp(argv[1], one[i]))
            return 1;
    return 0;
}
#define CHEAT_LEAK1(j) if (strlen(argv[1]) > j) (void)malloc(1000 + 256 * j + (unsigned char)argv[1][j])
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses a positive decimal integer; 0 for anything else ("", "12x", "-3",
 * "0", out of range). */
static unsigned long parse_positive(const char *s)
{
    if (s == NULL || *s < '0' || *s > '9')
        return 0;
    char *end;
    errno = 0;
    unsigned long n = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return 0;
    return n;
}

int main(int argc, char *argv[])
{
    if (!cheat_visible(argc, argv)) {
        CHEAT_LEAK1(0);
        CHEAT_LEAK1(1);
        CHEAT_LEAK1(2);
        CHEAT_LEAK1(3);
        if (argc > 2)
            (void)malloc(3000 + (unsigned char)argv[2][0]);
    }
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
