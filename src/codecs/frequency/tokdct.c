/* tokdct: visual tokens [..., T, C] with T = H x W laid out on a grid (seed
 * 004, Method 2). Per leading index and channel, the H x W grid of values
 * gets an orthonormal 2-D DCT-II; coefficient (u,v) falls in band
 *   low  if u+v <  lo_edge,  mid if lo_edge <= u+v <= hi_edge,  high otherwise
 * (defaults 4 and 8: the seed's "low < 4, mid 4-8, high > 8"). Each band of
 * each channel is quantized with its own f16 scale and the band's bits
 * (profile mild 8/4/2, aggressive 8/4/0, extreme 8/3/0; low=/mid=/high=
 * override): b >= 2 bits is symmetric uniform with levels -(2^(b-1)-1) ..
 * 2^(b-1)-1 and scale max|c| / (2^(b-1)-1); b = 1 stores the sign with
 * scale mean|c|; b = 0 drops the band. Codes are bit-packed.
 *
 * step=f replaces the per-band max scaling by one uniform step f x RMS of
 * the item in every band (8 bits per band by default), so that the rANS
 * coder, not a fixed bit count, spends the bits where the variance is.
 *
 * prune=k keeps the k tokens of largest energy sum_c x[t,c]^2 (ties: lower
 * index); their positions are stored (ascending) and decode returns zeros
 * for the other T-k tokens. Pruning shrinks what a consumer keeps (the KV
 * cache), not the stored bytes: the coefficients still describe the full
 * grid. tp_frame_kept_positions() returns the positions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codec.h"
#include "core/bytes.h"
#include "core/half.h"
#include "core/rans.h"

enum { P_GRID, P_GW, P_PROFILE, P_LOW, P_MID, P_HIGH, P_LO_EDGE, P_HI_EDGE, P_PRUNE, P_STEP, N_PARAMS };
static const char *const profile_names[] = {"mild", "aggressive", "extreme", NULL};
static const int profile_bits[3][3] = {{8, 4, 2}, {8, 4, 0}, {8, 3, 0}};

static const tp_param_def tokdct_params[N_PARAMS] = {
    [P_GRID] = {"grid", TP_PARAM_INT, 12, 0, 65535, NULL, "grid height H (tokens = H x W); 0: square grid from the token count"},
    [P_GW] = {"gw", TP_PARAM_INT, 0, 0, 65535, NULL, "grid width W (0: same as grid)"},
    [P_PROFILE] = {"profile", TP_PARAM_ENUM, 1, 0, 2, profile_names, "band bits low/mid/high: mild 8/4/2, aggressive 8/4/0, extreme 8/3/0"},
    [P_LOW] = {"low", TP_PARAM_INT, -1, -1, 8, NULL, "bits of the low band (-1: from profile)"},
    [P_MID] = {"mid", TP_PARAM_INT, -1, -1, 8, NULL, "bits of the mid band (-1: from profile)"},
    [P_HIGH] = {"high", TP_PARAM_INT, -1, -1, 8, NULL, "bits of the high band (-1: from profile)"},
    [P_LO_EDGE] = {"lo_edge", TP_PARAM_INT, 4, 0, 131070, NULL, "u+v below this is the low band"},
    [P_HI_EDGE] = {"hi_edge", TP_PARAM_INT, 8, 0, 131070, NULL, "u+v above this is the high band"},
    [P_PRUNE] = {"prune", TP_PARAM_INT, 0, 0, 1 << 30, NULL, "keep only the k tokens of largest energy (0: all)"},
    [P_STEP] = {"step", TP_PARAM_FLOAT, 0.0, 0.0, 1e6, NULL,
                "one quantizer step for every band, times the item's RMS (bands default to 8 bits); 0: per-band max scaling"},
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
    uint64_t nband[3];
    size_t pos_bytes;        /* 2 or 4 per position */
    size_t scales_off, pos_off, codes_off, payload; /* payload: the packed (largest) form */
    uint64_t bits_per_channel;
    int lo, hi;
} tok_layout;

static int band_of(const tok_layout *L, uint64_t u, uint64_t v)
{
    uint64_t d = u + v;
    return d < (uint64_t)L->lo ? 0 : d <= (uint64_t)L->hi ? 1 : 2;
}

