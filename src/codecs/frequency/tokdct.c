/* tokdct: visual tokens [..., T, C] with T = H x W laid out on a grid (seed
 * 004, Method 2). Per leading index (an item), each channel's H x W grid
 * of values gets an orthonormal 2-D DCT-II (grid_dct.h); coefficient (u,v)
 * of frequency d (u+v on the full grid, band_map) falls in band
 *   low  if d <  lo_edge,  mid if lo_edge <= d <= hi_edge,  high otherwise
 * (defaults 4 and 8: the seed's "low < 4, mid 4-8, high > 8"). Each band of
 * each channel is quantized with its own f16 scale and the band's bits:
 * b >= 2 bits is symmetric uniform with levels -(2^(b-1)-1) .. 2^(b-1)-1;
 * b = 1 stores the sign with scale mean|c|; b = 0 drops the band.
 *
 * The scale of a b >= 2 band is max(step, max|c| / (2^(b-1)-1)) with one
 * step = f x RMS of the item for every band (f from step=, or the profile:
 * mild 1, aggressive 1.5, extreme 2; bands at 8 bits unless low=/mid=/high=
 * say otherwise), so that the rANS coder spends the bits where the
 * variance is. low=/mid=/high= without step= give fixed bits and the max
 * scaling alone (bands not named: 8 bits).
 *
 * prune=k keeps the k tokens of largest energy sum_c x[t,c]^2 (ties: lower
 * index): the transform covers those only (shape-adaptive), so an item
 * stores k coefficients per channel, plus a bitmap of the kept tokens;
 * decode returns zeros for the other T-k tokens and
 * tp_frame_kept_positions() returns the positions.
 *
 * Payloads before version 1 (profiles as fixed band bits, the full grid
 * coded, kept positions as a list) still decode; docs/FORMAT.md 2.15. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codec.h"
#include "codecs/frequency/grid_dct.h"
#include "core/bitio.h"
#include "core/bytes.h"
#include "core/half.h"
#include "core/rans.h"

enum { P_GRID, P_GW, P_PROFILE, P_LOW, P_MID, P_HIGH, P_LO_EDGE, P_HI_EDGE, P_PRUNE, P_STEP, N_PARAMS };
static const char *const profile_names[] = {"mild", "aggressive", "extreme", NULL};
static const double profile_step[3] = {1.0, 1.5, 2.0};
static const int legacy_profile_bits[3][3] = {{8, 4, 2}, {8, 4, 0}, {8, 3, 0}};

enum { TOK_VERSION = 1, TOK_MARK = 0xff, TOK_HEADER = 4 };

static const tp_param_def tokdct_params[N_PARAMS] = {
    [P_GRID] = {"grid", TP_PARAM_INT, 12, 0, 65535, NULL, "grid height H (tokens = H x W); 0: square grid from the token count"},
    [P_GW] = {"gw", TP_PARAM_INT, 0, 0, 65535, NULL, "grid width W (0: same as grid)"},
    [P_PROFILE] = {"profile", TP_PARAM_ENUM, 1, 0, 2, profile_names,
                   "the step when neither step nor band bits are given: mild 1, aggressive 1.5, extreme 2"},
    [P_LOW] = {"low", TP_PARAM_INT, -1, -1, 8, NULL, "bits of the low band (-1: 8)"},
    [P_MID] = {"mid", TP_PARAM_INT, -1, -1, 8, NULL, "bits of the mid band (-1: 8)"},
    [P_HIGH] = {"high", TP_PARAM_INT, -1, -1, 8, NULL, "bits of the high band (-1: 8)"},
    [P_LO_EDGE] = {"lo_edge", TP_PARAM_INT, 4, 0, 131070, NULL, "u+v below this is the low band"},
    [P_HI_EDGE] = {"hi_edge", TP_PARAM_INT, 8, 0, 131070, NULL, "u+v above this is the high band"},
    [P_PRUNE] = {"prune", TP_PARAM_INT, 0, 0, 1 << 30, NULL, "keep only the k tokens of largest energy (0: all)"},
    [P_STEP] = {"step", TP_PARAM_FLOAT, 0.0, 0.0, 1e6, NULL,
                "one quantizer step for every band, times the item's RMS; 0: from the profile, or none when band bits are given"},
};

static size_t tokdct_validate(const tp_params *p)
{
    if (tp_param_int(p, P_LO_EDGE) > tp_param_int(p, P_HI_EDGE) + 1)
        return tp_fail(TP_ERR_PARAM, "tokdct: lo_edge must be <= hi_edge + 1");
    return 0;
}

typedef struct {
    uint64_t H, W, T, C, N, k;
    int bits[3];
    int lo, hi;
    int version;   /* of the payload: 0 (before versions) or TOK_VERSION */
    double step;   /* times the item's RMS; 0: max scaling only */
} tok_layout;

