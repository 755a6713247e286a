/* kq: super-block quantization in the style of llama.cpp's k-quants
 * (ggml Q2_K..Q6_K, introduced by Kawrakow in llama.cpp PR #1684, 2023).
 *
 * The tensor is read flat in C order and cut into super-blocks of 256
 * values; a super-block is cut into sub-blocks of `sub` (16 or 32) values.
 * Each sub-block j has a scale s_j and (asymmetric form) a min m_j >= 0,
 * stored as `sbits`-bit integers relative to a super-block scale d and min
 * scale dmin (f16, themselves relative to one f32 power-of-two tensor scale
 * G so that tiny or huge tensors keep the f16 precision):
 *   asym: x = (d*sc_j) * q - (dmin*m_j),              q in 0..2^bits-1
 *   sym:  x = (d*(sc_j - 2^(sbits-1))) * (q - 2^(bits-1))
 * The exact byte layout, the defaults per bit width and the tail rule
 * (last super-block padded, padding not stored back) are in docs/CODECS.md.
 *
 * Encoding (search=1, default) picks each sub-block's scale/min to minimise
 * the (optionally weighted: weight= per value, times the column importance
 * when the encoder is given one) squared error: a grid over clipping ranges, each
 * candidate refitted by weighted least squares, then alternating
 * refinement (codes <-> least-squares scale/min, as in HQQ, Badri & Shaji
 * 2023); after the sub-block parameters are quantized to sbits, each
 * sub-block tries its neighbouring integer scale/min and keeps the best. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codec.h"
#include "codecs/quant/kq_ternary_kernels.h"
#include "core/bitpack.h"
#include "core/bytes.h"
#include "core/half.h"
#include "core/parallel.h"

enum { P_BITS, P_SUB, P_SBITS, P_SYM, P_SEARCH, P_WEIGHT, N_PARAMS };
static const char *const weight_names[] = {"none", "abs", "sq", NULL};
enum { W_NONE, W_ABS, W_SQ };

static const tp_param_def kq_params[N_PARAMS] = {
    [P_BITS] = {"bits", TP_PARAM_INT, 4, 2, 6, NULL, "bits per value (4: ~4.5 bits/value like Q4_K, 2: ~2.6 like Q2_K)"},
    [P_SUB] = {"sub", TP_PARAM_INT, 0, 0, 32, NULL, "values per sub-block: 16 or 32 (0: by bits, 16 for 2/3/6, 32 for 4/5)"},
    [P_SBITS] = {"sbits", TP_PARAM_INT, 0, 0, 8, NULL, "bits of each sub-block scale/min: 4..8 (0: 4 for 2 bits, 8 for 6, else 6)"},
    [P_SYM] = {"sym", TP_PARAM_INT, -1, -1, 1, NULL, "1: scales only, 0: scales and mins (-1: sym for 3 and 6 bits)"},
    [P_SEARCH] = {"search", TP_PARAM_INT, 1, 0, 1, NULL, "1: least-squared-error scale/min search, 0: plain min/max"},
    [P_WEIGHT] = {"weight", TP_PARAM_ENUM, 0, 0, 2, weight_names, "error weight per value in the search: 1, |x| or x^2"},
};

#define SUPER 256

typedef struct {
    unsigned bits, sub, sbits, sym, search, weight;
    unsigned nsub;           /* sub-blocks per super-block */
    size_t sc_bytes;         /* packed sub-block scales (same for mins) */
    size_t block;            /* bytes per super-block */
    uint64_t numel, n_super;
    size_t payload;
    const float *col_weight; /* encode: error weight per column, or NULL */
    uint64_t cols;
} kq_layout;

static void resolve(const tp_params *p, kq_layout *L)
{
    static const unsigned auto_sub[7] = {0, 0, 16, 16, 32, 32, 16};
    static const unsigned auto_sbits[7] = {0, 0, 4, 6, 6, 6, 8};
    static const unsigned auto_sym[7] = {0, 0, 0, 1, 0, 0, 1};
    L->bits = (unsigned)tp_param_int(p, P_BITS);
    L->sub = tp_param_int(p, P_SUB) ? (unsigned)tp_param_int(p, P_SUB) : auto_sub[L->bits];
    L->sbits = tp_param_int(p, P_SBITS) ? (unsigned)tp_param_int(p, P_SBITS) : auto_sbits[L->bits];
    L->sym = tp_param_int(p, P_SYM) >= 0 ? (unsigned)tp_param_int(p, P_SYM) : auto_sym[L->bits];
    L->search = (unsigned)tp_param_int(p, P_SEARCH);
    L->weight = (unsigned)tp_param_int(p, P_WEIGHT);
}

