/* Encode, decode again, compare: the one place that measures a frame. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tpress.h"

/* Rounds f32 values to dtype and back in place, chunk by chunk: what a
 * reader of the decoded tensor gets, with a small buffer. */
static size_t round_to_dtype(float *x, uint64_t n, tp_dtype dt)
{
    enum { CHUNK = 16384 };
    uint64_t tmp[CHUNK]; /* room for CHUNK values of any float dtype */
    for (uint64_t i = 0; i < n && dt != TP_F32; i += CHUNK) {
        size_t k = n - i < CHUNK ? (size_t)(n - i) : CHUNK;
        TP_TRY(tp_convert(tmp, dt, x + i, TP_F32, k));
        TP_TRY(tp_convert(x + i, TP_F32, tmp, dt, k));
    }
    return 0;
}

/* Whether the codec that rebuilds the tensor (the spec's first stage)
 * works in f32, so that decoding to f32 skips its f16/bf16 copy. */
static int rebuilds_in_f32(const tp_frame_info *info)
{
    char name[64];
    size_t k = strcspn(info->spec, ":|");
    if (k >= sizeof name) return 0;
    memcpy(name, info->spec, k);
    name[k] = 0;
    const tp_codec_info *c = tp_codec_find(name);
    return c && (c->flags & TP_CODEC_FLOAT_IN);
}

size_t tp_frame_measure(const void *frame, size_t n, const tp_tensor *ref, tp_metrics *m)
{
    if (!ref || !m) return tp_fail(TP_ERR_ARG, "NULL tensor or metrics");
    tp_frame_info info;
    TP_TRY(tp_frame_header(frame, n, &info));
    size_t nbytes = tp_tensor_nbytes(ref);
    if (tp_is_error(nbytes)) return nbytes;
    if (info.dtype != ref->dtype || info.ndim != ref->ndim || info.nbytes != nbytes ||
        memcmp(info.shape, ref->shape, ref->ndim * sizeof ref->shape[0]))
        return tp_fail(TP_ERR_SHAPE, "the frame holds another dtype or shape than the tensor it is compared with");
    uint64_t numel = nbytes / tp_dtype_size(ref->dtype);
    if (tp_dtype_is_float(ref->dtype) && ref->dtype != TP_F32 && rebuilds_in_f32(&info)) {
        /* Decoded as f32 and rounded to the tensor's dtype: an f16 tensor
         * costs one copy here, not two. */
        size_t cap = (size_t)numel * sizeof(float);
        float *back = malloc(cap ? cap : 1);
        if (!back) return tp_fail(TP_ERR_NOMEM, "decoding %zu bytes to measure them", cap);
        size_t r = tp_frame_decode_f32(frame, n, back, cap);
        if (!tp_is_error(r)) r = round_to_dtype(back, numel, ref->dtype);
        if (!tp_is_error(r)) r = tp_metrics_compute(ref->data, ref->dtype, back, TP_F32, numel, m);
        free(back);
        return tp_is_error(r) ? r : 0;
    }
    void *back = malloc(nbytes ? nbytes : 1);
    if (!back) return tp_fail(TP_ERR_NOMEM, "decoding %zu bytes to measure them", nbytes);
    size_t r = tp_frame_decode(frame, n, back, nbytes);
    if (!tp_is_error(r)) {
        if (tp_dtype_is_float(ref->dtype) || memcmp(back, ref->data, nbytes))
            r = tp_metrics_compute(ref->data, ref->dtype, back, ref->dtype, numel, m);
        else {
            memset(m, 0, sizeof *m);
            m->count = numel;
            m->snr_db = m->psnr_db = INFINITY;
            m->cosine = 1;
        }
    }
    free(back);
    return tp_is_error(r) ? r : 0;
}
