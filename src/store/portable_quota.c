/*
 * The store operations of eBay's daily quota (see store.h): the ledger of
 * calls per day, API and user (ebay_calls) and the users' share weights
 * (quota_shares), written once in SQL that SQLite and PostgreSQL both
 * accept and run through each backend's exec_text, as portable.c does for
 * API keys. A process adds to the ledger a few rows a second at most (its
 * counts are batched, src/ledger.c), so one statement per row is cheap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_backend.h"
#include "xalloc.h"
#include "banned.h"

static const char *cell(const struct store_rows *r, size_t i, size_t c)
{
	const char *v = r->cells[i * r->n_cols + c];

	return v ? v : "";
}

static int valid_day(const char *day)
{
	static const char shape[] = "dddd-dd-dd";

	if (!day || strlen(day) != 10)
		return 0;
	for (int i = 0; i < 10; i++)
		if (shape[i] == 'd' ? (day[i] < '0' || day[i] > '9') : day[i] != shape[i])
			return 0;
	return 1;
}

enum error store_quota_add(struct store *s, const struct quota_count *c, size_t n, size_t *done)
{
	enum error err = ERR_OK;
	size_t i;

	if (done)
		*done = 0;
	for (i = 0; i < n; i++) {
		struct store_rows r;
		char calls[24];
		const char *v[4] = {c[i].day, c[i].api, c[i].user_id, calls};

		if (!valid_day(c[i].day) || !c[i].api[0] || c[i].calls < 0)
			return store_fail(s, ERR_INVALID,
					  "cannot add to the ledger: day '%.10s', api '%.31s', "
					  "calls %lld",
					  c[i].day, c[i].api, c[i].calls);
		if (c[i].calls == 0)
			goto next;
		snprintf(calls, sizeof(calls), "%lld", c[i].calls);
		err = store_text_run(
		    s,
		    "INSERT INTO ebay_calls (day, api, user_id, calls) VALUES ($1, $2, $3, $4) "
		    "ON CONFLICT (day, api, user_id) DO UPDATE SET calls = ebay_calls.calls + "
		    "excluded.calls",
		    4, v, &r);
		store_rows_release(&r);
		if (err)
			return err;
	next:
		if (done)
			*done = i + 1;
	}
	return err;
}

enum error store_quota_day(struct store *s, const char *day, struct quota_count **out, size_t *n)
{
	struct store_rows r;
	const char *v[1] = {day};
	enum error err;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!valid_day(day))
		return store_fail(s, ERR_INVALID, "a ledger day is YYYY-MM-DD, not '%.32s'",
				  day ? day : "");
	err = store_text_run(
	    s, "SELECT api, user_id, calls FROM ebay_calls WHERE day = $1 ORDER BY api, user_id", 1,
	    v, &r);
	if (err)
		goto out;
	*out = xcalloc(r.n_rows ? r.n_rows : 1, sizeof(**out));
	for (i = 0; i < r.n_rows; i++) {
		struct quota_count *q = &(*out)[i];

		snprintf(q->day, sizeof(q->day), "%s", day);
		snprintf(q->api, sizeof(q->api), "%s", cell(&r, i, 0));
		snprintf(q->user_id, sizeof(q->user_id), "%s", cell(&r, i, 1));
		q->calls = strtoll(cell(&r, i, 2), NULL, 10);
	}
	*n = r.n_rows;
out:
	store_rows_release(&r);
	return err;
}

enum error store_quota_share_set(struct store *s, const char *user_id, double weight)
{
	struct store_rows r;
	char w[40];
	const char *v[2] = {user_id, w};
	enum error err;

	if (!user_id || !*user_id || !(weight >= 0) || weight > 1e6)
		return store_fail(s, ERR_INVALID, "a share weight is a number from 0 to 1000000");
	snprintf(w, sizeof(w), "%.6g", weight);
	if (weight == 0)
		err = store_text_run(s, "DELETE FROM quota_shares WHERE user_id = $1", 1, v, &r);
	else
		err = store_text_run(s,
				     "INSERT INTO quota_shares (user_id, weight) VALUES ($1, $2) "
				     "ON CONFLICT (user_id) DO UPDATE SET weight = excluded.weight",
				     2, v, &r);
	store_rows_release(&r);
	return err;
}

enum error store_quota_shares(struct store *s, char ***users, double **weights, size_t *n)
{
	struct store_rows r;
	enum error err;
	size_t i;

	*users = NULL;
	*weights = NULL;
	*n = 0;
	err = store_text_run(s, "SELECT user_id, weight FROM quota_shares ORDER BY user_id", 0,
			     NULL, &r);
	if (err)
		goto out;
	*users = xcalloc(r.n_rows ? r.n_rows : 1, sizeof(**users));
	*weights = xcalloc(r.n_rows ? r.n_rows : 1, sizeof(**weights));
	for (i = 0; i < r.n_rows; i++) {
		(*users)[i] = xstrdup(cell(&r, i, 0));
		(*weights)[i] = strtod(cell(&r, i, 1), NULL);
	}
	*n = r.n_rows;
out:
	store_rows_release(&r);
	return err;
}
