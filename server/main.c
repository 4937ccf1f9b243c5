/* memgrade: entry point. Dispatches to the subcommand named by argv[1]
 * through one table, so usage text and dispatch never disagree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "grd.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
} commands[] = {
    {"grade", cli_grade,
     "grade --assignment NAME [--json] [--assignments DIR] FILE..."},
    {"serve", srv_cmd_serve,
     "serve [--port N] [--db PATH] [--assignments DIR] [--workers N] ..."},
    {"worker", srv_cmd_worker,
     "worker --db postgres://USER@HOST/DB [--workers N] [--lease SECONDS] [--assignments DIR] ..."},
    {"user", srv_cmd_user,
     "user add NAME --role student|instructor [--db PATH]\n"
     "  memgrade user token|revoke NAME [--db PATH]\n"
     "  memgrade user list [--db PATH]\n"
     "  memgrade user passwd NAME [--db PATH]   (reads the new password from stdin)"},
    {"course", cli_course,
     "course add ID --title TEXT [--db PATH]\n"
     "  memgrade course enrol ID USER --role student|ta|instructor [--db PATH]\n"
     "  memgrade course offer ID ASSIGNMENT [--due ISO8601] [--accept-until ISO8601]\n"
     "                        [--late-penalty PCT_PER_DAY] [--max-submissions N]\n"
     "                        [--policy best|last] [--db PATH]\n"
     "  memgrade course list [--db PATH]"},
    {"assignment", cli_assignment, "assignment check DIR"},
    {"lti", cli_lti,
     "lti add-platform --issuer ISS --client-id ID --deployment-id DEP\n"
     "                    --auth-url URL --token-url URL --jwks-url URL [--db PATH]\n"
     "  memgrade lti list|remove ID|set ID --FIELD VALUE|remove-deployment ID --deployment-id DEP\n"
     "  memgrade lti keys list|rotate [--grace DAYS] [--db PATH]"},
};

const char *cli_default_assignments(void)
{
    static char installed[4200];
    const char *env = getenv("MEMGRADE_ASSIGNMENTS");
    if (env && *env)
        return env;
    /* an installed binary serves the assignments installed beside it */
    if (grd_share_dir()) {
        snprintf(installed, sizeof installed, "%s/assignments", grd_share_dir());
        return installed;
    }
    return MEMGRADE_SOURCE_DIR "/assignments";
}

static void usage(FILE *f)
{
    fprintf(f, "usage:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  memgrade %s\n", commands[i].usage);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "memgrade: unknown command '%s' (try memgrade --help)\n", argv[1]);
    return 2;
}
