/* kmeans: non-uniform scalar codebook of K = 2^bits centroids (bits 1-8)
 * per tensor, per group of the last axis (group=) or per channel (axis=),
 * fitted by Lloyd's algorithm (Lloyd 1982) from a k-means++ start (Arthur &
 * Vassilvitskii 2007), optionally weighting each value's squared error by
 * |x| or x^2 (weight=), times the importance of the value's column when the
 * encoder is given one (tp_encode_options).
 *
 * Fitting one group of n values:
 *  1. sort them (radix sort above 4096 values, and always when they carry
 *     column importances, which move with them);
 *  2. if they hold at most K distinct values, those are the codebook
 *     (padded by repeating the largest): the group is coded exactly up to
 *     the codebook's storage rounding;
 *  3. otherwise k-means++ picks K seeds by D^2 sampling (xorshift64*
 *     seeded from seed= and the group index, so encoding is deterministic)
 *     over the values, or over 4096 equal-count bins of them (each bin its
 *     weighted mean and total weight) when there are more;
 *  4. Lloyd iterations (at most iters=) on the sorted values: in 1-D each
 *     cell is an interval between midpoints of adjacent centroids, found by
 *     binary search, and its weighted mean comes from prefix sums, so one
 *     iteration costs O(K log n); they stop when no centroid moves.
 * Centroids are stored ascending (f16 or f32, scale=) and each value gets
 * the index of the nearest stored centroid (ties to the lower one).
 * Payload: codebook[n_groups][K], then the codes bit-packed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/quant/groups.h"
#include "codecs/quant/lut_kernels.h"
#include "core/bitpack.h"
#include "core/half.h"

enum { P_BITS, P_GROUP, P_AXIS, P_SCALE, P_ITERS, P_SEED, P_WEIGHT, N_PARAMS };
enum { W_NONE, W_ABS, W_SQ };
static const char *const scale_types[] = {"f16", "f32", NULL};
static const char *const weight_types[] = {"none", "abs", "sq", NULL};

static const tp_param_def kmeans_params[N_PARAMS] = {
    [P_BITS] = {"bits", TP_PARAM_INT, 4, 1, 8, NULL, "bits per value (2^bits centroids)"},
    [P_GROUP] = {"group", TP_PARAM_INT, 0, 0, 1 << 20, NULL, "values per codebook along the last axis (0: no groups)", "axis"},
    [P_AXIS] = {"axis", TP_PARAM_INT, -1, -1, TP_MAX_DIMS - 1, NULL, "one codebook per channel along this axis (given alone, group becomes 0)"},
    [P_SCALE] = {"scale", TP_PARAM_ENUM, 0, 0, 1, scale_types, "storage of the centroids"},
    [P_ITERS] = {"iters", TP_PARAM_INT, 100, 0, 10000, NULL, "most Lloyd iterations per codebook"},
    [P_SEED] = {"seed", TP_PARAM_INT, 0, 0, 2147483647, NULL, "k-means++ random seed"},
    [P_WEIGHT] = {"weight", TP_PARAM_ENUM, 0, 0, 2, weight_types, "importance of each value's error: 1, |x| or x^2"},
};

#define SEED_POINTS 4096
#define RADIX_MIN 4096

typedef struct {
    tp_grouping G;
    unsigned bits, K, f32, weight, iters;
    uint64_t seed;
    const float *col_weight; /* encode: error weight per column, or NULL */
    uint64_t cols;
    size_t book_bytes, payload;
} km_layout;

static size_t kmeans_validate(const tp_params *p)
{
    return tp_grouping_validate("kmeans", tp_param_int(p, P_GROUP), tp_param_int(p, P_AXIS));
}

static size_t make_layout(const tp_params *p, const tp_tensor *t, km_layout *L)
{
    memset(L, 0, sizeof *L);
    TP_TRY(tp_grouping_init(&L->G, "kmeans", t, (uint64_t)tp_param_int(p, P_GROUP), tp_param_int(p, P_AXIS)));
    L->bits = (unsigned)tp_param_int(p, P_BITS);
    L->K = 1u << L->bits;
    L->f32 = (unsigned)tp_param_int(p, P_SCALE);
    L->iters = (unsigned)tp_param_int(p, P_ITERS);
    L->seed = (uint64_t)tp_param_int(p, P_SEED);
    L->weight = (unsigned)tp_param_int(p, P_WEIGHT);
    L->col_weight = p->col_weight;
    L->cols = tp_cols_of(t);
    L->book_bytes = (size_t)(L->G.n_groups * L->K * (L->f32 ? 4 : 2));
    L->payload = L->book_bytes + (size_t)tp_packed_bytes(L->G.numel, L->bits);
    return 0;
}

