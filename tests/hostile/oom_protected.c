/* Not hostile: sleeps so the test can look at it from outside. A service
 * often runs with a negative oom_score_adj (systemd OOMScoreAdjust=); the
 * program must not inherit that protection from the global OOM killer. */
#include <unistd.h>

int main(void)
{
    usleep(1000 * 1000);
    return 0;
}
