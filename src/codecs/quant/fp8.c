/* fp8: 8-bit floating point with a scale per tensor or per group
 * (Micikevicius et al. 2022, "FP8 formats for deep learning").
 *  - e4m3: 1 sign, 4 exponent bits (bias 7), 3 mantissa bits; no Inf; NaN
 *          is S.1111.111; largest finite 448 (S.1111.110); subnormals
 *          m * 2^-9.
 *  - e5m2: 1 sign, 5 exponent bits (bias 15), 2 mantissa bits, IEEE-like:
 *          Inf S.11111.00, NaN S.11111.{01,10,11}; largest finite 57344;
 *          subnormals m * 2^-16.
 * A group with absmax m stores s = m / max_finite, rounded up to the scale
 * format; each value x is coded as fp8(x / s), rounded to nearest even and
 * saturated to +-max_finite, and decodes as value(code) * s.
 * Payload: s[n_groups] (f16/f32), then one byte per value. */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "codecs/quant/lut_kernels.h"
#include "codecs/quant/lut_quant.h"
#include "codecs/quant/quant_family.h"
#include "core/half.h"

enum { P_FORMAT, P_GROUP, P_AXIS, P_SCALE, N_PARAMS };
static const char *const formats[] = {"e4m3", "e5m2", NULL};
static const char *const scale_types[] = {"f16", "f32", NULL};

static const tp_param_def fp8_params[N_PARAMS] = {
    [P_FORMAT] = {"format", TP_PARAM_ENUM, 0, 0, 1, formats, "e4m3 (max 448, no Inf) or e5m2 (max 57344, IEEE-like)"},
    [P_GROUP] = {"group", TP_PARAM_INT, 0, 0, 1 << 20, NULL, "values per scale group along the last axis (0: per tensor)", "axis"},
    [P_AXIS] = {"axis", TP_PARAM_INT, -1, -1, TP_MAX_DIMS - 1, NULL, "per-channel scales along this axis (given alone, group becomes 0)"},
    [P_SCALE] = {"scale", TP_PARAM_ENUM, 1, 0, 1, scale_types, "storage of the scales"},
};

typedef struct { unsigned mbits, bias; uint32_t max_code; float max; } fp8_fmt;
static const fp8_fmt fmts[2] = {
    [TP_FP8_E4M3] = {3, 7, 0x7e, 448.0f},
    [TP_FP8_E5M2] = {2, 15, 0x7b, 57344.0f},
};

uint8_t tp_fp8_from_f32(int format, float f, int saturate)
{
    const fp8_fmt *F = &fmts[format];
    uint32_t x = tp_f32_bits(f), a = x & 0x7fffffffu;
    uint8_t sign = (uint8_t)((x >> 24) & 0x80u);
    if (a > 0x7f800000u) return (uint8_t)(sign | 0x7f); /* NaN (E5M2: 0x7f is a NaN too) */
    uint32_t mag;
    if (a == 0x7f800000u) mag = 0xffffffffu; /* Inf: beyond every finite code */
    else if ((int)(a >> 23) - 127 >= 1 - (int)F->bias) {
        /* Normal in fp8: round the f32 mantissa to mbits, half to even;
         * a carry moves into the exponent as it should. */
        unsigned sh = 23 - F->mbits;
        uint32_t r = a + ((1u << (sh - 1)) - 1u) + ((a >> sh) & 1u);
        mag = (r >> sh) - ((127u - F->bias) << F->mbits);
    } else {
        /* Subnormal (or zero): a multiple of 2^(1-bias-mbits); scaling by a
         * power of two is exact and nearbyintf rounds half to even. */
        mag = (uint32_t)nearbyintf(ldexpf(tp_bits_f32(a), (int)(F->bias - 1 + F->mbits)));
    }
    if (mag > F->max_code) {
        if (saturate) mag = F->max_code;
        else mag = format == TP_FP8_E4M3 ? 0x7f : 0x7c;
    }
    return (uint8_t)(sign | mag);
}

