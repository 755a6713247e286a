/* dct2d: block DCT of the last two axes, JPEG-like, with real stored bytes.
 *
 * A tensor [..., H, W] is a stack of H x W planes (u8 images, or any float
 * tensor with two spatial axes). With color= and a channel axis of 3 right
 * before the spatial axes ([..., 3, H, W], planar RGB) each triple is turned
 * into YCbCr (JFIF matrix), optionally with Cb/Cr averaged over 2x2 pixels
 * (4:2:0) and rebuilt by libjpeg's triangle ("fancy") upsampling.
 *
 * Each plane is centred (x - mid), cut into B x B blocks (edges extended
 * symmetrically: x[-1-k] = x[k], x[n+k] = x[n-1-k]), and transformed with
 * the orthonormal DCT-II (dct_kernels.h). keep= keeps, per block, the DC and
 * the round(keep*B*B)-1 largest-magnitude AC coefficients. quality=1..100
 * quantizes coefficient (u,v) with step unit * Q(u,v): Q is JPEG's Annex K
 * table (matrix=jpeg; luma, chroma for Cb/Cr) sampled at frequency (8u/B,
 * 8v/B), or 16 everywhere (matrix=flat, best for PSNR), scaled by IJG's
 * quality rule and clamped to 1..255. unit is 1 for u8 and range/255 for
 * floats, so a quality means the same for both. quality=0 does not quantize:
 * kept coefficients are stored as f32 (exact up to float rounding).
 *
 * Levels are coded as tokens (dct_entropy.h): the DC difference's magnitude
 * category, then per non-zero AC its zero run (ZRL, EOB as in JPEG) and
 * magnitude category, each a symbol of a static rANS table chosen by plane
 * kind and frequency band; mantissas and signs go to a raw bit stream. One
 * table look-up per token keeps the speed flat in the rate, where the
 * adaptive binary coder this replaced made one decision per coefficient.
 * The byte layout is in docs/CODECS.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codec.h"
#include "codecs/frequency/dct_entropy.h"
#include "codecs/frequency/dct_kernels.h"
#include "core/cpu.h"
#include "core/bytes.h"
#include "core/half.h"

enum { P_BLOCK, P_KEEP, P_QUALITY, P_MATRIX, P_COLOR, N_PARAMS };
static const char *const matrix_names[] = {"jpeg", "flat", NULL};
static const char *const color_names[] = {"auto", "none", "ycbcr", "ycbcr420", NULL};
enum { MAT_JPEG, MAT_FLAT };
enum { COL_AUTO, COL_NONE, COL_YCC, COL_420 };

static const tp_param_def dct2d_params[N_PARAMS] = {
    [P_BLOCK] = {"block", TP_PARAM_INT, 14, 2, TP_DCT_MAX_B, NULL, "block size B (B x B DCT; 14 as in seed 004, 8 as in JPEG)"},
    [P_KEEP] = {"keep", TP_PARAM_FLOAT, 1.0, 0.0, 1.0, NULL, "fraction of coefficients kept per block by magnitude (DC always kept)"},
    [P_QUALITY] = {"quality", TP_PARAM_INT, 75, 0, 100, NULL, "1-100: JPEG-like quantization (IJG scale); 0: no quantization (f32 coefficients)"},
    [P_MATRIX] = {"matrix", TP_PARAM_ENUM, 1, 0, 1, matrix_names, "quantization weights: jpeg (Annex K, perceptual) or flat (best PSNR)"},
    [P_COLOR] = {"color", TP_PARAM_ENUM, 0, 0, 3, color_names, "[...,3,H,W] colour: auto (ycbcr420 for u8, none for floats), none, ycbcr, ycbcr420"},
};

#define HDR 12          /* mode, token format, reserved[2], f32 mid, f32 unit */
#define MODE_CODED 0
#define MODE_RAW 1
#define MAX_LEVEL (1 << 20)
#define NBUCKET 7
#define AC_ROUND 0.35f  /* quantizer rounding offset for AC (dead zone) */

static size_t dct2d_validate(const tp_params *p)
{
    if (p->v[P_KEEP] <= 0) return tp_fail(TP_ERR_PARAM, "dct2d: keep must be > 0 (the DC is always kept)");
    return 0;
}

/* ---- layout ------------------------------------------------------------ */

typedef struct {
    int B, BB, quality, matrix, color;
    double keep;
    tp_dtype dtype;
    uint64_t numel, H, W, planes, groups; /* groups: colour triples */
    uint64_t ch, cw;                      /* chroma plane size      */
    uint64_t ncoef;                       /* padded coefficients    */
    size_t raw;                           /* raw fallback bytes     */
} layout;

static int supported_dtype(tp_dtype dt) { return dt == TP_U8 || tp_dtype_is_float(dt); }

static uint64_t padded(uint64_t h, uint64_t w, int B) { return (h + B - 1) / B * ((w + B - 1) / B) * (uint64_t)B * B; }

