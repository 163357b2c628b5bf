/* The eBay simulator (ebaysync-sim). */
#ifndef SIM_H
#define SIM_H

/* Parses the command line, serves until SIGINT/SIGTERM; returns the exit code. */
int sim_main(int argc, char **argv);

#endif
