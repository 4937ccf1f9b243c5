/* Hostile: signals and limits aimed at the box's init (pid 1, root, the one
 * process that reports on the run) through every call the run profile
 * allows: tgkill, rt_sigqueueinfo, kill(SIGSTOP), prlimit64 to shrink its
 * limits or read them. Prints "NAME RC ERRNO" per call; all must fail. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(const char *name, long rc)
{
    printf("%s %ld %d\n", name, rc, rc < 0 ? errno : 0);
    fflush(stdout);
}

int main(void)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGTERM;
    si.si_code = SI_QUEUE;
    struct rlimit zero = {0, 0}, old;
    show("tgkill", syscall(SYS_tgkill, 1, 1, SIGKILL));
    show("tkill", syscall(SYS_tkill, 1, SIGKILL));
    show("rt_sigqueueinfo", syscall(SYS_rt_sigqueueinfo, 1, SIGTERM, &si));
    show("kill_stop", kill(1, SIGSTOP));
    show("prlimit_set", syscall(SYS_prlimit64, 1, RLIMIT_NOFILE, &zero, NULL));
    show("prlimit_get", syscall(SYS_prlimit64, 1, RLIMIT_NOFILE, NULL, &old));
    show("setpgid", setpgid(1, getpgid(0)));
    fflush(stdout);
    return 0;
}