static int bands_given(const tp_params *p)
{
    return tp_param_int(p, P_LOW) >= 0 || tp_param_int(p, P_MID) >= 0 || tp_param_int(p, P_HIGH) >= 0;
}

static void set_bits(const tp_params *p, tok_layout *L)
{
    int prof = tp_param_int(p, P_PROFILE);
    for (int b = 0; b < 3; b++) {
        int v = tp_param_int(p, P_LOW + b);
        if (v >= 0) L->bits[b] = v;
        else L->bits[b] = L->version || p->v[P_STEP] > 0 ? 8 : legacy_profile_bits[prof][b];
    }
    L->step = p->v[P_STEP] > 0 ? p->v[P_STEP] : bands_given(p) ? 0.0 : profile_step[prof];
}

static size_t make_layout(const tp_params *p, const tp_tensor *t, int version, tok_layout *L)
{
    memset(L, 0, sizeof *L);
    if (t->ndim < 2) return tp_fail(TP_ERR_SHAPE, "tokdct needs [..., tokens, channels], got %u dimensions", t->ndim);
    uint64_t numel;
    TP_TRY(tp_tensor_numel(t, &numel));
    L->T = t->shape[t->ndim - 2];
    L->C = t->shape[t->ndim - 1];
    L->N = L->T && L->C ? numel / (L->T * L->C) : 0;
    uint64_t H = (uint64_t)tp_param_int(p, P_GRID), W = (uint64_t)tp_param_int(p, P_GW);
    if (H == 0) {
        H = (uint64_t)llround(sqrt((double)L->T));
        if (H * H != L->T) return tp_fail(TP_ERR_SHAPE, "tokdct: %llu tokens are not a square grid; give grid= and gw=", (unsigned long long)L->T);
        W = H;
    } else if (W == 0) W = H;
    if (H * W != L->T)
        return tp_fail(TP_ERR_SHAPE, "tokdct: grid %llux%llu does not hold %llu tokens", (unsigned long long)H,
                       (unsigned long long)W, (unsigned long long)L->T);
    L->H = H;
    L->W = W;
    L->version = version;
    set_bits(p, L);
    L->lo = tp_param_int(p, P_LO_EDGE);
    L->hi = tp_param_int(p, P_HI_EDGE);
    L->k = (uint64_t)tp_param_int(p, P_PRUNE);
    if (L->k > L->T) return tp_fail(TP_ERR_PARAM, "tokdct: prune=%llu but there are only %llu tokens", (unsigned long long)L->k, (unsigned long long)L->T);
    return 0;
}

static size_t bitmap_bytes(const tok_layout *L) { return L->k ? (size_t)(L->N * ((L->T + 7) / 8)) : 0; }
static size_t scale_bytes(const tok_layout *L) { return (size_t)(L->N * L->C * 3 * 2); }

/* Version 1: header, bitmaps, raw scales, codes packed at the widest band's
 * bits; the rANS forms are written only when smaller. */
static size_t bound_bytes(const tok_layout *L)
{
    int maxbits = L->bits[0] > L->bits[1] ? L->bits[0] : L->bits[1];
    if (L->bits[2] > maxbits) maxbits = L->bits[2];
    uint64_t coefs = L->N * L->C * (L->k ? L->k : L->T);
    return TOK_HEADER + bitmap_bytes(L) + scale_bytes(L) + (size_t)((coefs * (uint64_t)maxbits + 7) / 8);
}

static size_t tokdct_bound(const tp_params *p, const tp_tensor *in, tp_tensor *out)
{
    tok_layout L;
    TP_TRY(make_layout(p, in, TOK_VERSION, &L));
    size_t n = bound_bytes(&L);
    tp_desc_bytes(out, n);
    return n;
}

/* Band of coefficient (u, v) of a shape from tp_grid_dct_shape: its
 * frequency in grid units, u H / c_v + v W / m_v with m_v the mean length
 * of the rows that reach column v (exactly u + v on the full grid).
 * bmap[u*W+v] gets the band, or -1 where the shape holds no coefficient. */
