/*
 * The arithmetic of one pacer shared by the processes of an install (the
 * database part is pacers.c). Every process posts a row (struct
 * pacer_peer_row): the runs using its pacer, the rate it asks for, the rate
 * it sent, and, when its own pacer found a wall, the install-wide rate that
 * wall means (its own wall plus what the others were sending). Every
 * process reads all rows and, from the same rows, computes the same
 * division:
 *
 * - the install's wall is the one posted last (the highest wall_seq; of
 *   equal ones, the lower wall), for PACER_SHARE_WALL_TTL_MS;
 * - it is divided among the live peers (heartbeat younger than
 *   PACER_SHARE_STALE_MS) by max-min fairness: a peer that asks for less
 *   than its part gets what it asks, the rest is split by weight (runs);
 *   a peer without runs gets nothing;
 * - this process's part becomes its pacer's wall (pacer_set_wall()), and
 *   its part of an install-wide maximum (--max-rps) its ceiling;
 * - while the install knows no wall, processes starting up together start
 *   up as one: their ceilings add up to twice what eBay accepted of all of
 *   them at the last tick.
 *
 * A 429 seen by one process thus lowers every process's rate at its next
 * reading. Nothing here touches a database or a clock: times are passed in,
 * which is how tests/unit/test_pacer_share.c runs several peers on one
 * fake clock and an array for a table.
 */
#ifndef PACER_SHARE_H
#define PACER_SHARE_H

#include <stddef.h>

#include "store.h"

struct pacer;

#define PACER_SHARE_TICK_MS	 300	 /* how often a process reads and writes */
#define PACER_SHARE_STALE_MS	 3000	 /* a peer silent this long stops counting */
#define PACER_SHARE_WALL_TTL_MS	 600000	 /* a posted wall is believed this long */
#define PACER_SHARE_PRUNE_MS	 3600000 /* rows this stale are deleted */
#define PACER_SHARE_SLACK	 0.05	 /* a part this close to the wall is left be */
#define PACER_SHARE_SOON_MS	 50	 /* a tick this soon after a cut of our own */
#define PACER_SHARE_START_RPS	 25.0	 /* processes starting up together, from this */
#define PACER_SHARE_START_GROWTH 2.0	 /* growing this much a tick */

/*
 * Divides total among n peers: weight[i] (runs; <= 0: nothing for it) and
 * demand[i] (the rate asked for; < 0: as much as it is given, 0: nothing).
 * Max-min fair: a peer asking less than its weighted part gets its demand,
 * the rest goes to the others by weight; when every peer is satisfied, the
 * remainder is spread by weight too, so the parts add up to total whenever
 * any peer asks. out[i] receives each part.
 */
void pacer_share_divide(const double *weight, const double *demand, size_t n, double total,
			double *out);

/* One process's sharing state for one scope. */
struct pacer_share {
	struct pacer_peer_row mine; /* what it posts; owns scope and owner */
	double max_rps;		    /* install-wide maximum; 0: none */
	long long last_mono;	    /* the last prepare; -1: none yet */
	long long last_sends, last_ok, last_refused, last_held, last_wall_changes, last_cuts;
	long long seq_seen;	    /* the highest wall_seq read */
	double others_used;	    /* what the live others sent, at the last apply */
	double install_wall;	    /* the install's wall; 0: unknown */
	double part_wall, part_max; /* this process's parts, at the last apply */
	size_t live;		    /* live peers at the last apply, this one included */
};

/* A state for scope and owner (copied); max_rps: the install's maximum. */
void pacer_share_init(struct pacer_share *ps, const char *scope, const char *owner, double max_rps);
void pacer_share_release(struct pacer_share *ps);

/*
 * 1 when the next tick is due at now_mono_ms: PACER_SHARE_TICK_MS after the
 * last, or PACER_SHARE_SOON_MS after it when p has cut its rate at a 429
 * or met a few 429s since (the others hear of it sooner). Reads p's counts, nothing else.
 */
int pacer_share_due(const struct pacer_share *ps, const struct pacer *p, long long now_mono_ms);

/*
 * Fills and returns ps->mine, the row to post at now_wall_ms (wall clock)
 * and now_mono_ms, from pacer p used by users runs: the rate sent since the
 * last call, the demand (none without runs; as much as given while the
 * bucket holds requests back or before the first measure; else 1.5 times
 * what it sent), and a new install wall (with the next wall_seq) when p
 * found a wall of its own since: a probe kept, that wall plus what the
 * others send; a cut at a 429, or 429s that keep coming (at least 5% of
 * what it sent since), what eBay accepted of everyone since, when lower.
 */
const struct pacer_peer_row *pacer_share_prepare(struct pacer_share *ps, struct pacer *p, int users,
						 long long now_wall_ms, long long now_mono_ms);

/*
 * Reads the rows of every peer (rows[0..n), as the table holds them; this
 * process's own row is taken from ps->mine whatever rows say) and sets p's
 * wall and ceiling to this process's parts: the wall only when it differs
 * from p's by more than PACER_SHARE_SLACK, nothing at all while this
 * process has no runs.
 */
void pacer_share_apply(struct pacer_share *ps, struct pacer *p, const struct pacer_peer_row *rows,
		       size_t n, long long now_wall_ms, long long now_mono_ms);

#endif
