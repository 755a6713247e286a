/* A tensor's rate-distortion curve: every candidate pipeline encoded on a
 * row sample, decoded and compared, its error scaled to the whole tensor.
 * Rows are taken evenly spaced, so a tensor whose rows differ in scale
 * (embeddings of rare and common tokens) is sampled across them. The bytes
 * are exact whenever the codec's bound equals its frame on the sample:
 * the fixed-rate quantizers then give the whole tensor's frame size
 * without encoding it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "format/archive_size.h"
#include "plan/plan.h"

#define CHUNK_VALUES 65536

/* Sum of squares of t's values in float64, through an aligned copy (a
 * tensor file's view may be unaligned). Integers count as their values. */
static size_t tensor_energy(const tp_tensor *t, uint64_t numel, double *energy)
{
    *energy = 0;
    size_t es = tp_dtype_size(t->dtype);
    void *raw = malloc(CHUNK_VALUES * es);
    double *x = malloc(CHUNK_VALUES * sizeof *x);
    if (!raw || !x) { free(raw); free(x); return tp_fail(TP_ERR_NOMEM, "plan: energy buffers"); }
    size_t r = 0;
    for (uint64_t at = 0; at < numel && !tp_is_error(r); at += CHUNK_VALUES) {
        size_t k = numel - at < CHUNK_VALUES ? (size_t)(numel - at) : CHUNK_VALUES;
        memcpy(raw, (const uint8_t *)t->data + at * es, k * es);
        if (tp_dtype_is_float(t->dtype)) r = tp_convert(x, TP_F64, raw, t->dtype, k);
        else {
            tp_metrics m;
            /* integers: ||x||^2 is the squared error against zeros */
            memset(x, 0, k * sizeof *x);
            r = tp_metrics_compute(raw, t->dtype, x, TP_F64, k, &m);
            if (!tp_is_error(r)) *energy += m.mse * (double)k;
            continue;
        }
        for (size_t i = 0; i < k && !tp_is_error(r); i++) *energy += x[i] * x[i];
    }
    free(raw);
    free(x);
    return r;
}

/* The sample: evenly spaced whole rows of the [rows, cols] view, or the
 * tensor itself when it is small or its rows are too long to sample. */
static size_t take_sample(const tp_tensor *t, uint64_t numel, size_t sample_values, tp_tensor *s, void **owned)
{
    *s = *t;
    *owned = NULL;
    if (t->ndim < 2 || numel <= sample_values) return 0;
    uint64_t cols = t->shape[t->ndim - 1], rows = numel / cols;
    if (cols == 0 || cols > sample_values) return 0;
    uint64_t take = sample_values / cols;
    if (take >= rows) return 0;
    size_t row_bytes = (size_t)cols * tp_dtype_size(t->dtype);
    uint8_t *buf = malloc(take * row_bytes);
    if (!buf) return tp_fail(TP_ERR_NOMEM, "plan: sample of %llu rows", (unsigned long long)take);
    for (uint64_t i = 0; i < take; i++)
        memcpy(buf + i * row_bytes, (const uint8_t *)t->data + (i * rows / take) * row_bytes, row_bytes);
    s->ndim = 2;
    s->shape[0] = take;
    s->shape[1] = cols;
    s->data = buf;
    *owned = buf;
    return 0;
}

/* Encodes one candidate on the sample; 0 and *pt filled, or an error when
 * the codec cannot take this tensor. */
