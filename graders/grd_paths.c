/* grd_paths: where memgrade's own files are. An installed binary
 * (PREFIX/bin/memgrade, `cmake --install`) finds them in
 * PREFIX/share/memgrade, wherever PREFIX is; a binary in a build tree finds
 * them in the source tree it was built from. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "grd.h"

#ifndef GRD_RT_DIR
#define GRD_RT_DIR MEMGRADE_SOURCE_DIR "/graders/rt"
#endif

static char share[PATH_MAX], rt[PATH_MAX + 8];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void find(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0'; /* PREFIX/bin */
            char probe[PATH_MAX + 64];
            snprintf(probe, sizeof probe, "%s/../share/memgrade/rt/mgrt.c", exe);
            if (access(probe, R_OK) == 0 &&
                realpath(strcat(exe, "/../share/memgrade"), share) == NULL)
                share[0] = '\0';
        }
    }
    if (share[0])
        snprintf(rt, sizeof rt, "%s/rt", share);
    else
        snprintf(rt, sizeof rt, "%s", GRD_RT_DIR);
}

const char *grd_share_dir(void)
{
    pthread_once(&once, find);
    return share[0] ? share : NULL;
}

const char *grd_rt_dir(void)
{
    pthread_once(&once, find);
    return rt;
}
