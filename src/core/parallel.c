#include "core/parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "tpress.h"

int tp_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

int tp_threads_for(int requested, size_t items)
{
    int t = requested > 0 ? requested : tp_cpu_count();
    if (t > 64) t = 64;
    if ((size_t)t > items) t = items ? (int)items : 1;
    return t;
}

typedef struct {
    tp_item_fn fn;
    void *ctx;
    size_t n;
    atomic_size_t next;
    atomic_int failed;
    pthread_mutex_t lock;
    size_t err_item, err;
    char detail[256];
} pool;

typedef struct {
    pool *p;
    int worker;
} worker_arg;

static void run_items(pool *p, int worker)
{
    for (;;) {
        if (atomic_load(&p->failed)) return;
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n) return;
        size_t r = p->fn(p->ctx, i, worker);
        if (tp_is_error(r)) {
            pthread_mutex_lock(&p->lock);
            if (!p->err || i < p->err_item) {
                p->err = r;
                p->err_item = i;
                snprintf(p->detail, sizeof p->detail, "%s", tp_last_error_detail());
            }
            pthread_mutex_unlock(&p->lock);
            atomic_store(&p->failed, 1);
        }
    }
}

static void *worker_main(void *arg)
{
    worker_arg *a = arg;
    run_items(a->p, a->worker);
    return NULL;
}

size_t tp_parallel_for(size_t n, int threads, tp_item_fn fn, void *ctx)
{
    if (threads <= 1 || n <= 1) {
        for (size_t i = 0; i < n; i++) TP_TRY(fn(ctx, i, 0));
        return 0;
    }
    pool p;
    memset(&p, 0, sizeof p);
    p.fn = fn;
    p.ctx = ctx;
    p.n = n;
    atomic_init(&p.next, 0);
    atomic_init(&p.failed, 0);
    pthread_mutex_init(&p.lock, NULL);
    pthread_t tid[64];
    worker_arg args[64];
    int started = 0;
    for (int w = 1; w < threads && w < 64; w++) {
        args[w].p = &p;
        args[w].worker = w;
        if (pthread_create(&tid[w], NULL, worker_main, &args[w]) != 0) break;
        started = w;
    }
    run_items(&p, 0);
    for (int w = 1; w <= started; w++) pthread_join(tid[w], NULL);
    pthread_mutex_destroy(&p.lock);
    if (p.err) return tp_fail(tp_error_code(p.err), "%s", p.detail);
    return 0;
}

typedef struct {
    tp_parfor_fn fn;
    void *ctx;
    size_t n, parts;
} range_job;

static size_t run_range(void *arg, size_t part, int worker)
{
    range_job *j = arg;
    (void)worker;
    j->fn(j->ctx, j->n * part / j->parts, j->n * (part + 1) / j->parts);
    return 0;
}

void tp_parfor(size_t n, unsigned threads, tp_parfor_fn fn, void *ctx)
{
    if (threads > 64) threads = 64;
    if (threads > n) threads = (unsigned)n;
    if (threads <= 1) {
        if (n) fn(ctx, 0, n);
        return;
    }
    range_job j = {fn, ctx, n, threads};
    tp_parallel_for(threads, (int)threads, run_range, &j);
}

static _Thread_local int quant_threads = 1;

int tp_threads_set(int threads)
{
    int old = quant_threads;
    quant_threads = threads < 0 ? 1 : threads > 64 ? 64 : threads;
    return old;
}

int tp_threads_get(void) { return quant_threads; }

typedef struct {
    tp_range_fn fn;
    void *ctx;
    uint64_t n, chunk;
} ranges;

static size_t range_item(void *ctx, size_t item, int worker)
{
    (void)worker;
    const ranges *r = ctx;
    uint64_t lo = (uint64_t)item * r->chunk, hi = r->n - lo < r->chunk ? r->n : lo + r->chunk;
    return r->fn(r->ctx, lo, hi);
}

size_t tp_parallel_ranges(uint64_t n, uint64_t chunk, tp_range_fn fn, void *ctx)
{
    if (!n) return 0;
    if (!chunk) chunk = 1;
    uint64_t items = (n - 1) / chunk + 1;
    int threads = tp_threads_for(tp_threads_get(), (size_t)items);
    if (threads <= 1) return fn(ctx, 0, n);
    ranges r = {fn, ctx, n, chunk};
    return tp_parallel_for((size_t)items, threads, range_item, &r);
}
