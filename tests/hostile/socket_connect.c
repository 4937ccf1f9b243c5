/* Hostile: connects to a TCP listener on 127.0.0.1:argv[1] and says hello. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        perror("socket");
        return 1;
    }
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_port = htons((unsigned short)atoi(argc > 1 ? argv[1] : "1"));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        perror("connect");
        return 1;
    }
    (void)!write(fd, "hello\n", 6);
    puts("connected");
    return 0;
}