static void band_map(const tok_layout *L, const tp_grid_dct *g, int8_t *bmap)
{
    memset(bmap, -1, (size_t)L->T);
    for (uint64_t v = 0; v < g->maxr; v++) {
        uint64_t len = 0;
        for (uint64_t h = 0; h < L->H; h++) len += g->r[h] > v ? g->r[h] : 0;
        double fv = (double)(v * L->W) / ((double)len / (double)g->c[v]);
        for (uint64_t u = 0; u < g->c[v]; u++) {
            double d = (double)(u * L->H) / (double)g->c[v] + fv;
            bmap[u * L->W + v] = (int8_t)(d < (double)L->lo ? 0 : d <= (double)L->hi ? 1 : 2);
        }
    }
}

typedef struct { uint64_t t; double e; } tok_energy;

static int by_energy(const void *a, const void *b)
{
    const tok_energy *x = a, *y = b;
    if (x->e != y->e) return x->e < y->e ? 1 : -1;
    return x->t < y->t ? -1 : x->t > y->t;
}

/* keep[t] = 1 for the k tokens of largest energy (every token when k = 0). */
static void choose_kept(const tok_layout *L, const float *xi, tok_energy *te, uint8_t *keep)
{
    memset(keep, L->k ? 0 : 1, (size_t)L->T);
    if (!L->k) return;
    for (uint64_t t = 0; t < L->T; t++) {
        double e = 0;
        for (uint64_t c = 0; c < L->C; c++) e += (double)xi[t * L->C + c] * xi[t * L->C + c];
        te[t].t = t;
        te[t].e = e;
    }
    qsort(te, (size_t)L->T, sizeof *te, by_energy);
    for (uint64_t i = 0; i < L->k; i++) keep[te[i].t] = 1;
}

static int qmax_of(int bits) { return bits >= 2 ? (1 << (bits - 1)) - 1 : 0; }

/* Scales (f16, C x 3 of them at sc) and codes of one item's coefficients y. */
static size_t quantize_item(const tok_layout *L, const float *y, const int8_t *bmap, double step, uint8_t *sc,
                            uint8_t *const codes[3], size_t ncode[3])
{
    for (uint64_t c = 0; c < L->C; c++)
        for (int b = 0; b < 3; b++) {
            int bits = L->bits[b], qmax = qmax_of(bits);
            double mx = 0, sum = 0;
            uint64_t cnt = 0;
            for (uint64_t i = 0; i < L->T; i++)
                if (bmap[i] == b) {
                    double a = fabs(y[i * L->C + c]);
                    if (a > mx) mx = a;
                    sum += a;
                    cnt++;
                }
            float s = bits == 0 ? 0.0f : bits == 1 ? (float)(cnt ? sum / (double)cnt : 0) : (float)(mx / qmax);
            if (bits >= 2 && step > s) s = (float)step;
            uint16_t hs = tp_half_from_float(s);
            s = tp_half_to_float(hs);
            if (!isfinite(s)) return tp_fail(TP_ERR_PARAM, "tokdct: band scale %g overflows f16", bits == 1 ? sum : mx);
            tp_put_u16(sc + (c * 3 + (uint64_t)b) * 2, hs);
            if (!bits) continue;
            float inv = s > 0 ? 1.0f / s : 0.0f;
            for (uint64_t i = 0; i < L->T; i++) {
                if (bmap[i] != b) continue;
                float cf = y[i * L->C + c];
                unsigned code;
                if (bits == 1) code = cf >= 0;
                else {
                    float q = rintf(cf * inv);
                    if (q > qmax) q = (float)qmax;
                    if (q < -qmax) q = (float)-qmax;
                    code = (unsigned)((int)q + qmax);
                }
                codes[b][ncode[b]++] = (uint8_t)code;
            }
        }
    return 0;
}

/* The inverse of quantize_item: coefficients into y where bmap >= 0. */
static size_t dequantize_item(const tok_layout *L, const uint8_t *sc, const int8_t *bmap, uint8_t *const codes[3],
                              size_t ci[3], float *y)
{
    for (uint64_t c = 0; c < L->C; c++)
        for (int b = 0; b < 3; b++) {
            int bits = L->bits[b], qmax = qmax_of(bits);
            float s = tp_half_to_float(tp_get_u16(sc + (c * 3 + (uint64_t)b) * 2));
            if (!isfinite(s) || s < 0) return tp_fail(TP_ERR_CORRUPT, "tokdct: bad band scale");
            for (uint64_t i = 0; i < L->T; i++) {
                if (bmap[i] != b) continue;
                float val = 0;
                if (bits) {
                    unsigned code = codes[b][ci[b]++];
                    if (bits == 1) val = code ? s : -s;
                    else {
                        if (code > 2u * (unsigned)qmax) return tp_fail(TP_ERR_CORRUPT, "tokdct: code %u out of range", code);
                        val = (float)((int)code - qmax) * s;
                    }
                }
                y[i * L->C + c] = val;
            }
        }
    return 0;
}

