/* Hostile: hides a refused call behind the output limit. It writes just
 * past the limit (argv[2] bytes, the test's RUN_OUTPUT + 1) and at once
 * tries ptrace; if the supervisor's "output limit" outranks init's report
 * of the refused call, the verdict never says what was tried. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    size_t left = argc > 2 ? strtoul(argv[2], NULL, 10) : (1u << 20) + 1;
    static char buf[65536];
    memset(buf, 'x', sizeof buf);
    while (left > 0) {
        ssize_t n = write(1, buf, left < sizeof buf ? left : sizeof buf);
        if (n <= 0)
            return 1;
        left -= (size_t)n;
    }
    (void)!write(2, "T", 1);        /* about to try: seen if we got this far */
    ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    (void)!write(2, "R", 1);        /* the call returned (it must not) */
    return 0;
}
