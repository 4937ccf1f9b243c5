/* Hostile: writes 2 GiB to stdout as fast as it can. */
#include <string.h>
#include <unistd.h>

static char buf[1 << 20];

int main(void)
{
    memset(buf, 'O', sizeof buf);
    for (int i = 0; i < 2048; i++) {
        size_t off = 0;
        while (off < sizeof buf) {
            ssize_t w = write(1, buf + off, sizeof buf - off);
            if (w <= 0)
                return 3;
            off += (size_t)w;
        }
    }
    return 0;
}
