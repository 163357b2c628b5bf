/*
 * Admission under eBay's daily quota (see quota.h and docs/quota.md): the
 * pure decision (quota_decide, quota_fair_shares, quota_job_cost) first,
 * then struct quota, which gathers the decision's inputs from the store,
 * eBay's Developer Analytics and the job queue.
 */
#include "quota.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "ledger.h"
#include "store.h"
#include "storepool.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

#define DAY_MS (24LL * 3600 * 1000)
/* getInventoryItems pages of 200. */
#define PAGE 200
/* A refresh: createInventoryTask, status polls, the download. */
#define REPORT_CALLS 8
/* Share of a catalog a refresh is expected to fetch the offers of. */
#define REFRESH_CHANGED 0.05
/* Retries a job is expected to need, in percent of its calls. */
#define RETRY_PCT 2

const char *quota_reason_code(enum quota_reason r)
{
	switch (r) {
	case QUOTA_OK:
		return "ok";
	case QUOTA_SPENT:
		return "quota_spent";
	case QUOTA_TOO_BIG:
		return "quota_too_big";
	case QUOTA_BUSY:
		return "quota_busy";
	case QUOTA_SHARE:
		return "quota_share";
	}
	return "unknown";
}

long long quota_job_cost(enum sync_kind kind, long long skus)
{
	long long pages, calls = 0;

	if (skus < 0)
		skus = QUOTA_DEFAULT_SKUS;
	pages = (skus + PAGE - 1) / PAGE + 1; /* the last, empty or short page */
	switch (kind) {
	case SYNC_INVENTORY:
		calls = pages;
		break;
	case SYNC_OFFERS: /* Step 1 walks the pages, Step 2 one call a SKU */
	case SYNC_ALL:
		calls = pages + skus;
		break;
	case SYNC_REFRESH: /* the report, the pages, the offers it cannot settle */
		calls = REPORT_CALLS + pages + (long long)ceil((double)skus * REFRESH_CHANGED);
		break;
	case SYNC_SKUS: /* a few given SKUs: a bulk call and their offers */
		calls = 1 + EBAY_BULK_MAX;
		break;
	}
	return calls + (calls * RETRY_PCT + 99) / 100;
}

void quota_fair_shares(long long capacity, const long long *demand, const double *weight, size_t n,
		       long long *alloc)
{
	unsigned char *settled = xcalloc(n ? n : 1, 1);
	double left = capacity > 0 ? (double)capacity : 0, w_open = 0;
	size_t i, open = n;

	for (i = 0; i < n; i++) {
		alloc[i] = 0;
		w_open += weight[i] > 0 ? weight[i] : 1;
	}
	/* Water-filling: whoever needs less than its level gets what it
	 * needs, and what it leaves raises the level of the others. */
	while (open > 0) {
		double level = left / w_open;
		int moved = 0;

		for (i = 0; i < n; i++) {
			double w = weight[i] > 0 ? weight[i] : 1;
			long long d = demand[i] > 0 ? demand[i] : 0;

			if (settled[i] || (double)d > level * w)
				continue;
			alloc[i] = d;
			settled[i] = 1;
			left -= (double)d;
			w_open -= w;
			open--;
			moved = 1;
		}
		if (!moved) {
			for (i = 0; i < n; i++)
				if (!settled[i])
					alloc[i] = (long long)floor(
					    level * (weight[i] > 0 ? weight[i] : 1));
			break;
		}
	}
	free(settled);
}

static void reset_text(long long reset_ms, char *out, size_t size)
{
	if (reset_ms > 0)
		timeutil_iso(reset_ms, out, size);
	else
		snprintf(out, size, "the next reset");
}

