#include "format/layers.h"

#include "core/error.h"

size_t tp_layers_start(float *acc, const void *base, tp_dtype dt, size_t n)
{
    return tp_convert(acc, TP_F32, base, dt, n);
}

size_t tp_layers_add(float *acc, float *tmp, const void *frame, size_t frame_size, size_t n)
{
    size_t r = tp_frame_decode(frame, frame_size, tmp, n * sizeof(float));
    if (tp_is_error(r)) return r;
    if (r != n * sizeof(float)) return tp_fail(TP_ERR_CORRUPT, "layer decodes to %zu bytes, not %zu", r, n * sizeof(float));
    for (size_t i = 0; i < n; i++) acc[i] += tmp[i];
    return 0;
}

size_t tp_layers_finish(void *dst, tp_dtype dt, const float *acc, size_t n)
{
    return tp_convert(dst, dt, acc, TP_F32, n);
}