static size_t make_layout(const tp_params *p, const tp_tensor *t, tok_layout *L)
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
    int prof = tp_param_int(p, P_PROFILE);
    for (int b = 0; b < 3; b++) {
        int v = tp_param_int(p, P_LOW + b);
        L->bits[b] = v >= 0 ? v : p->v[P_STEP] > 0 ? 8 : profile_bits[prof][b];
    }
    L->lo = tp_param_int(p, P_LO_EDGE);
    L->hi = tp_param_int(p, P_HI_EDGE);
    for (uint64_t u = 0; u < H; u++)
        for (uint64_t v = 0; v < W; v++) L->nband[band_of(L, u, v)]++;
    L->k = (uint64_t)tp_param_int(p, P_PRUNE);
    if (L->k > L->T) return tp_fail(TP_ERR_PARAM, "tokdct: prune=%llu but there are only %llu tokens", (unsigned long long)L->k, (unsigned long long)L->T);
    L->pos_bytes = L->T <= 65536 ? 2 : 4;
    for (int b = 0; b < 3; b++) L->bits_per_channel += L->nband[b] * (uint64_t)L->bits[b];
    L->scales_off = 0;
    L->pos_off = (size_t)(L->N * L->C * 3 * 2);
    L->codes_off = L->pos_off + (size_t)(L->N * L->k * L->pos_bytes);
    L->payload = L->codes_off + 1 + (size_t)((L->N * L->C * L->bits_per_channel + 7) / 8);
    return 0;
}

static float *dct_matrix(uint64_t n)
{
    float *m = malloc((size_t)(n * n) * sizeof(float) + 1);
    if (!m) return NULL;
    for (uint64_t u = 0; u < n; u++) {
        double a = u ? sqrt(2.0 / (double)n) : sqrt(1.0 / (double)n);
        for (uint64_t i = 0; i < n; i++) m[u * n + i] = (float)(a * cos(M_PI * (double)(2 * i + 1) * (double)u / (2.0 * (double)n)));
    }
    return m;
}

/* Grid DCT of one item: x[T][C] -> y[T][C] (y index u*W+v), or inverse.
 * tmp holds T*C floats. */
static void grid_dct(const tok_layout *L, const float *CH, const float *CW, const float *x, float *y, float *tmp, int inverse)
{
    uint64_t H = L->H, W = L->W, C = L->C;
    memset(tmp, 0, (size_t)(H * W * C) * sizeof(float));
    memset(y, 0, (size_t)(H * W * C) * sizeof(float));
    for (uint64_t h = 0; h < H; h++) /* along W */
        for (uint64_t v = 0; v < W; v++) {
            float *o = tmp + (h * W + v) * C;
            for (uint64_t w = 0; w < W; w++) {
                float c = inverse ? CW[w * W + v] : CW[v * W + w];
                const float *in = x + (h * W + w) * C;
                for (uint64_t ch = 0; ch < C; ch++) o[ch] += c * in[ch];
            }
        }
    for (uint64_t u = 0; u < H; u++) /* along H */
        for (uint64_t h = 0; h < H; h++) {
            float c = inverse ? CH[h * H + u] : CH[u * H + h];
            for (uint64_t v = 0; v < W; v++) {
                float *o = y + (u * W + v) * C;
                const float *in = tmp + (h * W + v) * C;
                for (uint64_t ch = 0; ch < C; ch++) o[ch] += c * in[ch];
            }
        }
}

static size_t tokdct_bound(const tp_params *p, const tp_tensor *in, tp_tensor *out)
{
    tok_layout L;
    TP_TRY(make_layout(p, in, &L));
    tp_desc_bytes(out, L.payload);
    return L.payload;
}

typedef struct { uint64_t t; double e; } tok_energy;

static int by_energy(const void *a, const void *b)
{
    const tok_energy *x = a, *y = b;
    if (x->e != y->e) return x->e < y->e ? 1 : -1;
    return x->t < y->t ? -1 : x->t > y->t;
}

static int by_index(const void *a, const void *b)
{
    const tok_energy *x = a, *y = b;
    return x->t < y->t ? -1 : x->t > y->t;
}

