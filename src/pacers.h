/*
 * The pacers of this process, one per eBay API base and application (the
 * scope) and database: every run of a process against the same eBay
 * application takes its requests from the same pacer, so that eight runs in
 * one `serve` do not send eight times the rate eBay accepts. Reference-
 * counted: the pacer lives while a run uses it.
 *
 * When the pacer has a database, a background thread of the process shares
 * it with the other processes on that database (pacer_share.h): every
 * PACER_SHARE_TICK_MS it writes this process's row of pacer_peers and reads
 * the others', and sets the pacer's wall and ceiling to this process's part
 * of the install's. Never per request. When the database does not answer,
 * the pacer keeps its last part and the thread tries again at the next
 * tick. EBAYSYNC_PACER_SHARE=0 turns the sharing across processes off.
 */
#ifndef PACERS_H
#define PACERS_H

struct pacer;

/*
 * The pacer of api_base (NULL: eBay production) and the application in
 * EBAY_CLIENT_ID (if set), for the install on db_url (NULL: not shared with
 * other processes), with a new reference. max_rps is the install's maximum
 * (0: none) when shared, else the process's; the first caller's counts.
 * Give it back with pacers_put().
 */
struct pacer *pacers_get(const char *api_base, const char *db_url, double max_rps);
void pacers_put(struct pacer *p);

/* The scope of api_base: the base without a trailing '/', and " app=<id>"
 * when EBAY_CLIENT_ID is set (malloc'd). */
char *pacers_scope(const char *api_base);

#endif
