/* The progressive compress job: every tensor of a file as a base layer and
 * residual enhancement layers, into a streaming archive (docs/FORMAT.md
 * 3.6, 3.7). Each layer is decoded again as soon as it is encoded: the
 * next residual is formed from the decoded values, and every error it
 * reports is measured on what a reader will get (format/layers.c sums the
 * layers for both). Tensors go one at a time, because the residual of
 * layer k needs layer k-1 decoded and the writer spools the layers that
 * must wait for every base; the quantizers inside each tensor take
 * opt->threads through tp_threads_set, whose work split does not change a
 * byte. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "format/layers.h"
#include "tpress.h"

typedef struct {
    size_t n_layers;
    tp_pipeline *pipes[TP_ARCHIVE_MAX_LAYERS];
    tp_pipeline *fallback;
    tp_compress_options opt;
    char joined[TP_ARCHIVE_MAX_LAYERS * 160]; /* the specs joined by ';', for events */
} prog;

/* What one tensor's layers need besides its input: f32 copies of x, of the
 * running sum and of a residual, and the sum rounded to x's dtype. */
typedef struct {
    float *x32, *sum, *tmp;
    void *out;
} buffers;

static void buffers_free(buffers *b)
{
    free(b->x32);
    free(b->sum);
    free(b->tmp);
    free(b->out);
    memset(b, 0, sizeof *b);
}

static size_t buffers_alloc(buffers *b, size_t numel, size_t raw)
{
    size_t f = numel ? numel * sizeof(float) : 1;
    b->x32 = malloc(f);
    b->sum = malloc(f);
    b->tmp = malloc(f);
    b->out = malloc(raw ? raw : 1);
    if (!b->x32 || !b->sum || !b->tmp || !b->out) { buffers_free(b); return tp_fail(TP_ERR_NOMEM, "%zu values", numel); }
    return 0;
}

/* The per-tensor outcome that the progress event reports. */
typedef struct {
    size_t bytes;
    tp_metrics metrics;
    const char *spec, *fallback_why;
    char why_buf[320];
} outcome;

/* Layer 0 with tp_compress_file's policy (and its fallback_on_error): *p
 * gets the pipeline used. */
static size_t encode_base(const prog *P, const tp_tensor *t, const tp_encode_options *eo, const tp_pipeline **p,
                          const char **why, char *why_buf, size_t why_cap, void **frame)
{
    *p = P->pipes[0];
    *why = NULL;
    if (tp_pipeline_is_lossy(*p)) {
        if (!tp_dtype_is_float(t->dtype) && !P->opt.lossy_integers) *why = "integer tensor";
        else if (t->ndim <= 1 && !P->opt.quantize_1d) *why = "1-D tensor (norm/bias) kept lossless";
        if (*why) *p = P->fallback;
    }
    size_t r = tp_frame_encode_alloc(*p, t, *p == P->fallback ? NULL : eo, frame);
    int nonfinite = tp_error_code(r) == TP_ERR_NONFINITE;
    if (tp_is_error(r) && *p != P->fallback && (nonfinite || (P->opt.fallback_on_error && tp_error_code(r) != TP_ERR_NOMEM))) {
        if (nonfinite) *why = "NaN/Inf values";
        else {
            snprintf(why_buf, why_cap, "%s failed: %s", P->opt.spec, tp_last_error_detail());
            *why = why_buf;
        }
        *p = P->fallback;
        r = tp_frame_encode_alloc(*p, t, NULL, frame);
    }
    return r;
}

/* Layers 1.. of a float tensor whose base frame0 (n0 bytes) has been
 * added: residual, encode, add, decode into the sum, measure. */
