/* cli_assignment: `memgrade assignment check DIR` (SPEC §6): the manifest
 * strictly valid, its files present, the driver compiling, the reference
 * at full marks with no memory error and every variant graded as
 * variants/expected.json says (asg_check.c). One line per problem; exit 0
 * when there is none, 1 otherwise, 2 for bad usage. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "asg_check.h"
#include "cli.h"

static void print_problem(void *ctx, const char *msg)
{
    (void)ctx;
    printf("%s\n", msg);
}

int cli_assignment(int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "check")) {
        fprintf(stderr, "usage: memgrade assignment check DIR\n");
        return 2;
    }
    char dir[PATH_MAX];
    struct stat sb;
    if (!realpath(argv[2], dir) || stat(dir, &sb) || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "memgrade assignment: %s: not a folder\n", argv[2]);
        return 2;
    }
    const char *name = strrchr(dir, '/') + 1;
    if (!*name) {
        fprintf(stderr, "memgrade assignment: %s: not an assignment folder\n", argv[2]);
        return 2;
    }
    int n = asg_check(dir, name, print_problem, NULL);
    if (!n)
        printf("%s: ok\n", name);
    return n ? 1 : 0;
}