static size_t make_layout(const tp_params *p, const tp_tensor *t, layout *L)
{
    memset(L, 0, sizeof *L);
    L->B = tp_param_int(p, P_BLOCK);
    L->BB = L->B * L->B;
    L->keep = p->v[P_KEEP];
    L->quality = tp_param_int(p, P_QUALITY);
    L->matrix = tp_param_int(p, P_MATRIX);
    L->dtype = t->dtype;
    if (!supported_dtype(t->dtype))
        return tp_fail(TP_ERR_DTYPE, "dct2d takes u8 or float tensors, not %s", tp_dtype_name(t->dtype));
    if (t->ndim < 2) return tp_fail(TP_ERR_SHAPE, "dct2d needs at least two (spatial) axes, got %u", t->ndim);
    TP_TRY(tp_tensor_numel(t, &L->numel));
    L->H = t->shape[t->ndim - 2];
    L->W = t->shape[t->ndim - 1];
    L->planes = L->H && L->W ? L->numel / (L->H * L->W) : 0;
    int color = tp_param_int(p, P_COLOR);
    int three = t->ndim >= 3 && t->shape[t->ndim - 3] == 3;
    if (color == COL_AUTO) color = three && t->dtype == TP_U8 ? COL_420 : COL_NONE;
    if (color != COL_NONE && !three)
        return tp_fail(TP_ERR_SHAPE, "dct2d: color=%s needs a [..., 3, H, W] tensor", color_names[color]);
    L->color = color;
    L->groups = color != COL_NONE ? L->planes / 3 : L->planes;
    L->ch = color == COL_420 ? (L->H + 1) / 2 : L->H;
    L->cw = color == COL_420 ? (L->W + 1) / 2 : L->W;
    if (L->H > (1u << 30) || L->W > (1u << 30)) return tp_fail(TP_ERR_SHAPE, "dct2d: plane of %llu x %llu is too large",
                                                         (unsigned long long)L->H, (unsigned long long)L->W);
    uint64_t per = color != COL_NONE ? padded(L->H, L->W, L->B) + 2 * padded(L->ch, L->cw, L->B) : padded(L->H, L->W, L->B);
    if (L->groups && per > (UINT64_C(1) << 40) / L->groups) return tp_fail(TP_ERR_SHAPE, "dct2d: tensor too large");
    L->ncoef = per * L->groups;
    L->raw = (size_t)L->ncoef * (L->quality ? 2 : 4);
    return 0;
}

/* Geometry of plane c (0..2) of a group. */
static void plane_dims(const layout *L, int c, uint64_t *h, uint64_t *w)
{
    *h = c ? L->ch : L->H;
    *w = c ? L->cw : L->W;
}
static int planes_per_group(const layout *L) { return L->color != COL_NONE ? 3 : 1; }

/* ---- quantization tables ---------------------------------------------- */

static const uint8_t jpeg_luma[64] = {
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99};
static const uint8_t jpeg_chroma[64] = {
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99};

/* Bilinear sample of an 8x8 table at (y, x) in 0..7. */
static double sample8(const uint8_t *t, double y, double x)
{
    if (y > 7) y = 7;
    if (x > 7) x = 7;
    int y0 = (int)y, x0 = (int)x, y1 = y0 < 7 ? y0 + 1 : 7, x1 = x0 < 7 ? x0 + 1 : 7;
    double fy = y - y0, fx = x - x0;
    return (1 - fy) * ((1 - fx) * t[y0 * 8 + x0] + fx * t[y0 * 8 + x1]) + fy * ((1 - fx) * t[y1 * 8 + x0] + fx * t[y1 * 8 + x1]);
}

/* Quantization steps (in units) for plane kind chroma (0/1). */
static void make_steps(const layout *L, int chroma, float *step)
{
    int q = L->quality;
    double S = q < 50 ? 5000.0 / q : 200.0 - 2.0 * q;
    for (int u = 0; u < L->B; u++)
        for (int v = 0; v < L->B; v++) {
            double base = L->matrix == MAT_FLAT ? 16.0
                                                : sample8(chroma ? jpeg_chroma : jpeg_luma, 8.0 * u / L->B, 8.0 * v / L->B);
            double s = floor((base * S + 50.0) / 100.0);
            step[u * L->B + v] = (float)(s < 1 ? 1 : s > 255 ? 255 : s);
        }
}

/* ---- scan order, contexts, tokens ------------------------------------ */

typedef struct {
    int B, BB;
    uint16_t scan[TP_DCT_MAX_B * TP_DCT_MAX_B];   /* scan position -> natural index */
    uint8_t bucket[TP_DCT_MAX_B * TP_DCT_MAX_B];  /* by scan position               */
} scan_tab;

static void make_scan(int B, scan_tab *s)
{
    s->B = B;
    s->BB = B * B;
    int k = 0;
    for (int d = 0; d <= 2 * (B - 1); d++)
        for (int u = 0; u < B; u++) {
            int v = d - u;
            if (v < 0 || v >= B) continue;
            s->scan[k] = (uint16_t)(u * B + v);
            int d8 = d * 8 / B; /* diagonal in 8x8 terms */
            s->bucket[k] = (uint8_t)(d8 <= 1 ? 0 : d8 == 2 ? 1 : d8 == 3 ? 2 : d8 <= 5 ? 3 : d8 <= 7 ? 4 : d8 <= 10 ? 5 : 6);
            k++;
        }
}

/* Token contexts (kind 0 = luma or plain plane, 1 = chroma):
 *   DC category      kind*3 + class of the previous DC difference (0, 1-2, 3+)
 *   zero run         6 + kind*7 + bucket of the run's first position
 *   AC category      20 + kind*14 + bucket*2 + (previous AC of the block > 1) */
#define CTX_DC(kind, m) ((kind) * 3 + (m))
#define CTX_RUN(kind, b) (6 + (kind) * NBUCKET + (b))
#define CTX_CAT(kind, b, big) (6 + 2 * NBUCKET + (kind) * 2 * NBUCKET + (b) * 2 + (big))
#define NCTX (6 + 6 * NBUCKET)
#define SYM_ZRL 16 /* 16 zeros, more to come */
#define SYM_EOB 17 /* no more non-zero ACs    */

/* Per-plane running state: DC predictor. */
typedef struct {
    int32_t dc_pred, row_dc, last_dc_mag;
} dc_state;

static inline int dc_class(uint32_t a) { return a == 0 ? 0 : a < 3 ? 1 : 2; }

static void put_dc(tp_tok_span *e, int kind, dc_state *ds, int32_t dc)
{
    int32_t d = dc - ds->dc_pred;
    ds->dc_pred = dc;
    uint32_t a = (uint32_t)(d < 0 ? -d : d);
    int cat = a ? tp_tok_cat(a) : 0;
    tp_span_put(e, CTX_DC(kind, ds->last_dc_mag), cat);
    if (cat) tp_span_bits(e, ((a - (1u << (cat - 1))) << 1) | (uint32_t)(d < 0), cat);
    ds->last_dc_mag = dc_class(a);
}

