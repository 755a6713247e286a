/* Reconstruction error metrics, accumulated in float64. */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "core/half.h"

/* memcpy loads: tensors mapped from safetensors files need not be aligned. */
static double load(const void *p, tp_dtype dt, size_t i)
{
    const unsigned char *b = p;
    switch (dt) {
    case TP_F32: { float v; memcpy(&v, b + 4 * i, 4); return v; }
    case TP_F16: { uint16_t h; memcpy(&h, b + 2 * i, 2); return tp_half_to_float(h); }
    case TP_BF16: { uint16_t h; memcpy(&h, b + 2 * i, 2); return tp_bf16_to_float(h); }
    case TP_F64: { double v; memcpy(&v, b + 8 * i, 8); return v; }
    case TP_I8: return (int8_t)b[i];
    case TP_U8: return b[i];
    case TP_I16: { int16_t v; memcpy(&v, b + 2 * i, 2); return v; }
    case TP_U16: { uint16_t v; memcpy(&v, b + 2 * i, 2); return v; }
    case TP_I32: { int32_t v; memcpy(&v, b + 4 * i, 4); return v; }
    case TP_U32: { uint32_t v; memcpy(&v, b + 4 * i, 4); return v; }
    case TP_I64: { int64_t v; memcpy(&v, b + 8 * i, 8); return (double)v; }
    default: { uint64_t v; memcpy(&v, b + 8 * i, 8); return (double)v; }
    }
}

static int same_nonfinite(double a, double b)
{
    if (isnan(a)) return isnan(b);
    return a == b; /* both Inf of the same sign */
}

size_t tp_metrics_compute(const void *ref, tp_dtype ref_dt, const void *got, tp_dtype got_dt, size_t n, tp_metrics *m)
{
    if (!m) return tp_fail(TP_ERR_ARG, "NULL metrics");
    if (!tp_dtype_size(ref_dt) || !tp_dtype_size(got_dt))
        return tp_fail(TP_ERR_DTYPE, "metrics of unknown dtypes (%d vs %d)", (int)ref_dt, (int)got_dt);
    if (n && (!ref || !got)) return tp_fail(TP_ERR_ARG, "NULL data");
    memset(m, 0, sizeof *m);
    double sx = 0, sy = 0, sxy = 0, se = 0, peak = 0, maxe = 0;
    uint64_t mismatched_nonfinite = 0;
    for (size_t i = 0; i < n; i++) {
        double x = load(ref, ref_dt, i), y = load(got, got_dt, i);
        if (!isfinite(x) || !isfinite(y)) {
            m->nonfinite++;
            if (!same_nonfinite(x, y)) mismatched_nonfinite++;
            continue;
        }
        double d = x - y;
        sx += x * x; sy += y * y; sxy += x * y; se += d * d;
        if (fabs(x) > peak) peak = fabs(x);
        if (fabs(d) > maxe) maxe = fabs(d);
    }
    uint64_t k = n - m->nonfinite;
    m->count = n;
    m->mse = k ? se / (double)k : 0.0;
    m->rmse = sqrt(m->mse);
    m->max_abs = mismatched_nonfinite ? INFINITY : maxe;
    if (mismatched_nonfinite) se = INFINITY, m->mse = INFINITY, m->rmse = INFINITY;
    m->snr_db = se == 0 ? INFINITY : (sx == 0 ? -INFINITY : 10.0 * log10(sx / se));
    m->psnr_db = se == 0 ? INFINITY : (peak == 0 ? -INFINITY : 10.0 * log10(peak * peak / m->mse));
    m->cosine = (sx == 0 && sy == 0) ? 1.0 : (sx == 0 || sy == 0) ? 0.0 : sxy / sqrt(sx * sy);
    m->rel_l2 = sx == 0 ? (se == 0 ? 0.0 : INFINITY) : sqrt(se / sx);
    return 0;
}
