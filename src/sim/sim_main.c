/* ebaysync-sim: the eBay simulator's entry point; all work is in sim.c. */
#include "sim.h"

int main(int argc, char **argv)
{
	return sim_main(argc, argv);
}
