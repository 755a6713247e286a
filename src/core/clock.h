/* Seconds on a POSIX clock: CLOCK_MONOTONIC for elapsed time (training
 * bounds, evaluation timings, benchmarks), the CPU-time clocks for
 * benchmarks on shared machines. */
#ifndef TP_CORE_CLOCK_H
#define TP_CORE_CLOCK_H

#include <time.h>

static inline double tp_clock_seconds(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline double tp_now_seconds(void)
{
    return tp_clock_seconds(CLOCK_MONOTONIC);
}

#endif
