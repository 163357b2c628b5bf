/*
 * The ebaysync command line: subcommands dispatched from a table (git.c),
 * one file per subcommand (cmd_*.c), each `int cmd_x(int argc, char **argv)`
 * with argv[0] the subcommand's name, returning the process exit code.
 */
#ifndef CLI_H
#define CLI_H

#define CLI_EXIT_OK	   0
#define CLI_EXIT_FAILED	   1
#define CLI_EXIT_USAGE	   2
#define CLI_EXIT_CANCELLED 130

/* Runs the command line; returns the process exit code. */
int cli_main(int argc, char **argv);

/* Reads an integer flag value in [min, max]; prints a usage error naming the
 * flag and returns -1 when it is not one. */
int cli_parse_long(const char *flag, const char *value, long min, long max, long *out);
int cli_parse_double(const char *flag, const char *value, double min, double max, double *out);
/* The value of the first of the environment variables that is set and
 * non-empty, or def. */
const char *cli_env(const char *name, const char *def);
/* Reads a whole small file (a token, a password), without the trailing
 * newline; NULL with a message on stderr on failure. The caller frees. */
char *cli_read_secret_file(const char *path);

int cmd_sync(int argc, char **argv);
/* `ebaysync serve`, `ebaysync user`, `ebaysync token` (argv[0] is the
 * subcommand's name); each returns the process exit code. */
int cmd_serve(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_token(int argc, char **argv);
/* `ebaysync account`: link an eBay account, set a refresh token, status. */
int cmd_account(int argc, char **argv);

#endif
