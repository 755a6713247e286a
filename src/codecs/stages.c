/* The stage runner (stages.h). */
#include "codecs/stages.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Float conversion around TP_CODEC_FLOAT_IN stages. */
static int needs_f32(const tp_codec *c, tp_dtype dt) { return (c->info.flags & TP_CODEC_FLOAT_IN) && dt != TP_F32; }

static size_t check_stage_input(const tp_codec *c, const tp_tensor *in, size_t stage)
{
    if ((c->info.flags & TP_CODEC_FLOAT_IN) && !tp_dtype_is_float(in->dtype))
        return tp_fail(TP_ERR_DTYPE, "stage %zu (%s) needs a float tensor, got %s", stage + 1, c->info.name,
                       tp_dtype_name(in->dtype));
    return 0;
}

/* ---- encode ---------------------------------------------------------- */

/* Gives in to codec c as it wants it: converted to f32 into a new buffer
 * (stored in *owned) when the codec needs float32, or copied when its data
 * is not aligned to its element size (safetensors does not align tensors;
 * codecs read typed pointers). */
static size_t prepare_input(const tp_codec *c, tp_tensor *in, void **owned)
{
    *owned = NULL;
    uint64_t numel;
    TP_TRY(tp_tensor_numel(in, &numel));
    size_t esize = tp_dtype_size(in->dtype);
    void *aligned = NULL;
    if ((uintptr_t)in->data % esize) {
        aligned = malloc(numel ? numel * esize : 1);
        if (!aligned) return tp_fail(TP_ERR_NOMEM, "aligned copy of %llu values", (unsigned long long)numel);
        memcpy(aligned, in->data, numel * esize);
        in->data = aligned;
    }
    if (!needs_f32(c, in->dtype)) {
        *owned = aligned;
        return 0;
    }
    float *f = malloc(numel ? numel * sizeof(float) : 1);
    if (!f) {
        free(aligned);
        return tp_fail(TP_ERR_NOMEM, "converting %llu values to f32", (unsigned long long)numel);
    }
    tp_convert(f, TP_F32, in->data, in->dtype, numel);
    free(aligned);
    in->dtype = TP_F32;
    in->data = f;
    *owned = f;
    return 0;
}

/* The options' column importance, checked against t (NULL if none). */
static size_t check_options(const tp_tensor *t, const tp_encode_options *opt, const float **col_weight)
{
    *col_weight = NULL;
    if (!opt || !opt->col_importance) return 0;
    if (t->ndim == 0 || opt->n_cols != t->shape[t->ndim - 1])
        return tp_fail(TP_ERR_SHAPE, "column importance has %llu values, the tensor has %llu columns",
                       (unsigned long long)opt->n_cols, (unsigned long long)(t->ndim ? t->shape[t->ndim - 1] : 0));
    int any = 0;
    for (uint64_t c = 0; c < opt->n_cols; c++) {
        float w = opt->col_importance[c];
        if (!(w >= 0.0f) || !isfinite(w))
            return tp_fail(TP_ERR_ARG, "column importance %llu is %g; it must be finite and >= 0", (unsigned long long)c,
                           (double)w);
        any |= w > 0.0f;
    }
    if (!any && opt->n_cols) return tp_fail(TP_ERR_ARG, "column importance is 0 for every column");
    *col_weight = opt->col_importance;
    return 0;
}

/* The parameters stage s encodes with: the first stage gets the column
 * importance (its input has the tensor's shape). */
static tp_params encode_params(const tp_stage_run *r, size_t s)
{
    tp_params prm = r->p->stage[s].params;
    prm.col_weight = s == 0 ? r->col_weight : NULL;
    return prm;
}

/* The input descriptor of a run: t without data, unused dimensions zero. */
static size_t first_desc(const tp_pipeline *p, const tp_tensor *t, tp_tensor *d)
{
    if (!p || !t) return tp_fail(TP_ERR_ARG, "NULL pipeline or tensor");
    if (p->n == 0 || p->n > TP_MAX_STAGES) return tp_fail(TP_ERR_ARG, "pipeline has %zu stages", p->n);
    size_t nbytes = tp_tensor_nbytes(t);
    if (tp_is_error(nbytes)) return nbytes;
    *d = *t;
    d->data = NULL;
    for (uint32_t i = t->ndim; i < TP_MAX_DIMS; i++) d->shape[i] = 0;
    return nbytes;
}

