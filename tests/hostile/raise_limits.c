/* Hostile: tries to lift its own limits (CPU, memory, processes, file size),
 * prints "NAME rc" for each attempt, then burns CPU forever. */
#include <stdio.h>
#include <sys/resource.h>

int main(void)
{
    static const struct { int res; const char *name; } limits[] = {
        { RLIMIT_CPU, "cpu" }, { RLIMIT_AS, "as" }, { RLIMIT_NPROC, "nproc" },
        { RLIMIT_FSIZE, "fsize" }, { RLIMIT_NOFILE, "nofile" }, { RLIMIT_CORE, "core" },
    };
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
        struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
        printf("%s %d\n", limits[i].name, setrlimit(limits[i].res, &rl));
    }
    fflush(stdout);
    volatile unsigned long n = 0;
    for (;;)
        n++;
}
