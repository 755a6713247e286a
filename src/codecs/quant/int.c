/* int: uniform scalar quantization, 1-8 bits, symmetric or asymmetric,
 * per tensor, per channel (axis=) or per group of the last axis (group=).
 *
 * Every group g stores a scale s_g and decodes as x = code * s_g + off_g:
 *  - asym: off_g is stored; codes 0..2^b-1 span [min, max] of the group.
 *  - sym:  off_g = -2^(b-1) * s_g is implied; the value of largest magnitude
 *          maps exactly to code 0 (s_g takes its sign), as in ggml's Q4_0.
 * Payload: s[n_groups], then off[n_groups] (asym only), each f16 or f32,
 * then the codes bit-packed (no wasted bits). With search=1 the clipping
 * range of each group is chosen from a grid to minimise squared error,
 * weighted per column when the encoder is given a column importance. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codec.h"
#include "codecs/quant/groups.h"
#include "codecs/quant/int_kernels.h"
#include "core/parallel.h"
#include "core/bitpack.h"
#include "core/half.h"

enum { P_BITS, P_SYM, P_GROUP, P_AXIS, P_SCALE, P_SEARCH, N_PARAMS };
static const char *const scale_types[] = {"f16", "f32", NULL};

static const tp_param_def int_params[N_PARAMS] = {
    [P_BITS] = {"bits", TP_PARAM_INT, 8, 1, 8, NULL, "bits per value"},
    [P_SYM] = {"sym", TP_PARAM_INT, 1, 0, 1, NULL, "1: symmetric (scale only), 0: asymmetric (scale + offset)"},
    [P_GROUP] = {"group", TP_PARAM_INT, 32, 0, 1 << 20, NULL, "values per group along the last axis (0: no groups)", "axis"},
    [P_AXIS] = {"axis", TP_PARAM_INT, -1, -1, TP_MAX_DIMS - 1, NULL, "per-channel scales along this axis (given alone, group becomes 0)"},
    [P_SCALE] = {"scale", TP_PARAM_ENUM, 0, 0, 1, scale_types, "storage of scales and offsets"},
    [P_SEARCH] = {"search", TP_PARAM_INT, 0, 0, 1, NULL, "1: pick each group's clipping range by least squared error"},
};

typedef struct {
    unsigned bits, sym, f32_scales, search;
    tp_grouping G;
    const float *col_weight; /* encode: search error weight per column, or NULL */
    uint64_t cols;
    size_t scale_bytes, payload;
} int_layout;

static size_t int_validate(const tp_params *p)
{
    return tp_grouping_validate("int", tp_param_int(p, P_GROUP), tp_param_int(p, P_AXIS));
}

static size_t make_layout(const tp_params *p, const tp_tensor *t, int_layout *L)
{
    memset(L, 0, sizeof *L);
    L->bits = (unsigned)tp_param_int(p, P_BITS);
    L->sym = (unsigned)tp_param_int(p, P_SYM);
    L->f32_scales = (unsigned)tp_param_int(p, P_SCALE);
    L->search = (unsigned)tp_param_int(p, P_SEARCH);
    TP_TRY(tp_grouping_init(&L->G, "int", t, (uint64_t)tp_param_int(p, P_GROUP), tp_param_int(p, P_AXIS)));
    L->col_weight = p->col_weight;
    L->cols = tp_cols_of(t);
    L->scale_bytes = L->f32_scales ? 4 : 2;
    L->payload = (size_t)(L->G.n_groups * L->scale_bytes * (L->sym ? 1 : 2) + tp_packed_bytes(L->G.numel, L->bits));
    return 0;
}

typedef struct { float lo, hi, big; } group_stats; /* min, max, signed max-magnitude */

static float store_round(const int_layout *L, float v) { return tp_scale_round((int)L->f32_scales, v); }

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

/* 1/s overflows when s is subnormal (values near FLT_MIN with f32
 * scales); the codes are then computed by division. */
static int needs_division(float s, float *inv)
{
    *inv = s != 0.0f ? 1.0f / s : 0.0f;
    return !isfinite(*inv);
}

static void quant_run(const float *x, size_t n, float s, float off, unsigned qmax, uint8_t *codes)
{
    float inv;
    if (!needs_division(s, &inv)) { tp_quant_run(x, n, inv, off, qmax, codes); return; }
    for (size_t i = 0; i < n; i++) {
        float v = (x[i] - off) / s;
        v = v < 0.0f ? 0.0f : (v > (float)qmax ? (float)qmax : v);
        codes[i] = (uint8_t)(v + 0.5f);
    }
}

/* Squared error of the run of n values at flat index start, weighted by
 * L's column importance when it has one. */