void quota_decide(const struct quota_ask *a, struct quota_decision *out)
{
	long long recheck = a->recheck_ms > 0 ? a->recheck_ms : QUOTA_RECHECK_MS;
	long long committed = 0, *demand = NULL, *alloc = NULL, mine_used = 0, mine_running = 0;
	long long reset = a->reset_ms > a->now_ms ? a->reset_ms : a->now_ms + DAY_MS;
	double *weight = NULL;
	size_t i, n = a->n_users, me = n;
	char at[40];

	memset(out, 0, sizeof(*out));
	reset_text(a->reset_ms, at, sizeof(at));
	for (i = 0; i < n; i++) {
		committed += a->users[i].running > 0 ? a->users[i].running : 0;
		if (me == n && a->users[i].user && a->user && !strcmp(a->users[i].user, a->user))
			me = i;
	}
	if (a->remaining <= 0) {
		out->reason = QUOTA_SPENT;
		out->retry_at_ms = reset;
		snprintf(out->why, sizeof(out->why),
			 "the daily eBay quota is spent (%lld calls); resets at %s", a->limit, at);
		return;
	}
	if (a->cost > a->remaining) {
		out->reason = QUOTA_TOO_BIG;
		out->retry_at_ms = reset;
		if (a->cost > a->limit)
			snprintf(out->why, sizeof(out->why),
				 "this job needs about %lld eBay calls, more than the whole daily "
				 "quota of %lld; it is tried again at the reset, %s",
				 a->cost, a->limit, at);
		else
			snprintf(out->why, sizeof(out->why),
				 "this job needs about %lld eBay calls and %lld are left today; "
				 "resets at %s",
				 a->cost, a->remaining, at);
		return;
	}
	if (a->cost > a->remaining - committed) {
		out->reason = QUOTA_BUSY;
		out->retry_at_ms = a->now_ms + recheck < reset ? a->now_ms + recheck : reset;
		snprintf(out->why, sizeof(out->why),
			 "this job needs about %lld eBay calls; of the %lld left today, %lld are "
			 "promised to running jobs",
			 a->cost, a->remaining, committed);
		return;
	}
	/* The fair allocation of the day, the asker's demand with this job. */
	demand = xcalloc(n + 1, sizeof(*demand));
	alloc = xcalloc(n + 1, sizeof(*alloc));
	weight = xcalloc(n + 1, sizeof(*weight));
	for (i = 0; i < n; i++) {
		const struct quota_user *u = &a->users[i];

		demand[i] = (u->used > 0 ? u->used : 0) + (u->running > 0 ? u->running : 0) +
			    (u->queued > 0 ? u->queued : 0);
		weight[i] = u->weight;
	}
	if (me == n) { /* the asker has no use or other work today */
		weight[n] = 1;
		n++;
	} else {
		mine_used = a->users[me].used > 0 ? a->users[me].used : 0;
		mine_running = a->users[me].running > 0 ? a->users[me].running : 0;
	}
	demand[me] += a->cost;
	/* What the day has: what was used by all, and what is left. */
	{
		long long used_all = 0;
		for (i = 0; i < a->n_users; i++)
			used_all += a->users[i].used > 0 ? a->users[i].used : 0;
		quota_fair_shares(used_all + a->remaining > a->limit ? used_all + a->remaining
								     : a->limit,
				  demand, weight, n, alloc);
	}
	out->share = alloc[me];
	if (mine_used + mine_running + a->cost > alloc[me]) {
		out->reason = QUOTA_SHARE;
		out->retry_at_ms = a->now_ms + recheck < reset ? a->now_ms + recheck : reset;
		snprintf(out->why, sizeof(out->why),
			 "this seller's share of today's eBay quota is %lld calls (weight %g); "
			 "it used %lld and this job needs about %lld more while other sellers "
			 "wait; tried again at %s at the latest",
			 alloc[me],
			 me < a->n_users && a->users[me].weight > 0 ? a->users[me].weight : 1,
			 mine_used + mine_running, a->cost, at);
	} else {
		out->reason = QUOTA_OK;
	}
	free(demand);
	free(alloc);
	free(weight);
}

/* ---- struct quota: the inputs from the store, eBay and the queue -------- */

struct quota {
	struct storepool *pool;
	struct quota_config cfg;
};

struct quota *quota_new(struct storepool *pool, const struct quota_config *cfg)
{
	struct quota *q = xcalloc(1, sizeof(*q));

	q->pool = pool;
	if (cfg)
		q->cfg = *cfg;
	if (q->cfg.daily_quota <= 0)
		q->cfg.daily_quota = QUOTA_DEFAULT_DAILY;
	if (q->cfg.recheck_ms <= 0)
		q->cfg.recheck_ms = QUOTA_RECHECK_MS;
	return q;
}

