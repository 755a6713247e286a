#include "core/parfor.h"

#include <pthread.h>

#define PARFOR_MAX 64

typedef struct {
    tp_parfor_fn fn;
    void *ctx;
    size_t begin, end;
} parfor_job;

static void *parfor_run(void *arg)
{
    parfor_job *j = arg;
    j->fn(j->ctx, j->begin, j->end);
    return NULL;
}

void tp_parfor(size_t n, unsigned threads, tp_parfor_fn fn, void *ctx)
{
    if (threads > PARFOR_MAX) threads = PARFOR_MAX;
    if (threads > n) threads = (unsigned)n;
    if (threads <= 1) {
        if (n) fn(ctx, 0, n);
        return;
    }
    parfor_job job[PARFOR_MAX];
    pthread_t tid[PARFOR_MAX];
    int started[PARFOR_MAX] = {0};
    for (unsigned t = 0; t < threads; t++) {
        job[t].fn = fn;
        job[t].ctx = ctx;
        job[t].begin = n * t / threads;
        job[t].end = n * (t + 1) / threads;
    }
    for (unsigned t = 1; t < threads; t++) started[t] = pthread_create(&tid[t], NULL, parfor_run, &job[t]) == 0;
    parfor_run(&job[0]);
    /* A range whose thread could not start runs here: same result. */
    for (unsigned t = 1; t < threads; t++) {
        if (started[t]) pthread_join(tid[t], NULL);
        else parfor_run(&job[t]);
    }
}
