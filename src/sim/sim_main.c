/*
 * ebaysync-sim, the eBay simulator's program: parses the command line
 * (sim_config.h), builds the simulator (sim.h), serves it over HTTP
 * (sim_http.h) until SIGINT or SIGTERM, and exits 0; 2 for a bad command
 * line, 1 when it cannot start.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "buf.h"
#include "sim.h"
#include "sim_config.h"
#include "sim_http.h"
#include "banned.h"

/* Lets many stalled and keep-alive connections stay open at once. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	struct sim_config cfg;
	struct buf why = BUF_INIT;
	struct sim *s = NULL;
	struct sim_http *http = NULL;
	sigset_t sigs;
	int sig = 0, rc = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			sim_config_usage(&why);
			fputs(buf_str(&why), stdout);
			buf_release(&why);
			return 0;
		}
	}
	sim_config_defaults(&cfg);
	if (sim_config_parse_argv(&cfg, argc, argv, &why)) {
		fprintf(stderr, "ebaysync-sim: %s\n", buf_str(&why));
		buf_release(&why);
		return 2;
	}
	/* Signals go to sigwait below, not to whichever thread runs. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();

	s = sim_new(&cfg, &why);
	if (!s) {
		fprintf(stderr, "ebaysync-sim: %s\n", buf_str(&why));
		goto out;
	}
	http = sim_http_start(s, &why);
	if (!http) {
		fprintf(stderr, "ebaysync-sim: %s\n", buf_str(&why));
		goto out;
	}
	printf("ebaysync-sim: %zu SKUs (seed %llu%s%s), listening on %s\n",
	       sim_catalog_count(s->catalog), (unsigned long long)cfg.seed,
	       cfg.catalog[0] ? ", catalog " : "", cfg.catalog, sim_http_url(http));
	fflush(stdout);
	while (sigwait(&sigs, &sig) == EINTR)
		;
	fprintf(stderr, "ebaysync-sim: %s received, stopping\n",
		sig == SIGINT ? "SIGINT" : "SIGTERM");
	rc = 0;
out:
	sim_http_stop(http);
	sim_free(s);
	buf_release(&why);
	return rc;
}
