/* int: uniform scalar quantization, 1-8 bits, symmetric or asymmetric,
 * per tensor, per channel (axis=) or per group of the last axis (group=).
 *
 * Every group g stores a scale s_g and decodes as x = code * s_g + off_g:
 *  - asym: off_g is stored; codes 0..2^b-1 span [min, max] of the group.
 *  - sym:  off_g = -2^(b-1) * s_g is implied; the value of largest magnitude
 *          maps exactly to code 0 (s_g takes its sign), as in ggml's Q4_0.
 * Payload: s[n_groups], then off[n_groups] (asym only), each f16 or f32,
 * then the codes bit-packed (no wasted bits). With search=1 the clipping
 * range of each group is chosen from a grid to minimise squared error. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codec.h"
#include "codecs/int_kernels.h"
#include "core/bitpack.h"
#include "core/half.h"

enum { P_BITS, P_SYM, P_GROUP, P_AXIS, P_SCALE, P_SEARCH, N_PARAMS };
static const char *const scale_types[] = {"f16", "f32", NULL};

static const tp_param_def int_params[N_PARAMS] = {
    [P_BITS] = {"bits", TP_PARAM_INT, 8, 1, 8, NULL, "bits per value"},
    [P_SYM] = {"sym", TP_PARAM_INT, 1, 0, 1, NULL, "1: symmetric (scale only), 0: asymmetric (scale + offset)"},
    [P_GROUP] = {"group", TP_PARAM_INT, 32, 0, 1 << 20, NULL, "values per group along the last axis (0: no groups)"},
    [P_AXIS] = {"axis", TP_PARAM_INT, -1, -1, TP_MAX_DIMS - 1, NULL, "per-channel scales along this axis (needs group=0)"},
    [P_SCALE] = {"scale", TP_PARAM_ENUM, 0, 0, 1, scale_types, "storage of scales and offsets"},
    [P_SEARCH] = {"search", TP_PARAM_INT, 0, 0, 1, NULL, "1: pick each group's clipping range by least squared error"},
};

enum { MODE_TENSOR, MODE_GROUP, MODE_CHANNEL };

typedef struct {
    unsigned bits, sym, f32_scales, search;
    int mode;
    uint64_t numel, n_groups;
    uint64_t row_len, group, groups_per_row; /* MODE_GROUP   */
    uint64_t inner, channels;                /* MODE_CHANNEL */
    size_t scale_bytes, payload;
} int_layout;

static size_t int_validate(const tp_params *p)
{
    if (tp_param_int(p, P_GROUP) > 0 && tp_param_int(p, P_AXIS) >= 0)
        return tp_fail(TP_ERR_PARAM, "int: give group= or axis=, not both (group=0 for per-channel)");
    return 0;
}

static size_t make_layout(const tp_params *p, const tp_tensor *t, int_layout *L)
{
    memset(L, 0, sizeof *L);
    L->bits = (unsigned)tp_param_int(p, P_BITS);
    L->sym = (unsigned)tp_param_int(p, P_SYM);
    L->f32_scales = (unsigned)tp_param_int(p, P_SCALE);
    L->search = (unsigned)tp_param_int(p, P_SEARCH);
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
            return tp_fail(TP_ERR_PARAM, "int: axis=%d but the tensor has %u dimensions", axis, t->ndim);
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
    L->payload = (size_t)(L->n_groups * L->scale_bytes * (L->sym ? 1 : 2) + tp_packed_bytes(L->numel, L->bits));
    return 0;
}

/* Iterates over the contiguous runs of values that share one group. */
typedef struct {
    uint64_t start, len, gid; /* current run                 */
    uint64_t k;               /* index of the next run       */
} run_iter;

static int next_run(const int_layout *L, run_iter *it)
{
    uint64_t k = it->k++;
    if (L->mode == MODE_TENSOR) {
        it->start = 0; it->len = L->numel; it->gid = 0;
        return k == 0 && L->numel > 0;
    }
    if (L->mode == MODE_GROUP) {
        if (k >= L->n_groups) return 0;
        uint64_t col = (k % L->groups_per_row) * L->group;
        it->start = k / L->groups_per_row * L->row_len + col;
        it->len = L->row_len - col < L->group ? L->row_len - col : L->group;
        it->gid = k;
        return 1;
    }
    if (!L->inner || k >= L->numel / L->inner) return 0;
    it->start = k * L->inner; it->len = L->inner; it->gid = k % L->channels;
    return 1;
}

typedef struct { float lo, hi, big; } group_stats; /* min, max, signed max-magnitude */