static size_t kq_validate(const tp_params *p)
{
    int sub = tp_param_int(p, P_SUB), sbits = tp_param_int(p, P_SBITS);
    if (sub != 0 && sub != 16 && sub != 32) return tp_fail(TP_ERR_PARAM, "kq: sub=%d must be 16 or 32 (0: auto)", sub);
    if (sbits != 0 && sbits < 4) return tp_fail(TP_ERR_PARAM, "kq: sbits=%d must be 4..8 (0: auto)", sbits);
    return 0;
}

static size_t make_layout(const tp_params *p, const tp_tensor *t, kq_layout *L)
{
    memset(L, 0, sizeof *L);
    TP_TRY(kq_validate(p));
    resolve(p, L);
    TP_TRY(tp_tensor_numel(t, &L->numel));
    L->col_weight = p->col_weight;
    L->cols = tp_cols_of(t);
    L->nsub = SUPER / L->sub;
    L->sc_bytes = L->nsub * L->sbits / 8;
    L->block = 2 + (L->sym ? 0 : 2) + L->sc_bytes * (L->sym ? 1 : 2) + SUPER * L->bits / 8;
    L->n_super = (L->numel + SUPER - 1) / SUPER;
    L->payload = 4 + (size_t)L->n_super * L->block;
    return 0;
}

static size_t kq_bound(const tp_params *p, const tp_tensor *in, tp_tensor *out)
{
    kq_layout L;
    TP_TRY(make_layout(p, in, &L));
    tp_desc_bytes(out, L.payload);
    return L.payload;
}

/* ---- the decoded value of a sub-block: out = code * s + off ------------ */

static void sub_params(const kq_layout *L, float d, float dmin, unsigned sc, unsigned m, float *s, float *off)
{
    if (L->sym) {
        *s = d * (float)((int)sc - (1 << (L->sbits - 1)));
        *off = -(float)(1u << (L->bits - 1)) * *s;
    } else {
        *s = d * (float)sc;
        *off = -(dmin * (float)m);
    }
}

/* ---- per sub-block search (float parameters) -------------------------- */

typedef struct {
    const float *x, *w;
    unsigned n;       /* values, padding included (weight 0) */
    int qlo, qhi;     /* code range in "centred" units (sym) or 0..L */
} sub_data;

/* Weighted least squares for x ~ s*q + o given codes (o forced to 0 for
 * sym, o <= 0 for asym). Returns the weighted squared error. */
static double fit(const sub_data *S, const int *q, int sym, float *s, float *o)
{
    double sw = 0, sq = 0, sqq = 0, sx = 0, sqx = 0, sxx = 0;
    for (unsigned i = 0; i < S->n; i++) {
        double w = S->w[i], x = S->x[i], qi = q[i];
        sw += w; sq += w * qi; sqq += w * qi * qi; sx += w * x; sqx += w * qi * x; sxx += w * x * x;
    }
    double bs = 0, bo = 0;
    if (!sym) {
        double det = sw * sqq - sq * sq;
        if (det > 1e-12 * sw * sqq) {
            bs = (sw * sqx - sq * sx) / det;
            bo = (sqq * sx - sq * sqx) / det;
        }
        if (bo > 0 || bs < 0 || !(det > 1e-12 * sw * sqq)) {
            /* constrained: try o = 0 and s = 0, keep the better */
            double s0 = sqq > 0 ? sqx / sqq : 0, e0;
            if (s0 < 0) s0 = 0;
            e0 = sxx - 2 * s0 * sqx + s0 * s0 * sqq;
            double o1 = sw > 0 ? sx / sw : 0;
            if (o1 > 0) o1 = 0;
            double e1 = sxx - 2 * o1 * sx + o1 * o1 * sw;
            if (e0 <= e1) { bs = s0; bo = 0; } else { bs = 0; bo = o1; }
        }
    } else if (sqq > 0) {
        bs = sqx / sqq;
    }
    *s = (float)bs;
    *o = (float)bo;
    double e = sxx + bs * bs * sqq + bo * bo * sw - 2 * bs * sqx - 2 * bo * sx + 2 * bs * bo * sq;
    return e > 0 ? e : 0;
}

