/* cli: the subcommands of the memgrade executable (SPEC §2). Each takes the
 * arguments after its name (argv[0] is the subcommand) and returns the
 * process exit status: 0 done, 2 bad usage (one line on stderr), 1 internal
 * failure. */
#ifndef MEMGRADE_CLI_H
#define MEMGRADE_CLI_H

int cli_grade(int argc, char **argv);     /* server/cli_grade.c */
int srv_cmd_serve(int argc, char **argv); /* server/srv_main.c */
int srv_cmd_worker(int argc, char **argv); /* server/srv_main.c */
int srv_cmd_user(int argc, char **argv);  /* server/srv_main.c */
int cli_course(int argc, char **argv);    /* server/cli_course.c */
int cli_assignment(int argc, char **argv); /* server/cli_assignment.c */
int cli_lti(int argc, char **argv);       /* server/cli_lti.c */

/* Default assignments folder: $MEMGRADE_ASSIGNMENTS, else the source tree's. */
const char *cli_default_assignments(void);

#endif