static size_t measure_one(const char *name, const char *spec, const tp_tensor *t, const tp_tensor *s, double scale,
                          const float *imp, uint64_t n_cols, tp_rd_point *pt)
{
    tp_pipeline *p;
    TP_TRY(tp_pipeline_parse(spec, &p));
    memset(pt, 0, sizeof *pt);
    size_t r = tp_pipeline_to_string(p, pt->spec, sizeof pt->spec);
    tp_encode_options eo = {.col_importance = imp, .n_cols = imp ? n_cols : 0};
    void *frame = NULL;
    size_t fs = tp_is_error(r) ? r : tp_frame_encode_alloc(p, s, &eo, &frame);
    tp_metrics m;
    r = tp_is_error(fs) ? fs : tp_frame_measure(frame, fs, s, &m);
    if (!tp_is_error(r)) {
        uint64_t frame_bytes = fs;
        pt->exact_bytes = 1;
        if (s->data != t->data) {
            size_t bound_s = tp_frame_bound(p, s), bound_t = tp_frame_bound(p, t);
            if (tp_is_error(bound_s) || tp_is_error(bound_t)) r = tp_is_error(bound_s) ? bound_s : bound_t;
            else if (bound_s == fs) frame_bytes = bound_t;
            else {
                /* variable rate: a line through the frames of the sample
                 * and of its first half, so fixed costs are not scaled */
                tp_tensor half = *s;
                half.shape[0] = s->shape[0] / 2;
                void *hf = NULL;
                size_t hs = half.shape[0] ? tp_frame_encode_alloc(p, &half, &eo, &hf) : fs;
                free(hf);
                double per_row = tp_is_error(hs) || half.shape[0] == 0 || hs > fs
                               ? (double)fs / (double)s->shape[0]
                               : (double)(fs - hs) / (double)(s->shape[0] - half.shape[0]);
                uint64_t rows_t = (uint64_t)((double)s->shape[0] * scale + 0.5);
                frame_bytes = fs + (uint64_t)ceil(per_row * (double)(rows_t - s->shape[0]));
                pt->exact_bytes = 0;
            }
        }
        pt->bytes = tp_archive_tensor_bytes(frame_bytes, name, pt->spec, t->ndim);
        pt->sse = m.mse * (double)m.count * scale;
        if (!tp_dtype_is_float(t->dtype) && m.snr_db == INFINITY) pt->sse = 0;
    }
    free(frame);
    tp_pipeline_free(p);
    return r;
}

static int by_bytes(const void *a, const void *b)
{
    const tp_rd_point *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes < y->bytes ? -1 : 1;
    return x->sse < y->sse ? -1 : x->sse > y->sse;
}

/* Keeps the points that no cheaper point matches in error. */
static void keep_pareto(tp_rd_curve *c)
{
    qsort(c->pts, c->n, sizeof c->pts[0], by_bytes);
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++)
        if (k == 0 || c->pts[i].sse < c->pts[k - 1].sse) c->pts[k++] = c->pts[i];
    c->n = k;
}

size_t tp_rd_measure(const char *name, const tp_tensor *t, const char *const *specs, size_t sample_values,
                     const float *col_importance, uint64_t n_cols, tp_rd_curve *c)
{
    memset(c, 0, sizeof *c);
    uint64_t numel;
    TP_TRY(tp_tensor_numel(t, &numel));
    c->numel = numel;
    c->bytes_in = tp_tensor_nbytes(t);
    TP_TRY(tensor_energy(t, numel, &c->energy));
    tp_tensor s;
    void *owned;
    TP_TRY(take_sample(t, numel, sample_values, &s, &owned));
    uint64_t sample_numel;
    size_t r = tp_tensor_numel(&s, &sample_numel);
    double scale = sample_numel ? (double)numel / (double)sample_numel : 1;
    char first_error[300] = "";
    for (size_t i = 0; specs[i] && !tp_is_error(r) && c->n < TP_RD_MAX_POINTS; i++) {
        size_t e = measure_one(name, specs[i], t, &s, scale, col_importance, n_cols, &c->pts[c->n]);
        if (!tp_is_error(e)) c->n++;
        else if (tp_error_code(e) == TP_ERR_NOMEM) r = e;
        else if (!first_error[0]) snprintf(first_error, sizeof first_error, "%s: %s", specs[i], tp_last_error_detail());
    }
    free(owned);
    if (tp_is_error(r)) return r;
    if (c->n == 0) return tp_fail(TP_ERR_UNSUPPORTED, "no candidate pipeline takes tensor '%s' (%s)", name, first_error);
    keep_pareto(c);
    return 0;
}
