/* Hostile: SIGKILL to its own process group. Run twice at once in the same
 * box: "victim" (argv[1]) waits 1.5 s and says it is done; the attacker
 * waits for the victim to start and kills its process group. If the group
 * is the server's, it spans both boxes' PID namespaces and the victim, a
 * process of another run with the same uid, dies too. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "victim") == 0) {
        usleep(1500 * 1000);
        puts("victim done");
        return 0;
    }
    usleep(400 * 1000);
    puts("killing my process group");
    fflush(stdout);
    kill(0, SIGKILL);
    return 0;
}
