/* vq: vector quantization of weights with k-means codebooks.
 *
 * Follows VPTQ (Liu et al. 2024, "VPTQ: Extreme Low-bit Vector Post-Training
 * Quantization for Large Language Models"): vectors of dim= consecutive
 * values along the last axis, one codebook of K = 2^bits entries per stage
 * fitted by k-means (k-means++ init), residual stages (stages=) that quantize
 * what the previous stages left, optional importance weighting of the
 * k-means objective. Residual codebooks as in AQLM (Egiazarian et al. 2024)
 * and QuIP# (Tseng et al. 2024) use additive codewords the same way; here the
 * codebooks are learned per tensor, without calibration data, so importance
 * is a proxy (importance=norm weighs each vector by its squared norm).
 *
 * Rows (or groups of the last axis) are first divided by their RMS (scale=),
 * stored as f16. Decoding is a table gather:
 *
 *   x_hat[v, j] = s(v) * (((c_0[i_0(v)][j] + c_1[i_1(v)][j]) + ...) + c_{S-1}[i_{S-1}(v)][j])
 *
 * evaluated in f32 left to right, with c_t the f16 codebooks widened to f32.
 *
 * Tail rule: each row of L values holds ceil(L/dim) vectors; when dim does
 * not divide L the last vector of each row has L mod dim valid coordinates,
 * is matched on those coordinates only, and only they are written back.
 *
 * Payload (exact sizes follow from the parameters and the shape):
 *   codebooks  stages x K x dim   f16   (K = min(2^bits, number of vectors))
 *   scales     n_scales           f16   (0, rows, or rows x ceil(L/group))
 *   indices    stages x n_vec codes of ceil(log2 K) bits, stage-major,
 *              LSB-first bit stream (core/bitio.h), unused last bits zero.
 * Full definition in docs/CODECS.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codec.h"
#include "codecs/lowbit/vq_kernels.h"
#include "core/bitio.h"
#include "core/bytes.h"
#include "core/half.h"
#include "core/parallel.h"

enum { P_DIM, P_BITS, P_STAGES, P_ITERS, P_SAMPLE, P_SEED, P_SCALE, P_GROUP, P_IMPORTANCE, P_THREADS, N_PARAMS };
enum { SCALE_NONE, SCALE_ROW, SCALE_GROUP };
static const char *const scale_modes[] = {"none", "row", "group", NULL};
static const char *const importance_modes[] = {"none", "norm", NULL};

static const tp_param_def vq_params[N_PARAMS] = {
    [P_DIM] = {"dim", TP_PARAM_INT, 4, 1, 8, NULL, "values per vector, along the last axis"},
    [P_BITS] = {"bits", TP_PARAM_INT, 8, 1, 16, NULL, "index bits per vector and stage: codebooks of 2^bits entries"},
    [P_STAGES] = {"stages", TP_PARAM_INT, 1, 1, 8, NULL, "residual stages, each with its own codebook"},
    [P_ITERS] = {"iters", TP_PARAM_INT, 12, 0, 1000, NULL, "k-means (Lloyd) iterations on the training sample"},
    [P_SAMPLE] = {"sample", TP_PARAM_INT, 0, 0, 1 << 30, NULL,
                  "training vectors (0: max(65536, 64*2^bits)); fewer than the tensor's = subsampled k-means"},
    [P_SEED] = {"seed", TP_PARAM_INT, 1, 0, 2147483647, NULL, "seed of k-means++ and of the training sample"},
    [P_SCALE] = {"scale", TP_PARAM_ENUM, 1, 0, 2, scale_modes, "divide rows or groups by their RMS (f16) first"},
    [P_GROUP] = {"group", TP_PARAM_INT, 128, 1, 1 << 20, NULL, "values per scale group (scale=group; multiple of dim)"},
    [P_IMPORTANCE] = {"importance", TP_PARAM_ENUM, 0, 0, 1, importance_modes,
                      "k-means weights: none, or norm (squared norm of each vector)"},
    [P_THREADS] = {"threads", TP_PARAM_INT, 1, 1, 64, NULL, "encoder threads (result independent of the count)"},
};

typedef struct {
    unsigned dim, bits, stages, iters, scale_mode, importance, threads, ib;
    uint64_t seed, sample;
    uint64_t numel, rows, row_len, vpr, n_vec, group, gpr, n_scales, K;
    size_t cb_bytes, scale_bytes, idx_bytes, payload;
} vq_layout;

static size_t vq_validate(const tp_params *p)
{
    if (tp_param_int(p, P_SCALE) == SCALE_GROUP && tp_param_int(p, P_GROUP) % tp_param_int(p, P_DIM))
        return tp_fail(TP_ERR_PARAM, "vq: group=%d is not a multiple of dim=%d", tp_param_int(p, P_GROUP),
                       tp_param_int(p, P_DIM));
    return 0;
}

static unsigned ceil_log2(uint64_t k)
{
    unsigned b = 0;
    while (b < 64 && (1ull << b) < k) b++;
    return b;
}

static size_t make_layout(const tp_params *p, const tp_tensor *t, vq_layout *L)
{
    memset(L, 0, sizeof *L);
    L->dim = (unsigned)tp_param_int(p, P_DIM);
    L->bits = (unsigned)tp_param_int(p, P_BITS);
    L->stages = (unsigned)tp_param_int(p, P_STAGES);
    L->iters = (unsigned)tp_param_int(p, P_ITERS);
    L->sample = (uint64_t)tp_param_int(p, P_SAMPLE);
    L->seed = (uint64_t)tp_param_int(p, P_SEED);
    L->scale_mode = (unsigned)tp_param_int(p, P_SCALE);
    L->group = (uint64_t)tp_param_int(p, P_GROUP);
    L->importance = (unsigned)tp_param_int(p, P_IMPORTANCE);
    L->threads = (unsigned)tp_param_int(p, P_THREADS);
    if (L->scale_mode == SCALE_GROUP && L->group % L->dim)
        return tp_fail(TP_ERR_PARAM, "vq: group is not a multiple of dim");
    TP_TRY(tp_tensor_numel(t, &L->numel));
    if (L->numel >> 56) return tp_fail(TP_ERR_SHAPE, "vq: tensor too large");
    L->row_len = t->ndim ? t->shape[t->ndim - 1] : 1;
    L->rows = L->row_len ? L->numel / L->row_len : 0;
    L->vpr = (L->row_len + L->dim - 1) / L->dim;
    L->n_vec = L->rows * L->vpr;
    L->K = L->n_vec < (1ull << L->bits) ? L->n_vec : (1ull << L->bits);
    L->ib = ceil_log2(L->K);
    L->gpr = L->scale_mode == SCALE_GROUP ? (L->row_len + L->group - 1) / L->group : 1;
    L->n_scales = L->scale_mode == SCALE_NONE ? 0 : L->rows * L->gpr;
    L->cb_bytes = (size_t)(L->stages * L->K * L->dim * 2);
    L->scale_bytes = (size_t)(L->n_scales * 2);
    L->idx_bytes = (size_t)((L->stages * L->n_vec * L->ib + 7) / 8);
    L->payload = L->cb_bytes + L->scale_bytes + L->idx_bytes;
    return 0;
}

/* Valid coordinates of vector v (dim, or L mod dim for a row's last). */
static unsigned vec_valid(const vq_layout *L, uint64_t v)
{
    uint64_t col = (v % L->vpr) * L->dim;
    return L->row_len - col < L->dim ? (unsigned)(L->row_len - col) : L->dim;
}

