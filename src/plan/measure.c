/* Encode, decode again, compare: the one place that measures a frame. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "tpress.h"

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
    void *back = malloc(nbytes ? nbytes : 1);
    if (!back) return tp_fail(TP_ERR_NOMEM, "decoding %zu bytes to measure them", nbytes);
    size_t r = tp_frame_decode(frame, n, back, nbytes);
    if (!tp_is_error(r)) {
        uint64_t numel = nbytes / tp_dtype_size(ref->dtype);
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
