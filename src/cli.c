/* Placeholder until the command line lands (issue 3). */
#include "cli.h"

#include <stdio.h>

int cli_main(int argc, char **argv)
{
	fprintf(stderr, "ebaysync: not built yet\n");
	return 1;
}