static size_t kmeans_bound(const tp_params *p, const tp_tensor *in, tp_tensor *out)
{
    km_layout L;
    TP_TRY(make_layout(p, in, &L));
    tp_desc_bytes(out, L.payload);
    return L.payload;
}

/* ---- sorting ---------------------------------------------------------- */

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static uint32_t float_key(float f)
{
    uint32_t u = tp_f32_bits(f);
    return u ^ ((u >> 31) ? 0xffffffffu : 0x80000000u);
}

/* LSD radix sort on order-preserving keys, 3 passes of 11 bits; w (NULL
 * or n values, wtmp its scratch) is permuted along with x. */
static void radix_sort(float *x, float *tmp, float *w, float *wtmp, size_t n)
{
    static const unsigned shift[3] = {0, 11, 22};
    float *src = x, *dst = tmp, *wsrc = w, *wdst = wtmp;
    for (int p = 0; p < 3; p++) {
        size_t count[2048] = {0};
        for (size_t i = 0; i < n; i++) count[(float_key(src[i]) >> shift[p]) & 2047]++;
        size_t sum = 0;
        for (int b = 0; b < 2048; b++) { size_t c = count[b]; count[b] = sum; sum += c; }
        for (size_t i = 0; i < n; i++) {
            size_t at = count[(float_key(src[i]) >> shift[p]) & 2047]++;
            dst[at] = src[i];
            if (w) wdst[at] = wsrc[i];
        }
        float *t = src; src = dst; dst = t;
        t = wsrc; wsrc = wdst; wdst = t;
    }
    if (src != x) memcpy(x, src, n * sizeof *x);
    if (w && wsrc != w) memcpy(w, wsrc, n * sizeof *w);
}

/* ---- fitting ---------------------------------------------------------- */

typedef struct {
    float *tmp;        /* radix scratch, n values          */
    float *cw, *cwtmp; /* column importance of each value and its radix
                          scratch, n values each (NULL: none) */
    double *sw, *swx;  /* prefix sums, n + 1 each           */
    float *pt, *pw, *d2; /* seeding points, SEED_POINTS each */
} km_work;

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12; *s ^= *s << 25; *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}
static double rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0); }

static double weight_of(unsigned mode, float v)
{
    return mode == W_ABS ? fabs((double)v) : mode == W_SQ ? (double)v * v : 1.0;
}

/* Index i with prefix(i) <= r < prefix(i + 1) over weights w[0..m). */
static size_t pick(const float *w, const float *d2, size_t m, double r)
{
    double acc = 0;
    for (size_t i = 0; i < m; i++) {
        acc += (double)w[i] * (d2 ? d2[i] : 1.0f);
        if (r < acc) return i;
    }
    return m - 1;
}

/* k-means++ seeds (at most K; fewer when the points run out of spread). */
static unsigned seed_pp(const km_layout *L, const float *pt, const float *pw, float *d2, size_t m, uint64_t *rng,
                        float *c)
{
    double tot = 0;
    for (size_t i = 0; i < m; i++) tot += pw[i];
    if (!(tot > 0)) return 0;
    c[0] = pt[pick(pw, NULL, m, rng_unit(rng) * tot)];
    for (size_t i = 0; i < m; i++) d2[i] = (pt[i] - c[0]) * (pt[i] - c[0]);
    unsigned k = 1;
    while (k < L->K) {
        double t = 0;
        for (size_t i = 0; i < m; i++) t += (double)pw[i] * d2[i];
        if (!(t > 0)) break;
        float ck = pt[pick(pw, d2, m, rng_unit(rng) * t)];
        c[k++] = ck;
        for (size_t i = 0; i < m; i++) { float d = (pt[i] - ck) * (pt[i] - ck); if (d < d2[i]) d2[i] = d; }
    }
    return k;
}

/* First index in sorted x[lo..n) whose value is above b. */
static size_t upper_bound(const float *x, size_t lo, size_t n, float b)
{
    size_t hi = n;
    while (lo < hi) { size_t mid = lo + (hi - lo) / 2; if (x[mid] > b) hi = mid; else lo = mid + 1; }
    return lo;
}