float tp_fp8_to_f32(int format, uint8_t c)
{
    const fp8_fmt *F = &fmts[format];
    unsigned ebits = 7 - F->mbits, e = (c >> F->mbits) & ((1u << ebits) - 1), m = c & ((1u << F->mbits) - 1);
    float v;
    if (format == TP_FP8_E4M3 && e == 15 && m == 7) v = NAN;
    else if (format == TP_FP8_E5M2 && e == 31) v = m ? NAN : INFINITY;
    else if (e == 0) v = ldexpf((float)m, 1 - (int)F->bias - (int)F->mbits);
    else v = ldexpf(1.0f + (float)m / (float)(1u << F->mbits), (int)e - (int)F->bias);
    return (c & 0x80) ? -v : v;
}

static float fp8_lut[2][256];
static pthread_once_t fp8_once = PTHREAD_ONCE_INIT;
static void fp8_init(void)
{
    for (int f = 0; f < 2; f++)
        for (unsigned c = 0; c < 256; c++) fp8_lut[f][c] = tp_fp8_to_f32(f, (uint8_t)c);
}

static void quant_e4m3(const float *u, size_t n, uint8_t *q)
{
    for (size_t i = 0; i < n; i++) q[i] = tp_fp8_from_f32(TP_FP8_E4M3, u[i], 1);
}
static void quant_e5m2(const float *u, size_t n, uint8_t *q)
{
    for (size_t i = 0; i < n; i++) q[i] = tp_fp8_from_f32(TP_FP8_E5M2, u[i], 1);
}

static size_t fp8_validate(const tp_params *p)
{
    return tp_grouping_validate("fp8", tp_param_int(p, P_GROUP), tp_param_int(p, P_AXIS));
}

static size_t fp8_setup(const tp_params *p, const tp_tensor *t, tp_grouping *G, tp_lut_quant *Q)
{
    pthread_once(&fp8_once, fp8_init);
    TP_TRY(tp_grouping_init(G, "fp8", t, (uint64_t)tp_param_int(p, P_GROUP), tp_param_int(p, P_AXIS)));
    int f = tp_param_int(p, P_FORMAT);
    memset(Q, 0, sizeof *Q);
    Q->name = "fp8";
    Q->bits = 8;
    Q->f32 = tp_param_int(p, P_SCALE);
    Q->qmax = fmts[f].max;
    Q->lut = fp8_lut[f];
    Q->quant = f == TP_FP8_E4M3 ? quant_e4m3 : quant_e5m2;
    Q->kernel = tp_fp8_kernel_best(f, G->numel * sizeof(float));
    return 0;
}

static size_t fp8_bound(const tp_params *p, const tp_tensor *in, tp_tensor *out)
{
    tp_grouping G;
    tp_lut_quant Q;
    TP_TRY(fp8_setup(p, in, &G, &Q));
    size_t n = tp_lut_quant_payload(&Q, &G);
    tp_desc_bytes(out, n);
    return n;
}

static size_t fp8_encode(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    tp_grouping G;
    tp_lut_quant Q;
    TP_TRY(fp8_setup(p, in, &G, &Q));
    size_t n = tp_lut_quant_payload(&Q, &G);
    if (cap < n) return tp_fail(TP_ERR_DST_TOO_SMALL, "fp8 needs %zu bytes", n);
    TP_TRY(tp_lut_quant_encode(&Q, &G, in->data, dst));
    tp_desc_bytes(out, n);
    return n;
}

static size_t fp8_decode(const tp_params *p, const void *src, size_t n, const tp_tensor *src_desc,
                         const tp_tensor *dst_desc, void *dst)
{
    tp_grouping G;
    tp_lut_quant Q;
    size_t r = fp8_setup(p, dst_desc, &G, &Q);
    if (tp_is_error(r)) return tp_fail(TP_ERR_CORRUPT, "fp8 stage: %s", tp_last_error_detail());
    return tp_lut_quant_decode(&Q, &G, src, n, dst);
}

const tp_codec tp_codec_fp8 = {
    .info = {.id = TP_CODEC_ID_fp8, .name = "fp8", .flags = TP_CODEC_LOSSY | TP_CODEC_FLOAT_IN,
             .summary = "FP8 E4M3/E5M2 with a scale per tensor, channel or group",
             .n_params = N_PARAMS, .params = fp8_params},
    .validate = fp8_validate, .bound = fp8_bound, .encode = fp8_encode, .decode = fp8_decode,
};