/* The decoders take the token format as a constant (see tp_tok_read). */
#define INLINE_DEC __attribute__((always_inline)) static inline

INLINE_DEC int get_dc(tp_tok_cur *c, const tp_tok_dec *t, int kind, dc_state *ds, int32_t *dc, const int ver)
{
    int cat = tp_tok_read(c, t, CTX_DC(kind, ds->last_dc_mag), ver);
    int32_t d = 0;
    if (cat > 16) return -1;
    if (cat) {
        uint32_t b = tp_tok_read_bits(c, cat);
        d = (int32_t)((1u << (cat - 1)) + (b >> 1));
        if (b & 1) d = -d;
    }
    ds->last_dc_mag = dc_class((uint32_t)(d < 0 ? -d : d));
    int64_t v = (int64_t)ds->dc_pred + d;
    if (v > MAX_LEVEL || v < -MAX_LEVEL) return -1;
    ds->dc_pred = (int32_t)v;
    *dc = (int32_t)v;
    return 0;
}

/* Most tokens and raw bits one block can add. */
#define BLOCK_TOKENS(BB) (2 * (BB) + (BB) / 16 + 2)
#define BLOCK_BITS(BB) (24 * (BB) + 32)

/* Codes the AC levels of one block, lq in scan order (lq[0], the DC, is
 * not looked at) with m its non-zero mask (bit k for lq[k], k >= 1; it is
 * consumed): per non-zero level its zero run (ZRL for each 16), then its
 * category and raw mantissa + sign bits; EOB after the last one unless it
 * sits at the last position. With sig_only, runs only. */
static void put_ac(tp_tok_span *span, int kind, const scan_tab *s, const int32_t *lq, uint64_t *m, int sig_only)
{
    tp_tok_span local = *span, *e = &local; /* in registers: byte stores cannot alias it */
    const int BB = s->BB, nw = (BB + 63) / 64;
    int pos = 1, big = 0;
    for (int wi = 0; wi < nw; wi++)
        while (m[wi]) {
            int k = wi * 64 + __builtin_ctzll(m[wi]);
            m[wi] &= m[wi] - 1;
            while (k - pos >= 16) { tp_span_put(e, CTX_RUN(kind, s->bucket[pos]), SYM_ZRL); pos += 16; }
            tp_span_put(e, CTX_RUN(kind, s->bucket[pos]), k - pos);
            if (!sig_only) {
                int32_t l = lq[k];
                uint32_t a = (uint32_t)(l < 0 ? -l : l);
                int cat = tp_tok_cat(a);
                tp_span_put(e, CTX_CAT(kind, s->bucket[k], big), cat - 1);
                tp_span_bits(e, ((a - (1u << (cat - 1))) << 1) | (uint32_t)(l < 0), cat);
                big = cat > 1;
            }
            pos = k + 1;
        }
    if (pos < BB) tp_span_put(e, CTX_RUN(kind, s->bucket[pos]), SYM_EOB);
    *span = local;
}

/* Decodes the ACs of one block into y (natural order, zeroed by the
 * caller): level * step[n], or 1 per significant position with sig_only.
 * Returns -1 on a corrupt stream. */
INLINE_DEC int get_ac(tp_tok_cur *c, const tp_tok_dec *t, int kind, const scan_tab *s, float *y, const float *step, int sig_only,
                      const int ver)
{
    const int BB = s->BB;
    int pos = 1, big = 0;
    while (pos < BB) {
        int sym = tp_tok_read(c, t, CTX_RUN(kind, s->bucket[pos]), ver);
        if (sym == SYM_EOB) break;
        if (sym == SYM_ZRL) {
            if ((pos += 16) >= BB) return -1;
            continue;
        }
        if (sym > SYM_EOB || (pos += sym) >= BB) return -1;
        int n = s->scan[pos];
        if (sig_only) y[n] = 1.0f;
        else {
            int cat = tp_tok_read(c, t, CTX_CAT(kind, s->bucket[pos], big), ver) + 1;
            if (cat > 15) return -1;
            uint32_t b = tp_tok_read_bits(c, cat);
            float a = (float)((1u << (cat - 1)) + (b >> 1)) * step[n];
            y[n] = b & 1 ? -a : a;
            big = cat > 1;
        }
        pos++;
    }
    return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static inline uint64_t reflect(int64_t i, uint64_t n)
{
    uint64_t p = 2 * n, m = (uint64_t)(i % (int64_t)p);
    return m < n ? m : p - 1 - m;
}

/* Index of the (k-1)-th largest of a[0..n) (quickselect, a is reordered). */
static float kth_largest(float *a, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        float piv = a[(lo + hi) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] > piv) i++;
            while (a[j] < piv) j--;
            if (i <= j) { float t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
        }
        if (k - 1 <= j) hi = j;
        else if (k - 1 >= i) lo = i;
        else break;
    }
    return a[k - 1];
}

/* Zeroes all AC coefficients of a block but the nkeep-1 largest. */
static void apply_keep(float *y, int BB, int nkeep)
{
    if (nkeep >= BB) return;
    float mag[TP_DCT_MAX_B * TP_DCT_MAX_B];
    int m = BB - 1, want = nkeep - 1;
    if (want <= 0) { for (int i = 1; i < BB; i++) y[i] = 0; return; }
    for (int i = 0; i < m; i++) mag[i] = fabsf(y[i + 1]);
    float thr = kth_largest(mag, m, want);
    int above = 0;
    for (int i = 1; i < BB; i++) above += fabsf(y[i]) > thr;
    int ties = want - above; /* equal to thr: keep the first ones in natural order */
    for (int i = 1; i < BB; i++) {
        float a = fabsf(y[i]);
        if (a > thr) continue;
        if (a == thr && ties > 0) { ties--; continue; }
        y[i] = 0;
    }
}

static inline int32_t quant(float c, float inv, float round)
{
    float a = fabsf(c) * inv + round;
    if (a > 32767.0f) a = 32767.0f;
    int32_t q = (int32_t)a;
    return c < 0 ? -q : q;
}

