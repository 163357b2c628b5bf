/*
 * The arithmetic of the shared pacer (see pacer_share.h): what a process
 * posts about its pacer, and what it takes from its peers' posts. Pure:
 * the caller moves the rows to and from the database (pacers.c) and passes
 * the times in.
 */
#include "pacer_share.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pacer.h"
#include "xalloc.h"

#include "banned.h"

#define DEMAND_HEADROOM	 1.5 /* a peer not held back asks this times what it sent */
#define DEMAND_MIN	 2.0 /* and at least this */
#define PERSIST_MIN	 3   /* 429s in a tick that say the wall is lower */
#define PERSIST_SHARE	 20  /* if at least 1 in this many sends */
#define PERSIST_MAX_DROP 0.5 /* and lower it at most by half at a time */

void pacer_share_divide(const double *weight, const double *demand, size_t n, double total,
			double *out)
{
	unsigned char *done = xcalloc(n ? n : 1, 1);
	double remaining = total > 0 ? total : 0, sum_w, fair;
	size_t i, open = 0;
	int settled;

	for (i = 0; i < n; i++) {
		out[i] = 0;
		done[i] = weight[i] <= 0 || demand[i] == 0;
		open += !done[i];
	}
	/* Water-filling: satisfy the peers asking for less than their part,
	 * then share what is left among the others. */
	while (open > 0) {
		sum_w = 0;
		for (i = 0; i < n; i++)
			if (!done[i])
				sum_w += weight[i];
		fair = remaining / sum_w;
		settled = 0;
		for (i = 0; i < n; i++) {
			if (done[i] || demand[i] < 0 || demand[i] > fair * weight[i])
				continue;
			out[i] = demand[i];
			remaining -= demand[i];
			done[i] = 1;
			open--;
			settled = 1;
		}
		if (settled)
			continue;
		for (i = 0; i < n; i++)
			if (!done[i])
				out[i] = fair * weight[i];
		remaining = 0;
		break;
	}
	/* Everyone asking got what they asked: spread the rest by weight, so
	 * that a peer about to ask for more has room to. */
	if (remaining > 0) {
		sum_w = 0;
		for (i = 0; i < n; i++)
			if (weight[i] > 0 && demand[i] != 0)
				sum_w += weight[i];
		for (i = 0; sum_w > 0 && i < n; i++)
			if (weight[i] > 0 && demand[i] != 0)
				out[i] += remaining * weight[i] / sum_w;
	}
	free(done);
}

void pacer_share_init(struct pacer_share *ps, const char *scope, const char *owner, double max_rps)
{
	memset(ps, 0, sizeof(*ps));
	ps->mine.scope = xstrdup(scope);
	ps->mine.owner = xstrdup(owner);
	ps->max_rps = max_rps > 0 ? max_rps : 0;
	ps->last_mono = -1;
}

void pacer_share_release(struct pacer_share *ps)
{
	pacer_peer_row_release(&ps->mine);
	memset(ps, 0, sizeof(*ps));
}

const struct pacer_peer_row *pacer_share_prepare(struct pacer_share *ps, struct pacer *p, int users,
						 long long now_wall_ms, long long now_mono_ms)
{
	struct pacer_stats st;
	long long dt = ps->last_mono >= 0 ? now_mono_ms - ps->last_mono : 0;
	int held, measured = dt > 0;
	double sent, wall, accepted;
	long long refused;

	pacer_stats(p, &st);
	sent = measured ? (double)(st.sends - ps->last_sends) * 1000.0 / (double)dt : 0;
	/* What eBay accepted: the rates that add up to the install's limit
	 * when it refuses. */
	ps->mine.used = measured ? (double)(st.ok - ps->last_ok) * 1000.0 / (double)dt : 0;
	held = st.held > ps->last_held;
	ps->mine.heartbeat_ms = now_wall_ms;
	ps->mine.rate = st.rate;
	ps->mine.weight = users > 0 ? users : 0;
	if (users <= 0)
		ps->mine.demand = 0;
	else if (held || !measured || sent <= 0)
		ps->mine.demand = -1;
	else
		ps->mine.demand = fmax(DEMAND_HEADROOM * sent, DEMAND_MIN);
	refused = st.refused - ps->last_refused;
	accepted = ps->mine.used + ps->others_used;
	wall = 0;
	if (st.wall_changes != ps->last_wall_changes && st.wall > 0)
		/* A wall of our own: the install can take it and what the
		 * others send. */
		wall = st.wall + ps->others_used;
	/* 429s that keep coming: what eBay accepted of everyone since the
	 * last tick is what the install can take. It only ever lowers, and
	 * at most by half at a time, as the pacer's own cuts. */
	if (measured && accepted > 0 && refused >= PERSIST_MIN &&
	    refused * PERSIST_SHARE >= st.sends - ps->last_sends) {
		if (wall <= 0 || wall > ps->install_wall)
			wall = ps->install_wall;
		if (wall <= 0 || accepted < wall)
			wall = fmax(accepted, PERSIST_MAX_DROP * wall);
	}
	if (wall > 0) {
		ps->mine.wall = wall;
		ps->mine.wall_seq = ++ps->seq_seen;
		ps->mine.wall_ms = now_wall_ms;
	}
	ps->last_mono = now_mono_ms;
	ps->last_sends = st.sends;
	ps->last_ok = st.ok;
	ps->last_refused = st.refused;
	ps->last_cuts = st.cuts;
	ps->last_held = st.held;
	ps->last_wall_changes = st.wall_changes;
	return &ps->mine;
}

