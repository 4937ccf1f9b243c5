/* Never-set bytes written to a file, where no output changes: a record
 * whose name was never filled in, by fwrite, and a block never set, by
 * write. Each is an uninitialized_read at the call's line, as Valgrind
 * says of the write system call's buffer. What goes to stdout is the same
 * in both runs and is not reported. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct record {
    int id;
    char name[28];
};

int main(void)
{
    struct record *r = malloc(sizeof *r);
    char *block = malloc(64);
    FILE *f = fopen("/tmp/records.bin", "wb");
    int fd = open("/tmp/block.bin", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (!r || !block || !f || fd < 0)
        return 1;
    r->id = 7;
    fwrite(r, sizeof *r, 1, f);
    if (write(fd, block, 64) != 64)
        return 1;
    fclose(f);
    close(fd);
    puts("memgrade fixture canary");
    free(r);
    free(block);
    return 0;
}
