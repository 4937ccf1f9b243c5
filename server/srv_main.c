/* srv_main: the `serve` and `user` subcommands (placeholder so that the
 * memgrade executable links while the service is being written). */
#include <stdio.h>

#include "cli.h"

int srv_cmd_serve(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "memgrade serve: not built yet\n");
    return 1;
}

int srv_cmd_user(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "memgrade user: not built yet\n");
    return 1;
}
