/* ternary: BitNet b1.58 weights {-1, 0, +1} times a scale (Ma et al. 2024,
 * "The Era of 1-bit LLMs: All Large Language Models are in 1.58 Bits").
 *
 * Scales gamma_g per tensor, per channel (axis=) or per group of the last
 * axis (group=), stored as f16 or f32. Values: w_q = clamp(round(w /
 * gamma_g), -1, 1) with gamma_g the *stored* scale (round half away from
 * zero; gamma_g == 0 gives w_q = 0), decoded as gamma_g * w_q.
 *  - method=absmean (BitNet): gamma_g = mean |w| over the group.
 *  - method=mse: gamma_g minimises the squared error of the group. For a
 *    threshold t the best scale is the mean |w| over |w| > t and the error
 *    is sum w^2 - (sum_{|w|>t} |w|)^2 / #{|w|>t}; every t between sorted
 *    magnitudes is tried (top-k sets), the best scale kept, and the values
 *    then rounded against it (which can only lower the error further).
 * Payload: scales[n_groups], then the values 5 per byte, byte k = sum_i
 * (w_q[5k+i] + 1) * 3^i (3^5 = 243 <= 256: 1.6 bits/value). Unused digits of
 * the last byte are written as 1 (value 0); bytes above 242 are corrupt.
 * Layout details in docs/CODECS.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codec.h"
#include "codecs/quant/kq_ternary_kernels.h"
#include "core/bytes.h"
#include "core/half.h"
#include "core/parallel.h"

enum { P_METHOD, P_GROUP, P_AXIS, P_SCALE, N_PARAMS };
static const char *const methods[] = {"absmean", "mse", NULL};
static const char *const scale_types[] = {"f16", "f32", NULL};

static const tp_param_def tern_params[N_PARAMS] = {
    [P_METHOD] = {"method", TP_PARAM_ENUM, 0, 0, 1, methods, "absmean: BitNet b1.58 scale; mse: least-squares threshold and scale"},
    [P_GROUP] = {"group", TP_PARAM_INT, 0, 0, 1 << 20, NULL, "values per group along the last axis (0: no groups)", "axis"},
    [P_AXIS] = {"axis", TP_PARAM_INT, -1, -1, TP_MAX_DIMS - 1, NULL, "per-channel scales along this axis (given alone, group becomes 0)"},
    [P_SCALE] = {"scale", TP_PARAM_ENUM, 0, 0, 1, scale_types, "storage of the scales"},
};

enum { MODE_TENSOR, MODE_GROUP, MODE_CHANNEL };

typedef struct {
    unsigned mse, f32_scales;
    int mode;
    uint64_t numel, n_groups;
    uint64_t row_len, group, groups_per_row; /* MODE_GROUP   */
    uint64_t inner, channels;                /* MODE_CHANNEL */
    size_t scale_bytes, trit_bytes, payload;
} tern_layout;

static size_t tern_validate(const tp_params *p)
{
    if (tp_param_int(p, P_GROUP) > 0 && tp_param_int(p, P_AXIS) >= 0)
        return tp_fail(TP_ERR_PARAM, "ternary: give group= or axis=, not both");
    return 0;
}

static size_t make_layout(const tp_params *p, const tp_tensor *t, tern_layout *L)
{
    memset(L, 0, sizeof *L);
    TP_TRY(tern_validate(p));
    L->mse = (unsigned)tp_param_int(p, P_METHOD);
    L->f32_scales = (unsigned)tp_param_int(p, P_SCALE);
    TP_TRY(tp_tensor_numel(t, &L->numel));
    int axis = tp_param_int(p, P_AXIS);
    uint64_t group = (uint64_t)tp_param_int(p, P_GROUP);
    if (group > 0) {
        L->mode = MODE_GROUP;
        L->row_len = t->ndim ? t->shape[t->ndim - 1] : 1;
        L->group = group;
        L->groups_per_row = (L->row_len + group - 1) / group;
        L->n_groups = L->row_len ? L->numel / L->row_len * L->groups_per_row : 0;
    } else if (axis >= 0) {
        if ((uint32_t)axis >= t->ndim)
            return tp_fail(TP_ERR_PARAM, "ternary: axis=%d but the tensor has %u dimensions", axis, t->ndim);
        L->mode = MODE_CHANNEL;
        L->channels = t->shape[axis];
        L->inner = 1;
        for (uint32_t i = (uint32_t)axis + 1; i < t->ndim; i++) L->inner *= t->shape[i];
        L->n_groups = L->channels;
    } else {
        L->mode = MODE_TENSOR;
        L->n_groups = 1;
    }
    L->scale_bytes = L->f32_scales ? 4 : 2;
    L->trit_bytes = (size_t)((L->numel + 4) / 5);
    L->payload = (size_t)L->n_groups * L->scale_bytes + L->trit_bytes;
    return 0;
}

