/* Training report and clock shared by the learned codecs. */
#ifndef TP_CORE_TRAIN_REPORT_H
#define TP_CORE_TRAIN_REPORT_H

#include <time.h>

#include "tpress.h"

void tp_train_report_set(const tp_train_report *r);

/* Monotonic seconds (for the max_seconds training bound). */
static inline double tp_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