/* Planar float working copy of the input, centred, colour-converted. */
typedef struct {
    float *full;      /* numel values                        */
    float *chroma;    /* 420: groups*2 planes of ch x cw      */
    float mid, unit;
} work;

/* The per-pixel loops below are worth vectorising; -O2 in GCC 12 does not
 * (its very-cheap model refuses loops that need an epilogue). */
#if defined(__GNUC__) && !defined(__clang__)
#define VEC_LOOP __attribute__((optimize("O3")))
#else
#define VEC_LOOP
#endif

VEC_LOOP static void rgb_to_ycc(float *r, float *g, float *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float R = r[i], G = g[i], B = b[i];
        r[i] = 0.299f * R + 0.587f * G + 0.114f * B;
        g[i] = -0.168736f * R - 0.331264f * G + 0.5f * B;
        b[i] = 0.5f * R - 0.418688f * G - 0.081312f * B;
    }
}

VEC_LOOP static void ycc_to_rgb(float *y, float *cb, float *cr, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float Y = y[i], Cb = cb[i], Cr = cr[i];
        y[i] = Y + 1.402f * Cr;
        cb[i] = Y - 0.344136f * Cb - 0.714136f * Cr;
        cr[i] = Y + 1.772f * Cb;
    }
}

/* One 4:2:0 chroma row (cw values) from full-resolution rows s0, s1 (w
 * values; s1 = s0 for the last row of an odd height). */
VEC_LOOP static void downsample_row(const float *s0, const float *s1, uint64_t w, float *dst, uint64_t cw)
{
    for (uint64_t x = 0; x < cw; x++) {
        uint64_t x1 = 2 * x + 1 < w ? 2 * x + 1 : 2 * x;
        dst[x] = 0.25f * (s0[2 * x] + s0[x1] + s1[2 * x] + s1[x1]);
    }
}

/* Triangle upsampling (libjpeg "fancy"): full pixel 2k takes 3/4 of chroma
 * sample k and 1/4 of k-1; pixel 2k+1 takes 3/4 of k and 1/4 of k+1.
 * One output row y (of h) into o (w values); rowtmp holds cw values. */
VEC_LOOP static void upsample_row(const float *src, uint64_t ch, uint64_t cw, uint64_t y, float *o, uint64_t w, float *rowtmp)
{
    uint64_t k = y / 2, k2 = y & 1 ? (k + 1 < ch ? k + 1 : k) : (k ? k - 1 : 0);
    const float *a = src + k * cw, *b = src + k2 * cw;
    for (uint64_t x = 0; x < cw; x++) rowtmp[x] = 0.75f * a[x] + 0.25f * b[x];
    /* interior pairs first (no edge cases), then the ends */
    for (uint64_t j = 1; j + 1 < cw && 2 * j + 1 < w; j++) {
        o[2 * j] = 0.75f * rowtmp[j] + 0.25f * rowtmp[j - 1];
        o[2 * j + 1] = 0.75f * rowtmp[j] + 0.25f * rowtmp[j + 1];
    }
    uint64_t ends[4] = {0, 1, cw ? 2 * (cw - 1) : 0, cw ? 2 * (cw - 1) + 1 : 0};
    for (int e = 0; e < 4; e++) {
        uint64_t x = ends[e];
        if (x >= w) continue;
        uint64_t j = x / 2, j2 = x & 1 ? (j + 1 < cw ? j + 1 : j) : (j ? j - 1 : 0);
        o[x] = 0.75f * rowtmp[j] + 0.25f * rowtmp[j2];
    }
}

/* Input: u8 - 128. */
VEC_LOOP static void load_u8(const uint8_t *s, size_t n, float *x)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)s[i] - 128.0f;
}

static float *plane_ptr(const layout *L, const work *wk, uint64_t g, int c)
{
    uint64_t hw = L->H * L->W;
    if (L->color == COL_420 && c) return wk->chroma + (g * 2 + (uint64_t)(c - 1)) * L->ch * L->cw;
    return wk->full + (g * (uint64_t)planes_per_group(L) + (uint64_t)c) * hw;
}

/* u8 [.., 3, H, W] -> Y (and Cb, Cr) planes, row by row so that the RGB
 * rows are converted while in cache; with 4:2:0 the full-resolution
 * chroma rows only pass through a four-row buffer. */
static size_t load_u8_color(const layout *L, const uint8_t *src, work *wk)
{
    size_t hw = (size_t)(L->H * L->W), W = (size_t)L->W;
    float *tmp = NULL;
    if (L->color == COL_420) {
        wk->chroma = malloc(L->groups ? (size_t)(L->groups * 2 * L->ch * L->cw) * sizeof(float) : 1);
        tmp = malloc(4 * W * sizeof(float) + 1);
        if (!wk->chroma || !tmp) { free(tmp); return tp_fail(TP_ERR_NOMEM, "dct2d: chroma planes"); }
    }
    for (uint64_t g = 0; g < L->groups; g++) {
        const uint8_t *in = src + g * 3 * hw;
        float *y = wk->full + g * 3 * hw;
        if (L->color == COL_YCC) {
            for (size_t i = 0; i < L->H; i++) {
                for (int c = 0; c < 3; c++) load_u8(in + c * hw + i * W, W, y + c * hw + i * W);
                rgb_to_ycc(y + i * W, y + hw + i * W, y + 2 * hw + i * W, W);
            }
            continue;
        }
        for (uint64_t k = 0; k < L->ch; k++) {
            int two = 2 * k + 1 < L->H;
            for (int j = 0; j <= two; j++) {
                size_t i = 2 * k + (size_t)j;
                float *cb = tmp + (size_t)j * W, *cr = tmp + (size_t)(2 + j) * W;
                load_u8(in + i * W, W, y + i * W);
                load_u8(in + hw + i * W, W, cb);
                load_u8(in + 2 * hw + i * W, W, cr);
                rgb_to_ycc(y + i * W, cb, cr, W);
            }
            downsample_row(tmp, two ? tmp + W : tmp, L->W, plane_ptr(L, wk, g, 1) + k * L->cw, L->cw);
            downsample_row(tmp + 2 * W, two ? tmp + 3 * W : tmp + 2 * W, L->W, plane_ptr(L, wk, g, 2) + k * L->cw, L->cw);
        }
    }
    free(tmp);
    return 0;
}