static void assign(const sub_data *S, float s, float o, int *q)
{
    float inv = s != 0.0f ? 1.0f / s : 0.0f;
    for (unsigned i = 0; i < S->n; i++) {
        float v = nearbyintf((S->x[i] - o) * inv);
        v = v < (float)S->qlo ? (float)S->qlo : (v > (float)S->qhi ? (float)S->qhi : v);
        q[i] = (int)v;
    }
}

static double sse(const sub_data *S, float s, float o)
{
    int q[SUPER];
    assign(S, s, o, q);
    double e = 0;
    for (unsigned i = 0; i < S->n; i++) {
        double d = (double)S->x[i] - ((double)s * q[i] + o);
        e += S->w[i] * d * d;
    }
    return e;
}

/* Best (s, o) for one sub-block in float. n_valid values are real. */
static void search_sub(const kq_layout *L, const sub_data *S, unsigned n_valid, float *bs, float *bo)
{
    *bs = 0; *bo = 0;
    if (!n_valid) return;
    float lo = S->x[0], hi = S->x[0], big = S->x[0];
    for (unsigned i = 1; i < n_valid; i++) {
        float v = S->x[i];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        if (fabsf(v) > fabsf(big)) big = v;
    }
    const int levels = (1 << L->bits) - 1, half = 1 << (L->bits - 1);
    if (L->sym) {
        if (big == 0.0f) return;
        *bs = -big / (float)half;
    } else {
        if (lo > 0) lo = 0;
        if (hi <= lo) { *bo = lo; return; }
        *bs = (hi - lo) / (float)levels;
        *bo = lo;
    }
    if (!L->search) return;
    int q[SUPER];
    double best = sse(S, *bs, *bo);
    const int steps = 32;
    for (int k = 0; k <= steps; k++) {
        float delta = -0.5f + 2.5f * (float)k / (float)steps; /* extra levels over the range */
        for (int side = 0; side < (L->sym ? 2 : 1); side++) {
            float s0, o0 = 0;
            if (L->sym) s0 = side ? big / ((float)(half - 1) + delta) : -big / ((float)half + delta);
            else { s0 = (hi - lo) / ((float)levels + delta); o0 = lo; }
            if (!(s0 != 0.0f) || !isfinite(s0)) continue;
            float s1, o1;
            assign(S, s0, o0, q);
            double e = fit(S, q, (int)L->sym, &s1, &o1);
            if (e < best) {
                double e1 = sse(S, s1, o1); /* the fit's codes may not be nearest */
                if (e1 < best) { best = e1; *bs = s1; *bo = o1; }
            }
        }
    }
    for (int it = 0; it < 4; it++) { /* alternate: nearest codes, least squares */
        float s1, o1;
        assign(S, *bs, *bo, q);
        fit(S, q, (int)L->sym, &s1, &o1);
        double e = sse(S, s1, o1);
        if (!(e < best * (1 - 1e-7))) break;
        best = e; *bs = s1; *bo = o1;
    }
}

/* ---- encode ------------------------------------------------------------ */

static unsigned qclamp(float v, unsigned top)
{
    v = nearbyintf(v);
    return v <= 0.0f ? 0u : (v >= (float)top ? top : (unsigned)v);
}

/* Codes of one sub-block under the decoded (s, off); returns weighted SSE. */
static double sub_codes(const kq_layout *L, const float *x, const float *w, unsigned n, float s, float off, uint8_t *q)
{
    const unsigned top = (1u << L->bits) - 1;
    float inv = s != 0.0f ? 1.0f / s : 0.0f;
    double e = 0;
    for (unsigned i = 0; i < n; i++) {
        q[i] = (uint8_t)(s != 0.0f ? qclamp((x[i] - off) * inv, top) : (L->sym ? 1u << (L->bits - 1) : 0u));
        float prod = (float)q[i] * s;
        double d = (double)x[i] - (double)(prod + off);
        e += w[i] * d * d;
    }
    return e;
}

