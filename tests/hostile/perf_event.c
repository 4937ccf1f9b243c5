/* Hostile: perf events leak kernel addresses and timing across processes. */
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    long rc = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
    printf("perf_event_open = %ld\n", rc);
    return 0;
}