int pacer_share_due(const struct pacer_share *ps, const struct pacer *p, long long now_mono_ms)
{
	struct pacer_stats st;

	if (ps->last_mono < 0 || now_mono_ms >= ps->last_mono + PACER_SHARE_TICK_MS)
		return 1;
	if (now_mono_ms < ps->last_mono + PACER_SHARE_SOON_MS)
		return 0;
	pacer_stats(p, &st);
	return st.cuts != ps->last_cuts || st.refused - ps->last_refused >= PERSIST_MIN;
}

/* 1 when a's wall was posted after b's (of two at once, the lower wins). */
static int later(const struct pacer_peer_row *a, const struct pacer_peer_row *b)
{
	if (!b)
		return 1;
	if (a->wall_seq != b->wall_seq)
		return a->wall_seq > b->wall_seq;
	return a->wall < b->wall;
}

void pacer_share_apply(struct pacer_share *ps, struct pacer *p, const struct pacer_peer_row *rows,
		       size_t n, long long now_wall_ms, long long now_mono_ms)
{
	const struct pacer_peer_row *best = NULL, *r;
	double *weight = xcalloc(n + 1, sizeof(double));
	double *demand = xcalloc(n + 1, sizeof(double));
	double *part = xcalloc(n + 1, sizeof(double));
	size_t i, k = 0, active = 0;
	double wall, ceiling;

	ps->others_used = 0;
	for (i = 0; i <= n; i++) {
		r = i < n ? &rows[i] : &ps->mine;
		if (i < n && !strcmp(r->owner, ps->mine.owner))
			continue; /* ours: ps->mine, as posted just now */
		if (r->wall_seq > ps->seq_seen)
			ps->seq_seen = r->wall_seq;
		if (r->wall > 0 && r->wall_ms >= now_wall_ms - PACER_SHARE_WALL_TTL_MS &&
		    later(r, best))
			best = r;
		if (i < n && r->heartbeat_ms < now_wall_ms - PACER_SHARE_STALE_MS)
			continue; /* stopped, or cut off: its rate is not ours to leave */
		weight[k] = r->weight > 0 ? r->weight : 0;
		demand[k] = r->demand;
		active += weight[k] > 0 && demand[k] != 0;
		if (i < n)
			ps->others_used += r->used;
		k++;
	}
	ps->live = k;
	ps->install_wall = best ? best->wall : 0;
	if (ps->mine.weight <= 0 || ps->mine.demand == 0)
		goto out; /* no runs: nothing to pace */
	/* This process's row is the last of the k. */
	ceiling = 0;
	if (ps->max_rps > 0) {
		pacer_share_divide(weight, demand, k, ps->max_rps, part);
		ceiling = ps->part_max = part[k - 1];
	}
	/* Several processes starting up at once against a wall nobody knows
	 * yet start up as one: together they at most double what eBay
	 * accepted of them at each tick, from PACER_SHARE_START_RPS. Each
	 * alone would double at every round trip, and, where eBay has credit
	 * saved up that hides the wall for a while, all of them would hit it
	 * at their full concurrency at once. */
	if (ps->install_wall <= 0 && active > 1) {
		pacer_share_divide(
		    weight, demand, k,
		    fmax(PACER_SHARE_START_GROWTH * (ps->others_used + ps->mine.used),
			 PACER_SHARE_START_RPS),
		    part);
		if (ceiling <= 0 || part[k - 1] < ceiling)
			ceiling = part[k - 1];
	}
	pacer_set_share(p, ceiling);
	if (ps->install_wall > 0) {
		pacer_share_divide(weight, demand, k, ps->install_wall, part);
		ps->part_wall = part[k - 1];
		wall = pacer_wall(p);
		if (ps->part_wall > 0 &&
		    (wall <= 0 || fabs(ps->part_wall - wall) > PACER_SHARE_SLACK * wall))
			pacer_set_wall(p, ps->part_wall, now_mono_ms);
	}
out:
	free(weight);
	free(demand);
	free(part);
}