static float midpoint(float a, float b) { return a + 0.5f * (b - a); }

/* Fits K ascending centroids c to the n values of x (sorted in place, with
 * their column importances W->cw when there are). */
static void fit_group(const km_layout *L, km_work *W, float *x, size_t n, uint64_t gid, float *c)
{
    const unsigned K = L->K;
    if (n >= RADIX_MIN || W->cw) radix_sort(x, W->tmp, W->cw, W->cwtmp, n);
    else qsort(x, n, sizeof *x, cmp_float);
    if (n == 0) { for (unsigned k = 0; k < K; k++) c[k] = 0.0f; return; }
    unsigned d = 0;
    for (size_t i = 0; i < n && d <= K; i++)
        if (i == 0 || x[i] != x[i - 1]) { if (d < K) c[d] = x[i]; d++; }
    if (d <= K) {
        for (unsigned k = d; k < K; k++) c[k] = c[d - 1];
        return;
    }
    /* Prefix sums of weights and weighted values. */
    W->sw[0] = W->swx[0] = 0;
    for (size_t i = 0; i < n; i++) {
        double w = weight_of(L->weight, x[i]) * (W->cw ? W->cw[i] : 1.0f);
        W->sw[i + 1] = W->sw[i] + w;
        W->swx[i + 1] = W->swx[i] + w * x[i];
    }
    /* Seeding points: the values, or equal-count bins of them. */
    size_t m = n <= SEED_POINTS ? n : SEED_POINTS;
    for (size_t b = 0; b < m; b++) {
        size_t lo = b * n / m, hi = (b + 1) * n / m;
        double w = W->sw[hi] - W->sw[lo];
        W->pw[b] = (float)w;
        W->pt[b] = w > 0 ? (float)((W->swx[hi] - W->swx[lo]) / w) : x[lo + (hi - lo) / 2];
    }
    uint64_t rng = (L->seed + 1) * 0x9E3779B97F4A7C15ull ^ (gid + 1) * 0xD1B54A32D192ED03ull;
    if (!rng) rng = 1;
    unsigned k = seed_pp(L, W->pt, W->pw, W->d2, m, &rng, c);
    for (unsigned j = k; j < K; j++) c[j] = x[(size_t)((j - k + 0.5) * n / (K - k))]; /* quantile fill */
    qsort(c, K, sizeof *c, cmp_float);
    /* Lloyd. */
    for (unsigned it = 0; it < L->iters; it++) {
        int moved = 0;
        size_t lo = 0;
        float nc[256];
        for (unsigned j = 0; j < K; j++) {
            size_t hi = j + 1 < K ? upper_bound(x, lo, n, midpoint(c[j], c[j + 1])) : n;
            double w = W->sw[hi] - W->sw[lo];
            nc[j] = w > 0 ? (float)((W->swx[hi] - W->swx[lo]) / w) : c[j];
            if (nc[j] != c[j]) moved = 1;
            lo = hi;
        }
        memcpy(c, nc, K * sizeof *c);
        if (!moved) break;
    }
}

