/*
 * SSE load client for bench/sse_load.sh: N subscribers to one run's event
 * stream at once (one curl multi handle), each read to the end. Prints how
 * many got every event in order, the events each got, and when the first
 * and the last subscriber finished, relative to the start.
 *
 * usage: sse_load BASE_URL TOKEN RUN_ID CLIENTS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "sse_client.h"
#include "timeutil.h"
#include "xalloc.h"

int main(int argc, char **argv)
{
	struct sse_client *c;
	struct rlimit rl;
	long long t0, first_done = -1, last_done = 0, events = -1;
	size_t n, i, ok = 0, failed;
	char *url;

	if (argc != 5) {
		fprintf(stderr, "usage: %s BASE_URL TOKEN RUN_ID CLIENTS\n", argv[0]);
		return 2;
	}
	n = strtoul(argv[4], NULL, 10);
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	url = xasprintf("%s/ebay/sync/events/%s", argv[1], argv[3]);
	c = xcalloc(n, sizeof(*c));
	for (i = 0; i < n; i++)
		sse_client_init(&c[i], url, argv[2], -1);
	t0 = timeutil_mono_ms();
	failed = sse_client_run_many(c, n, 900);
	for (i = 0; i < n; i++) {
		int in_order = c[i].n > 0 && sse_client_ids_contiguous(&c[i], 0) &&
			       c[i].status == 200 &&
			       (!strcmp(c[i].events[c[i].n - 1].type, "done") ||
				!strcmp(c[i].events[c[i].n - 1].type, "cancelled"));
		if (events < 0)
			events = (long long)c[i].n;
		if (in_order && (long long)c[i].n == events)
			ok++;
		if (c[i].n && (first_done < 0 || c[i].last_ms - t0 < first_done))
			first_done = c[i].last_ms - t0;
		if (c[i].n && c[i].last_ms - t0 > last_done)
			last_done = c[i].last_ms - t0;
	}
	printf("subscribers=%zu complete_in_order=%zu transport_failures=%zu events_each=%lld "
	       "first_done_ms=%lld last_done_ms=%lld\n",
	       n, ok, failed, events, first_done, last_done);
	for (i = 0; i < n; i++)
		sse_client_release(&c[i]);
	free(c);
	free(url);
	curl_global_cleanup();
	return ok == n ? 0 : 1;
}