/* Byte streams as u32 length + tp_rans_compress output each (empty streams
 * are left out); returns the bytes written. */
static size_t rans_streams(uint8_t *const src[], const size_t n[], int count, uint8_t *dst, size_t cap)
{
    size_t off = 0;
    for (int i = 0; i < count; i++) {
        if (!n[i]) continue;
        if (cap - off < 4) return tp_fail(TP_ERR_DST_TOO_SMALL, "tokdct: stream room");
        size_t k = tp_rans_compress(src[i], n[i], dst + off + 4, cap - off - 4);
        if (tp_is_error(k)) return k;
        tp_put_u32(dst + off, (uint32_t)k);
        off += 4 + k;
    }
    return off;
}

/* The inverse: reads the non-empty streams from s[*off .. end). */
static size_t read_streams(const uint8_t *s, size_t end, size_t *off, uint8_t *const dst[], const size_t n[], int count)
{
    for (int i = 0; i < count; i++) {
        if (!n[i]) continue;
        if (end - *off < 4) return tp_fail(TP_ERR_CORRUPT, "tokdct: streams truncated");
        size_t len = tp_get_u32(s + *off);
        *off += 4;
        if (len > end - *off) return tp_fail(TP_ERR_CORRUPT, "tokdct: stream exceeds the payload");
        size_t e = tp_rans_decompress(s + *off, len, dst[i], n[i]);
        if (tp_is_error(e)) return tp_fail(TP_ERR_CORRUPT, "tokdct: %s", tp_last_error_detail());
        *off += len;
    }
    return 0;
}

static uint64_t packed_bytes(const tok_layout *L, const size_t ncode[3])
{
    uint64_t bits = 0;
    for (int b = 0; b < 3; b++) bits += (uint64_t)ncode[b] * (uint64_t)L->bits[b];
    return (bits + 7) / 8;
}

/* Writes a section's raw form from the streams that its rANS form codes. */
typedef void (*raw_writer)(const tok_layout *L, uint8_t *const src[3], const size_t n[3], uint8_t *dst);

/* The rANS form of the scales: the difference of each f16 scale's bits
 * from the one 3 before (same band, previous channel), mod 2^16, as a
 * plane of low bytes and one of high bytes. Under a uniform step nearly
 * every difference is 0. */
static void scales_to_planes(const uint8_t *sc, size_t count, uint8_t *lo, uint8_t *hi)
{
    for (size_t i = 0; i < count; i++) {
        uint16_t d = (uint16_t)(tp_get_u16(sc + 2 * i) - (i >= 3 ? tp_get_u16(sc + 2 * (i - 3)) : 0));
        lo[i] = (uint8_t)d;
        hi[i] = (uint8_t)(d >> 8);
    }
}

/* The inverse: planes src[0], src[1] of n[0] scales into f16 bytes at dst. */
static void raw_scales(const tok_layout *L, uint8_t *const src[3], const size_t n[3], uint8_t *dst)
{
    (void)L;
    for (size_t i = 0; i < n[0]; i++) {
        uint16_t d = (uint16_t)(src[0][i] | src[1][i] << 8);
        tp_put_u16(dst + 2 * i, (uint16_t)(d + (i >= 3 ? tp_get_u16(dst + 2 * (i - 3)) : 0)));
    }
}

static void raw_codes(const tok_layout *L, uint8_t *const src[3], const size_t n[3], uint8_t *dst)
{
    tp_bitw w = {dst, 0};
    for (int b = 0; b < 3; b++)
        for (size_t i = 0; i < n[b]; i++) tp_bitw_put(&w, src[b][i], (unsigned)L->bits[b]);
}

/* A section at dst: the rANS streams when they are smaller than the raw
 * bytes that raw_fn writes (*mode 1), else those (*mode 0). Returns its
 * size. */
static size_t write_section(const tok_layout *L, uint8_t *const src[3], const size_t n[3], int count, size_t raw,
                            raw_writer raw_fn, uint8_t *mode, uint8_t *dst, uint8_t *scratch, size_t scratch_cap)
{
    size_t coded = rans_streams(src, n, count, scratch, scratch_cap);
    if (tp_is_error(coded)) return coded;
    if (coded < raw) {
        *mode = 1;
        memcpy(dst, scratch, coded);
        return coded;
    }
    *mode = 0;
    memset(dst, 0, raw);
    raw_fn(L, src, n, dst);
    return raw;
}

