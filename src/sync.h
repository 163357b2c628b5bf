/*
 * The sync engine: the design document's sync_all_inventory and
 * sync_all_offers (and "all": inventory, then offers), run against eBay (or
 * ebaysync-sim) into a store. See docs/pipeline.md.
 *
 * A run is created with sync_run_new(), executed (blocking) by
 * sync_run_execute() on the thread of the caller's choosing, and may be
 * cancelled from any thread or a signal handler with sync_run_cancel(); the
 * engine stops at its next cancellation point (before starting, between
 * pages, between SKU requests, between storage batches), keeps what it
 * stored, and ends the run "cancelled". Its log (struct runlog) is readable
 * while it runs.
 *
 * This header is the engine's front door: the run object, its options and
 * its accessors are declared in sync_run.h, which it includes.
 */
#ifndef SYNC_H
#define SYNC_H

#include "error.h"
#include "sync_run.h"

/*
 * A 'running' run whose heartbeat is older than this has lost its process.
 * The engine writes its heartbeat about once a second, at its cancellation
 * points; a new run first marks older ones interrupted, so that a crashed
 * run never keeps the next one of its kind from starting.
 */
#define SYNC_STALE_MS 30000

/*
 * Executes the run: marks runs without a heartbeat for SYNC_STALE_MS
 * interrupted, inserts its sync_runs row, syncs, persists its events, and
 * updates the row to its final status. Returns ERR_OK for done (even with
 * per-SKU failures, which are counted and recorded in sync_failures),
 * ERR_CANCELLED when cancelled, ERR_CONFLICT when a run of the same kind is
 * running for the user, or the error that failed it (with a message in
 * sync_run_error()).
 */
enum error sync_run_execute(struct sync_run *r);

#endif