static float store_round(const int_layout *L, float v)
{
    return L->f32_scales ? v : tp_half_to_float(tp_half_from_float(v));
}

/* Scale and offset for a group whose range is shrunk by ratio r. */
static void group_params(const int_layout *L, const group_stats *st, float r, float *s, float *off)
{
    float levels = (float)((1u << L->bits) - 1);
    if (L->sym) {
        *s = store_round(L, -st->big * r / (float)(1u << (L->bits - 1)));
        *off = -(float)(1u << (L->bits - 1)) * *s;
        return;
    }
    float lo = st->lo, hi = st->hi;
    if (lo < 0 && hi > 0) { lo *= r; hi *= r; }
    else { float mid = 0.5f * (lo + hi), half = 0.5f * (hi - lo) * r; lo = mid - half; hi = mid + half; }
    *off = store_round(L, lo);
    *s = store_round(L, (hi - *off) / levels);
}

static double run_sse(const float *x, size_t n, float s, float off, unsigned qmax)
{
    float inv = s != 0.0f ? 1.0f / s : 0.0f;
    double e = 0;
    for (size_t i = 0; i < n; i++) {
        float v = (x[i] - off) * inv;
        v = !(v >= 0.0f) ? 0.0f : (v > (float)qmax ? (float)qmax : v); /* NaN -> 0, see tp_quant_run */
        float d = x[i] - ((float)(unsigned)(v + 0.5f) * s + off);
        e += (double)d * d;
    }
    return e;
}

#define SEARCH_STEPS 20
static float search_ratio(int k) { return 1.0f - 0.025f * (float)k; }

static size_t int_bound(const tp_params *p, const tp_tensor *in, tp_tensor *out)
{
    int_layout L;
    TP_TRY(make_layout(p, in, &L));
    tp_desc_bytes(out, L.payload);
    return L.payload;
}

static void put_scale(const int_layout *L, uint8_t *base, uint64_t i, float v)
{
    if (L->f32_scales) memcpy(base + 4 * i, &v, 4);
    else { uint16_t h = tp_half_from_float(v); memcpy(base + 2 * i, &h, 2); }
}

static float get_scale(const int_layout *L, const uint8_t *base, uint64_t i)
{
    if (L->f32_scales) { float v; memcpy(&v, base + 4 * i, 4); return v; }
    uint16_t h;
    memcpy(&h, base + 2 * i, 2);
    return tp_half_to_float(h);
}

/* get_scale of entries i .. i+m-1 (m <= 256), converted as a batch. */
static void get_scales(const int_layout *L, const uint8_t *base, uint64_t i, size_t m, float *v)
{
    if (L->f32_scales) { memcpy(v, base + 4 * i, 4 * m); return; }
    uint16_t h[256]; /* the payload may sit at any byte offset: copy before reading as u16 */
    memcpy(h, base + 2 * i, 2 * m);
    tp_half_to_float_n(v, h, m);
}

/* The scale and offset of one group as the quantizer uses them (read back
 * from their stored form), after choosing the clipping ratio when
 * search=1. Writes them to the payload; returns 0, or 1 if they overflow. */
static int group_setup(const int_layout *L, const group_stats *st, const float *x, size_t n, uint64_t g,
                       uint8_t *scales, uint8_t *offs, float *inv, float *off)
{
    const unsigned qmax = (1u << L->bits) - 1;
    float ratio = 1.0f, s, o;
    if (L->search) {
        /* first ratio of least error, as the multi-pass loop of int_encode_ref picks it */
        double best_e = 0;
        for (int k = 0; k < SEARCH_STEPS; k++) {
            group_params(L, st, search_ratio(k), &s, &o);
            double e = run_sse(x, n, s, o, qmax);
            if (k == 0 || e < best_e) { best_e = e; ratio = search_ratio(k); }
        }
    }
    group_params(L, st, ratio, &s, &o);
    if (!isfinite(s) || !isfinite(o)) return 1;
    put_scale(L, scales, g, s);
    if (!L->sym) put_scale(L, offs, g, o);
    s = get_scale(L, scales, g);
    *off = L->sym ? -(float)(1u << (L->bits - 1)) * s : get_scale(L, offs, g);
    *inv = s != 0.0f ? 1.0f / s : 0.0f;
    return 0;
}

/* Fast path for whole rows of byte-aligned groups (group % 8 == 0 and
 * row_len % group == 0: group g is x[g*group ...]): statistics, scales and
 * codes of a batch of groups in one pass over data that stays in cache,
 * with the kernels of int_kernels.c. Writes the same bytes as
 * int_encode_ref. Returns 0, or 1 when the input has a NaN/Inf or a scale
 * overflows: the caller then runs int_encode_ref, which reports the error
 * exactly as it always has. */
