/*
 * eBay's daily quota, the admission side: whether a sync job may start now
 * (docs/quota.md). Two rules:
 *
 * - never start a job that the quota left today cannot finish (its cost is
 *   estimated from what the store knows of the user's catalog), and
 * - share the day's quota fairly among the users with work: weighted
 *   max-min fairness over each user's demand (calls used today + calls its
 *   running and queued jobs need), so that a user may take more than its
 *   weighted share only while no other user with work needs it, and a
 *   500,000-SKU seller cannot starve the 500-SKU ones.
 *
 * The decision is a pure function of its inputs (quota_decide); struct
 * quota gathers those inputs from the store (ledger, shares, catalog
 * sizes), eBay's Developer Analytics (analytics.h) where it answers, and
 * the job queue (a callback), and has the job queue's admission hook shape
 * (quota_admit_hook).
 */
#ifndef QUOTA_H
#define QUOTA_H

#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "sync_run.h"

/* eBay's Inventory API allows about 2,000,000 calls a day per application. */
#define QUOTA_DEFAULT_DAILY 2000000LL
/* Catalog size assumed for a user never synced. */
#define QUOTA_DEFAULT_SKUS 1000LL
/* A wait for the share is looked at again after (ms). */
#define QUOTA_RECHECK_MS 60000LL

enum quota_reason {
	QUOTA_OK,      /* admitted */
	QUOTA_SPENT,   /* no call left today */
	QUOTA_TOO_BIG, /* the job needs more calls than are left today */
	QUOTA_BUSY,    /* what is left is promised to running jobs */
	QUOTA_SHARE,   /* the user used its fair share while others wait */
};

/* "ok", "quota_spent", "quota_too_big", "quota_busy", "quota_share". */
const char *quota_reason_code(enum quota_reason r);

/* The estimated eBay calls of a job of kind for a catalog of skus SKUs
 * (-1: unknown, QUOTA_DEFAULT_SKUS is assumed), retries included. */
long long quota_job_cost(enum sync_kind kind, long long skus);

/* One user with work, as the decision sees it. */
struct quota_user {
	const char *user;
	double weight;	   /* <= 0: 1 */
	long long used;	   /* calls made today */
	long long running; /* calls its running jobs still need */
	long long queued;  /* calls its queued jobs need (not the job asked about) */
};

struct quota_ask {
	long long limit;     /* the day's quota */
	long long remaining; /* calls left now */
	long long reset_ms;  /* wall ms of the next reset */
	long long now_ms;    /* wall ms */
	long long
	    recheck_ms;	  /* a share or busy wait is looked at again after; 0: QUOTA_RECHECK_MS */
	const char *user; /* who asks */
	long long cost;	  /* the job's calls */
	const struct quota_user *users; /* every user with work or use today; the asker may
					   be missing (no use, no other work) */
	size_t n_users;
};

struct quota_decision {
	enum quota_reason reason;
	long long retry_at_ms; /* wall ms to ask again; 0 when admitted */
	long long share;       /* the asker's fair allocation of the day (calls) */
	char why[320];	       /* for people: "" when admitted */
};

/*
 * The decision, from the inputs alone. In order: nothing left -> SPENT
 * (retry at the reset); the cost over what is left -> TOO_BIG (at the
 * reset); over what is left once running jobs have what they need -> BUSY
 * (recheck); the asker's used + running + cost over its weighted max-min
 * allocation of the limit -> SHARE (recheck, or the reset if sooner);
 * else OK.
 */
void quota_decide(const struct quota_ask *a, struct quota_decision *out);

/*
 * Weighted max-min fair allocation of capacity among n demands: alloc[i]
 * is demand[i] for those below their water level, the rest share what is
 * left in proportion to weight (<= 0 counts as 1). Whole calls, rounded
 * down.
 */
void quota_fair_shares(long long capacity, const long long *demand, const double *weight, size_t n,
		       long long *alloc);

/* A job queued or running, as the job queue tells it. */
struct quota_job {
	char *user; /* malloc'd */
	enum sync_kind kind;
	int running;
	long long done_calls; /* calls a running job has made (0 when unknown) */
};

/* The job queue's jobs queued or running now: *jobs is a malloc'd array of
 * *n, each user malloc'd; the caller (quota.c) frees them. ERR_OK or an
 * error. */
typedef enum error (*quota_jobs_fn)(void *ctx, struct quota_job **jobs, size_t *n);

struct storepool;
struct analytics;

struct quota_config {
	long long daily_quota; /* 0: QUOTA_DEFAULT_DAILY */
	quota_jobs_fn jobs;    /* NULL: no other work is known */
	void *jobs_ctx;
	struct analytics *analytics; /* NULL: the daily quota minus the ledger; not owned */
	long long recheck_ms;	     /* 0: QUOTA_RECHECK_MS */
};

struct quota;

/* A quota over pool (not owned) configured by cfg (copied). */
struct quota *quota_new(struct storepool *pool, const struct quota_config *cfg);
void quota_free(struct quota *q);

/* The state of the day, for /metrics and GET /ebay/quota. */
struct quota_status {
	long long limit, used, remaining; /* the install's, sell.inventory */
	long long reset_ms;
	int from_ebay;	      /* 1: limit, remaining and reset are eBay's (analytics) */
	char source_why[256]; /* when not from eBay: why ("" if analytics is not set up) */
	long long user_used;  /* the user's calls today (when asked for one) */
	double user_weight;
};

/*
 * Reads the day's state (flushing the process's pending ledger counts
 * first) for user (NULL: none). ERR_DB etc. with the reason in why.
 */
enum error quota_status(struct quota *q, const char *user, long long now_ms,
			struct quota_status *out, struct buf *why);

/*
 * The decision for a job of kind for user now (wall ms), from the store and
 * the job queue: see quota_decide(). The job asked about may be in the
 * queue's list: one queued job of that user and kind is left out of it.
 */
enum error quota_admit(struct quota *q, const char *user, enum sync_kind kind, long long now_ms,
		       struct quota_decision *out, struct buf *why);

/*
 * The job queue's admission hook: ctx is a struct quota. Returns 1 to
 * admit, 0 to wait *retry_after_ms (ms from now) with the reason in why
 * ("quota_spent: the daily eBay quota is spent; resets at ..."), or -1
 * when the quota could not be read (the reason in why; the caller decides,
 * e.g. admits and logs it).
 */
int quota_admit_hook(void *ctx, const char *user, enum sync_kind kind, long long *retry_after_ms,
		     struct buf *why);

/* The job queue's jobs queued or running (a quota_jobs_fn): ctx is the
 * struct storepool of the queue's database. */
enum error quota_jobs_from_queue(void *ctx, struct quota_job **jobs, size_t *n);

/*
 * quota_admit_hook for the worker slots (worker.h's admission hook): a
 * quota that cannot be read (the database away) does not stop the work:
 * the job runs, and the reason goes to standard error.
 */
int quota_worker_admit(void *ctx, const char *user, enum sync_kind kind, long long *retry_after_ms,
		       struct buf *why);

/* The quota's lines of /metrics (limit, remaining, reset, and the day's
 * calls by API from the ledger, read through pool); nothing when q is NULL
 * or the quota cannot be read. */
void quota_metrics(struct quota *q, struct storepool *pool, struct buf *out);

#endif
