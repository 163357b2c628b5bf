/*
 * The ledger of eBay calls, on the process's side: every eBay client of the
 * process (ebay.c, feed.c, oauth.c, analytics.c) notes each HTTP request it
 * sends here, by eBay API and user, and the counts go to the database's
 * ledger (store_quota_add) in batches: at a run's heartbeat, at its end, and
 * when the quota is read. A note is a mutex and a small table lookup, cheap
 * at thousands of calls a second; nothing is written per call.
 *
 * The pending counts are process-wide (like metrics.h's counters): the
 * flush of any run writes every user's. Thread-safe.
 */
#ifndef LEDGER_H
#define LEDGER_H

#include "error.h"

struct store;

/* The eBay APIs the ledger names. */
#define LEDGER_API_INVENTORY "sell.inventory"
#define LEDGER_API_FEED	     "sell.feed"
#define LEDGER_API_IDENTITY  "identity"
#define LEDGER_API_ANALYTICS "developer.analytics"

/* Distinct (day, api, user) keys held between flushes; past it, notes of
 * new keys are counted under the user "(other)". */
#define LEDGER_MAX_KEYS 1024

/* n calls to api for user (NULL or "": none) now, counted on today's UTC
 * day. */
void ledger_note(const char *api, const char *user, long long n);
/* The same on the UTC day of wall_ms (for tests). */
void ledger_note_at(const char *api, const char *user, long long n, long long wall_ms);

/*
 * Adds the pending counts to s's ledger in one go and forgets them; what
 * could not be written stays pending for the next flush (never written
 * twice). Returns the store's error, if any.
 */
enum error ledger_flush(struct store *s);

/* Calls noted and not yet flushed (all keys). */
long long ledger_pending(void);
/* Forgets the pending counts (for tests). */
void ledger_clear(void);

/* The API a URL (absolute, or a path) calls: "sell.inventory" for
 * .../sell/inventory/..., "sell.feed", "identity", "developer.analytics";
 * "other" for anything else. A static string. */
const char *ledger_api_of(const char *url);

/* "YYYY-MM-DD" of wall_ms in UTC into out (11 bytes at least). */
void ledger_day(long long wall_ms, char *out);

#endif