size_t tp_stages_begin(tp_stage_run *r, const tp_pipeline *p, const tp_tensor *t, const tp_encode_options *opt)
{
    memset(r, 0, sizeof *r);
    r->p = p;
    size_t nbytes = first_desc(p, t, &r->desc[0]);
    if (tp_is_error(nbytes)) return nbytes;
    if (nbytes && !t->data) return tp_fail(TP_ERR_ARG, "tensor data is NULL");
    TP_TRY(check_options(t, opt, &r->col_weight));
    tp_tensor cur = *t;
    for (size_t s = 0; s < p->n; s++) {
        const tp_codec *c = p->stage[s].codec;
        const tp_params prm = encode_params(r, s);
        TP_TRY(check_stage_input(c, &cur, s));
        void *conv;
        TP_TRY(prepare_input(c, &cur, &conv));
        tp_tensor out;
        memset(&out, 0, sizeof out);
        size_t bound = c->bound(&prm, &cur, &out);
        if (tp_is_error(bound)) { free(conv); return bound; }
        if (s + 1 == p->n) {
            free(r->owned[1]);
            r->owned[1] = conv;
            r->last_in = cur;
            r->last_bound = bound;
            r->desc[s + 1] = out;
            return 0;
        }
        void *buf = malloc(bound ? bound : 1);
        if (!buf) { free(conv); return tp_fail(TP_ERR_NOMEM, "stage %zu buffer of %zu bytes", s + 1, bound); }
        size_t n = c->encode(&prm, &cur, buf, bound, &out);
        free(conv);
        if (tp_is_error(n)) { free(buf); return n; }
        free(r->owned[0]);
        r->owned[0] = buf;
        out.data = buf;
        r->desc[s + 1] = out;
        r->desc[s + 1].data = NULL;
        cur = out;
    }
    return 0;
}

size_t tp_stages_finish(tp_stage_run *r, void *dst, size_t cap)
{
    size_t last = r->p->n - 1;
    const tp_codec *c = r->p->stage[last].codec;
    tp_tensor out;
    memset(&out, 0, sizeof out);
    const tp_params prm = encode_params(r, last);
    size_t n = c->encode(&prm, &r->last_in, dst, cap, &out);
    if (tp_is_error(n)) return n;
    if (out.ndim != r->desc[last + 1].ndim || out.dtype != r->desc[last + 1].dtype || tp_tensor_nbytes(&out) != n)
        return tp_fail(TP_ERR_GENERIC, "codec %s broke its bound contract", c->info.name);
    r->desc[last + 1] = out;
    return n;
}

void tp_stages_release(tp_stage_run *r)
{
    free(r->owned[0]);
    free(r->owned[1]);
    r->owned[0] = r->owned[1] = NULL;
}

size_t tp_stages_bound(const tp_pipeline *p, const tp_tensor *t, tp_tensor *desc)
{
    size_t bound = first_desc(p, t, &desc[0]);
    if (tp_is_error(bound)) return bound;
    for (size_t s = 0; s < p->n; s++) {
        const tp_codec *c = p->stage[s].codec;
        tp_tensor in = desc[s];
        TP_TRY(check_stage_input(c, &in, s));
        if (needs_f32(c, in.dtype)) in.dtype = TP_F32;
        memset(&desc[s + 1], 0, sizeof desc[s + 1]);
        tp_params prm = p->stage[s].params;
        bound = c->bound(&prm, &in, &desc[s + 1]);
        if (tp_is_error(bound)) return bound;
        desc[s + 1].data = NULL;
    }
    return bound;
}

/* ---- decode ---------------------------------------------------------- */

