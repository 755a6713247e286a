/* Training report shared by the learned codecs (sparsecode, autoenc). */
#ifndef TP_CODECS_TRAIN_REPORT_H
#define TP_CODECS_TRAIN_REPORT_H

#include "tpress.h"

void tp_train_report_set(const tp_train_report *r);

#endif
