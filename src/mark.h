/*
 * Which entries of an ordered list are finished for good, and the low-water
 * mark: how many leading entries are all finished. The offers sync keeps one
 * over its SKUs (in eBay's order) so that a stopped run can be resumed after
 * the mark. An entry's offers are finished only once the transaction that
 * holds them commits, so entries are first gathered into the batch being
 * filled, and the batch is finished when the writer reports its commit;
 * batches commit in the order they were closed (one writer, one queue).
 * Thread-safe: the run thread fills batches, the writer thread commits them.
 */
#ifndef MARK_H
#define MARK_H

#include <stddef.h>

struct mark;

/* A mark over n entries, none finished. Free with mark_free(). */
struct mark *mark_new(size_t n);
void mark_free(struct mark *m);

/* Entry i is finished now (nothing to commit: it failed or vanished). */
void mark_finish(struct mark *m, size_t i);
/* Entry i belongs to the batch being filled. */
void mark_add(struct mark *m, size_t i);
/* The batch being filled is closed (handed to the writer). */
void mark_close_batch(struct mark *m);
/* The oldest closed batch committed: its entries are finished. */
void mark_commit_batch(struct mark *m);
/* How many leading entries are all finished. */
size_t mark_low(struct mark *m);

#endif