typedef struct {
    float *y;
    int8_t *bmap;
    uint8_t *keep;
    tok_energy *te;
    uint8_t *sc;
    uint8_t *planes;   /* the two planes of the scales' rANS form */
    uint8_t *codes[3];
    uint8_t *scratch;
    size_t scratch_cap;
    tp_grid_dct g;
} tok_work;

static void work_free(tok_work *w)
{
    free(w->y); free(w->bmap); free(w->keep); free(w->te); free(w->sc); free(w->planes); free(w->scratch);
    for (int b = 0; b < 3; b++) free(w->codes[b]);
    tp_grid_dct_free(&w->g);
}

/* Buffers for the whole tensor's masks and scales and one item's
 * transform. */
static size_t work_alloc(const tok_layout *L, tok_work *w)
{
    memset(w, 0, sizeof *w);
    TP_TRY(tp_grid_dct_init(&w->g, L->H, L->W, L->C));
    w->y = malloc((size_t)(L->T * L->C) * sizeof(float) + 1);
    w->bmap = malloc((size_t)L->T + 1);
    w->keep = malloc((size_t)(L->N * L->T) + 1);
    w->te = malloc((size_t)L->T * sizeof *w->te + 1);
    w->sc = malloc(scale_bytes(L) + 1);
    w->planes = malloc(scale_bytes(L) + 1);
    if (!w->y || !w->bmap || !w->keep || !w->te || !w->sc || !w->planes) {
        work_free(w);
        return tp_fail(TP_ERR_NOMEM, "tokdct: work buffers");
    }
    return 0;
}

/* The code buffers, ncode[b] codes of band b; with scratch for the rANS
 * forms when encoding. */
static size_t codes_alloc(const tok_layout *L, const size_t ncode[3], int encoding, tok_work *w)
{
    int ok = 1;
    for (int b = 0; b < 3 && ok; b++) ok = (w->codes[b] = malloc(ncode[b] + 1)) != NULL;
    if (ok && encoding) {
        w->scratch_cap = 2 * (tp_rans_bytes_bound(scale_bytes(L) / 2) + 4);
        for (int b = 0; b < 3; b++) w->scratch_cap += tp_rans_bytes_bound(ncode[b]) + 4;
        ok = (w->scratch = malloc(w->scratch_cap)) != NULL;
    }
    return ok ? 0 : tp_fail(TP_ERR_NOMEM, "tokdct: code buffers");
}

static size_t check_finite(const float *x, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return tp_fail(TP_ERR_NONFINITE, "tokdct: value %llu is %s", (unsigned long long)i, isnan(x[i]) ? "NaN" : "Inf");
    return 0;
}