static size_t tokdct_encode(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    tok_layout L;
    TP_TRY(make_layout(p, in, &L));
    if (cap < L.payload) return tp_fail(TP_ERR_DST_TOO_SMALL, "tokdct needs %zu bytes", L.payload);
    const float *x = in->data;
    uint64_t per = L.T * L.C;
    for (uint64_t i = 0; i < per * L.N; i++)
        if (!isfinite(x[i]))
            return tp_fail(TP_ERR_NONFINITE, "tokdct: value %llu is %s", (unsigned long long)i, isnan(x[i]) ? "NaN" : "Inf");
    uint8_t *d = dst;
    memset(d, 0, L.payload);
    float *CH = dct_matrix(L.H), *CW = dct_matrix(L.W);
    float *y = malloc((size_t)per * sizeof(float) + 1), *tmp = malloc((size_t)per * sizeof(float) + 1);
    tok_energy *te = malloc((size_t)L.T * sizeof *te + 1);
    uint8_t *codes[3] = {NULL, NULL, NULL}, *packed = NULL;
    size_t ncode[3] = {0, 0, 0}, r = 0;
    int ok = CH && CW && y && tmp && te;
    for (int b = 0; b < 3 && ok; b++) ok = (codes[b] = malloc((size_t)(L.N * L.C * L.nband[b]) + 1)) != NULL;
    if (!ok) { r = tp_fail(TP_ERR_NOMEM, "tokdct: work buffers"); goto done; }
    for (uint64_t n = 0; n < L.N; n++) {
        const float *xi = x + n * per;
        grid_dct(&L, CH, CW, xi, y, tmp, 0);
        /* step=: the same step in every band (an orthonormal transform
         * turns it into the same error per coefficient, the MSE-optimal
         * split of bits at high rate: reverse water-filling, bands below
         * the step quantize to zero); a band scale only grows where the
         * step would clip its largest coefficient. */
        double ss = 0;
        for (uint64_t i = 0; i < per; i++) ss += (double)xi[i] * xi[i];
        double step = p->v[P_STEP] * sqrt(per ? ss / (double)per : 0.0);
        for (uint64_t c = 0; c < L.C; c++) {
            for (int b = 0; b < 3; b++) {
                int bits = L.bits[b];
                double mx = 0, sum = 0;
                for (uint64_t u = 0; u < L.H; u++)
                    for (uint64_t v = 0; v < L.W; v++)
                        if (band_of(&L, u, v) == b) {
                            double a = fabs(y[(u * L.W + v) * L.C + c]);
                            if (a > mx) mx = a;
                            sum += a;
                        }
                int qmax = bits >= 2 ? (1 << (bits - 1)) - 1 : 0;
                float s = bits == 0 ? 0.0f : bits == 1 ? (float)(L.nband[b] ? sum / (double)L.nband[b] : 0) : (float)(mx / qmax);
                if (bits >= 2 && step > s) s = (float)step;
                uint16_t hs = tp_half_from_float(s);
                s = tp_half_to_float(hs);
                if (!isfinite(s)) { r = tp_fail(TP_ERR_PARAM, "tokdct: band scale %g overflows f16", mx); goto done; }
                tp_put_u16(d + L.scales_off + ((n * L.C + c) * 3 + (uint64_t)b) * 2, hs);
                if (!bits) continue;
                float inv = s > 0 ? 1.0f / s : 0.0f;
                for (uint64_t u = 0; u < L.H; u++)
                    for (uint64_t v = 0; v < L.W; v++) {
                        if (band_of(&L, u, v) != b) continue;
                        float cf = y[(u * L.W + v) * L.C + c];
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
        }
        if (L.k) {
            for (uint64_t t = 0; t < L.T; t++) {
                double e = 0;
                for (uint64_t c = 0; c < L.C; c++) e += (double)xi[t * L.C + c] * xi[t * L.C + c];
                te[t].t = t;
                te[t].e = e;
            }
            qsort(te, (size_t)L.T, sizeof *te, by_energy);
            qsort(te, (size_t)L.k, sizeof *te, by_index);
            uint8_t *pp = d + L.pos_off + n * L.k * L.pos_bytes;
            for (uint64_t i = 0; i < L.k; i++) {
                if (L.pos_bytes == 2) tp_put_u16(pp + 2 * i, (uint16_t)te[i].t);
                else tp_put_u32(pp + 4 * i, (uint32_t)te[i].t);
            }
        }
    }
    /* codes: rANS per band (mode 1) when smaller, else packed bits (mode 0) */
    size_t packed_bytes = L.payload - L.codes_off - 1, coded = 0;
    size_t room = packed_bytes + 16;
    for (int b = 0; b < 3; b++) room += tp_rans_bytes_bound(ncode[b]);
    packed = malloc(room);
    if (!packed) { r = tp_fail(TP_ERR_NOMEM, "tokdct: code buffer"); goto done; }
    for (int b = 0; b < 3 && coded <= packed_bytes; b++) {
        if (!L.bits[b] || !ncode[b]) continue;
        size_t k = tp_rans_compress(codes[b], ncode[b], packed + coded + 4, tp_rans_bytes_bound(ncode[b]));
        if (tp_is_error(k)) { r = k; goto done; }
        tp_put_u32(packed + coded, (uint32_t)k);
        coded += 4 + k;
    }
    size_t total;
    if (coded < packed_bytes) {
        d[L.codes_off] = 1;
        memcpy(d + L.codes_off + 1, packed, coded);
        total = L.codes_off + 1 + coded;
    } else {
        d[L.codes_off] = 0;
        uint64_t bit = 0;
        for (int b = 0; b < 3; b++)
            for (size_t i = 0; i < ncode[b]; i++)
                for (int j = 0; j < L.bits[b]; j++, bit++) /* LSB first, any bit width */
                    if ((codes[b][i] >> j) & 1) d[L.codes_off + 1 + bit / 8] |= (uint8_t)(1u << (bit % 8));
        total = L.payload;
    }
    tp_desc_bytes(out, total);
    r = total;
done:
    free(CH); free(CW); free(y); free(tmp); free(te); free(packed);
    for (int b = 0; b < 3; b++) free(codes[b]);
    return r;
}

static uint64_t get_pos(const tok_layout *L, const uint8_t *s, uint64_t n, uint64_t i)
{
    const uint8_t *pp = s + L->pos_off + (n * L->k + i) * L->pos_bytes;
    return L->pos_bytes == 2 ? tp_get_u16(pp) : tp_get_u32(pp);
}

static size_t check_positions(const tok_layout *L, const uint8_t *s)
{
    for (uint64_t n = 0; n < L->N; n++)
        for (uint64_t i = 0; i < L->k; i++) {
            uint64_t t = get_pos(L, s, n, i);
            if (t >= L->T || (i && t <= get_pos(L, s, n, i - 1)))
                return tp_fail(TP_ERR_CORRUPT, "tokdct: kept token positions are not ascending and in range");
        }
    return 0;
}

static size_t tokdct_decode(const tp_params *p, const void *src, size_t n_bytes, const tp_tensor *src_desc,
                            const tp_tensor *dst_desc, void *dst)
{
    tok_layout L;
    size_t r = make_layout(p, dst_desc, &L);
    if (tp_is_error(r)) return tp_fail(TP_ERR_CORRUPT, "tokdct stage: %s", tp_last_error_detail());
    if (n_bytes <= L.codes_off) return tp_fail(TP_ERR_CORRUPT, "tokdct payload of %zu bytes is too short", n_bytes);
    const uint8_t *s = src;
    if (s[L.codes_off] > 1) return tp_fail(TP_ERR_CORRUPT, "tokdct: bad code mode %u", s[L.codes_off]);
    if (s[L.codes_off] == 0 && n_bytes != L.payload)
        return tp_fail(TP_ERR_CORRUPT, "tokdct payload is %zu bytes, expected %zu", n_bytes, L.payload);
    TP_TRY(check_positions(&L, s));
    uint64_t per = L.T * L.C;
    float *out = dst;
    float *CH = dct_matrix(L.H), *CW = dct_matrix(L.W);
    float *y = malloc((size_t)per * sizeof(float) + 1), *tmp = malloc((size_t)per * sizeof(float) + 1);
    uint8_t *keep = malloc((size_t)L.T + 1);
    uint8_t *codes[3] = {NULL, NULL, NULL};
    size_t ci[3] = {0, 0, 0};
    int ok = CH && CW && y && tmp && keep;
    for (int b = 0; b < 3 && ok; b++) ok = (codes[b] = malloc((size_t)(L.N * L.C * L.nband[b]) + 1)) != NULL;
    if (!ok) { r = tp_fail(TP_ERR_NOMEM, "tokdct: work buffers"); goto done; }
    if (s[L.codes_off] == 0) {
        uint64_t bit = 0;
        const uint8_t *q = s + L.codes_off + 1;
        for (int b = 0; b < 3; b++)
            for (size_t i = 0; i < (size_t)(L.N * L.C * L.nband[b]); i++) {
                unsigned code = 0;
                for (int j = 0; j < L.bits[b]; j++, bit++) code |= (unsigned)((q[bit / 8] >> (bit % 8)) & 1) << j;
                codes[b][i] = (uint8_t)code;
            }
    } else {
        size_t off = L.codes_off + 1;
        for (int b = 0; b < 3; b++) {
            size_t cnt = (size_t)(L.N * L.C * L.nband[b]);
            if (!L.bits[b] || !cnt) continue;
            if (n_bytes - off < 4) { r = tp_fail(TP_ERR_CORRUPT, "tokdct: code streams truncated"); goto done; }
            size_t len = tp_get_u32(s + off);
            off += 4;
            if (len > n_bytes - off) { r = tp_fail(TP_ERR_CORRUPT, "tokdct: code stream exceeds the payload"); goto done; }
            size_t e = tp_rans_decompress(s + off, len, codes[b], cnt);
            if (tp_is_error(e)) { r = tp_fail(TP_ERR_CORRUPT, "tokdct: %s", tp_last_error_detail()); goto done; }
            off += len;
        }
        if (off != n_bytes) { r = tp_fail(TP_ERR_CORRUPT, "tokdct: trailing bytes after the code streams"); goto done; }
    }
    for (uint64_t n = 0; n < L.N; n++) {
        for (uint64_t c = 0; c < L.C; c++)
            for (int b = 0; b < 3; b++) {
                int bits = L.bits[b];
                float s_ = tp_half_to_float(tp_get_u16(s + L.scales_off + ((n * L.C + c) * 3 + (uint64_t)b) * 2));
                if (!isfinite(s_) || s_ < 0) { r = tp_fail(TP_ERR_CORRUPT, "tokdct: bad band scale"); goto done; }
                int qmax = bits >= 2 ? (1 << (bits - 1)) - 1 : 0;
                for (uint64_t u = 0; u < L.H; u++)
                    for (uint64_t v = 0; v < L.W; v++) {
                        if (band_of(&L, u, v) != b) continue;
                        float val = 0;
                        if (bits) {
                            unsigned code = codes[b][ci[b]++];
                            if (bits == 1) val = code ? s_ : -s_;
                            else {
                                if (code > 2u * (unsigned)qmax) { r = tp_fail(TP_ERR_CORRUPT, "tokdct: code %u out of range", code); goto done; }
                                val = (float)((int)code - qmax) * s_;
                            }
                        }
                        y[(u * L.W + v) * L.C + c] = val;
                    }
            }
        float *o = out + n * per;
        grid_dct(&L, CH, CW, y, o, tmp, 1);
        if (L.k) {
            memset(keep, 0, (size_t)L.T);
            for (uint64_t i = 0; i < L.k; i++) keep[get_pos(&L, s, n, i)] = 1;
            for (uint64_t t = 0; t < L.T; t++)
                if (!keep[t]) memset(o + t * L.C, 0, (size_t)L.C * sizeof(float));
        }
    }
    r = (size_t)(per * L.N * sizeof(float));
done:
    free(CH); free(CW); free(y); free(tmp); free(keep);
    for (int b = 0; b < 3; b++) free(codes[b]);
    return r;
}

static size_t tokdct_kept(const tp_params *p, const void *payload, size_t n, const tp_tensor *dst_desc, uint32_t *pos,
                          size_t cap)
{
    tok_layout L;
    size_t r = make_layout(p, dst_desc, &L);
    if (tp_is_error(r)) return tp_fail(TP_ERR_CORRUPT, "tokdct stage: %s", tp_last_error_detail());
    if (n <= L.codes_off) return tp_fail(TP_ERR_CORRUPT, "tokdct payload of %zu bytes is too short", n);
    if (!L.k) return tp_fail(TP_ERR_NOT_FOUND, "tokdct stage did not prune tokens (prune=0)");
    TP_TRY(check_positions(&L, payload));
    size_t total = (size_t)(L.N * L.k);
    if (cap < total) return tp_fail(TP_ERR_DST_TOO_SMALL, "%zu positions, room for %zu", total, cap);
    for (uint64_t b = 0; b < L.N; b++)
        for (uint64_t i = 0; i < L.k; i++) pos[b * L.k + i] = (uint32_t)get_pos(&L, payload, b, i);
    return total;
}

const tp_codec tp_codec_tokdct = {
    .info = {.id = TP_CODEC_ID_tokdct, .name = "tokdct", .flags = TP_CODEC_LOSSY | TP_CODEC_FLOAT_IN,
             .summary = "token-grid DCT per channel, band bits 8/4/0 etc., energy pruning of tokens",
             .n_params = N_PARAMS, .params = tokdct_params},
    .validate = tokdct_validate, .bound = tokdct_bound, .encode = tokdct_encode, .decode = tokdct_decode,
    .kept = tokdct_kept,
};
