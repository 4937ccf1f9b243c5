/* Hostile: looks for site-local files the box does not need (admin tools,
 * site configuration, a locally installed memgrade with its assignments)
 * under /usr/local; prints "DIR NAME" per entry, never any file's contents. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>

static void list(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        printf("%s ERR %d\n", dir, errno);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            printf("%s %s\n", dir, e->d_name);
    closedir(d);
}

int main(void)
{
    list("/usr/local");
    list("/usr/local/etc");
    list("/usr/local/share");
    return 0;
}