/* Each sub-block tries its integer scale/min and their neighbours (+-1)
 * under (d, dmin), with nearest codes; updates sc/mq, writes the codes to
 * q[SUPER] and returns the total weighted squared error. */
static double refine(const kq_layout *L, const float *xbuf, const float *wbuf, float d, float dmin, unsigned *sc,
                     unsigned *mq, uint8_t *qout)
{
    const unsigned sub = L->sub, stop = (1u << L->sbits) - 1;
    const int span = L->search ? 2 : 0;
    uint8_t q[32];
    double total = 0;
    for (unsigned j = 0; j < L->nsub; j++) {
        const float *xj = xbuf + j * sub, *wj = wbuf + j * sub;
        double best = INFINITY;
        unsigned bsc = sc[j], bm = mq[j];
        for (int a = -span; a <= span; a++) {
            for (int b = L->sym ? 0 : -span; b <= (L->sym ? 0 : span); b++) {
                int c1 = (int)sc[j] + a, m1 = (int)mq[j] + b;
                if (c1 < 0 || c1 > (int)stop || m1 < 0 || m1 > (int)stop) continue;
                float s, off;
                sub_params(L, d, dmin, (unsigned)c1, (unsigned)m1, &s, &off);
                double e = sub_codes(L, xj, wj, sub, s, off, q);
                if (e < best) { best = e; bsc = (unsigned)c1; bm = (unsigned)m1; memcpy(qout + j * sub, q, sub); }
            }
        }
        sc[j] = bsc; mq[j] = bm;
        total += best;
    }
    return total;
}

/* Weighted least squares for the super-block scales given everything else:
 * asym x ~ d*(sc_j q) - dmin*m_j, sym x ~ d*(sc_j - 2^(sb-1))(q - 2^(b-1)).
 * Returns 0 when the system is degenerate. */
static int refit_super(const kq_layout *L, const float *xbuf, const float *wbuf, const unsigned *sc,
                       const unsigned *mq, const uint8_t *q, float *d, float *dmin)
{
    double aa = 0, ab = 0, bb = 0, ax = 0, bx = 0;
    for (unsigned i = 0; i < SUPER; i++) {
        unsigned j = i / L->sub;
        double w = wbuf[i], x = xbuf[i], a, b;
        if (L->sym) {
            a = (double)((int)sc[j] - (1 << (L->sbits - 1))) * (double)((int)q[i] - (1 << (L->bits - 1)));
            b = 0;
        } else {
            a = (double)sc[j] * q[i];
            b = -(double)mq[j];
        }
        aa += w * a * a; ab += w * a * b; bb += w * b * b; ax += w * a * x; bx += w * b * x;
    }
    if (L->sym || bb == 0) {
        if (!(aa > 0)) return 0;
        *d = (float)(ax / aa);
        *dmin = 0;
        return !(*d < 0 && !L->sym);
    }
    double det = aa * bb - ab * ab;
    if (!(det > 1e-12 * aa * bb)) return 0;
    double dd = (bb * ax - ab * bx) / det, dm = (aa * bx - ab * ax) / det;
    if (dd < 0 || dm < 0) return 0;
    *d = (float)dd;
    *dmin = (float)dm;
    return 1;
}

