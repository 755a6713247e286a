/* Per-thread record of the last learned-codec training run (tpress.h). */
#include <string.h>

#include "codecs/structure/train_report.h"
#include "core/error.h"

static _Thread_local tp_train_report last;
static _Thread_local int have;

void tp_train_report_set(const tp_train_report *r)
{
    last = *r;
    have = 1;
}

size_t tp_train_report_last(tp_train_report *out)
{
    if (!out) return tp_fail(TP_ERR_ARG, "NULL report");
    if (!have) return tp_fail(TP_ERR_NOT_FOUND, "no sparsecode/autoenc encode ran on this thread");
    *out = last;
    return 0;
}
