/*
 * The Active Inventory Report as a client reads it (bench/report.sh): asks
 * the simulator at URL for a report (create, poll, download to a temporary
 * file, validation pass), reads it again row by row as a caller storing it
 * would, and prints the counts and times. Run under /usr/bin/time -v for
 * the peak memory. Usage: report_read URL TOKEN
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feed.h"
#include "report.h"
#include "timeutil.h"
#include "xalloc.h"

static const char *token_value;

static enum error token(void *ctx, int refresh, char **out, struct buf *why)
{
	*out = xstrdup(token_value);
	return ERR_OK;
}

struct tally {
	long long rows, quantity;
	size_t sku_bytes;
};

static enum error count(void *ctx, const struct report_row *r, struct buf *why)
{
	struct tally *t = ctx;

	t->rows++;
	t->quantity += r->quantity;
	t->sku_bytes += strlen(r->sku);
	return ERR_OK;
}

int main(int argc, char **argv)
{
	struct feed_config cfg = {.poll_first_ms = 200, .poll_max_ms = 1000, .deadline_ms = 600000};
	struct buf why = BUF_INIT;
	struct report_summary sum;
	struct tally t = {0};
	struct feed_client *c;
	long long t0, t1, t2;
	off_t size;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: %s URL TOKEN\n", argv[0]);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	cfg.api_base = argv[1];
	token_value = argv[2];
	c = feed_client_new(&cfg, NULL, token, NULL, NULL, NULL);
	t0 = timeutil_mono_ms();
	if (feed_fetch_report(c, &fd, &sum, NULL, &why)) {
		fprintf(stderr, "report_read: %s\n", buf_str(&why));
		return 1;
	}
	t1 = timeutil_mono_ms();
	if (report_read_fd(fd, count, &t, NULL, &why)) {
		fprintf(stderr, "report_read: %s\n", buf_str(&why));
		return 1;
	}
	t2 = timeutil_mono_ms();
	size = lseek(fd, 0, SEEK_END);
	printf("rows %lld (listings %lld, variations %lld), archive %lld bytes\n", t.rows,
	       sum.listings, sum.variations, (long long)size);
	printf("create+poll+download+validate %lld ms, read %lld ms (%.0f rows/s)\n", t1 - t0,
	       t2 - t1, t2 > t1 ? (double)t.rows * 1000.0 / (double)(t2 - t1) : 0.0);
	close(fd);
	feed_client_free(c);
	buf_release(&why);
	curl_global_cleanup();
	return t.rows == sum.rows ? 0 : 1;
}
