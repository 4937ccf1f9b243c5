/* Hostile: site configuration kept under /usr rather than /usr/local
 * (/usr/etc: this build machine keeps an npmrc there; Debian itself puts
 * nothing in it), which neither gcc nor the loader needs. Prints
 * "DIR NAME" per entry, never any file's contents. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>

int main(void)
{
    DIR *d = opendir("/usr/etc");
    if (!d) {
        printf("/usr/etc ERR %d\n", errno);
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            printf("/usr/etc %s\n", e->d_name);
    closedir(d);
    return 0;
}