static double rms(const float *x, uint64_t n)
{
    double ss = 0;
    for (uint64_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
    return sqrt(n ? ss / (double)n : 0.0);
}

static void write_bitmap(const tok_layout *L, const uint8_t *keep, uint8_t *dst)
{
    memset(dst, 0, (size_t)((L->T + 7) / 8));
    for (uint64_t t = 0; t < L->T; t++)
        if (keep[t]) dst[t / 8] |= (uint8_t)(1u << (t % 8));
}

/* Codes per band over every item (the masks decide them in version 1; a
 * legacy payload's transform mask tmask is the full grid), none for a band
 * of 0 bits. */
static void count_codes(const tok_layout *L, tok_work *w, const uint8_t *tmask, size_t ncode[3])
{
    for (int b = 0; b < 3; b++) ncode[b] = 0;
    for (uint64_t i = 0; i < L->N; i++) {
        tp_grid_dct_shape(&w->g, tmask ? tmask : w->keep + i * L->T);
        band_map(L, &w->g, w->bmap);
        for (uint64_t t = 0; t < L->T; t++)
            if (w->bmap[t] >= 0) ncode[w->bmap[t]] += (size_t)L->C;
        if (tmask) {
            for (int b = 0; b < 3; b++) ncode[b] *= (size_t)L->N;
            break;
        }
    }
    for (int b = 0; b < 3; b++)
        if (!L->bits[b]) ncode[b] = 0;
}

static size_t tokdct_encode(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    tok_layout L;
    TP_TRY(make_layout(p, in, TOK_VERSION, &L));
    size_t bound = bound_bytes(&L);
    if (cap < bound) return tp_fail(TP_ERR_DST_TOO_SMALL, "tokdct needs %zu bytes", bound);
    const float *x = in->data;
    uint64_t per = L.T * L.C;
    TP_TRY(check_finite(x, per * L.N));
    tok_work w;
    TP_TRY(work_alloc(&L, &w));
    uint8_t *d = dst;
    size_t ncode[3], r = 0, off = TOK_HEADER + bitmap_bytes(&L);
    for (uint64_t n = 0; n < L.N; n++) {
        choose_kept(&L, x + n * per, w.te, w.keep + n * L.T);
        if (L.k) write_bitmap(&L, w.keep + n * L.T, d + TOK_HEADER + n * ((L.T + 7) / 8));
    }
    count_codes(&L, &w, NULL, ncode);
    r = codes_alloc(&L, ncode, 1, &w);
    if (tp_is_error(r)) goto done;
    memset(ncode, 0, sizeof ncode);
    for (uint64_t n = 0; n < L.N; n++) {
        const float *xi = x + n * per;
        uint8_t *keep = w.keep + n * L.T;
        tp_grid_dct_shape(&w.g, keep);
        tp_grid_dct_fwd(&w.g, keep, xi, w.y);
        band_map(&L, &w.g, w.bmap);
        r = quantize_item(&L, w.y, w.bmap, L.step * rms(xi, per), w.sc + n * L.C * 6, w.codes, ncode);
        if (tp_is_error(r)) goto done;
    }
    d[0] = TOK_VERSION;
    d[1] = TOK_MARK;
    size_t nsc[3] = {scale_bytes(&L) / 2, scale_bytes(&L) / 2, 0};
    uint8_t *planes[3] = {w.planes, w.planes + nsc[0], NULL};
    scales_to_planes(w.sc, nsc[0], planes[0], planes[1]);
    r = write_section(&L, planes, nsc, 2, scale_bytes(&L), raw_scales, d + 2, d + off, w.scratch, w.scratch_cap);
    if (tp_is_error(r)) goto done;
    off += r;
    size_t streams[3];
    for (int b = 0; b < 3; b++) streams[b] = L.bits[b] ? ncode[b] : 0;
    r = write_section(&L, w.codes, streams, 3, (size_t)packed_bytes(&L, ncode), raw_codes, d + 3, d + off, w.scratch,
                      w.scratch_cap);
    if (tp_is_error(r)) goto done;
    off += r;
    tp_desc_bytes(out, off);
    r = off;
done:
    work_free(&w);
    return r;
}

/* 0 for a payload from before versions: its first two bytes are an f16
 * scale >= 0, whose high byte is never TOK_MARK. */
static size_t payload_version(const uint8_t *s, size_t n, int *version)
{
    *version = n >= 2 && s[1] == TOK_MARK ? s[0] : 0;
    if (*version > TOK_VERSION) return tp_fail(TP_ERR_VERSION, "tokdct payload version %d (this build reads 1)", *version);
    if (n >= 2 && s[1] == TOK_MARK && *version == 0) return tp_fail(TP_ERR_CORRUPT, "tokdct payload version 0");
    return 0;
}

static size_t legacy_pos_bytes(const tok_layout *L) { return L->T <= 65536 ? 2 : 4; }

/* Kept-token masks (N x T) from a version 1 bitmap or a legacy position
 * list; *off gets the offset after them. */
static size_t read_masks(const tok_layout *L, const uint8_t *s, size_t n, uint8_t *keep, size_t *off)
{
    if (!L->k) {
        memset(keep, 1, (size_t)(L->N * L->T));
        *off = L->version ? TOK_HEADER : scale_bytes(L);
        return 0;
    }
    memset(keep, 0, (size_t)(L->N * L->T));
    if (L->version) {
        size_t bm = (size_t)((L->T + 7) / 8);
        if (n < TOK_HEADER + L->N * bm) return tp_fail(TP_ERR_CORRUPT, "tokdct payload of %zu bytes is too short", n);
        for (uint64_t i = 0; i < L->N; i++) {
            const uint8_t *b = s + TOK_HEADER + i * bm;
            uint64_t cnt = 0;
            for (uint64_t t = 0; t < bm * 8; t++) {
                int bit = (b[t / 8] >> (t % 8)) & 1;
                if (bit && t >= L->T) return tp_fail(TP_ERR_CORRUPT, "tokdct: kept bitmap padding is not zero");
                if (bit) keep[i * L->T + t] = 1;
                cnt += (uint64_t)bit;
            }
            if (cnt != L->k)
                return tp_fail(TP_ERR_CORRUPT, "tokdct: kept bitmap holds %llu tokens, not prune=%llu", (unsigned long long)cnt,
                               (unsigned long long)L->k);
        }
        *off = TOK_HEADER + (size_t)(L->N * bm);
        return 0;
    }
    size_t pb = legacy_pos_bytes(L), start = scale_bytes(L);
    if (n <= start + L->N * L->k * pb) return tp_fail(TP_ERR_CORRUPT, "tokdct payload of %zu bytes is too short", n);
    for (uint64_t i = 0; i < L->N; i++) {
        uint64_t prev = 0;
        for (uint64_t j = 0; j < L->k; j++) {
            const uint8_t *q = s + start + (i * L->k + j) * pb;
            uint64_t t = pb == 2 ? tp_get_u16(q) : tp_get_u32(q);
            if (t >= L->T || (j && t <= prev)) return tp_fail(TP_ERR_CORRUPT, "tokdct: kept token positions are not ascending and in range");
            keep[i * L->T + t] = 1;
            prev = t;
        }
    }
    *off = start + (size_t)(L->N * L->k * pb);
    return 0;
}

static size_t stage_layout(const tp_params *p, const uint8_t *s, size_t n, const tp_tensor *dst_desc, tok_layout *L)
{
    int version;
    TP_TRY(payload_version(s, n, &version));
    size_t r = make_layout(p, dst_desc, version, L);
    if (tp_is_error(r)) return tp_fail(TP_ERR_CORRUPT, "tokdct stage: %s", tp_last_error_detail());
    return 0;
}

/* Reads the mode byte at s[at] (0 or 1). */
static size_t read_mode(const uint8_t *s, size_t n, size_t at, int *mode)
{
    if (at >= n) return tp_fail(TP_ERR_CORRUPT, "tokdct payload of %zu bytes is too short", n);
    if (s[at] > 1) return tp_fail(TP_ERR_CORRUPT, "tokdct: bad code mode %u", s[at]);
    *mode = s[at];
    return 0;
}

/* Scales into w->sc (version 1: raw or rANS planes, from *off on; legacy:
 * raw at the start of the payload). */
static size_t read_scales(const tok_layout *L, const uint8_t *s, size_t n, size_t *off, tok_work *w)
{
    size_t nb = scale_bytes(L);
    if (!L->version) {
        memcpy(w->sc, s, nb);
        return 0;
    }
    if (s[2] == 0) {
        if (n - *off < nb) return tp_fail(TP_ERR_CORRUPT, "tokdct: scales truncated");
        memcpy(w->sc, s + *off, nb);
        *off += nb;
        return 0;
    }
    size_t np[3] = {nb / 2, nb / 2, 0};
    uint8_t *planes[3] = {w->planes, w->planes + np[0], NULL};
    TP_TRY(read_streams(s, n, off, planes, np, 2));
    raw_scales(L, planes, np, w->sc);
    return 0;
}

static size_t read_codes(const tok_layout *L, const uint8_t *s, size_t n, size_t off, int mode, const size_t ncode[3],
                         tok_work *w)
{
    if (mode == 0) {
        uint64_t need = packed_bytes(L, ncode);
        if (n - off != need) return tp_fail(TP_ERR_CORRUPT, "tokdct payload is %zu bytes, expected %llu", n, (unsigned long long)(off + need));
        uint64_t bit = 0;
        for (int b = 0; b < 3; b++)
            for (size_t i = 0; i < ncode[b]; i++, bit += (uint64_t)L->bits[b])
                w->codes[b][i] = (uint8_t)tp_bits_read(s + off, (size_t)need, bit, (unsigned)L->bits[b]);
        return 0;
    }
    size_t streams[3];
    for (int b = 0; b < 3; b++) streams[b] = L->bits[b] ? ncode[b] : 0;
    TP_TRY(read_streams(s, n, &off, w->codes, streams, 3));
    if (off != n) return tp_fail(TP_ERR_CORRUPT, "tokdct: trailing bytes after the code streams");
    return 0;
}

/* Legacy payloads transform the full grid and zero the pruned tokens after. */
static size_t decode_items(const tok_layout *L, tok_work *w, const uint8_t *tmask, float *out)
{
    size_t ci[3] = {0, 0, 0};
    uint64_t per = L->T * L->C;
    for (uint64_t i = 0; i < L->N; i++) {
        const uint8_t *keep = w->keep + i * L->T, *tm = tmask ? tmask : keep;
        float *o = out + i * per;
        tp_grid_dct_shape(&w->g, tm);
        band_map(L, &w->g, w->bmap);
        TP_TRY(dequantize_item(L, w->sc + i * L->C * 6, w->bmap, w->codes, ci, w->y));
        memset(o, 0, (size_t)per * sizeof(float));
        tp_grid_dct_inv(&w->g, tm, w->y, o);
        for (uint64_t t = 0; t < L->T && tmask; t++)
            if (!keep[t]) memset(o + t * L->C, 0, (size_t)L->C * sizeof(float));
    }
    return 0;
}

static size_t tokdct_decode(const tp_params *p, const void *src, size_t n_bytes, const tp_tensor *src_desc,
                            const tp_tensor *dst_desc, void *dst)
{
    (void)src_desc;
    const uint8_t *s = src;
    tok_layout L;
    TP_TRY(stage_layout(p, s, n_bytes, dst_desc, &L));
    if (L.version && n_bytes < TOK_HEADER) return tp_fail(TP_ERR_CORRUPT, "tokdct payload of %zu bytes is too short", n_bytes);
    if (!L.version && n_bytes <= scale_bytes(&L)) return tp_fail(TP_ERR_CORRUPT, "tokdct payload of %zu bytes is too short", n_bytes);
    tok_work w;
    TP_TRY(work_alloc(&L, &w));
    uint8_t *full = L.version ? NULL : malloc((size_t)L.T + 1);
    size_t off, r, ncode[3];
    int mode = 0;
    if (!L.version && !full) { r = tp_fail(TP_ERR_NOMEM, "tokdct: work buffers"); goto done; }
    if (full) memset(full, 1, (size_t)L.T);
    r = read_masks(&L, s, n_bytes, w.keep, &off);
    if (tp_is_error(r)) goto done;
    if (L.version && (s[2] > 1 || s[3] > 1)) { r = tp_fail(TP_ERR_CORRUPT, "tokdct: bad section mode"); goto done; }
    r = read_scales(&L, s, n_bytes, &off, &w);
    if (tp_is_error(r)) goto done;
    if (L.version) mode = s[3];
    else if (tp_is_error(r = read_mode(s, n_bytes, off++, &mode))) goto done;
    count_codes(&L, &w, full, ncode);
    r = codes_alloc(&L, ncode, 0, &w);
    if (tp_is_error(r)) goto done;
    r = read_codes(&L, s, n_bytes, off, mode, ncode, &w);
    if (tp_is_error(r)) goto done;
    r = decode_items(&L, &w, full, dst);
    if (!tp_is_error(r)) r = tp_tensor_nbytes(dst_desc);
done:
    free(full);
    work_free(&w);
    return r;
}

static size_t tokdct_kept(const tp_params *p, const void *payload, size_t n, const tp_tensor *dst_desc, uint32_t *pos,
                          size_t cap)
{
    tok_layout L;
    TP_TRY(stage_layout(p, payload, n, dst_desc, &L));
    if (!L.k) return tp_fail(TP_ERR_NOT_FOUND, "tokdct stage did not prune tokens (prune=0)");
    size_t total = (size_t)(L.N * L.k), off;
    uint8_t *keep = malloc((size_t)(L.N * L.T) + 1);
    if (!keep) return tp_fail(TP_ERR_NOMEM, "tokdct: masks");
    size_t r = read_masks(&L, payload, n, keep, &off);
    if (!tp_is_error(r) && cap < total) r = tp_fail(TP_ERR_DST_TOO_SMALL, "%zu positions, room for %zu", total, cap);
    if (!tp_is_error(r)) {
        size_t j = 0;
        for (uint64_t i = 0; i < L.N * L.T; i++)
            if (keep[i]) pos[j++] = (uint32_t)(i % L.T);
        r = total;
    }
    free(keep);
    return r;
}

const tp_codec tp_codec_tokdct = {
    .info = {.id = TP_CODEC_ID_tokdct, .name = "tokdct", .flags = TP_CODEC_LOSSY | TP_CODEC_FLOAT_IN,
             .summary = "token-grid DCT per channel, one quantizer step or band bits, pruned tokens left out",
             .n_params = N_PARAMS, .params = tokdct_params},
    .validate = tokdct_validate, .bound = tokdct_bound, .encode = tokdct_encode, .decode = tokdct_decode,
    .kept = tokdct_kept,
};