#define BATCH_GROUPS 128
#define BATCH_VALUES 4096
static int int_encode_groups(const int_layout *L, const float *x, uint8_t *dst)
{
    tp_group_stats_fn stats = tp_group_stats_best();
    tp_quant_fn quant = tp_quant_best();
    const size_t group = (size_t)L->group;
    uint8_t *scales = dst, *offs = scales + L->n_groups * L->scale_bytes;
    uint8_t *codes = offs + (L->sym ? 0 : L->n_groups * L->scale_bytes);
    size_t batch = BATCH_VALUES / group;
    batch = batch < 1 ? 1 : batch > BATCH_GROUPS ? BATCH_GROUPS : batch;
    float lo[BATCH_GROUPS], hi[BATCH_GROUPS], big[BATCH_GROUPS], inv[BATCH_GROUPS], off[BATCH_GROUPS];
    for (uint64_t g0 = 0; g0 < L->n_groups; g0 += batch) {
        size_t m = L->n_groups - g0 < batch ? (size_t)(L->n_groups - g0) : batch;
        const float *xb = x + g0 * group;
        if (stats(xb, m, group, lo, hi, big)) return 1;
        for (size_t j = 0; j < m; j++) {
            group_stats st = {lo[j], hi[j], big[j]};
            if (group_setup(L, &st, xb + j * group, group, g0 + j, scales, offs, &inv[j], &off[j])) return 1;
        }
        quant(xb, m, group, L->bits, inv, off, codes + g0 * group / 8 * L->bits);
    }
    return 0;
}

/* The reference: one pass per step over the whole tensor, any layout. */
static size_t int_encode_ref(const int_layout *layout, const tp_tensor *in, void *dst, tp_tensor *out)
{
    int_layout L = *layout;
    const float *x = in->data;
    for (uint64_t i = 0; i < L.numel; i++)
        if (!isfinite(x[i]))
            return tp_fail(TP_ERR_NONFINITE, "int: value %llu is %s; use a lossless codec for such tensors",
                           (unsigned long long)i, isnan(x[i]) ? "NaN" : "Inf");

    group_stats *st = malloc((L.n_groups ? L.n_groups : 1) * sizeof *st);
    float *ratio = malloc((L.n_groups ? L.n_groups : 1) * sizeof *ratio);
    double *sse = L.search ? calloc((L.n_groups ? L.n_groups : 1) * SEARCH_STEPS, sizeof *sse) : NULL;
    if (!st || !ratio || (L.search && !sse)) {
        free(st); free(ratio); free(sse);
        return tp_fail(TP_ERR_NOMEM, "int: group tables");
    }
    for (uint64_t g = 0; g < L.n_groups; g++) { st[g].lo = INFINITY; st[g].hi = -INFINITY; st[g].big = 0; ratio[g] = 1.0f; }
    run_iter it = {0};
    while (next_run(&L, &it)) {
        group_stats *g = &st[it.gid];
        for (uint64_t i = it.start; i < it.start + it.len; i++) {
            float v = x[i];
            if (v < g->lo) g->lo = v;
            if (v > g->hi) g->hi = v;
            if (fabsf(v) > fabsf(g->big)) g->big = v;
        }
    }
    const unsigned qmax = (1u << L.bits) - 1;
    if (L.search) {
        run_iter sit = {0};
        while (next_run(&L, &sit)) {
            for (int k = 0; k < SEARCH_STEPS; k++) {
                float s, off;
                group_params(&L, &st[sit.gid], search_ratio(k), &s, &off);
                sse[sit.gid * SEARCH_STEPS + k] += run_sse(x + sit.start, sit.len, s, off, qmax);
            }
        }
        for (uint64_t g = 0; g < L.n_groups; g++) {
            int best = 0;
            for (int k = 1; k < SEARCH_STEPS; k++)
                if (sse[g * SEARCH_STEPS + k] < sse[g * SEARCH_STEPS + best]) best = k;
            ratio[g] = search_ratio(best);
        }
    }

    uint8_t *scales = dst, *offs = scales + L.n_groups * L.scale_bytes;
    uint8_t *codes = offs + (L.sym ? 0 : L.n_groups * L.scale_bytes);
    size_t code_bytes = (size_t)tp_packed_bytes(L.numel, L.bits);
    memset(codes, 0, code_bytes);
    for (uint64_t g = 0; g < L.n_groups; g++) {
        float s, off;
        group_params(&L, &st[g], ratio[g], &s, &off);
        if (!isfinite(s) || !isfinite(off)) {
            free(st); free(ratio); free(sse);
            return tp_fail(TP_ERR_PARAM, "int: group %llu scale overflows f16; use scale=f32", (unsigned long long)g);
        }
        put_scale(&L, scales, g, s);
        if (!L.sym) put_scale(&L, offs, g, off);
    }
    uint8_t q[512];
    run_iter qit = {0};
    while (next_run(&L, &qit)) {
        float s = get_scale(&L, scales, qit.gid);
        float off = L.sym ? -(float)(1u << (L.bits - 1)) * s : get_scale(&L, offs, qit.gid);
        float inv = s != 0.0f ? 1.0f / s : 0.0f;
        for (uint64_t i = 0; i < qit.len; i += sizeof q) {
            size_t m = qit.len - i < sizeof q ? (size_t)(qit.len - i) : sizeof q;
            tp_quant_run(x + qit.start + i, m, inv, off, qmax, q);
            uint64_t k0 = qit.start + i;
            size_t j = 0;
            if (k0 % 8 == 0) {
                size_t m8 = m & ~(size_t)7;
                tp_pack8(codes + k0 / 8 * L.bits, q, m8, L.bits);
                j = m8;
            }
            for (; j < m; j++) tp_bits_or(codes, k0 + j, L.bits, q[j]);
        }
    }
    free(st); free(ratio); free(sse);
    tp_desc_bytes(out, L.payload);
    return L.payload;
}