void quota_free(struct quota *q)
{
	free(q);
}

/* Next UTC midnight after now_ms: the ledger's day ends there. */
static long long next_midnight(long long now_ms)
{
	return (now_ms / DAY_MS + 1) * DAY_MS;
}

/* The limit, remaining and reset: eBay's where analytics answers, else
 * the configured quota minus the ledger's sum for the day. */
static void day_state(struct quota *q, long long used_all, long long now_ms,
		      struct quota_status *st)
{
	struct analytics_rate rate;
	struct buf why = BUF_INIT;

	st->limit = q->cfg.daily_quota;
	st->used = used_all;
	st->remaining = st->limit > used_all ? st->limit - used_all : 0;
	st->reset_ms = next_midnight(now_ms);
	if (q->cfg.analytics) {
		if (!analytics_read(q->cfg.analytics, &rate, &why)) {
			st->from_ebay = 1;
			st->limit = rate.limit;
			st->remaining = rate.remaining;
			st->used = rate.limit - rate.remaining;
			if (rate.reset_ms > 0)
				st->reset_ms = rate.reset_ms;
		} else {
			snprintf(st->source_why, sizeof(st->source_why), "%s", buf_str(&why));
		}
	}
	buf_release(&why);
}

/* The ledger's sell.inventory counts of today, per user; rows and n as
 * store_quota_day gives them. */
static enum error read_day(struct store *s, long long now_ms, struct quota_count **rows, size_t *n)
{
	char day[11];

	ledger_day(now_ms, day);
	return store_quota_day(s, day, rows, n);
}

static double weight_of(char **users, const double *weights, size_t n, const char *user)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(users[i], user))
			return weights[i];
	return 1;
}

enum error quota_status(struct quota *q, const char *user, long long now_ms,
			struct quota_status *out, struct buf *why)
{
	struct quota_count *rows = NULL;
	char **users = NULL;
	double *weights = NULL;
	size_t n = 0, n_w = 0, i;
	long long used_all = 0;
	struct store *s;
	enum error err;

	memset(out, 0, sizeof(*out));
	s = storepool_get(q->pool, why);
	if (!s)
		return ERR_DB;
	if (ledger_flush(s))
		fprintf(stderr, "ebaysync: cannot add to the eBay call ledger: %s\n",
			store_errmsg(s));
	err = read_day(s, now_ms, &rows, &n);
	if (!err && user)
		err = store_quota_shares(s, &users, &weights, &n_w);
	if (err) {
		buf_addf(why, "cannot read the eBay call ledger: %s", store_errmsg(s));
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(rows[i].api, LEDGER_API_INVENTORY))
			continue;
		used_all += rows[i].calls;
		if (user && !strcmp(rows[i].user_id, user))
			out->user_used += rows[i].calls;
	}
	out->user_weight = user ? weight_of(users, weights, n_w, user) : 1;
	day_state(q, used_all, now_ms, out);
out:
	storepool_put(q->pool, s, err == ERR_DB);
	for (i = 0; i < n_w; i++)
		free(users[i]);
	free(users);
	free(weights);
	free(rows);
	return err;
}

/* The user's catalog size: its inventory rows (-1 before a first sync). */
static long long catalog_size(struct store *s, const char *user)
{
	struct store_query qy = {.user_id = user, .limit = 1};
	json_t *rows = NULL;
	long long total = -1;

	if (store_list_items(s, &qy, &rows, &total))
		total = -1;
	json_decref(rows);
	return total > 0 ? total : -1;
}

/* The index of user in *list, added when missing. */
static size_t user_slot(struct quota_user **list, size_t *n, size_t *cap, const char *user)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*list)[i].user, user))
			return i;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*list = xrealloc(*list, *cap * sizeof(**list));
	}
	memset(&(*list)[*n], 0, sizeof(**list));
	(*list)[*n].user = user;
	(*list)[*n].weight = 1;
	return (*n)++;
}