static size_t load_input(const layout *L, const tp_tensor *in, work *wk)
{
    memset(wk, 0, sizeof *wk);
    size_t n = (size_t)L->numel;
    wk->full = malloc(n ? n * sizeof(float) : 1);
    if (!wk->full) return tp_fail(TP_ERR_NOMEM, "dct2d: working copy of %zu values", n);
    if (L->dtype == TP_U8) {
        wk->mid = 128.0f;
        wk->unit = 1.0f;
        if (L->color == COL_NONE) {
            load_u8(in->data, n, wk->full);
            return 0;
        }
        return load_u8_color(L, in->data, wk);
    }
    if (L->dtype == TP_F32) memcpy(wk->full, in->data, n * sizeof(float));
    else tp_convert(wk->full, TP_F32, in->data, in->dtype, n);
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        float v = wk->full[i];
        if (!isfinite(v))
            return tp_fail(TP_ERR_NONFINITE, "dct2d: value %zu is %s; use a lossless codec for such tensors", i,
                           isnan(v) ? "NaN" : "Inf");
        if (v < lo) lo = v;
        if (v > hi) hi = v;
    }
    double mid = n ? 0.5 * (lo + hi) : 0.0, range = n ? hi - lo : 0.0;
    wk->mid = (float)mid;
    wk->unit = range > 0 ? (float)(range / 255.0) : 1.0f;
    if (!(wk->unit > 0) || !isfinite(wk->unit)) wk->unit = 1.0f;
    /* With quantization the working units are steps of `unit`. */
    float scale = L->quality ? 1.0f / wk->unit : 1.0f;
    for (size_t i = 0; i < n; i++) wk->full[i] = (wk->full[i] - wk->mid) * scale;
    if (L->color == COL_NONE) return 0;
    size_t hw = (size_t)(L->H * L->W), chw = (size_t)(L->ch * L->cw);
    if (L->color == COL_420) {
        wk->chroma = malloc(L->groups ? (size_t)L->groups * 2 * chw * sizeof(float) : 1);
        if (!wk->chroma) return tp_fail(TP_ERR_NOMEM, "dct2d: chroma planes");
    }
    for (uint64_t g = 0; g < L->groups; g++) {
        float *r = wk->full + g * 3 * hw;
        rgb_to_ycc(r, r + hw, r + 2 * hw, hw);
        if (L->color == COL_420)
            for (int c = 1; c < 3; c++)
                for (uint64_t k = 0; k < L->ch; k++) {
                    const float *s0 = r + (size_t)c * hw + 2 * k * L->W;
                    downsample_row(s0, 2 * k + 1 < L->H ? s0 + L->W : s0, L->W, plane_ptr(L, wk, g, c) + k * L->cw, L->cw);
                }
    }
    return 0;
}

static void work_free(work *wk)
{
    free(wk->full);
    free(wk->chroma);
}

/* ---- encode ------------------------------------------------------------- */

typedef struct {
    const layout *L;
    scan_tab scan;
    float step[2][TP_DCT_MAX_B * TP_DCT_MAX_B], inv[2][TP_DCT_MAX_B * TP_DCT_MAX_B];
    float inv_scan[2][TP_DCT_MAX_B * TP_DCT_MAX_B]; /* inv by scan position */
    int32_t scan32[TP_DCT_MAX_B * TP_DCT_MAX_B];    /* scan, as gather indices */
    float *strip, *coef;
    int32_t *lv;      /* levels of one block, or of a strip (fused path) */
    uint64_t *masks;  /* their non-zero masks                            */
    int pad8; /* round strips up to 8 blocks: the AVX2 kernels take 8 at a time */
} codec_state;

static size_t state_init(codec_state *st, const layout *L)
{
    memset(st, 0, sizeof *st);
    st->L = L;
    make_scan(L->B, &st->scan);
    for (int i = 0; i < L->BB; i++) st->scan32[i] = st->scan.scan[i];
    if (L->quality)
        for (int k = 0; k < 2; k++) {
            make_steps(L, k, st->step[k]);
            for (int i = 0; i < L->BB; i++) st->inv[k][i] = 1.0f / st->step[k][i];
            for (int i = 0; i < L->BB; i++) st->inv_scan[k][i] = st->inv[k][st->scan.scan[i]];
        }
    st->pad8 = (tp_cpu_features() & (TP_CPU_AVX2 | TP_CPU_FMA)) == (TP_CPU_AVX2 | TP_CPU_FMA);
    uint64_t bmax = (L->W + L->B - 1) / L->B;
    if (st->pad8) bmax = (bmax + 7) / 8 * 8;
    uint64_t wmax = bmax * (uint64_t)L->B;
    st->strip = calloc((size_t)(wmax * L->B + 1), sizeof(float));
    st->coef = calloc((size_t)(wmax * L->B + 1), sizeof(float));
    st->lv = malloc((size_t)(bmax * L->BB + 1) * sizeof(int32_t));
    st->masks = malloc((size_t)(bmax * TP_DCT_MASK_WORDS(L->B) + 1) * sizeof(uint64_t));
    if (!st->strip || !st->coef || !st->lv || !st->masks) return tp_fail(TP_ERR_NOMEM, "dct2d: block buffers");
    return 0;
}

static void state_free(codec_state *st)
{
    free(st->strip);
    free(st->coef);
    free(st->lv);
    free(st->masks);
}

/* Blocks per strip row as transformed (bw, or bw rounded up to 8). */
static uint64_t strip_blocks(const codec_state *st, uint64_t bw) { return st->pad8 ? (bw + 7) / 8 * 8 : bw; }