static double run_sse(const int_layout *L, const float *x, size_t n, uint64_t start, float s, float off, unsigned qmax)
{
    float inv;
    int divide = needs_division(s, &inv);
    double e = 0;
    for (size_t i = 0; i < n; i++) {
        float v = divide ? (x[i] - off) / s : (x[i] - off) * inv;
        v = !(v >= 0.0f) ? 0.0f : (v > (float)qmax ? (float)qmax : v); /* NaN -> 0, see tp_quant_run */
        float d = x[i] - ((float)(unsigned)(v + 0.5f) * s + off);
        e += (L->col_weight ? (double)L->col_weight[(start + i) % L->cols] : 1.0) * d * d;
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
    tp_scale_put((int)L->f32_scales, base, i, v);
}

static float get_scale(const int_layout *L, const uint8_t *base, uint64_t i)
{
    return tp_scale_get((int)L->f32_scales, base, i);
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
static int group_setup(const int_layout *L, const group_stats *st, const float *x, size_t n, uint64_t start, uint64_t g,
                       uint8_t *scales, uint8_t *offs, float *inv, float *off)
{
    const unsigned qmax = (1u << L->bits) - 1;
    float ratio = 1.0f, s, o;
    if (L->search) {
        /* first ratio of least error, as the multi-pass loop of int_encode_ref picks it */
        double best_e = 0;
        for (int k = 0; k < SEARCH_STEPS; k++) {
            group_params(L, st, search_ratio(k), &s, &o);
            double e = run_sse(L, x, n, start, s, o, qmax);
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
    const size_t group = (size_t)L->G.group;
    uint8_t *scales = dst, *offs = scales + L->G.n_groups * L->scale_bytes;
    uint8_t *codes = offs + (L->sym ? 0 : L->G.n_groups * L->scale_bytes);
    size_t batch = BATCH_VALUES / group;
    batch = batch < 1 ? 1 : batch > BATCH_GROUPS ? BATCH_GROUPS : batch;
    float lo[BATCH_GROUPS], hi[BATCH_GROUPS], big[BATCH_GROUPS], inv[BATCH_GROUPS], off[BATCH_GROUPS];
    for (uint64_t g0 = 0; g0 < L->G.n_groups; g0 += batch) {
        size_t m = L->G.n_groups - g0 < batch ? (size_t)(L->G.n_groups - g0) : batch;
        const float *xb = x + g0 * group;
        if (stats(xb, m, group, lo, hi, big)) return 1;
        for (size_t j = 0; j < m; j++) {
            group_stats st = {lo[j], hi[j], big[j]};
            uint64_t g = g0 + j;
            if (group_setup(L, &st, xb + j * group, group, g * group, g, scales, offs, &inv[j], &off[j])) return 1;
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
    TP_TRY(tp_check_finite("int", x, L.G.numel));

    group_stats *st = malloc((L.G.n_groups ? L.G.n_groups : 1) * sizeof *st);
    float *ratio = malloc((L.G.n_groups ? L.G.n_groups : 1) * sizeof *ratio);
    double *sse = L.search ? calloc((L.G.n_groups ? L.G.n_groups : 1) * SEARCH_STEPS, sizeof *sse) : NULL;
    if (!st || !ratio || (L.search && !sse)) {
        free(st); free(ratio); free(sse);
        return tp_fail(TP_ERR_NOMEM, "int: group tables");
    }
    for (uint64_t g = 0; g < L.G.n_groups; g++) { st[g].lo = INFINITY; st[g].hi = -INFINITY; st[g].big = 0; ratio[g] = 1.0f; }
    tp_run it = {0};
    while (tp_grouping_next(&L.G, &it)) {
        group_stats *g = &st[it.gid];
        for (uint64_t i = it.start; i < it.start + it.len; i++) {
            float v = x[i];
            if (v < g->lo) g->lo = v;
            if (v > g->hi) g->hi = v;
            if (fabsf(v) > fabsf(g->big)) g->big = v;
        }
    }
    /* A group without values (empty tensor, or a channel of an empty
     * tensor) still stores a scale: make it 0, not the NaN of inf - inf. */
    for (uint64_t g = 0; g < L.G.n_groups; g++)
        if (st[g].lo > st[g].hi) st[g].lo = st[g].hi = 0;
    const unsigned qmax = (1u << L.bits) - 1;
    if (L.search) {
        tp_run sit = {0};
        while (tp_grouping_next(&L.G, &sit)) {
            for (int k = 0; k < SEARCH_STEPS; k++) {
                float s, off;
                group_params(&L, &st[sit.gid], search_ratio(k), &s, &off);
                sse[sit.gid * SEARCH_STEPS + k] += run_sse(&L, x + sit.start, sit.len, sit.start, s, off, qmax);
            }
        }
        for (uint64_t g = 0; g < L.G.n_groups; g++) {
            int best = 0;
            for (int k = 1; k < SEARCH_STEPS; k++)
                if (sse[g * SEARCH_STEPS + k] < sse[g * SEARCH_STEPS + best]) best = k;
            ratio[g] = search_ratio(best);
        }
    }

    uint8_t *scales = dst, *offs = scales + L.G.n_groups * L.scale_bytes;
    uint8_t *codes = offs + (L.sym ? 0 : L.G.n_groups * L.scale_bytes);
    size_t code_bytes = (size_t)tp_packed_bytes(L.G.numel, L.bits);
    memset(codes, 0, code_bytes);
    for (uint64_t g = 0; g < L.G.n_groups; g++) {
        float s, off;
        group_params(&L, &st[g], ratio[g], &s, &off);
        /* The top code must decode to a finite value too: with sym and
         * |x| > FLT_MAX/2, qmax * s alone overflows. */
        if (!isfinite(s) || !isfinite(off) || !isfinite((float)qmax * s + off)) {
            free(st); free(ratio); free(sse);
            return tp_fail(TP_ERR_PARAM, L.f32_scales ? "int: group %llu spans more than the f32 range"
                                                      : "int: group %llu scale overflows f16; use scale=f32",
                           (unsigned long long)g);
        }
        put_scale(&L, scales, g, s);
        if (!L.sym) put_scale(&L, offs, g, off);
    }
    uint8_t q[512];
    tp_run qit = {0};
    while (tp_grouping_next(&L.G, &qit)) {
        float s = get_scale(&L, scales, qit.gid);
        float off = L.sym ? -(float)(1u << (L.bits - 1)) * s : get_scale(&L, offs, qit.gid);
        for (uint64_t i = 0; i < qit.len; i += sizeof q) {
            size_t m = qit.len - i < sizeof q ? (size_t)(qit.len - i) : sizeof q;
            quant_run(x + qit.start + i, m, s, off, qmax, q);
            tp_codes_put(codes, qit.start + i, q, m, L.bits);
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
    if (L.G.mode == TP_GROUPING_GROUP && L.G.group % 8 == 0 && L.G.row_len % L.G.group == 0 && L.G.n_groups > 0 &&
        !int_encode_groups(&L, in->data, dst)) {
        tp_desc_bytes(out, L.payload);
        return L.payload;
    }
    return int_encode_ref(&L, in, dst, out);
}

typedef struct {
    const int_layout *L;
    const uint8_t *scales, *offs, *codes;
    float *out;
    tp_dequant_fn kernel;
} int_job;

/* Batches [lo, hi) of 256 groups. */
static size_t int_batches(void *ctx, uint64_t lo, uint64_t hi)
{
    const int_job *J = ctx;
    const int_layout *L = J->L;
    const float half_range = (float)(1u << (L->bits - 1));
    float s[256], o[256];
    for (uint64_t g0 = lo * 256; g0 < hi * 256 && g0 < L->G.n_groups; g0 += 256) {
        size_t m = L->G.n_groups - g0 < 256 ? (size_t)(L->G.n_groups - g0) : 256;
        get_scales(L, J->scales, g0, m, s);
        if (L->sym)
            for (size_t j = 0; j < m; j++) o[j] = -half_range * s[j];
        else
            get_scales(L, J->offs, g0, m, o);
        J->kernel(J->codes + g0 * L->G.group / 8 * L->bits, m, L->G.group, L->bits, s, o, J->out + g0 * L->G.group);
    }
    return 0;
}

static size_t int_decode(const tp_params *p, const void *src, size_t n, const tp_tensor *src_desc,
                         const tp_tensor *dst_desc, void *dst)
{
    int_layout L;
    size_t r = make_layout(p, dst_desc, &L);
    if (tp_is_error(r)) return tp_fail(TP_ERR_CORRUPT, "int stage: %s", tp_last_error_detail());
    if (n != L.payload) return tp_fail(TP_ERR_CORRUPT, "int payload is %zu bytes, expected %zu", n, L.payload);
    const uint8_t *scales = src, *offs = scales + L.G.n_groups * L.scale_bytes;
    const uint8_t *codes = offs + (L.sym ? 0 : L.G.n_groups * L.scale_bytes);
    float *out = dst;
    const float half_range = (float)(1u << (L.bits - 1));

    /* Fast path: whole rows of byte-aligned groups, decoded in batches of
     * 256 groups, the batches spread over tp_threads_set() workers. */
    if (L.G.mode == TP_GROUPING_GROUP && L.G.group % 8 == 0 && L.G.row_len % L.G.group == 0) {
        int_job J = {&L, scales, offs, codes, out, tp_dequant_for(out, L.G.numel * sizeof(float))};
        uint64_t batches = (L.G.n_groups + 255) / 256, per = 65536 / (256 * L.G.group);
        tp_parallel_ranges(batches, per ? per : 1, int_batches, &J);
        return L.G.numel * sizeof(float);
    }
    tp_run it = {0};
    while (tp_grouping_next(&L.G, &it)) {
        float s = get_scale(&L, scales, it.gid);
        float off = L.sym ? -half_range * s : get_scale(&L, offs, it.gid);
        for (uint64_t k = it.start; k < it.start + it.len; k++) out[k] = (float)tp_bits_get(codes, k, L.bits) * s + off;
    }
    return L.G.numel * sizeof(float);
}

const tp_codec tp_codec_int = {
    .info = {.id = TP_CODEC_ID_int, .name = "int", .flags = TP_CODEC_LOSSY | TP_CODEC_FLOAT_IN,
             .summary = "uniform quantization, 1-8 bits, per tensor/channel/group, f16/f32 scales",
             .n_params = N_PARAMS, .params = int_params},
    .validate = int_validate, .bound = int_bound, .encode = int_encode, .decode = int_decode,
};
