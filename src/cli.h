/* The ebaysync command line: subcommands dispatched from a table (git.c). */
#ifndef CLI_H
#define CLI_H

/* Runs the command line; returns the process exit code. */
int cli_main(int argc, char **argv);

#endif