/* Scale unit of vector v. */
static uint64_t vec_scale(const vq_layout *L, uint64_t v)
{
    uint64_t r = v / L->vpr;
    if (L->scale_mode == SCALE_ROW) return r;
    return r * L->gpr + (v % L->vpr) * L->dim / L->group;
}

static size_t vq_bound(const tp_params *p, const tp_tensor *in, tp_tensor *out)
{
    vq_layout L;
    TP_TRY(make_layout(p, in, &L));
    tp_desc_bytes(out, L.payload);
    return L.payload;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unit_rand(uint64_t *s) { return (double)(splitmix64(s) >> 11) * (1.0 / 9007199254740992.0); }

/* ---- codebook search ------------------------------------------------- */

/* A codebook in both layouts: cb[k*dim + j] (gather) and SoA cbT/cnorm
 * (assignment kernel). */
typedef struct {
    unsigned dim;
    uint64_t K, kpad;
    float *cb, *cbT, *cnorm;
} codebook;

static void cb_free(codebook *c)
{
    free(c->cb); free(c->cbT); free(c->cnorm);
    memset(c, 0, sizeof *c);
}

static size_t cb_alloc(codebook *c, unsigned dim, uint64_t K)
{
    c->dim = dim;
    c->K = K;
    c->kpad = (K + 7) & ~7ull;
    c->cb = calloc(K * dim + 1, sizeof(float));
    c->cbT = calloc(c->kpad * dim + 1, sizeof(float));
    c->cnorm = calloc(c->kpad + 1, sizeof(float));
    if (!c->cb || !c->cbT || !c->cnorm) { cb_free(c); return tp_fail(TP_ERR_NOMEM, "vq: codebook"); }
    return 0;
}

/* Refreshes the SoA copy after cb changed. */
static void cb_sync(codebook *c)
{
    for (uint64_t k = 0; k < c->kpad; k++) {
        float n = 0;
        for (unsigned j = 0; j < c->dim; j++) {
            float v = k < c->K ? c->cb[k * c->dim + j] : 0.0f;
            c->cbT[j * c->kpad + k] = v;
            n = n + v * v;
        }
        c->cnorm[k] = k < c->K ? n : INFINITY;
    }
}

/* Nearest entry of a vector with nv < dim valid coordinates (direct
 * distance over those coordinates; ties to the lowest index). */
static uint32_t assign_partial(const codebook *c, const float *y, unsigned nv)
{
    float best = INFINITY;
    uint32_t bi = 0;
    for (uint64_t k = 0; k < c->K; k++) {
        float d = 0;
        for (unsigned j = 0; j < nv; j++) {
            float e = y[j] - c->cb[k * c->dim + j];
            d = d + e * e;
        }
        if (d < best) { best = d; bi = (uint32_t)k; }
    }
    return bi;
}

/* Assigns vectors [begin, end) of an array whose vector i has nvalid(i)
 * valid coordinates (given by a callback-free rule: full unless flagged). */
typedef struct {
    const codebook *c;
    const float *y;           /* n x dim                                     */
    const uint8_t *nvalid;    /* per vector, or NULL when all are full        */
    uint32_t *idx;
    tp_vq_assign_fn kernel;
} assign_job;

static void assign_range(void *ctx, size_t begin, size_t end)
{
    const assign_job *a = ctx;
    unsigned dim = a->c->dim;
    size_t v = begin;
    while (v < end) {
        size_t run = v;
        if (a->nvalid)
            while (run < end && a->nvalid[run] == dim) run++;
        else
            run = end;
        if (run > v)
            a->kernel(a->y + v * dim, run - v, dim, a->c->cbT, a->c->cnorm, (uint32_t)a->c->kpad, a->idx + v);
        if (run < end) {
            a->idx[run] = assign_partial(a->c, a->y + run * dim, a->nvalid[run]);
            run++;
        }
        v = run;
    }
}

static void assign_all(const codebook *c, const float *y, const uint8_t *nvalid, size_t n, uint32_t *idx,
                       unsigned threads)
{
    assign_job a = {c, y, nvalid, idx, tp_vq_assign_best()};
    tp_parfor(n, n >= 4096 ? threads : 1, assign_range, &a);
}

/* Fits c (K entries) to m sample vectors ys (nvalid, weights w) by
 * k-means++ then Lloyd iterations. */
static size_t kmeans(codebook *c, const float *ys, const uint8_t *nv, const double *w, size_t m, unsigned iters,
                     uint64_t *rng, unsigned threads)
{
    unsigned dim = c->dim;
    uint64_t K = c->K;
    /* k-means++ on the first min(m, 16K) sample vectors (they are a
     * uniform sample already). */
    size_t mi = m < 16 * K ? m : (size_t)(16 * K);
    double *d2 = malloc(mi * sizeof *d2);
    uint32_t *idx = malloc(m * sizeof *idx);
    double *sum = malloc(K * dim * sizeof *sum), *cnt = malloc(K * dim * sizeof *cnt), *err = malloc(m * sizeof *err);
    if (!d2 || !idx || !sum || !cnt || !err) {
        free(d2); free(idx); free(sum); free(cnt); free(err);
        return tp_fail(TP_ERR_NOMEM, "vq: k-means buffers");
    }
    size_t first = (size_t)(unit_rand(rng) * (double)mi);
    if (first >= mi) first = mi - 1;
    for (unsigned j = 0; j < dim; j++) c->cb[j] = ys[first * dim + j];
    for (size_t i = 0; i < mi; i++) d2[i] = INFINITY;
    for (uint64_t k = 1; k <= K; k++) {
        const float *ck = c->cb + (k - 1) * dim;
        double total = 0;
        for (size_t i = 0; i < mi; i++) {
            double d = 0;
            for (unsigned j = 0; j < nv[i]; j++) {
                double e = (double)ys[i * dim + j] - ck[j];
                d += e * e;
            }
            if (d < d2[i]) d2[i] = d;
            total += w[i] * d2[i];
        }
        if (k == K) break;
        size_t pick = (size_t)((k - 1) % mi); /* all remaining points coincide with centers */
        if (total > 0) {
            double r = unit_rand(rng) * total, acc = 0;
            pick = mi - 1;
            for (size_t i = 0; i < mi; i++) {
                acc += w[i] * d2[i];
                if (acc > r && w[i] * d2[i] > 0) { pick = i; break; }
            }
        }
        for (unsigned j = 0; j < dim; j++) c->cb[k * dim + j] = ys[pick * dim + j];
    }
    /* Lloyd iterations. */
    for (unsigned it = 0; it < iters; it++) {
        cb_sync(c);
        assign_all(c, ys, nv, m, idx, threads);
        memset(sum, 0, K * dim * sizeof *sum);
        memset(cnt, 0, K * dim * sizeof *cnt);
        double wk_total = 0;
        for (size_t i = 0; i < m; i++) {
            const float *ck = c->cb + (size_t)idx[i] * dim;
            double e2 = 0;
            for (unsigned j = 0; j < nv[i]; j++) {
                double y = ys[i * dim + j];
                sum[idx[i] * dim + j] += w[i] * y;
                cnt[idx[i] * dim + j] += w[i];
                e2 += (y - ck[j]) * (y - ck[j]);
            }
            err[i] = w[i] * e2;
            wk_total += w[i];
        }
        (void)wk_total;
        for (uint64_t k = 0; k < K; k++) {
            int empty = 1;
            for (unsigned j = 0; j < dim; j++)
                if (cnt[k * dim + j] > 0) { c->cb[k * dim + j] = (float)(sum[k * dim + j] / cnt[k * dim + j]); empty = 0; }
            if (empty) {
                /* Re-seed an empty cluster at the worst-served vector. */
                size_t worst = 0;
                for (size_t i = 1; i < m; i++)
                    if (err[i] > err[worst]) worst = i;
                if (err[worst] > 0) {
                    for (unsigned j = 0; j < dim; j++) c->cb[k * dim + j] = ys[worst * dim + j];
                    err[worst] = 0;
                }
            }
        }
    }
    free(d2); free(idx); free(sum); free(cnt); free(err);
    return 0;
}

/* ---- encode ---------------------------------------------------------- */

static size_t vq_encode(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    vq_layout L;
    TP_TRY(make_layout(p, in, &L));
    if (cap < L.payload) return tp_fail(TP_ERR_DST_TOO_SMALL, "vq needs %zu bytes", L.payload);
    const float *x = in->data;
    for (uint64_t i = 0; i < L.numel; i++)
        if (!isfinite(x[i]))
            return tp_fail(TP_ERR_NONFINITE, "vq: value %llu is %s; use a lossless codec for such tensors",
                           (unsigned long long)i, isnan(x[i]) ? "NaN" : "Inf");
    uint8_t *cb_out = dst, *sc_out = cb_out + L.cb_bytes, *idx_out = sc_out + L.scale_bytes;
    memset(dst, 0, L.payload);
    tp_desc_bytes(out, L.payload);
    if (L.n_vec == 0) return L.payload;

    const unsigned dim = L.dim;
    size_t r = 0;
    float *scale = malloc((L.n_scales ? L.n_scales : 1) * sizeof *scale);
    float *y = calloc(L.n_vec * dim, sizeof *y);
    uint8_t *nv = malloc(L.n_vec);
    uint32_t *idx = malloc(L.n_vec * sizeof *idx);
    double *wv = malloc(L.n_vec * sizeof *wv);
    codebook c = {0};
    float *ys = NULL;
    uint8_t *nvs = NULL;
    double *ws = NULL;
    if (!scale || !y || !nv || !idx || !wv) { r = tp_fail(TP_ERR_NOMEM, "vq: work buffers"); goto done; }

    /* Scales: RMS of each row or group, rounded to f16. */
    for (uint64_t u = 0; u < L.n_scales; u++) {
        uint64_t row = u / L.gpr, c0 = (u % L.gpr) * (L.scale_mode == SCALE_GROUP ? L.group : 0);
        uint64_t len = L.scale_mode == SCALE_GROUP ? (L.row_len - c0 < L.group ? L.row_len - c0 : L.group) : L.row_len;
        const float *xs = x + row * L.row_len + c0;
        double ss = 0;
        for (uint64_t i = 0; i < len; i++) ss += (double)xs[i] * xs[i];
        uint16_t h = tp_half_from_float((float)sqrt(ss / (double)len));
        if ((h & 0x7c00u) == 0x7c00u) {
            r = tp_fail(TP_ERR_PARAM, "vq: RMS of scale unit %llu overflows f16", (unsigned long long)u);
            goto done;
        }
        tp_put_u16(sc_out + 2 * u, h);
        scale[u] = tp_half_to_float(h);
    }
    /* Normalised vectors, zero-padded. */
    double wsum = 0;
    for (uint64_t v = 0; v < L.n_vec; v++) {
        nv[v] = (uint8_t)vec_valid(&L, v);
        float s = L.scale_mode == SCALE_NONE ? 1.0f : scale[vec_scale(&L, v)];
        const float *xv = x + v / L.vpr * L.row_len + (v % L.vpr) * dim;
        double n2 = 0;
        for (unsigned j = 0; j < nv[v]; j++) {
            y[v * dim + j] = s != 0.0f ? xv[j] / s : 0.0f;
            n2 += (double)y[v * dim + j] * y[v * dim + j];
        }
        wv[v] = L.importance ? n2 : 1.0;
        wsum += wv[v];
    }
    if (!(wsum > 0))
        for (uint64_t v = 0; v < L.n_vec; v++) wv[v] = 1.0;

    /* Training sample: one vector per stratum of the tensor (all of it when
     * the tensor is small), drawn once for every stage. */
    uint64_t m = L.sample ? L.sample : (65536 > 64 * L.K ? 65536 : 64 * L.K);
    if (m > L.n_vec) m = L.n_vec;
    uint64_t *pick = malloc(m * sizeof *pick);
    ys = malloc(m * dim * sizeof *ys);
    nvs = malloc(m);
    ws = malloc(m * sizeof *ws);
    if (!pick || !ys || !nvs || !ws) { free(pick); r = tp_fail(TP_ERR_NOMEM, "vq: sample"); goto done; }
    uint64_t rng = L.seed * 0x2545f4914f6cdd1dull + 12345;
    for (uint64_t i = 0; i < m; i++) {
        if (m == L.n_vec) { pick[i] = i; continue; }
        uint64_t lo = i * L.n_vec / m, hi = (i + 1) * L.n_vec / m;
        pick[i] = lo + (uint64_t)(unit_rand(&rng) * (double)(hi - lo));
        if (pick[i] >= hi) pick[i] = hi - 1;
    }
    /* Shuffle so that the k-means++ prefix is a uniform sample. */
    for (uint64_t i = m; i > 1; i--) {
        uint64_t j = splitmix64(&rng) % i, t = pick[i - 1];
        pick[i - 1] = pick[j];
        pick[j] = t;
    }

    r = cb_alloc(&c, dim, L.K);
    if (tp_is_error(r)) { free(pick); goto done; }
    tp_bitw bw = {idx_out, 0};
    for (unsigned st = 0; st < L.stages; st++) {
        for (uint64_t i = 0; i < m; i++) {
            memcpy(ys + i * dim, y + pick[i] * dim, dim * sizeof *ys);
            nvs[i] = nv[pick[i]];
            ws[i] = wv[pick[i]];
        }
        r = kmeans(&c, ys, nvs, ws, (size_t)m, L.iters, &rng, L.threads);
        if (tp_is_error(r)) break;
        /* Store the codebook as f16 and search with exactly those values. */
        for (uint64_t k = 0; k < L.K * dim; k++) {
            uint16_t h = tp_half_from_float(c.cb[k]);
            if ((h & 0x7c00u) == 0x7c00u) {
                r = tp_fail(TP_ERR_PARAM, "vq: codebook entry overflows f16 (use scale=row)");
                break;
            }
            tp_put_u16(cb_out + 2 * (st * L.K * dim + k), h);
            c.cb[k] = tp_half_to_float(h);
        }
        if (tp_is_error(r)) break;
        cb_sync(&c);
        int any_partial = L.row_len % dim != 0;
        assign_all(&c, y, any_partial ? nv : NULL, (size_t)L.n_vec, idx, L.threads);
        for (uint64_t v = 0; v < L.n_vec; v++) {
            tp_bitw_put(&bw, idx[v], L.ib);
            const float *cv = c.cb + (size_t)idx[v] * dim;
            for (unsigned j = 0; j < nv[v]; j++) y[v * dim + j] -= cv[j];
        }
    }
    free(pick);
    if (!tp_is_error(r)) r = L.payload;
done:
    cb_free(&c);
    free(scale); free(y); free(nv); free(idx); free(wv); free(ys); free(nvs); free(ws);
    return r;
}

/* ---- decode ---------------------------------------------------------- */

#define CHUNK 1024

/* Unpacks m codes starting at code k0; fails if one is >= K. */
static int unpack_idx(const vq_layout *L, const uint8_t *codes, uint64_t k0, size_t m, uint32_t *dst)
{
    uint32_t bad = 0, K = (uint32_t)L->K;
    if (L->ib == 8) {
        const uint8_t *c = codes + k0;
        for (size_t i = 0; i < m; i++) { dst[i] = c[i]; bad |= dst[i] >= K; }
    } else {
        for (size_t i = 0; i < m; i++) {
            dst[i] = tp_bits_read(codes, L->idx_bytes, (k0 + i) * L->ib, L->ib);
            bad |= dst[i] >= K;
        }
    }
    return !bad;
}

static size_t vq_decode(const tp_params *p, const void *src, size_t n, const tp_tensor *src_desc,
                        const tp_tensor *dst_desc, void *dst)
{
    vq_layout L;
    size_t r = make_layout(p, dst_desc, &L);
    if (tp_is_error(r)) return tp_fail(TP_ERR_CORRUPT, "vq stage: %s", tp_last_error_detail());
    if (n != L.payload) return tp_fail(TP_ERR_CORRUPT, "vq payload is %zu bytes, expected %zu", n, L.payload);
    float *out = dst;
    if (L.n_vec == 0) return (size_t)L.numel * sizeof(float);
    const uint8_t *cb_in = src, *sc_in = cb_in + L.cb_bytes, *codes = sc_in + L.scale_bytes;
    const unsigned dim = L.dim, S = L.stages;
    /* Unused bits of the last index byte must be zero. */
    uint64_t used = S * L.n_vec * L.ib;
    if (used % 8 && (codes[L.idx_bytes - 1] >> (used % 8)))
        return tp_fail(TP_ERR_CORRUPT, "vq: nonzero padding bits after the indices");

    size_t ncb = (size_t)(S * L.K * dim);
    float *cb = malloc(ncb * sizeof *cb);
    float *scale = malloc((L.n_scales ? L.n_scales : 1) * sizeof *scale);
    uint32_t *idx = malloc((size_t)S * CHUNK * sizeof *idx);
    float *tmp = malloc(CHUNK * dim * sizeof *tmp);
    if (!cb || !scale || !idx || !tmp) { r = tp_fail(TP_ERR_NOMEM, "vq: decode buffers"); goto done; }
    for (size_t i = 0; i < ncb; i++) {
        uint16_t h = tp_get_u16(cb_in + 2 * i);
        if ((h & 0x7c00u) == 0x7c00u) { r = tp_fail(TP_ERR_CORRUPT, "vq: codebook holds Inf/NaN"); goto done; }
        cb[i] = tp_half_to_float(h);
    }
    for (uint64_t u = 0; u < L.n_scales; u++) {
        uint16_t h = tp_get_u16(sc_in + 2 * u);
        if ((h & 0x7c00u) == 0x7c00u || (h & 0x8000u)) { r = tp_fail(TP_ERR_CORRUPT, "vq: bad scale"); goto done; }
        scale[u] = tp_half_to_float(h);
    }
    tp_vq_gather_fn gather = tp_vq_gather_best();
    const int partial = L.row_len % dim != 0;
    /* Segments: runs of full vectors that share one scale (and, when rows
     * have a partial last vector, end before it); that vector goes alone. */
    const uint64_t seg = L.group / dim;
    uint64_t v = 0;
    while (v < L.n_vec) {
        uint64_t col = v % L.vpr;
        uint64_t len = L.n_vec - v;
        if (partial || L.scale_mode != SCALE_NONE) len = L.vpr - col - (partial ? 1 : 0);
        if (L.scale_mode == SCALE_GROUP && len > seg - col % seg) len = seg - col % seg;
        if (len == 0) len = 1; /* the partial last vector of a row */
        if (len > CHUNK) len = CHUNK;
        for (unsigned st = 0; st < S; st++)
            if (!unpack_idx(&L, codes, st * L.n_vec + v, (size_t)len, idx + (size_t)st * CHUNK)) {
                r = tp_fail(TP_ERR_CORRUPT, "vq: index out of range");
                goto done;
            }
        float s = L.scale_mode == SCALE_NONE ? 1.0f : scale[vec_scale(&L, v)];
        unsigned nvv = vec_valid(&L, v);
        float *o = out + v / L.vpr * L.row_len + col * dim;
        if (nvv < dim) { /* partial vector: scalar, valid coordinates only */
            for (unsigned j = 0; j < nvv; j++) {
                float acc = cb[(size_t)idx[0] * dim + j];
                for (unsigned st = 1; st < S; st++) acc = acc + cb[(st * L.K + idx[(size_t)st * CHUNK]) * dim + j];
                o[j] = s * acc;
            }
        } else if (S == 1) {
            gather(idx, (size_t)len, dim, cb, s, o);
        } else {
            gather(idx, (size_t)len, dim, cb, 1.0f, tmp);
            for (unsigned st = 1; st < S; st++) {
                const float *cbs = cb + (size_t)(st * L.K * dim);
                const uint32_t *is = idx + (size_t)st * CHUNK;
                for (size_t i = 0; i < len; i++)
                    for (unsigned j = 0; j < dim; j++) tmp[i * dim + j] = tmp[i * dim + j] + cbs[(size_t)is[i] * dim + j];
            }
            for (size_t i = 0; i < len * dim; i++) o[i] = s * tmp[i];
        }
        v += len;
    }
    r = (size_t)L.numel * sizeof(float);
done:
    free(cb); free(scale); free(idx); free(tmp);
    return r;
}

const tp_codec tp_codec_vq = {
    .info = {.id = TP_CODEC_ID_vq, .name = "vq", .flags = TP_CODEC_LOSSY | TP_CODEC_FLOAT_IN,
             .summary = "vector quantization (VPTQ-style): k-means codebooks of dim-vectors, residual stages, "
                        "row/group RMS scales",
             .n_params = N_PARAMS, .params = vq_params},
    .validate = vq_validate, .bound = vq_bound, .encode = vq_encode, .decode = vq_decode,
};