/* Sink of the encoder: either the token coder (+ f32 values when
 * quality=0), or the raw fallback writer. */
typedef struct {
    int raw;
    tp_tok_enc te;
    uint8_t *out;      /* raw: next byte                 */
    float *vals;       /* quality=0: values to append    */
    size_t nvals;
} sink;

static void encode_plane(codec_state *st, sink *sk, const float *pl, uint64_t h, uint64_t w, int chroma)
{
    const layout *L = st->L;
    const int B = L->B, BB = L->BB;
    uint64_t bw = (w + B - 1) / B, bh = (h + B - 1) / B, nb = strip_blocks(st, bw), sw = nb * B;
    int nkeep = (int)lround(L->keep * BB);
    if (nkeep < 1) nkeep = 1;
    dc_state ds = {0, 0, 0};
    const uint16_t *scan = st->scan.scan;
    for (uint64_t r = 0; r < bh; r++) {
        for (int i = 0; i < B; i++) {
            const float *src = pl + reflect((int64_t)(r * B + (uint64_t)i), h) * w;
            float *dst = st->strip + (size_t)i * sw;
            memcpy(dst, src, (size_t)w * sizeof(float));
            for (uint64_t j = w; j < bw * B; j++) dst[j] = src[reflect((int64_t)j, w)];
        }
        /* Quantized coding without keep= takes the fused kernel: levels
         * straight from the transform, no coefficient array. */
        int fused = L->quality && nkeep >= BB && !sk->raw;
        if (fused)
            tp_dct_fwd_quant(st->strip, sw, B, nb, st->scan32, st->inv_scan[chroma], 0.5f, AC_ROUND, st->lv, st->masks);
        else
            tp_dct_fwd(st->strip, sw, st->coef, B, nb);
        if (r > 0) ds.dc_pred = ds.row_dc;
        tp_tok_span sp = {0};
        if (!sk->raw) {
            if (tp_tok_reserve(&sk->te, (size_t)bw * BLOCK_TOKENS(BB), (size_t)bw * BLOCK_BITS(BB))) return;
            sp = tp_tok_span_begin(&sk->te);
        }
        for (uint64_t k = 0; k < bw; k++) {
            float *y = st->coef + k * BB;
            apply_keep(y, BB, nkeep);
            int32_t *lq = st->lv;
            uint64_t m[TP_DCT_MAX_B * TP_DCT_MAX_B / 64] = {0};
            if (!L->quality) {
                if (sk->raw) { for (int i = 0; i < BB; i++) { tp_put_u32(sk->out, tp_f32_bits(y[i])); sk->out += 4; } continue; }
                for (int i = 1; i < BB; i++) m[i >> 6] |= (uint64_t)(y[scan[i]] != 0.0f) << (i & 63);
                sk->vals[sk->nvals++] = y[0];
                put_ac(&sp, chroma, &st->scan, lq, m, 1);
                for (int i = 1; i < BB; i++)
                    if (y[scan[i]] != 0.0f) sk->vals[sk->nvals++] = y[scan[i]];
                continue;
            }
            if (sk->raw) {
                const float *inv = st->inv[chroma];
                for (int i = 0; i < BB; i++) {
                    int16_t q = (int16_t)quant(y[i], inv[i], i ? AC_ROUND : 0.5f);
                    tp_put_u16(sk->out, (uint16_t)q);
                    sk->out += 2;
                }
                continue;
            }
            if (fused) {
                lq = st->lv + k * BB;
                memcpy(m, st->masks + k * TP_DCT_MASK_WORDS(B), (size_t)TP_DCT_MASK_WORDS(B) * sizeof *m);
            } else
                tp_dct_quant_scan(y, st->scan32, st->inv_scan[chroma], 0.5f, AC_ROUND, BB, lq, m);
            put_dc(&sp, chroma, &ds, lq[0]);
            if (k == 0) ds.row_dc = lq[0];
            put_ac(&sp, chroma, &st->scan, lq, m, 0);
        }
        if (!sk->raw) tp_tok_span_end(&sk->te, &sp);
    }
}

static void encode_all(codec_state *st, const work *wk, sink *sk)
{
    const layout *L = st->L;
    for (uint64_t g = 0; g < L->groups; g++)
        for (int c = 0; c < planes_per_group(L); c++) {
            uint64_t h, w;
            plane_dims(L, c, &h, &w);
            encode_plane(st, sk, plane_ptr(L, wk, g, c), h, w, L->color != COL_NONE && c > 0);
        }
}

static size_t dct2d_bound(const tp_params *p, const tp_tensor *in, tp_tensor *out)
{
    layout L;
    TP_TRY(make_layout(p, in, &L));
    tp_desc_bytes(out, HDR + L.raw);
    return HDR + L.raw;
}