/* Decodes what stage s stored (src) into dst (nbytes(desc[s]) bytes). */
static size_t decode_stage(const tp_stage_chain *c, size_t s, const void *src, void *dst)
{
    const tp_codec *codec = c->codec[s];
    const tp_tensor *want = &c->desc[s];
    if ((codec->info.flags & TP_CODEC_FLOAT_IN) && !tp_dtype_is_float(want->dtype))
        return tp_fail(TP_ERR_CORRUPT, "stage %zu (%s) cannot rebuild %s", s + 1, codec->info.name,
                       tp_dtype_name(want->dtype));
    size_t src_n = tp_tensor_nbytes(&c->desc[s + 1]);
    if (!needs_f32(codec, want->dtype)) {
        size_t r = codec->decode(&c->params[s], src, src_n, &c->desc[s + 1], want, dst);
        return tp_is_error(r) ? r : 0;
    }
    tp_tensor f = *want;
    f.dtype = TP_F32;
    uint64_t numel;
    TP_TRY(tp_tensor_numel(&f, &numel));
    float *tmp = malloc(numel ? numel * sizeof(float) : 1);
    if (!tmp) return tp_fail(TP_ERR_NOMEM, "f32 buffer of %llu values", (unsigned long long)numel);
    size_t r = codec->decode(&c->params[s], src, src_n, &c->desc[s + 1], &f, tmp);
    if (!tp_is_error(r)) r = tp_convert(dst, want->dtype, tmp, TP_F32, numel);
    free(tmp);
    return tp_is_error(r) ? r : 0;
}

size_t tp_stages_decode(const tp_stage_chain *c, size_t stop, const void *payload, void *dst)
{
    if (stop >= c->n) return tp_fail(TP_ERR_ARG, "decode down to stage %zu of %zu", stop, c->n);
    const void *cur = payload;
    void *owned = NULL;
    for (size_t s = c->n; s-- > stop;) {
        void *target = dst;
        if (s > stop) {
            size_t sz = tp_tensor_nbytes(&c->desc[s]);
            target = malloc(sz ? sz : 1);
            if (!target) { free(owned); return tp_fail(TP_ERR_NOMEM, "stage buffer of %zu bytes", sz); }
        }
        size_t r = decode_stage(c, s, cur, target);
        free(owned);
        owned = s > stop ? target : NULL;
        if (tp_is_error(r)) { free(owned); return r; }
        cur = target;
    }
    return 0;
}

size_t tp_stages_decode_f32(const tp_stage_chain *c, const void *payload, float *dst)
{
    const tp_tensor *want = &c->desc[0];
    if (!tp_dtype_is_float(want->dtype)) return tp_fail(TP_ERR_DTYPE, "f32 decode of a %s tensor", tp_dtype_name(want->dtype));
    uint64_t numel;
    TP_TRY(tp_tensor_numel(want, &numel));
    if (want->dtype == TP_F32) return tp_stages_decode(c, 0, payload, dst);
    if (!needs_f32(c->codec[0], want->dtype)) {
        void *native = malloc(tp_tensor_nbytes(want) ? tp_tensor_nbytes(want) : 1);
        if (!native) return tp_fail(TP_ERR_NOMEM, "decode buffer of %llu values", (unsigned long long)numel);
        size_t r = tp_stages_decode(c, 0, payload, native);
        if (!tp_is_error(r)) r = tp_convert(dst, TP_F32, native, want->dtype, numel);
        free(native);
        return tp_is_error(r) ? r : 0;
    }
    const void *stored = payload;
    void *owned = NULL;
    if (c->n > 1) {
        size_t sz = tp_tensor_nbytes(&c->desc[1]);
        owned = malloc(sz ? sz : 1);
        if (!owned) return tp_fail(TP_ERR_NOMEM, "stage buffer of %zu bytes", sz);
        size_t r = tp_stages_decode(c, 1, payload, owned);
        if (tp_is_error(r)) { free(owned); return r; }
        stored = owned;
    }
    tp_tensor f = *want;
    f.dtype = TP_F32;
    size_t r = c->codec[0]->decode(&c->params[0], stored, tp_tensor_nbytes(&c->desc[1]), &c->desc[1], &f, dst);
    free(owned);
    return tp_is_error(r) ? r : 0;
}