static size_t kmeans_encode(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    km_layout L;
    TP_TRY(make_layout(p, in, &L));
    if (cap < L.payload) return tp_fail(TP_ERR_DST_TOO_SMALL, "kmeans needs %zu bytes", L.payload);
    const float *x = in->data;
    TP_TRY(tp_check_finite("kmeans", x, L.G.numel));
    uint64_t nmax = 0;
    for (uint64_t g = 0; g < L.G.n_groups; g++) {
        uint64_t c = tp_grouping_count(&L.G, g);
        if (c > nmax) nmax = c;
        if (L.G.mode == TP_GROUPING_GROUP) break; /* the first group of a row is the longest */
    }
    km_work W = {0};
    float *buf = malloc((nmax + 1) * sizeof *buf);
    float *books = malloc((L.G.n_groups * L.K + 1) * sizeof *books);
    W.tmp = malloc((nmax + 1) * sizeof *W.tmp);
    if (L.col_weight) {
        W.cw = malloc((nmax + 1) * sizeof *W.cw);
        W.cwtmp = malloc((nmax + 1) * sizeof *W.cwtmp);
    }
    W.sw = malloc((nmax + 1) * sizeof *W.sw);
    W.swx = malloc((nmax + 1) * sizeof *W.swx);
    W.pt = malloc(SEED_POINTS * sizeof *W.pt);
    W.pw = malloc(SEED_POINTS * sizeof *W.pw);
    W.d2 = malloc(SEED_POINTS * sizeof *W.d2);
    size_t r = L.payload;
    int cw_missing = L.col_weight && (!W.cw || !W.cwtmp);
    if (!buf || !books || !W.tmp || cw_missing || !W.sw || !W.swx || !W.pt || !W.pw || !W.d2) {
        r = tp_fail(TP_ERR_NOMEM, "kmeans: work buffers for groups of %llu values", (unsigned long long)nmax);
        goto done;
    }
    uint8_t *book = dst, *codes = book + L.book_bytes;
    for (uint64_t g = 0; g < L.G.n_groups; g++) {
        float *c = books + g * L.K;
        uint64_t n = tp_grouping_gather(&L.G, x, g, buf);
        if (W.cw) tp_grouping_gather_cols(&L.G, L.col_weight, L.cols, g, W.cw);
        fit_group(&L, &W, buf, (size_t)n, g, c);
        for (unsigned k = 0; k < L.K; k++) {
            c[k] = tp_scale_round((int)L.f32, c[k]);
            if (!isfinite(c[k])) {
                r = tp_fail(TP_ERR_PARAM, "kmeans: group %llu centroid overflows f16; use scale=f32", (unsigned long long)g);
                goto done;
            }
            tp_scale_put((int)L.f32, book, g * L.K + k, c[k]);
        }
    }
    memset(codes, 0, (size_t)tp_packed_bytes(L.G.numel, L.bits));
    float bnd[256];
    uint8_t q[256];
    uint64_t cur = UINT64_MAX;
    tp_run it = {0};
    while (tp_grouping_next(&L.G, &it)) {
        if (it.gid != cur) {
            const float *c = books + it.gid * L.K;
            for (unsigned k = 0; k + 1 < L.K; k++) bnd[k] = midpoint(c[k], c[k + 1]);
            cur = it.gid;
        }
        for (uint64_t i = 0; i < it.len; i += 256) {
            size_t m = it.len - i < 256 ? (size_t)(it.len - i) : 256;
            const float *xi = x + it.start + i;
            for (size_t j = 0; j < m; j++) q[j] = (uint8_t)tp_nearest_level(bnd, L.bits, xi[j]);
            tp_codes_put(codes, it.start + i, q, m, L.bits);
        }
    }
    tp_desc_bytes(out, L.payload);
done:
    free(buf); free(books); free(W.tmp); free(W.cw); free(W.cwtmp);
    free(W.sw); free(W.swx); free(W.pt); free(W.pw); free(W.d2);
    return r;
}

static size_t kmeans_decode(const tp_params *p, const void *src, size_t n, const tp_tensor *src_desc,
                            const tp_tensor *dst_desc, void *dst)
{
    km_layout L;
    size_t r = make_layout(p, dst_desc, &L);
    if (tp_is_error(r)) return tp_fail(TP_ERR_CORRUPT, "kmeans stage: %s", tp_last_error_detail());
    if (n != L.payload) return tp_fail(TP_ERR_CORRUPT, "kmeans payload is %zu bytes, expected %zu", n, L.payload);
    size_t nb = (size_t)(L.G.n_groups * L.K);
    float *books = malloc((nb ? nb : 1) * sizeof *books);
    if (!books) return tp_fail(TP_ERR_NOMEM, "kmeans: %zu centroids", nb);
    for (size_t i = 0; i < nb; i++) books[i] = tp_scale_get((int)L.f32, src, i);
    tp_lut_decode(tp_lut_for(L.G.numel * sizeof(float)), &L.G, (const uint8_t *)src + L.book_bytes, L.bits, books, L.K, NULL, dst);
    free(books);
    return (size_t)L.G.numel * sizeof(float);
}

const tp_codec tp_codec_kmeans = {
    .info = {.id = TP_CODEC_ID_kmeans, .name = "kmeans", .flags = TP_CODEC_LOSSY | TP_CODEC_FLOAT_IN,
             .summary = "Lloyd/k-means++ scalar codebook of 2^bits centroids per tensor/channel/group",
             .n_params = N_PARAMS, .params = kmeans_params},
    .validate = kmeans_validate, .bound = kmeans_bound, .encode = kmeans_encode, .decode = kmeans_decode,
};