enum error quota_admit(struct quota *q, const char *user, enum sync_kind kind, long long now_ms,
		       struct quota_decision *out, struct buf *why)
{
	struct quota_count *rows = NULL;
	struct quota_job *jobs = NULL;
	struct quota_user *list = NULL;
	struct quota_status st;
	struct quota_ask ask = {0};
	char **users = NULL;
	double *weights = NULL;
	size_t n_rows = 0, n_jobs = 0, n_w = 0, n = 0, cap = 0, n_sizes = 0, i;
	long long *sizes = NULL; /* catalog sizes by slot of list */
	int skipped_self = 0;
	long long used_all = 0;
	struct store *s;
	enum error err;

	memset(out, 0, sizeof(*out));
	s = storepool_get(q->pool, why);
	if (!s)
		return ERR_DB;
	if (ledger_flush(s))
		fprintf(stderr, "ebaysync: cannot add to the eBay call ledger: %s\n",
			store_errmsg(s));
	err = read_day(s, now_ms, &rows, &n_rows);
	if (!err)
		err = store_quota_shares(s, &users, &weights, &n_w);
	if (err) {
		buf_addf(why, "cannot read the eBay call ledger: %s", store_errmsg(s));
		goto out;
	}
	if (q->cfg.jobs) {
		err = q->cfg.jobs(q->cfg.jobs_ctx, &jobs, &n_jobs);
		if (err) {
			buf_addf(why, "cannot read the job queue: %s", error_strerror(err));
			goto out;
		}
	}
	for (i = 0; i < n_rows; i++) {
		size_t k;

		if (strcmp(rows[i].api, LEDGER_API_INVENTORY))
			continue;
		used_all += rows[i].calls;
		k = user_slot(&list, &n, &cap, rows[i].user_id);
		list[k].used += rows[i].calls;
	}
	for (i = 0; i < n_jobs; i++) {
		long long cost;
		size_t k;

		if (!jobs[i].user)
			continue;
		if (!skipped_self && !jobs[i].running && jobs[i].kind == kind &&
		    !strcmp(jobs[i].user, user)) {
			skipped_self = 1; /* the job asked about */
			continue;
		}
		k = user_slot(&list, &n, &cap, jobs[i].user);
		if (k >= n_sizes) { /* one catalog count a user, not one a job */
			sizes = xrealloc(sizes, cap * sizeof(*sizes));
			while (n_sizes <= k)
				sizes[n_sizes++] = -2; /* not asked yet */
		}
		if (sizes[k] == -2)
			sizes[k] = catalog_size(s, jobs[i].user);
		cost = quota_job_cost(jobs[i].kind, sizes[k]);
		if (jobs[i].running)
			list[k].running +=
			    cost > jobs[i].done_calls ? cost - jobs[i].done_calls : 0;
		else
			list[k].queued += cost;
	}
	user_slot(&list, &n, &cap, user);
	for (i = 0; i < n; i++)
		list[i].weight = weight_of(users, weights, n_w, list[i].user);
	memset(&st, 0, sizeof(st));
	day_state(q, used_all, now_ms, &st);
	ask.limit = st.limit;
	ask.remaining = st.remaining;
	ask.reset_ms = st.reset_ms;
	ask.now_ms = now_ms;
	ask.recheck_ms = q->cfg.recheck_ms;
	ask.user = user;
	ask.cost = quota_job_cost(kind, catalog_size(s, user));
	ask.users = list;
	ask.n_users = n;
	quota_decide(&ask, out);
out:
	storepool_put(q->pool, s, err == ERR_DB);
	for (i = 0; i < n_jobs; i++)
		free(jobs[i].user);
	free(jobs);
	for (i = 0; i < n_w; i++)
		free(users[i]);
	free(users);
	free(weights);
	free(list);
	free(sizes);
	free(rows);
	return err;
}

int quota_admit_hook(void *ctx, const char *user, enum sync_kind kind, long long *retry_after_ms,
		     struct buf *why)
{
	struct quota_decision d;
	long long now = timeutil_wall_ms();

	*retry_after_ms = 0;
	if (quota_admit(ctx, user, kind, now, &d, why))
		return -1;
	if (d.reason == QUOTA_OK)
		return 1;
	*retry_after_ms = d.retry_at_ms > now ? d.retry_at_ms - now : 1000;
	buf_addf(why, "%s: %s", quota_reason_code(d.reason), d.why);
	return 0;
}

