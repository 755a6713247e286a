/* A minimal fork-join loop: splits [0, n) into `threads` contiguous ranges
 * and runs fn on each in its own thread (the calling thread takes the first
 * range). Deterministic work split, so a caller whose per-item work does not
 * depend on the split gets the same result for every thread count. */
#ifndef TP_CORE_PARFOR_H
#define TP_CORE_PARFOR_H

#include <stddef.h>

typedef void (*tp_parfor_fn)(void *ctx, size_t begin, size_t end);

/* A range whose thread cannot be started runs on the calling thread, so
 * the result never depends on thread creation succeeding. */
void tp_parfor(size_t n, unsigned threads, tp_parfor_fn fn, void *ctx);

#endif
