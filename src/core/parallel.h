/* A minimal parallel-for over independent items with pthreads. */
#ifndef TP_CORE_PARALLEL_H
#define TP_CORE_PARALLEL_H

#include <stddef.h>
#include <stdint.h>

/* Work on item i by worker w (0 <= w < threads); returns 0 or an error. */
typedef size_t (*tp_item_fn)(void *ctx, size_t item, int worker);

/* Online CPUs (at least 1). */
int tp_cpu_count(void);
/* Worker count for a "threads" parameter: 0 = all cores; capped by items
 * and by 64. */
int tp_threads_for(int requested, size_t items);
/* Runs fn on items 0..n-1 with `threads` workers (1 = inline, no thread).
 * Returns 0 or the error of the lowest failing item (its detail is
 * re-recorded on the calling thread); after a failure the remaining items
 * may be skipped. */
size_t tp_parallel_for(size_t n, int threads, tp_item_fn fn, void *ctx);

/* Splits [0, n) into `threads` contiguous ranges (a deterministic split, so
 * a caller whose per-item work does not depend on it gets the same result
 * for every thread count) and runs fn on each, in parallel. */
typedef void (*tp_parfor_fn)(void *ctx, size_t begin, size_t end);
void tp_parfor(size_t n, unsigned threads, tp_parfor_fn fn, void *ctx);

/* tp_threads_set()'s value for the calling thread (0 = all cores). */
int tp_threads_get(void);

/* Calls fn(ctx, lo, hi) over [0, n) cut into ranges of `chunk` items (the
 * last shorter), run by tp_threads_for(tp_threads_get(), ranges) workers.
 * Returns 0 or the error of the lowest failing range. */
typedef size_t (*tp_range_fn)(void *ctx, uint64_t lo, uint64_t hi);
size_t tp_parallel_ranges(uint64_t n, uint64_t chunk, tp_range_fn fn, void *ctx);

#endif
