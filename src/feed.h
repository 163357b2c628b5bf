/*
 * The Sell Feed API client for eBay's Active Inventory Report
 * (LMS_ACTIVE_INVENTORY_REPORT): create the report task, poll it until it
 * is done, and download its file into a temporary file that is validated
 * (report.h) before the caller sees it. A handful of calls, made one at a
 * time with libcurl's easy interface and the conventions of the Inventory
 * client (ebay.h): the same token source (ebay_token_fn, refreshed once when
 * eBay refuses the token), the same headers, timeouts and no redirects, the
 * shared pacer, retries with capped full-jitter backoff (backoff.h) and
 * Retry-After, and the same request log callback. docs/feed.md tells the
 * design.
 *
 * A client is used by one thread; feed_cancel() may come from any.
 */
#ifndef FEED_H
#define FEED_H

#include "buf.h"
#include "ebay.h"
#include "error.h"
#include "report.h"

/* eBay's errorIds that a caller may want to tell apart. */
#define FEED_ERR_DAILY_CAP 160025 /* too many report tasks in the period */
#define FEED_ERR_NO_TASK   160003 /* no such task */
#define FEED_ERR_NO_FILE   160014 /* no file (yet) for the task */

struct feed_config {
	const char *api_base;	    /* no trailing slash; EBAY_API_PRODUCTION if NULL */
	const char *marketplace_id; /* X-EBAY-C-MARKETPLACE-ID; "EBAY_US" if NULL */
	long connect_timeout_ms;    /* 0: 10000 */
	long request_timeout_ms;    /* a create or status call; 0: 60000 */
	long download_timeout_ms;   /* the download; 0: 1800000 */
	long long max_file;	    /* download cap in bytes; 0: 2 GiB */
	int max_attempts;	    /* per call, first try included; 0: 5 */
	long backoff_base_ms;	    /* retries; 0: 500 */
	long backoff_max_ms;	    /* 0: 30000 */
	long poll_first_ms;	    /* first wait between status polls; 0: 2000 */
	long poll_max_ms;	    /* polls back off up to this; 0: 60000 */
	long long deadline_ms;	    /* for the task to finish; 0: 3600000 */
	const char *tmp_dir;	    /* for the download; NULL: $TMPDIR, else /tmp */
	const char *user;	    /* whose calls the quota ledger counts (ledger.h); NULL: none */
};

enum feed_status {
	FEED_CREATED,
	FEED_QUEUED,
	FEED_IN_PROCESS,
	FEED_COMPLETED,
	FEED_COMPLETED_WITH_ERROR,
	FEED_FAILED,
};

/* eBay's name of s ("IN_PROCESS"). */
const char *feed_status_name(enum feed_status s);

struct feed_client;
struct pacer;

/*
 * A client. cfg is copied (its strings too). pacer may be NULL and is not
 * owned; token is the Inventory client's token source; log may be NULL (its
 * entries have kind EBAY_REQ_OTHER and events feed_create_task_*,
 * feed_get_task_*, feed_download_*). Free with feed_client_free().
 */
struct feed_client *feed_client_new(const struct feed_config *cfg, struct pacer *pacer,
				    ebay_token_fn token, void *token_ctx, ebay_log_fn log,
				    void *log_ctx);
void feed_client_free(struct feed_client *c);

/* Makes the call under way, and every wait, end with ERR_CANCELLED. */
void feed_cancel(struct feed_client *c);

/* The HTTP status and eBay errorId of the last answer (0 when none), e.g.
 * 409 and FEED_ERR_DAILY_CAP after the daily cap refused a task. */
long feed_last_status(const struct feed_client *c);
long feed_last_error_id(const struct feed_client *c);

/*
 * createInventoryTask for LMS_ACTIVE_INVENTORY_REPORT (schemaVersion 1.0).
 * Stores the task id from the Location header in *task_id (malloc'd; the
 * caller frees). ERR_EBAY with eBay's message in why when refused (the
 * daily cap: feed_last_error_id() is FEED_ERR_DAILY_CAP).
 */
enum error feed_create_task(struct feed_client *c, char **task_id, struct buf *why);

/* getInventoryTask once: the task's status into *status. */
enum error feed_get_task(struct feed_client *c, const char *task_id, enum feed_status *status,
			 struct buf *why);

/*
 * Polls the task until it is COMPLETED (ERR_OK), waiting poll_first_ms and
 * then twice as long each time up to poll_max_ms. ERR_EBAY when it ends
 * FAILED or COMPLETED_WITH_ERROR (a report with errors may lack listings,
 * and a missing listing would read as an ended one), ERR_TIMEOUT past
 * deadline_ms from the call, ERR_CANCELLED on feed_cancel().
 */
enum error feed_wait_task(struct feed_client *c, const char *task_id, struct buf *why);

/*
 * Downloads the task's file into a new temporary file (unlinked at once,
 * so nothing is left behind), then reads it through once with report.h to
 * check it. On ERR_OK, *fd is the open file (the caller reads it with
 * report_read_fd() and closes it) and summary (may be NULL) holds its
 * counts. A cut or oversized download, or a report that does not read to
 * its end, is an error naming what was wrong, and no fd is returned.
 */
enum error feed_download(struct feed_client *c, const char *task_id, int *fd,
			 struct report_summary *summary, struct buf *why);

/* All three: create, wait, download. *task_id (may be NULL) gets the id. */
enum error feed_fetch_report(struct feed_client *c, int *fd, struct report_summary *summary,
			     char **task_id, struct buf *why);

#endif