/* Group of value i, and the end of the run of values from i sharing it. */
static uint64_t run_at(const tern_layout *L, uint64_t i, uint64_t *gid)
{
    if (L->mode == MODE_TENSOR) { *gid = 0; return L->numel; }
    if (L->mode == MODE_GROUP) {
        uint64_t row = i / L->row_len, col = i % L->row_len, g = col / L->group;
        *gid = row * L->groups_per_row + g;
        uint64_t end = (g + 1) * L->group;
        return row * L->row_len + (end < L->row_len ? end : L->row_len);
    }
    uint64_t blk = i / L->inner;
    *gid = blk % L->channels;
    return (blk + 1) * L->inner;
}

static size_t tern_bound(const tp_params *p, const tp_tensor *in, tp_tensor *out)
{
    tern_layout L;
    TP_TRY(make_layout(p, in, &L));
    tp_desc_bytes(out, L.payload);
    return L.payload;
}

static float get_scale(const tern_layout *L, const uint8_t *base, uint64_t g)
{
    if (L->f32_scales) return tp_bits_f32(tp_get_u32(base + 4 * g));
    return tp_half_to_float(tp_get_u16(base + 2 * g));
}

static int cmp_desc(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

/* method=mse: sorts mag (n values, |w|) and returns the best scale. */
static double mse_scale(float *mag, uint64_t n)
{
    qsort(mag, (size_t)n, sizeof *mag, cmp_desc);
    double P = 0, best = 0, scale = 0;
    for (uint64_t k = 0; k < n; k++) {
        P += mag[k];
        double v = P * P / (double)(k + 1);
        if (v > best) { best = v; scale = P / (double)(k + 1); }
    }
    return scale;
}

static size_t tern_encode(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    tern_layout L;
    TP_TRY(make_layout(p, in, &L));
    if (cap < L.payload) return tp_fail(TP_ERR_DST_TOO_SMALL, "ternary needs %zu bytes", L.payload);
    const float *x = in->data;
    for (uint64_t i = 0; i < L.numel; i++)
        if (!isfinite(x[i]))
            return tp_fail(TP_ERR_NONFINITE, "ternary: value %llu is %s; use a lossless codec for such tensors",
                           (unsigned long long)i, isnan(x[i]) ? "NaN" : "Inf");
    size_t ng = L.n_groups ? (size_t)L.n_groups : 1;
    double *sum = calloc(ng, sizeof *sum);
    uint64_t *cnt = calloc(ng + 1, sizeof *cnt);
    float *gamma = malloc(ng * sizeof *gamma);
    float *mag = NULL;
    if (!sum || !cnt || !gamma) goto nomem;
    uint64_t gid;
    for (uint64_t i = 0; i < L.numel;) { /* channel mode visits a group in several runs */
        uint64_t end = run_at(&L, i, &gid);
        cnt[gid] += end - i;
        for (; i < end; i++) sum[gid] += fabs((double)x[i]);
    }
    if (L.mse && L.numel) {
        /* |w| gathered by group (offsets = prefix sums of the counts) */
        uint64_t *pos = malloc((ng + 1) * sizeof *pos);
        mag = malloc((size_t)L.numel * sizeof *mag);
        if (!pos || !mag) { free(pos); goto nomem; }
        pos[0] = 0;
        for (size_t g = 0; g < ng; g++) pos[g + 1] = pos[g] + cnt[g];
        uint64_t *fill = cnt; /* reuse as cursor: counts are recomputed from pos */
        for (size_t g = 0; g < ng; g++) fill[g] = pos[g];
        for (uint64_t i = 0; i < L.numel;) {
            uint64_t end = run_at(&L, i, &gid);
            for (; i < end; i++) mag[fill[gid]++] = fabsf(x[i]);
        }
        for (size_t g = 0; g < ng; g++) gamma[g] = (float)mse_scale(mag + pos[g], pos[g + 1] - pos[g]);
        free(pos);
    } else {
        for (size_t g = 0; g < ng; g++) gamma[g] = cnt[g] ? (float)(sum[g] / (double)cnt[g]) : 0.0f;
    }
    uint8_t *scales = dst, *trits = scales + L.n_groups * L.scale_bytes;
    for (uint64_t g = 0; g < L.n_groups; g++) {
        if (L.f32_scales) {
            tp_put_u32(scales + 4 * g, tp_f32_bits(gamma[g]));
        } else {
            uint16_t h = tp_half_from_float(gamma[g]);
            if (!isfinite(tp_half_to_float(h))) {
                free(sum); free(cnt); free(gamma); free(mag);
                return tp_fail(TP_ERR_PARAM, "ternary: group %llu scale overflows f16; use scale=f32",
                               (unsigned long long)g);
            }
            tp_put_u16(scales + 2 * g, h);
        }
        gamma[g] = get_scale(&L, scales, g);
    }
    static const uint8_t pow3[5] = {1, 3, 9, 27, 81};
    memset(trits, 0, L.trit_bytes);
    for (uint64_t i = 0; i < L.numel;) {
        uint64_t end = run_at(&L, i, &gid);
        float gm = gamma[gid];
        for (; i < end; i++) {
            int q = 0;
            if (gm > 0.0f) {
                float r = roundf(x[i] / gm);
                q = r > 1.0f ? 1 : (r < -1.0f ? -1 : (int)r);
            }
            trits[i / 5] = (uint8_t)(trits[i / 5] + pow3[i % 5] * (q + 1));
        }
    }
    for (uint64_t i = L.numel; i % 5; i++) trits[i / 5] = (uint8_t)(trits[i / 5] + pow3[i % 5]);
    free(sum); free(cnt); free(gamma); free(mag);
    tp_desc_bytes(out, L.payload);
    return L.payload;
nomem:
    free(sum); free(cnt); free(gamma); free(mag);
    return tp_fail(TP_ERR_NOMEM, "ternary: group tables");
}

#define CHUNK_BYTES 1024 /* 5120 values decoded per step, in L1 */
#define SUPER_BYTES 32   /* the fused kernel's unit: 160 values, 5 scale blocks of 32 */

/* Two passes over bytes [k0, k0 + nb): unpack to int8, then scale by run. */
static size_t decode_bytes(const tern_layout *L, const uint8_t *scales, const uint8_t *trits, uint64_t k0, size_t nb,
                           float *out)
{
    int8_t q[5 * CHUNK_BYTES + 8];
    if (tp_trit_unpack_best()(trits + k0, nb, q))
        return tp_fail(TP_ERR_CORRUPT, "ternary byte in [%llu, +%zu) is above 242", (unsigned long long)k0, nb);
    tp_scale_i8_fn scale = tp_scale_i8_best();
    uint64_t v0 = 5 * k0, v1 = v0 + 5 * nb < L->numel ? v0 + 5 * nb : L->numel;
    for (uint64_t i = v0; i < v1;) {
        uint64_t gid, end = run_at(L, i, &gid);
        if (end > v1) end = v1;
        float gm = get_scale(L, scales, gid);
        if (!isfinite(gm)) return tp_fail(TP_ERR_CORRUPT, "ternary scale %llu is not finite", (unsigned long long)gid);
        scale(q + (i - v0), (size_t)(end - i), gm, out + i);
        i = end;
    }
    return 0;
}

/* The scale of each 32-value block of values [v0, v1) (v0 a multiple of 32)
 * into s; 0 when every block has one scale, 1 when a group boundary splits
 * a block (the caller then takes the two-pass path). */
static size_t block_scales(const tern_layout *L, const uint8_t *scales, uint64_t v0, uint64_t v1, float *s)
{
    for (uint64_t i = v0; i < v1;) {
        uint64_t gid, end = run_at(L, i, &gid);
        if (end > v1) end = v1;
        else if (end % 32) return 1;
        float gm = get_scale(L, scales, gid);
        if (!isfinite(gm)) return tp_fail(TP_ERR_CORRUPT, "ternary scale %llu is not finite", (unsigned long long)gid);
        for (uint64_t b = (i - v0) / 32; b < (end - v0) / 32; b++) s[b] = gm;
        i = end;
    }
    return 0;
}

typedef struct {
    const tern_layout *L;
    const uint8_t *scales, *trits;
    tp_trit_decode_fn fused;
    float *out;
} tern_job;

/* Decodes chunks [lo, hi) of CHUNK_BYTES trit bytes; chunks are independent,
 * so ranges of them run on separate threads. */
static size_t decode_chunks(void *ctx, uint64_t lo, uint64_t hi)
{
    const tern_job *J = ctx;
    const tern_layout *L = J->L;
    float s[5 * CHUNK_BYTES / SUPER_BYTES];
    for (uint64_t k0 = lo * CHUNK_BYTES; k0 < hi * CHUNK_BYTES && k0 < L->trit_bytes; k0 += CHUNK_BYTES) {
        size_t nb = L->trit_bytes - k0 < CHUNK_BYTES ? (size_t)(L->trit_bytes - k0) : CHUNK_BYTES;
        /* whole superblocks of values inside the tensor go through the fused kernel */
        size_t n_super = nb / SUPER_BYTES, head = 0;
        if ((L->numel - 5 * k0) / 160 < n_super) n_super = (size_t)((L->numel - 5 * k0) / 160);
        if (n_super) {
            size_t r = block_scales(L, J->scales, 5 * k0, 5 * k0 + 160 * n_super, s);
            if (tp_is_error(r)) return r;
            if (!r) {
                if (J->fused(J->trits + k0, n_super, s, J->out + 5 * k0))
                    return tp_fail(TP_ERR_CORRUPT, "ternary byte in [%llu, +%zu) is above 242",
                                   (unsigned long long)k0, nb);
                head = SUPER_BYTES * n_super;
            }
        }
        if (head < nb) TP_TRY(decode_bytes(L, J->scales, J->trits, k0 + head, nb - head, J->out));
    }
    tp_lowbit_fence();
    return 0;
}

static size_t tern_decode(const tp_params *p, const void *src, size_t n, const tp_tensor *src_desc,
                          const tp_tensor *dst_desc, void *dst)
{
    tern_layout L;
    size_t r = make_layout(p, dst_desc, &L);
    if (tp_is_error(r)) return tp_fail(TP_ERR_CORRUPT, "ternary stage: %s", tp_last_error_detail());
    if (n != L.payload) return tp_fail(TP_ERR_CORRUPT, "ternary payload is %zu bytes, expected %zu", n, L.payload);
    const uint8_t *scales = src;
    tern_job J = {&L, scales, scales + L.n_groups * L.scale_bytes, tp_trit_decode_for(L.numel * sizeof(float)), dst};
    uint64_t n_chunks = (L.trit_bytes + CHUNK_BYTES - 1) / CHUNK_BYTES;
    TP_TRY(tp_parallel_ranges(n_chunks, 256, decode_chunks, &J));
    return L.numel * sizeof(float);
}

const tp_codec tp_codec_ternary = {
    .info = {.id = TP_CODEC_ID_ternary, .name = "ternary", .flags = TP_CODEC_LOSSY | TP_CODEC_FLOAT_IN,
             .summary = "BitNet b1.58 ternary {-1,0,+1} x scale, 5 values per byte (1.6 bits/value)",
             .n_params = N_PARAMS, .params = tern_params},
    .validate = tern_validate, .bound = tern_bound, .encode = tern_encode, .decode = tern_decode,
};