/* Encodes the super-block of the n_valid values at x (flat index start). */
static void encode_super(const kq_layout *L, const float *x, uint64_t start, unsigned n_valid, float G, uint8_t *dst,
                         float *wbuf, float *xbuf)
{
    /* padded copy, weights (0 on padding) */
    for (unsigned i = 0; i < SUPER; i++) {
        float v = i < n_valid ? x[i] : 0.0f;
        xbuf[i] = v;
        wbuf[i] = i >= n_valid ? 0.0f : L->weight == W_ABS ? fabsf(v) : L->weight == W_SQ ? v * v : 1.0f;
        if (L->col_weight && i < n_valid) wbuf[i] *= L->col_weight[(start + i) % L->cols];
    }
    const unsigned sub = L->sub, nsub = L->nsub;
    float fs[16], fo[16];
    for (unsigned j = 0; j < nsub; j++) {
        sub_data S = {xbuf + j * sub, wbuf + j * sub, sub, 0, 0};
        unsigned nv = n_valid > j * sub ? (n_valid - j * sub < sub ? n_valid - j * sub : sub) : 0;
        float wsum = 0;
        for (unsigned i = 0; i < sub; i++) wsum += S.w[i];
        if (wsum == 0.0f) /* all-zero magnitudes or importances: plain error */
            for (unsigned i = 0; i < nv; i++) wbuf[j * sub + i] = 1.0f;
        if (L->sym) { S.qlo = -(1 << (L->bits - 1)); S.qhi = (1 << (L->bits - 1)) - 1; }
        else { S.qlo = 0; S.qhi = (1 << L->bits) - 1; }
        search_sub(L, &S, nv, &fs[j], &fo[j]);
    }
    /* quantize sub-block scales and mins relative to d, dmin */
    const unsigned stop = (1u << L->sbits) - 1;
    float d = 0, dmin = 0;
    uint16_t dh = 0, dminh = 0;
    unsigned sc[16], mq[16];
    if (L->sym) {
        float big = 0;
        for (unsigned j = 0; j < nsub; j++) if (fabsf(fs[j]) > fabsf(big)) big = fs[j];
        dh = tp_half_from_float(-big / (float)(1u << (L->sbits - 1)) / G);
        d = tp_half_to_float(dh) * G;
        for (unsigned j = 0; j < nsub; j++) {
            sc[j] = d != 0.0f ? qclamp(fs[j] / d + (float)(1u << (L->sbits - 1)), stop) : 1u << (L->sbits - 1);
            mq[j] = 0;
        }
    } else {
        float smax = 0, mmax = 0;
        for (unsigned j = 0; j < nsub; j++) {
            if (fs[j] > smax) smax = fs[j];
            if (-fo[j] > mmax) mmax = -fo[j];
        }
        dh = tp_half_from_float(smax / (float)stop / G);
        dminh = tp_half_from_float(mmax / (float)stop / G);
        d = tp_half_to_float(dh) * G;
        dmin = tp_half_to_float(dminh) * G;
        for (unsigned j = 0; j < nsub; j++) {
            sc[j] = d != 0.0f ? qclamp(fs[j] / d, stop) : 0;
            mq[j] = dmin != 0.0f ? qclamp(-fo[j] / dmin, stop) : 0;
        }
    }
    uint8_t qa[SUPER], qb[SUPER];
    unsigned sc2[16], mq2[16];
    double total = refine(L, xbuf, wbuf, d, dmin, sc, mq, qa);
    /* alternate: least-squares (d, dmin) for the integer scales/mins and
     * codes, then neighbours and codes again, while the error drops */
    for (int it = 0; L->search && it < 3; it++) {
        float d2, dmin2;
        uint16_t dh2, dminh2;
        if (!refit_super(L, xbuf, wbuf, sc, mq, qa, &d2, &dmin2)) break;
        dh2 = tp_half_from_float(d2 / G);
        dminh2 = tp_half_from_float(dmin2 / G);
        d2 = tp_half_to_float(dh2) * G;
        dmin2 = tp_half_to_float(dminh2) * G;
        if (!isfinite(d2) || !isfinite(dmin2)) break;
        memcpy(sc2, sc, sizeof sc2);
        memcpy(mq2, mq, sizeof mq2);
        double t2 = refine(L, xbuf, wbuf, d2, dmin2, sc2, mq2, qb);
        if (!(t2 < total)) break;
        total = t2; d = d2; dmin = dmin2; dh = dh2; dminh = dminh2;
        memcpy(sc, sc2, sizeof sc2);
        memcpy(mq, mq2, sizeof mq2);
        memcpy(qa, qb, sizeof qa);
    }
    uint8_t *p = dst;
    tp_put_u16(p, dh); p += 2;
    if (!L->sym) { tp_put_u16(p, dminh); p += 2; }
    uint8_t *scp = p, *mp = p + L->sc_bytes;
    uint8_t *codes = p + L->sc_bytes * (L->sym ? 1 : 2);
    memset(scp, 0, L->sc_bytes * (L->sym ? 1 : 2));
    for (unsigned j = 0; j < nsub; j++) {
        tp_bits_or(scp, j, L->sbits, sc[j]);
        if (!L->sym) tp_bits_or(mp, j, L->sbits, mq[j]);
    }
    tp_pack8(codes, qa, SUPER, L->bits);
}

