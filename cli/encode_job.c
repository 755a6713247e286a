#include "encode_job.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const tp_tensor_file *in;
    tp_pipeline *pipe, *fallback; /* pipe is NULL for a per-tensor choice */
    encode_options opt;
    encode_sink sink;
    void *ctx;
    size_t n, next_job, next_write;
    size_t error;
    char error_detail[600];
    pthread_mutex_t mu;
    pthread_cond_t turn;
} job;

/* Decodes frame and compares it with t. */
static size_t verify(const tp_tensor *t, const void *frame, size_t size, tp_metrics *m)
{
    size_t nbytes = tp_tensor_nbytes(t);
    void *back = malloc(nbytes ? nbytes : 1);
    if (!back) return (size_t)0 - TP_ERR_NOMEM;
    size_t r = tp_frame_decode(frame, size, back, nbytes);
    if (!tp_is_error(r)) {
        uint64_t numel = nbytes / tp_dtype_size(t->dtype);
        if (tp_dtype_is_float(t->dtype)) r = tp_metrics_compute(t->data, t->dtype, back, t->dtype, numel, m);
        else {
            memset(m, 0, sizeof *m);
            m->count = numel;
            m->snr_db = m->psnr_db = memcmp(back, t->data, nbytes) ? -INFINITY : INFINITY;
            m->cosine = 1;
        }
    }
    free(back);
    return r;
}

static size_t encode_one(job *J, size_t i, encode_result *res, void **frame)
{
    memset(res, 0, sizeof *res);
    res->index = i;
    res->name = tp_tensor_file_name(J->in, i);
    size_t r = tp_tensor_file_get(J->in, i, &res->tensor);
    if (tp_is_error(r)) return r;
    res->spec = J->opt.spec;
    tp_pipeline *p = J->pipe, *chosen = NULL;
    if (!p) {
        r = tp_choose_pipeline(&res->tensor, J->opt.min_snr, res->spec_buf, sizeof res->spec_buf, &res->choice);
        if (tp_is_error(r)) return r;
        r = tp_pipeline_parse(res->spec_buf, &chosen);
        if (tp_is_error(r)) return r;
        res->chosen = 1;
        res->spec = res->spec_buf;
        p = chosen;
    }
    if (tp_pipeline_is_lossy(p)) {
        /* llama.cpp keeps norms and biases in full precision too: they are a
         * sliver of the bytes and a large share of the model's sensitivity. */
        if (!tp_dtype_is_float(res->tensor.dtype)) res->fallback_why = "integer tensor";
        else if (res->tensor.ndim <= 1 && !J->opt.quantize_1d) res->fallback_why = "1-D tensor (norm/bias) kept lossless";
        if (res->fallback_why) p = J->fallback;
    }
    tp_encode_options eo = {0};
    if (J->opt.col_importance && p != J->fallback) {
        eo.col_importance = J->opt.col_importance[i];
        eo.n_cols = J->opt.n_cols[i];
    }
    r = tp_frame_encode_alloc(p, &res->tensor, &eo, frame);
    if (tp_error_code(r) == TP_ERR_NONFINITE && p != J->fallback) {
        res->fallback_why = "NaN/Inf values";
        p = J->fallback;
        r = tp_frame_encode_alloc(p, &res->tensor, NULL, frame);
    }
    tp_pipeline_free(chosen);
    if (tp_is_error(r)) return r;
    if (p == J->fallback) res->spec = J->opt.fallback_spec;
    res->frame = *frame;
    res->frame_size = r;
    return verify(&res->tensor, *frame, r, &res->metrics);
}

static void *worker(void *arg)
{
    job *J = arg;
    for (;;) {
        pthread_mutex_lock(&J->mu);
        size_t i = J->next_job++;
        int stop = i >= J->n || J->error;
        pthread_mutex_unlock(&J->mu);
        if (stop) return NULL;

        encode_result res;
        void *frame = NULL;
        size_t r = encode_one(J, i, &res, &frame);
        char detail[600];
        if (tp_is_error(r)) snprintf(detail, sizeof detail, "tensor '%s': %s", res.name ? res.name : "?", tp_last_error_detail());

        pthread_mutex_lock(&J->mu);
        while (J->next_write != i && !J->error) pthread_cond_wait(&J->turn, &J->mu);
        if (!J->error) {
            if (!tp_is_error(r)) {
                r = J->sink(J->ctx, &res);
                if (tp_is_error(r)) snprintf(detail, sizeof detail, "%s", tp_last_error_detail());
            }
            if (tp_is_error(r)) {
                J->error = r;
                memcpy(J->error_detail, detail, sizeof detail);
            }
            J->next_write++;
        }
        pthread_cond_broadcast(&J->turn);
        pthread_mutex_unlock(&J->mu);
        free(frame);
    }
}

size_t encode_file(const tp_tensor_file *in, const encode_options *opt, encode_sink sink, void *ctx, char *detail,
                   size_t detail_cap)
{
    job J;
    memset(&J, 0, sizeof J);
    J.in = in;
    J.opt = *opt;
    J.sink = sink;
    J.ctx = ctx;
    J.n = tp_tensor_file_count(in);
    size_t r = opt->spec ? tp_pipeline_parse(opt->spec, &J.pipe) : 0;
    if (!tp_is_error(r)) r = tp_pipeline_parse(opt->fallback_spec, &J.fallback);
    if (tp_is_error(r)) {
        snprintf(detail, detail_cap, "%s", tp_last_error_detail());
        tp_pipeline_free(J.pipe);
        return r;
    }
    pthread_mutex_init(&J.mu, NULL);
    pthread_cond_init(&J.turn, NULL);
    enum { MAX_THREADS = 64 };
    pthread_t tid[MAX_THREADS];
    int started = 0;
    for (; started < opt->threads && started < MAX_THREADS; started++)
        if (pthread_create(&tid[started], NULL, worker, &J)) break;
    if (started == 0) worker(&J);
    for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&J.mu);
    pthread_cond_destroy(&J.turn);
    tp_pipeline_free(J.pipe);
    tp_pipeline_free(J.fallback);
    if (J.error) snprintf(detail, detail_cap, "%s", J.error_detail);
    return J.error;
}
