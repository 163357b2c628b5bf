/* The ebaysync command line: subcommands dispatched from a table (git.c). */
#ifndef CLI_H
#define CLI_H

/* Runs the command line; returns the process exit code. */
int cli_main(int argc, char **argv);

/* `ebaysync serve`, `ebaysync user`, `ebaysync token` (argv[0] is the
 * subcommand's name); each returns the process exit code. */
int cmd_serve(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_token(int argc, char **argv);

#endif