static size_t encode_layers(const prog *P, tp_archive_writer *w, const char *name, const tp_tensor *t,
                            const tp_encode_options *eo, const void *frame0, size_t n0, outcome *o)
{
    uint64_t numel64;
    TP_TRY(tp_tensor_numel(t, &numel64));
    size_t numel = (size_t)numel64, raw = tp_tensor_nbytes(t);
    buffers b = {0};
    TP_TRY(buffers_alloc(&b, numel, raw));
    /* The source may be unaligned (safetensors packs tensors): copy first. */
    if (raw) memcpy(b.out, t->data, raw);
    size_t r = tp_convert(b.x32, TP_F32, b.out, t->dtype, numel);
    if (!tp_is_error(r)) r = tp_frame_decode(frame0, n0, b.out, raw);
    if (!tp_is_error(r)) r = tp_layers_start(b.sum, b.out, t->dtype, numel);
    for (size_t k = 1; k < P->n_layers && !tp_is_error(r); k++) {
        for (size_t i = 0; i < numel; i++) b.tmp[i] = b.x32[i] - b.sum[i];
        tp_tensor res = *t;
        res.dtype = TP_F32;
        res.data = b.tmp;
        void *frame = NULL;
        size_t n = tp_frame_encode_alloc(P->pipes[k], &res, eo, &frame);
        r = n;
        if (!tp_is_error(r)) r = tp_layers_add(b.sum, b.tmp, frame, n, numel);
        if (!tp_is_error(r)) r = tp_layers_finish(b.out, t->dtype, b.sum, numel);
        if (!tp_is_error(r)) r = tp_metrics_compute(t->data, t->dtype, b.out, t->dtype, numel, &o->metrics);
        if (!tp_is_error(r)) r = tp_archive_writer_add_layer(w, name, (unsigned)k, frame, n, &o->metrics);
        if (!tp_is_error(r)) o->bytes += n;
        free(frame);
        if (tp_is_error(r)) {
            char detail[600];
            snprintf(detail, sizeof detail, "%s", tp_last_error_detail());
            r = tp_fail(tp_error_code(r), "layer %zu: %s", k, detail);
        }
    }
    buffers_free(&b);
    return r;
}

static size_t one_tensor(const prog *P, tp_archive_writer *w, const char *name, const tp_tensor *t,
                         const tp_encode_options *eo, outcome *o)
{
    memset(o, 0, sizeof *o);
    const tp_pipeline *p;
    void *frame0 = NULL;
    size_t n0 = encode_base(P, t, eo, &p, &o->fallback_why, o->why_buf, sizeof o->why_buf, &frame0);
    if (tp_is_error(n0)) return n0;
    size_t r = tp_frame_measure(frame0, n0, t, &o->metrics);
    if (!tp_is_error(r)) r = tp_archive_writer_add_layer(w, name, 0, frame0, n0, &o->metrics);
    o->bytes = n0;
    int layered = P->n_layers > 1 && p != P->fallback && tp_dtype_is_float(t->dtype) && tp_pipeline_is_lossy(p);
    o->spec = p == P->fallback ? TP_LOSSLESS_SPEC : layered ? P->joined : P->opt.spec;
    if (!tp_is_error(r) && layered) r = encode_layers(P, w, name, t, eo, frame0, n0, o);
    free(frame0);
    return r;
}

static size_t prog_init(prog *P, const char *const *specs, size_t n, const tp_compress_options *opt)
{
    memset(P, 0, sizeof *P);
    if (opt) P->opt = *opt;
    if (!specs || n < 1 || n > TP_ARCHIVE_MAX_LAYERS) return tp_fail(TP_ERR_ARG, "1..%d layer specs", TP_ARCHIVE_MAX_LAYERS);
    P->n_layers = n;
    size_t used = 0;
    for (size_t k = 0; k < n; k++) {
        if (!specs[k]) return tp_fail(TP_ERR_ARG, "layer %zu has no spec", k);
        if (!strcmp(specs[k], "auto")) return tp_fail(TP_ERR_ARG, "layer %zu: \"auto\" cannot be a layer spec", k);
        size_t r = tp_pipeline_parse(specs[k], &P->pipes[k]);
        if (tp_is_error(r)) {
            char detail[600];
            snprintf(detail, sizeof detail, "%s", tp_last_error_detail());
            return tp_fail(tp_error_code(r), "layer %zu: %s", k, detail);
        }
        int w = snprintf(P->joined + used, sizeof P->joined - used, "%s%s", k ? ";" : "", specs[k]);
        used = w < 0 || (size_t)w >= sizeof P->joined - used ? sizeof P->joined - 1 : used + (size_t)w;
    }
    P->opt.spec = specs[0];
    return tp_pipeline_parse(TP_LOSSLESS_SPEC, &P->fallback);
}

static void prog_free(prog *P)
{
    for (size_t k = 0; k < TP_ARCHIVE_MAX_LAYERS; k++) tp_pipeline_free(P->pipes[k]);
    tp_pipeline_free(P->fallback);
}