/* Super-blocks are independent: ranges of them go to the worker threads
 * of tp_threads_set() on encode and decode. */
typedef struct {
    const kq_layout *L;
    const float *x;
    float G;
    uint8_t *dst;
    const uint8_t *src, *end; /* decode: payload and its end */
    float *out;
} kq_job;

static size_t encode_range(void *ctx, uint64_t lo, uint64_t hi)
{
    const kq_job *J = ctx;
    float wbuf[SUPER], xbuf[SUPER];
    for (uint64_t b = lo; b < hi; b++) {
        uint64_t start = b * SUPER;
        unsigned nv = J->L->numel - start < SUPER ? (unsigned)(J->L->numel - start) : SUPER;
        encode_super(J->L, J->x + start, start, nv, J->G, J->dst + 4 + b * J->L->block, wbuf, xbuf);
    }
    return 0;
}

static size_t kq_encode(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    kq_layout L;
    TP_TRY(make_layout(p, in, &L));
    if (cap < L.payload) return tp_fail(TP_ERR_DST_TOO_SMALL, "kq needs %zu bytes", L.payload);
    const float *x = in->data;
    float amax = 0;
    for (uint64_t i = 0; i < L.numel; i++) {
        if (!isfinite(x[i]))
            return tp_fail(TP_ERR_NONFINITE, "kq: value %llu is %s; use a lossless codec for such tensors",
                           (unsigned long long)i, isnan(x[i]) ? "NaN" : "Inf");
        if (fabsf(x[i]) > amax) amax = fabsf(x[i]);
    }
    /* G: power of two just above max|x| (the f16 d/dmin are relative to it) */
    int e = 0;
    if (amax > 0) frexpf(amax, &e);
    if (e > 127) e = 127;
    if (e < -126) e = -126;
    float G = ldexpf(1.0f, e);
    uint8_t *o = dst;
    tp_put_u32(o, tp_f32_bits(G));
    kq_job J = {&L, x, G, o, NULL, NULL, NULL};
    tp_parallel_ranges(L.n_super, 64, encode_range, &J);
    tp_desc_bytes(out, L.payload);
    return L.payload;
}

/* ---- decode ------------------------------------------------------------ */

/* tp_unpack8 for the 8 or 16 sub-block scales of a super-block with the
 * count and width constants, so that the loops unroll (it was a sixth of
 * decode). Reads 8 bytes per 8 values: the codes follow the scales. */
__attribute__((always_inline)) static inline void unpack_fixed(uint8_t *q, const uint8_t *src, const unsigned n,
                                                               const unsigned b)
{
    const uint64_t mask = (1u << b) - 1;
    for (unsigned i = 0; i < n; i += 8, src += b) {
        uint64_t acc = 0, o = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(&acc, src, 8);
        for (unsigned j = 0; j < 8; j++) o |= ((acc >> (j * b)) & mask) << (8 * j);
        memcpy(q + i, &o, 8);
#else
        for (unsigned j = 0; j < 8; j++) acc |= (uint64_t)src[j] << (8 * j);
        for (unsigned j = 0; j < 8; j++) q[i + j] = (uint8_t)((acc >> (j * b)) & mask);
        (void)o;
#endif
    }
}

static void unpack_scales(uint8_t *q, const uint8_t *src, unsigned n, unsigned b)
{
#define N_CASES(N)                                                                  \
    switch (b) {                                                                    \
    case 4: unpack_fixed(q, src, N, 4); break;                                      \
    case 5: unpack_fixed(q, src, N, 5); break;                                      \
    case 6: unpack_fixed(q, src, N, 6); break;                                      \
    case 7: unpack_fixed(q, src, N, 7); break;                                      \
    default: memcpy(q, src, N); break;                                              \
    }
    if (n == 16) { N_CASES(16) }
    else { N_CASES(8) }
#undef N_CASES
}

/* Sub-block scales and offsets from their codes; inlined with the constant
 * count 16 (2, 3 and 6 bits) so that the compiler vectorizes the loop: it
 * was a fifth of kq:bits=2 decode. */
__attribute__((always_inline)) static inline void sub_params_sym(const uint8_t *scq, float d, int hs, float hb,
                                                                 float *s, float *off, const unsigned n)
{
    for (unsigned j = 0; j < n; j++) { s[j] = d * (float)((int)scq[j] - hs); off[j] = -hb * s[j]; }
}