static size_t dct2d_encode(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    layout L;
    TP_TRY(make_layout(p, in, &L));
    if (cap < HDR + L.raw) return tp_fail(TP_ERR_DST_TOO_SMALL, "dct2d needs %zu bytes", HDR + L.raw);
    work wk;
    size_t r = load_input(&L, in, &wk);
    codec_state st;
    if (!tp_is_error(r)) r = state_init(&st, &L);
    else memset(&st, 0, sizeof st);
    uint8_t *d = dst;
    sink sk;
    memset(&sk, 0, sizeof sk);
    size_t total = 0;
    if (!tp_is_error(r) && L.raw >= 16) {
        if (!L.quality) {
            sk.vals = malloc((size_t)L.ncoef * sizeof(float));
            if (!sk.vals) r = tp_fail(TP_ERR_NOMEM, "dct2d: coefficient values");
        }
        if (!tp_is_error(r)) {
            tp_tok_enc_init(&sk.te, (size_t)(L.ncoef / 2)); /* untouched room costs no pages; regrowth copies */
            encode_all(&st, &wk, &sk);
            size_t room = L.raw - 8 - 4 * sk.nvals; /* coded form must beat raw */
            if (4 * sk.nvals + 8 > L.raw) room = 0;
            if (room > cap - HDR - 8) room = cap - HDR - 8;
            size_t S = tp_tok_enc_finish(&sk.te, NCTX, TP_TOK_V1, d + HDR + 8, room);
            tp_tok_enc_free(&sk.te);
            if (tp_is_error(S)) r = S;
            else if (S) {
                d[0] = MODE_CODED;
                tp_put_u64(d + HDR, S);
                for (size_t i = 0; i < sk.nvals; i++) tp_put_u32(d + HDR + 8 + S + 4 * i, tp_f32_bits(sk.vals[i]));
                total = HDR + 8 + S + 4 * sk.nvals;
            }
        }
    }
    if (!tp_is_error(r) && !total) { /* raw fallback: never larger than the bound */
        state_free(&st);
        free(sk.vals);
        sk.vals = NULL;
        r = state_init(&st, &L);
        if (!tp_is_error(r)) {
            memset(&sk, 0, sizeof sk);
            sk.raw = 1;
            sk.out = d + HDR;
            encode_all(&st, &wk, &sk);
            d[0] = MODE_RAW;
            total = HDR + L.raw;
        }
    }
    free(sk.vals);
    state_free(&st);
    work_free(&wk);
    if (tp_is_error(r)) return r;
    d[1] = (uint8_t)(d[0] == MODE_CODED ? TP_TOK_V1 : 0); /* version 0 frames still decode */
    d[2] = d[3] = 0;
    tp_put_u32(d + 4, tp_f32_bits(wk.mid));
    tp_put_u32(d + 8, tp_f32_bits(wk.unit));
    tp_desc_bytes(out, total);
    return total;
}

/* ---- decode ------------------------------------------------------------- */

typedef struct {
    int raw;
    tp_tok_dec td;
    const uint8_t *p, *end; /* raw cursor, or the f32 values (quality=0) */
} source;

static float next_val(source *sr, int *bad)
{
    if (sr->end - sr->p < 4) { *bad = 1; return 0; }
    float v = tp_bits_f32(tp_get_u32(sr->p));
    sr->p += 4;
    if (!isfinite(v)) *bad = 1;
    return v;
}

INLINE_DEC size_t decode_plane_v(codec_state *st, source *sr, float *pl, uint64_t h, uint64_t w, int chroma, const int ver)
{
    const layout *L = st->L;
    const int B = L->B, BB = L->BB;
    uint64_t bw = (w + B - 1) / B, bh = (h + B - 1) / B, nb = strip_blocks(st, bw), sw = nb * B;
    dc_state ds = {0, 0, 0};
    int bad = 0;
    const float *step = st->step[chroma];
    tp_tok_cur cur = sr->td.c; /* a local: stays in registers */
    for (uint64_t r = 0; r < bh; r++) {
        if (r > 0) ds.dc_pred = ds.row_dc;
        memset(st->coef, 0, (size_t)(bw * BB) * sizeof(float));
        for (uint64_t k = 0; k < bw; k++) {
            float *y = st->coef + k * BB;
            if (sr->raw) {
                if (!L->quality)
                    for (int i = 0; i < BB; i++) y[i] = next_val(sr, &bad);
                else
                    for (int i = 0; i < BB; i++) { y[i] = (float)(int16_t)tp_get_u16(sr->p) * step[i]; sr->p += 2; }
                continue;
            }
            if (!L->quality) {
                y[0] = next_val(sr, &bad);
                if (get_ac(&cur, &sr->td, chroma, &st->scan, y, NULL, 1, ver) < 0) bad = 1;
                for (int s = 1; s < BB && !bad; s++) {
                    int n = st->scan.scan[s];
                    if (y[n] != 0.0f) y[n] = next_val(sr, &bad);
                }
            } else {
                int32_t dc = 0;
                if (get_dc(&cur, &sr->td, chroma, &ds, &dc, ver) < 0) bad = 1;
                if (k == 0) ds.row_dc = dc;
                y[0] = (float)dc * step[0];
                if (!bad && get_ac(&cur, &sr->td, chroma, &st->scan, y, step, 0, ver) < 0) bad = 1;
            }
            if (bad) {
                sr->td.c = cur;
                return tp_fail(TP_ERR_CORRUPT, "dct2d: coefficient stream is corrupt");
            }
        }
        tp_dct_inv(st->strip, sw, st->coef, B, nb);
        for (int i = 0; i < B && r * B + (uint64_t)i < h; i++)
            memcpy(pl + (r * B + (uint64_t)i) * w, st->strip + (size_t)i * sw, (size_t)w * sizeof(float));
    }
    sr->td.c = cur;
    return 0;
}

static size_t decode_plane(codec_state *st, source *sr, float *pl, uint64_t h, uint64_t w, int chroma)
{
    if (sr->td.version == TP_TOK_V0) return decode_plane_v(st, sr, pl, h, w, chroma, TP_TOK_V0);
    return decode_plane_v(st, sr, pl, h, w, chroma, TP_TOK_V1);
}