static size_t int_encode(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    int_layout L;
    TP_TRY(make_layout(p, in, &L));
    if (cap < L.payload) return tp_fail(TP_ERR_DST_TOO_SMALL, "int needs %zu bytes", L.payload);
    if (L.mode == MODE_GROUP && L.group % 8 == 0 && L.row_len % L.group == 0 && L.n_groups > 0 &&
        !int_encode_groups(&L, in->data, dst)) {
        tp_desc_bytes(out, L.payload);
        return L.payload;
    }
    return int_encode_ref(&L, in, dst, out);
}

static size_t int_decode(const tp_params *p, const void *src, size_t n, const tp_tensor *src_desc,
                         const tp_tensor *dst_desc, void *dst)
{
    int_layout L;
    size_t r = make_layout(p, dst_desc, &L);
    if (tp_is_error(r)) return tp_fail(TP_ERR_CORRUPT, "int stage: %s", tp_last_error_detail());
    if (n != L.payload) return tp_fail(TP_ERR_CORRUPT, "int payload is %zu bytes, expected %zu", n, L.payload);
    const uint8_t *scales = src, *offs = scales + L.n_groups * L.scale_bytes;
    const uint8_t *codes = offs + (L.sym ? 0 : L.n_groups * L.scale_bytes);
    float *out = dst;
    const float half_range = (float)(1u << (L.bits - 1));

    /* Fast path: whole rows of byte-aligned groups, decoded in batches. */
    if (L.mode == MODE_GROUP && L.group % 8 == 0 && L.row_len % L.group == 0) {
        tp_dequant_fn kernel = tp_dequant_for(out, L.numel * sizeof(float));
        float s[256], o[256];
        for (uint64_t g0 = 0; g0 < L.n_groups; g0 += 256) {
            size_t m = L.n_groups - g0 < 256 ? (size_t)(L.n_groups - g0) : 256;
            get_scales(&L, scales, g0, m, s);
            if (L.sym)
                for (size_t j = 0; j < m; j++) o[j] = -half_range * s[j];
            else
                get_scales(&L, offs, g0, m, o);
            kernel(codes + g0 * L.group / 8 * L.bits, m, L.group, L.bits, s, o, out + g0 * L.group);
        }
        return L.numel * sizeof(float);
    }
    run_iter it = {0};
    while (next_run(&L, &it)) {
        float s = get_scale(&L, scales, it.gid);
        float off = L.sym ? -half_range * s : get_scale(&L, offs, it.gid);
        for (uint64_t k = it.start; k < it.start + it.len; k++) out[k] = (float)tp_bits_get(codes, k, L.bits) * s + off;
    }
    return L.numel * sizeof(float);
}

const tp_codec tp_codec_int = {
    .info = {.id = 1, .name = "int", .flags = TP_CODEC_LOSSY | TP_CODEC_FLOAT_IN,
             .summary = "uniform quantization, 1-8 bits, per tensor/channel/group, f16/f32 scales",
             .n_params = N_PARAMS, .params = int_params},
    .validate = int_validate, .bound = int_bound, .encode = int_encode, .decode = int_decode,
};