enum error quota_jobs_from_queue(void *ctx, struct quota_job **jobs, size_t *n)
{
	struct storepool *pool = ctx;
	struct job_row *rows = NULL;
	struct buf why = BUF_INIT;
	struct store *s;
	enum error err;
	size_t i, k = 0;

	*jobs = NULL;
	*n = 0;
	s = storepool_get(pool, &why);
	buf_release(&why);
	if (!s)
		return ERR_DB;
	err = store_jobs_active(s, &rows, n);
	storepool_put(pool, s, err == ERR_DB);
	if (err)
		return err;
	*jobs = xcalloc(*n ? *n : 1, sizeof(**jobs));
	for (i = 0; i < *n; i++) {
		enum sync_kind kind;

		if (!sync_kind_parse(rows[i].kind, &kind)) {
			(*jobs)[k].user = rows[i].user_id;
			rows[i].user_id = NULL;
			(*jobs)[k].kind = kind;
			(*jobs)[k].running = !strcmp(rows[i].state, STORE_JOB_RUNNING);
			k++;
		}
		job_row_release(&rows[i]);
	}
	free(rows);
	*n = k;
	return ERR_OK;
}

int quota_worker_admit(void *ctx, const char *user, enum sync_kind kind, long long *retry_after_ms,
		       struct buf *why)
{
	int rc = quota_admit_hook(ctx, user, kind, retry_after_ms, why);

	if (rc >= 0)
		return rc;
	fprintf(stderr, "ebaysync: cannot read the eBay quota (%s): the job of %s runs\n",
		buf_str(why), user);
	buf_reset(why);
	*retry_after_ms = 0;
	return 1;
}

void quota_metrics(struct quota *q, struct storepool *pool, struct buf *out)
{
	struct quota_count *rows = NULL;
	struct quota_status st;
	struct buf why = BUF_INIT;
	long long now = timeutil_wall_ms();
	struct store *s;
	char day[11];
	size_t n = 0;

	if (!q)
		return;
	if (quota_status(q, NULL, now, &st, &why)) {
		buf_release(&why);
		return;
	}
	buf_addf(out,
		 "# HELP ebaysync_ebay_quota_limit eBay Inventory API calls allowed today\n"
		 "# TYPE ebaysync_ebay_quota_limit gauge\nebaysync_ebay_quota_limit %lld\n"
		 "# HELP ebaysync_ebay_quota_remaining eBay Inventory API calls left today\n"
		 "# TYPE ebaysync_ebay_quota_remaining gauge\nebaysync_ebay_quota_remaining %lld\n"
		 "# HELP ebaysync_ebay_quota_from_ebay 1 when limit and remaining are eBay's "
		 "(Developer Analytics), 0 when from the ledger\n"
		 "# TYPE ebaysync_ebay_quota_from_ebay gauge\nebaysync_ebay_quota_from_ebay %d\n"
		 "# HELP ebaysync_ebay_quota_reset_seconds when the quota resets (Unix time)\n"
		 "# TYPE ebaysync_ebay_quota_reset_seconds gauge\n"
		 "ebaysync_ebay_quota_reset_seconds %lld\n",
		 st.limit, st.remaining, st.from_ebay, st.reset_ms / 1000);
	s = storepool_get(pool, &why);
	if (!s)
		goto out;
	ledger_day(now, day);
	if (!store_quota_day(s, day, &rows, &n)) {
		buf_adds(out, "# HELP ebaysync_ebay_calls_today eBay calls made today (UTC) by "
			      "every process of the install, by API (the ledger)\n"
			      "# TYPE ebaysync_ebay_calls_today gauge\n");
		for (size_t i = 0, j; i < n; i = j) {
			long long sum = 0;
			for (j = i; j < n && !strcmp(rows[j].api, rows[i].api); j++)
				sum += rows[j].calls;
			buf_addf(out, "ebaysync_ebay_calls_today{api=\"%s\"} %lld\n", rows[i].api,
				 sum);
		}
	}
	storepool_put(pool, s, 0);
	free(rows);
out:
	buf_release(&why);
}