static size_t dct2d_decode(const tp_params *p, const void *src, size_t n, const tp_tensor *src_desc,
                           const tp_tensor *dst_desc, void *dst)
{
    layout L;
    size_t r = make_layout(p, dst_desc, &L);
    if (tp_is_error(r)) return tp_fail(TP_ERR_CORRUPT, "dct2d stage: %s", tp_last_error_detail());
    const uint8_t *s = src;
    if (n < HDR) return tp_fail(TP_ERR_CORRUPT, "dct2d payload of %zu bytes is too short", n);
    float mid = tp_bits_f32(tp_get_u32(s + 4)), unit = tp_bits_f32(tp_get_u32(s + 8));
    if (s[2] || s[3] || s[0] > MODE_RAW || s[1] >= TP_TOK_NVER || (s[0] == MODE_RAW && s[1])) return tp_fail(TP_ERR_CORRUPT, "dct2d: bad mode byte");
    if (!isfinite(mid) || !isfinite(unit) || !(unit > 0)) return tp_fail(TP_ERR_CORRUPT, "dct2d: bad mid/unit");
    source sr;
    memset(&sr, 0, sizeof sr);
    sr.raw = s[0] == MODE_RAW;
    sr.end = s + n;
    size_t S = 0;
    if (sr.raw) {
        if (n != HDR + L.raw) return tp_fail(TP_ERR_CORRUPT, "dct2d raw payload is %zu bytes, expected %zu", n, HDR + L.raw);
        sr.p = s + HDR;
    } else {
        if (n < HDR + 8) return tp_fail(TP_ERR_CORRUPT, "dct2d payload truncated");
        uint64_t S64 = tp_get_u64(s + HDR);
        if (S64 > n - HDR - 8) return tp_fail(TP_ERR_CORRUPT, "dct2d stream length %llu exceeds the payload", (unsigned long long)S64);
        S = (size_t)S64;
        if (L.quality && HDR + 8 + S != n) return tp_fail(TP_ERR_CORRUPT, "dct2d: trailing bytes after the stream");
        if (!L.quality && (n - HDR - 8 - S) % 4) return tp_fail(TP_ERR_CORRUPT, "dct2d: value section is not whole f32s");
        r = tp_tok_dec_init(&sr.td, NCTX, s[1], s + HDR + 8, S);
        if (tp_is_error(r)) {
            tp_tok_dec_free(&sr.td);
            return tp_error_code(r) == TP_ERR_NOMEM ? r : tp_fail(TP_ERR_CORRUPT, "dct2d: %s", tp_last_error_detail());
        }
        sr.p = s + HDR + 8 + S;
    }
    size_t numel = (size_t)L.numel;
    float *full = L.dtype == TP_F32 ? dst : malloc(numel ? numel * sizeof(float) : 1);
    float *chroma = NULL, *rowtmp = NULL, *rows = NULL;
    if (L.color == COL_420) {
        chroma = malloc(L.groups ? (size_t)(L.groups * 2 * L.ch * L.cw) * sizeof(float) : 1);
        rowtmp = malloc((size_t)L.cw * sizeof(float) + 1);
        rows = malloc((size_t)L.W * 2 * sizeof(float) + 1);
    }
    codec_state st;
    memset(&st, 0, sizeof st);
    if (!full || (L.color == COL_420 && (!chroma || !rowtmp || !rows))) r = tp_fail(TP_ERR_NOMEM, "dct2d: output planes");
    else r = state_init(&st, &L);
    if (tp_is_error(r)) {
        state_free(&st);
        tp_tok_dec_free(&sr.td);
        if (full != dst) free(full);
        free(chroma); free(rowtmp); free(rows);
        return r;
    }
    work wk = {full, chroma, mid, unit};
    for (uint64_t g = 0; g < L.groups && !tp_is_error(r); g++)
        for (int c = 0; c < planes_per_group(&L) && !tp_is_error(r); c++) {
            uint64_t h, w;
            plane_dims(&L, c, &h, &w);
            r = decode_plane(&st, &sr, plane_ptr(&L, &wk, g, c), h, w, L.color != COL_NONE && c > 0);
        }
    if (!tp_is_error(r) && !sr.raw && (tp_tok_dec_finish(&sr.td) || sr.p != sr.end))
        r = tp_fail(TP_ERR_CORRUPT, "dct2d: stream and values do not match the payload size");
    tp_tok_dec_free(&sr.td);
    state_free(&st);
    float scale = L.quality ? unit : 1.0f;
    if (!tp_is_error(r) && L.color != COL_NONE) {
        /* Row by row (upsampled chroma rows, RGB, u8 output), so that no
         * full-size intermediate plane goes through memory. */
        size_t hw = (size_t)(L.H * L.W);
        for (uint64_t g = 0; g < L.groups; g++)
            for (uint64_t i = 0; i < L.H; i++) {
                size_t o = g * 3 * hw + i * L.W;
                float *y = full + o, *cb = y + hw, *cr = y + 2 * hw;
                if (L.color == COL_420) {
                    cb = rows, cr = rows + L.W;
                    upsample_row(plane_ptr(&L, &wk, g, 1), L.ch, L.cw, i, cb, L.W, rowtmp);
                    upsample_row(plane_ptr(&L, &wk, g, 2), L.ch, L.cw, i, cr, L.W, rowtmp);
                }
                ycc_to_rgb(y, cb, cr, L.W);
                if (L.dtype == TP_U8) {
                    uint8_t *d8 = (uint8_t *)dst + o;
                    tp_dct_store_u8(y, L.W, scale, mid, d8);
                    tp_dct_store_u8(cb, L.W, scale, mid, d8 + hw);
                    tp_dct_store_u8(cr, L.W, scale, mid, d8 + 2 * hw);
                } else if (L.color == COL_420) {
                    memcpy(y + hw, cb, L.W * sizeof(float));
                    memcpy(y + 2 * hw, cr, L.W * sizeof(float));
                }
            }
    }
    free(chroma);
    free(rowtmp);
    free(rows);
    if (!tp_is_error(r)) {
        if (L.dtype == TP_U8) {
            if (L.color == COL_NONE) tp_dct_store_u8(full, numel, scale, mid, dst);
        } else {
            for (size_t i = 0; i < numel; i++) full[i] = full[i] * scale + mid;
            if (L.dtype != TP_F32) r = tp_convert(dst, L.dtype, full, TP_F32, numel);
        }
    }
    if (full != dst) free(full);
    return tp_is_error(r) ? r : tp_tensor_nbytes(dst_desc);
}

const tp_codec tp_codec_dct2d = {
    .info = {.id = TP_CODEC_ID_dct2d, .name = "dct2d", .flags = TP_CODEC_LOSSY,
             .summary = "block DCT of the last two axes (images, feature maps), JPEG-like, rANS-coded tokens",
             .n_params = N_PARAMS, .params = dct2d_params},
    .validate = dct2d_validate, .bound = dct2d_bound, .encode = dct2d_encode, .decode = dct2d_decode,
};
