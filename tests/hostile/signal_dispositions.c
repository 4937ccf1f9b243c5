/* Not hostile, a fresh-process check: a program must start with every
 * signal at its default action and none blocked, whatever the server that
 * runs the sandbox ignores (ignored signals survive execve). Prints
 * "ignored N" and "blocked N" for each such signal, then "done". */
#include <signal.h>
#include <stdio.h>

int main(void)
{
    sigset_t mask;
    sigprocmask(SIG_SETMASK, NULL, &mask);
    for (int s = 1; s < NSIG; s++) {
        struct sigaction sa;
        if (sigaction(s, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
            printf("ignored %d\n", s);
        if (sigismember(&mask, s) == 1)
            printf("blocked %d\n", s);
    }
    puts("done");
    return 0;
}
