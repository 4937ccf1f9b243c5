/* Hostile: lists / , .. and ../.. to map the filesystem it can see; one
 * "DIR NAME" line per entry, "DIR ERR errno" when the listing fails. */
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
        printf("%s %s\n", dir, e->d_name);
    closedir(d);
}

int main(void)
{
    list("/");
    list("..");
    list("../..");
    list("/box/../..");
    return 0;
}
