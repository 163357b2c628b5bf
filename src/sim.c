/* Placeholder until the simulator lands (issue 2). */
#include "sim.h"

#include <stdio.h>

int sim_main(int argc, char **argv)
{
	fprintf(stderr, "ebaysync-sim: not built yet\n");
	return 1;
}