__attribute__((always_inline)) static inline void sub_params_asym(const uint8_t *scq, const uint8_t *mq, float d,
                                                                  float dmin, float *s, float *off, const unsigned n)
{
    for (unsigned j = 0; j < n; j++) { s[j] = d * (float)scq[j]; off[j] = -(dmin * (float)mq[j]); }
}

static size_t decode_range(void *ctx, uint64_t lo, uint64_t hi)
{
    const kq_job *J = ctx;
    const kq_layout L = *J->L;
    const uint8_t *in = J->src;
    const float G = J->G;
    tp_kq_dequant_fn kernel = tp_kq_dequant_for(L.numel * sizeof(float));
    float *out = J->out, s[16], off[16], tail[SUPER];
    for (uint64_t b = lo; b < hi; b++) {
        const uint8_t *blk = in + 4 + b * L.block, *q = blk;
        float d = tp_half_to_float(tp_get_u16(q)) * G, dmin = 0;
        q += 2;
        if (!L.sym) { dmin = tp_half_to_float(tp_get_u16(q)) * G; q += 2; }
        if (!isfinite(d) || !isfinite(dmin))
            return tp_fail(TP_ERR_CORRUPT, "kq super-block %llu has a non-finite scale", (unsigned long long)b);
        /* same arithmetic as sub_params(), unrolled over the sub-blocks */
        uint8_t scq[16], mq[16];
        unpack_scales(scq, q, L.nsub, L.sbits);
        if (L.sym) {
            const int hs = 1 << (L.sbits - 1);
            const float hb = (float)(1u << (L.bits - 1));
            if (L.nsub == 16) sub_params_sym(scq, d, hs, hb, s, off, 16);
            else sub_params_sym(scq, d, hs, hb, s, off, L.nsub);
        } else {
            unpack_scales(mq, q + L.sc_bytes, L.nsub, L.sbits);
            if (L.nsub == 16) sub_params_asym(scq, mq, d, dmin, s, off, 16);
            else sub_params_asym(scq, mq, d, dmin, s, off, L.nsub);
        }
        const uint8_t *codes = q + L.sc_bytes * (L.sym ? 1 : 2);
        uint64_t start = b * SUPER;
        if (L.numel - start >= SUPER) {
            kernel(codes, L.nsub, L.sub, L.bits, s, off, out + start, (size_t)(J->end - codes));
        } else { /* tail: decode the padded block aside, keep the real values */
            kernel(codes, L.nsub, L.sub, L.bits, s, off, tail, (size_t)(J->end - codes));
            memcpy(out + start, tail, (size_t)(L.numel - start) * sizeof(float));
        }
    }
    tp_lowbit_fence();
    return 0;
}

static size_t kq_decode(const tp_params *p, const void *src, size_t n, const tp_tensor *src_desc,
                        const tp_tensor *dst_desc, void *dst)
{
    kq_layout L;
    size_t r = make_layout(p, dst_desc, &L);
    if (tp_is_error(r)) return tp_fail(TP_ERR_CORRUPT, "kq stage: %s", tp_last_error_detail());
    if (n != L.payload) return tp_fail(TP_ERR_CORRUPT, "kq payload is %zu bytes, expected %zu", n, L.payload);
    const uint8_t *in = src;
    float G = tp_bits_f32(tp_get_u32(in));
    if (!isfinite(G) || !(G > 0)) return tp_fail(TP_ERR_CORRUPT, "kq tensor scale is not a positive number");
    kq_job J = {&L, NULL, G, NULL, in, in + n, dst};
    TP_TRY(tp_parallel_ranges(L.n_super, 256, decode_range, &J));
    return L.numel * sizeof(float);
}

const tp_codec tp_codec_kq = {
    .info = {.id = TP_CODEC_ID_kq, .name = "kq", .flags = TP_CODEC_LOSSY | TP_CODEC_FLOAT_IN,
             .summary = "k-quant super-blocks (256 values, 16/32-value sub-blocks, quantized scales/mins), 2-6 bits",
             .n_params = N_PARAMS, .params = kq_params},
    .validate = kq_validate, .bound = kq_bound, .encode = kq_encode, .decode = kq_decode,
};