/* Names and descriptors of every tensor, for the early index. */
static size_t declare(tp_archive_writer *w, const tp_tensor_file *f, size_t n)
{
    const char **names = malloc((n ? n : 1) * sizeof *names);
    tp_tensor *descs = malloc((n ? n : 1) * sizeof *descs);
    size_t r = names && descs ? 0 : tp_fail(TP_ERR_NOMEM, "%zu tensors", n);
    for (size_t i = 0; i < n && !tp_is_error(r); i++) {
        names[i] = tp_tensor_file_name(f, i);
        r = tp_tensor_file_desc(f, i, &descs[i]);
    }
    if (!tp_is_error(r)) r = tp_archive_writer_stream(w, names, descs, n);
    free(names);
    free(descs);
    return r;
}

static size_t run(const prog *P, const tp_tensor_file *f, tp_archive_writer *w, tp_compress_progress_fn progress,
                  void *ctx, tp_compress_summary *sum, double *snr_sum, size_t *snr_n)
{
    size_t n = tp_tensor_file_count(f);
    TP_TRY(declare(w, f, n));
    for (size_t i = 0; i < n; i++) {
        const char *name = tp_tensor_file_name(f, i);
        tp_tensor t;
        TP_TRY(tp_tensor_file_get(f, i, &t));
        tp_encode_options eo = {0};
        if (P->opt.col_importance) {
            eo.col_importance = P->opt.col_importance[i];
            eo.n_cols = P->opt.n_cols[i];
        }
        outcome o;
        size_t r = one_tensor(P, w, name, &t, &eo, &o);
        if (tp_is_error(r)) {
            tp_tensor_file_release(f, i);
            char detail[600];
            snprintf(detail, sizeof detail, "%s", tp_last_error_detail());
            return tp_fail(tp_error_code(r), "tensor '%s': %s", name, detail);
        }
        uint64_t raw = (uint64_t)tp_tensor_nbytes(&t);
        sum->tensors++;
        sum->bytes_in += raw;
        sum->values += raw / tp_dtype_size(t.dtype);
        if (o.fallback_why) sum->fallbacks++;
        if (isfinite(o.metrics.snr_db)) { *snr_sum += o.metrics.snr_db; (*snr_n)++; }
        if (progress) {
            tp_compress_event e = {.index = i, .count = n, .name = name, .tensor = t, .frame_size = (size_t)o.bytes,
                                   .metrics = o.metrics, .spec = o.spec, .fallback_why = o.fallback_why};
            r = progress(ctx, &e);
        }
        tp_tensor_file_release(f, i);
        if (tp_is_error(r)) return r;
    }
    return 0;
}

size_t tp_compress_progressive(const char *in_path, const char *out_path, const char *const *layer_specs,
                               size_t n_layers, const tp_compress_options *opt, tp_compress_progress_fn progress,
                               void *ctx, tp_compress_summary *sum)
{
    if (!in_path || !out_path) return tp_fail(TP_ERR_ARG, "NULL path");
    prog P;
    size_t r = prog_init(&P, layer_specs, n_layers, opt);
    if (tp_is_error(r)) { prog_free(&P); return r; }
    tp_tensor_file *f = NULL;
    tp_archive_writer *w = NULL;
    r = tp_tensor_file_open(in_path, &f);
    if (!tp_is_error(r)) r = tp_archive_writer_open(out_path, &w);
    const char *meta = f ? tp_tensor_file_metadata(f) : NULL;
    if (!tp_is_error(r) && meta) r = tp_archive_writer_set_metadata(w, meta);
    if (tp_is_error(r) && w) tp_archive_writer_abort(w);
    tp_compress_summary s = {0};
    double snr_sum = 0;
    size_t snr_n = 0;
    if (!tp_is_error(r)) {
        int before = tp_threads_set(P.opt.threads);
        r = run(&P, f, w, progress, ctx, &s, &snr_sum, &snr_n);
        tp_threads_set(before);
        if (tp_is_error(r)) tp_archive_writer_abort(w);
        else r = tp_archive_writer_finish(w);
    }
    tp_tensor_file_close(f);
    prog_free(&P);
    if (tp_is_error(r)) return r;
    struct stat st;
    if (stat(out_path, &st)) return tp_fail(TP_ERR_IO, "%s vanished after it was written", out_path);
    s.file_bytes = (uint64_t)st.st_size;
    s.mean_snr_db = snr_n ? snr_sum / (double)snr_n : INFINITY;
    if (sum) *sum = s;
    return 0;
}
