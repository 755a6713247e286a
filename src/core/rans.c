/* Static-model interleaved rANS: model choice and serialisation, scalar
 * encoder, scalar reference decoder and dispatch to the AVX2 kernel. */
#include "core/rans.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/error.h"

/* ---- model ------------------------------------------------------------ */

static void normalize(const uint32_t *cnt, uint16_t *freq)
{
    uint64_t total = 0;
    for (int s = 0; s < 256; s++) total += cnt[s];
    memset(freq, 0, 256 * sizeof *freq);
    if (!total) { freq[0] = TP_RANS_M - 1; freq[1] = 1; return; }
    uint32_t sum = 0;
    int maxs = 0;
    for (int s = 0; s < 256; s++) {
        if (!cnt[s]) continue;
        uint64_t f = (cnt[s] * (uint64_t)TP_RANS_M + total / 2) / total;
        if (f == 0) f = 1;
        freq[s] = (uint16_t)f;
        sum += (uint32_t)f;
        if (cnt[s] > cnt[maxs]) maxs = s;
    }
    int d = (int)TP_RANS_M - (int)sum;
    if ((int)freq[maxs] + d >= 1 && (int)freq[maxs] + d <= (int)TP_RANS_M) {
        freq[maxs] = (uint16_t)(freq[maxs] + d);
    } else {
        while (sum > TP_RANS_M) { /* take from the largest until it fits */
            int b = 0;
            for (int s = 1; s < 256; s++) if (freq[s] > freq[b]) b = s;
            freq[b]--, sum--;
        }
        while (sum < TP_RANS_M) freq[maxs]++, sum++;
    }
    if (freq[maxs] == TP_RANS_M) { /* one symbol: frequencies must stay below M */
        freq[maxs] = TP_RANS_M - 1;
        freq[maxs ^ 1] = 1;
    }
}

/* Ideal code length in bits of counts cnt (sum n), nonzero only in lo..hi. */
static double cost_bits_r(const uint32_t *cnt, int lo, int hi, uint64_t n)
{
    if (!n) return 0;
    double s = 0;
    for (int i = lo; i <= hi; i++) if (cnt[i]) s += cnt[i] * log2((double)cnt[i]);
    return n * log2((double)n) - s;
}

static double cost_bits(const uint32_t *cnt, uint64_t n) { return cost_bits_r(cnt, 0, 255, n); }

static size_t table_bytes(const uint32_t *cnt)
{
    int lo = 0, hi = 255;
    while (lo < 255 && !cnt[lo]) lo++;
    while (hi > 0 && !cnt[hi]) hi--;
    return hi >= lo ? 2 + (size_t)(hi - lo + 1) * 5 / 4 : 2;
}

#define NB 8 /* buckets of the previous symbol around the mode */

size_t tp_rans_model_build(const uint8_t *sym, size_t n, int allow_ctx, tp_rans_model *m)
{
    uint32_t h[NB * 4][256]; /* [bucket*4 + sub][symbol]; 32 KiB of stack, no allocation per plane */
    uint32_t c0[256] = {0};
    memset(m, 0, sizeof *m);
    m->nctx = 1;
    for (int k = 0; k < TP_RANS_MAX_CTX - 1; k++) m->thr[k] = 256;
    size_t i = 0;
    if (!allow_ctx && n >= 65536) {
        /* quick exit for near-uniform planes: entropy of every 8th symbol
         * (biased low, so this never rejects a compressible plane) */
        memset(h[0], 0, sizeof h[0]);
        for (i = 0; i < n; i += 8) h[0][sym[i]]++;
        double est = cost_bits(h[0], (n + 7) / 8) * 8 / 8;
        if (est >= 0.995 * n) return n + 1;
    }
    memset(h, 0, 8 * sizeof h[0]);
    /* order-0 counts, 8 sub-histograms: skewed planes (exponents) repeat a
     * few symbols, and counters shared by nearby bytes would serialise on
     * store-to-load forwarding */
    size_t i8 = n & ~(size_t)7;
    for (i = 0; i < i8; i += 8) {
        uint64_t w;
        memcpy(&w, sym + i, 8);
        h[0][w & 0xff]++; h[1][(w >> 8) & 0xff]++; h[2][(w >> 16) & 0xff]++; h[3][(w >> 24) & 0xff]++;
        h[4][(w >> 32) & 0xff]++; h[5][(w >> 40) & 0xff]++; h[6][(w >> 48) & 0xff]++; h[7][w >> 56]++;
    }
    for (; i < n; i++) h[0][sym[i]]++;
    for (int s = 0; s < 256; s++)
        c0[s] = h[0][s] + h[1][s] + h[2][s] + h[3][s] + h[4][s] + h[5][s] + h[6][s] + h[7][s];
    memcpy(m->count0, c0, sizeof c0);
    int mode = 0;
    for (int s = 1; s < 256; s++) if (c0[s] > c0[mode]) mode = s;
    double best = cost_bits(c0, n) / 8 + table_bytes(c0);
    size_t est_stream = 80;
    if (allow_ctx && n >= 4096 && best < 0.99 * n) {
        /* joint counts of (bucket of symbol i-32, symbol i); first on every
         * 8th group of 32 symbols, then in full only if contexts look
         * worth it there (the sampled estimate is biased towards them) */
        /* the loops below only visit the plane's symbol range lo..hi */
        int lo = 0, hi = 255;
        while (!c0[lo]) lo++;
        while (!c0[hi]) hi--;
        uint8_t bucket[256];
        for (int s = 0; s < 256; s++) {
            int b = s - mode + NB / 2;
            bucket[s] = (uint8_t)(b < 0 ? 0 : b >= NB ? NB - 1 : b);
        }
        static const int8_t cand[][3] = {{4, -1, -1}, {3, -1, -1}, {5, -1, -1}, {3, 4, -1}, {4, 5, -1},
                                         {3, 5, -1}, {3, 4, 5}, {2, 4, 6}, {2, 3, 4}};
        int best_c = -1;
        uint32_t jb[NB][256] = {{0}};
        for (int pass = n >= 65536 ? 0 : 1; pass < 2 && (pass == 0 || best_c >= 0 || n < 65536); pass++) {
            size_t step = pass == 0 ? 8 : 1;
            double scale = (double)step;
            memset(h, 0, sizeof h);
            for (i = 0; i < TP_RANS_LANES && i < n; i++) h[bucket[0] * 4][sym[i]]++;
            for (size_t g = 1; g * TP_RANS_LANES < n; g += step) {
                size_t e = (g + 1) * TP_RANS_LANES < n ? (g + 1) * TP_RANS_LANES : n;
                for (i = g * TP_RANS_LANES; i < e; i++) h[bucket[sym[i - TP_RANS_LANES]] * 4 + (i & 3)][sym[i]]++;
            }
            uint32_t all[256] = {0};
            uint64_t tot_all = 0;
            for (int b = 0; b < NB; b++)
                for (int s = lo; s <= hi; s++) {
                    jb[b][s] = h[b * 4][s] + h[b * 4 + 1][s] + h[b * 4 + 2][s] + h[b * 4 + 3][s];
                    all[s] += jb[b][s];
                    tot_all += jb[b][s];
                }
            double base = cost_bits_r(all, lo, hi, tot_all) * scale / 8 + table_bytes(all);
            if (pass == 1) base = best;
            best_c = -1;
            double bc = base;
            for (size_t c = 0; c < sizeof cand / sizeof cand[0]; c++) {
                int t[4], nt = 0;
                for (int k = 0; k < 3 && cand[c][k] >= 0; k++) t[nt++] = cand[c][k];
                int ok = 1; /* thresholds in symbol space must be valid bytes */
                for (int k = 0; k < nt; k++) {
                    int ts = mode + t[k] - NB / 2;
                    if (ts < 1 || ts > 255) ok = 0;
                }
                if (!ok) continue;
                t[nt] = NB;
                double cost = 0;
                int b = 0;
                for (int k = 0; k <= nt; k++) {
                    uint32_t cc[256] = {0};
                    uint64_t tot = 0;
                    for (; b < t[k]; b++)
                        for (int s = lo; s <= hi; s++) cc[s] += jb[b][s];
                    for (int s = lo; s <= hi; s++) tot += cc[s];
                    cost += cost_bits_r(cc, lo, hi, tot) * scale / 8 + table_bytes(cc);
                }
                if (cost < bc * (pass == 0 ? 0.99 : 0.998)) { bc = cost; best_c = (int)c; }
            }
            if (pass == 1 && best_c >= 0) best = bc;
            if (n < 65536) break;
        }
        if (best_c >= 0) {
            int t[4], nt = 0;
            for (int k = 0; k < 3 && cand[best_c][k] >= 0; k++) t[nt++] = cand[best_c][k];
            m->nctx = nt + 1;
            for (int k = 0; k < nt; k++) m->thr[k] = (uint16_t)(mode + t[k] - NB / 2);
            t[nt] = NB;
            int b = 0;
            for (int k = 0; k <= nt; k++) {
                uint32_t cc[256] = {0};
                for (; b < t[k]; b++)
                    for (int s = lo; s <= hi; s++) cc[s] += jb[b][s];
                normalize(cc, m->freq[k]);
            }
            return (size_t)best + est_stream;
        }
    }
    normalize(c0, m->freq[0]);
    return (size_t)best + est_stream;
}

size_t tp_rans_model_size(const tp_rans_model *m)
{
    size_t n = 1 + (size_t)(m->nctx - 1);
    for (int c = 0; c < m->nctx; c++) {
        int lo = 0, hi = 255;
        while (!m->freq[c][lo]) lo++;
        while (!m->freq[c][hi]) hi--;
        n += 2;
        for (int s = lo; s <= hi; s++) n += m->freq[c][s] < 128 ? 1 : 2;
    }
    return n;
}

size_t tp_rans_model_write(const tp_rans_model *m, uint8_t *dst)
{
    uint8_t *p = dst;
    *p++ = (uint8_t)m->nctx;
    for (int k = 0; k < m->nctx - 1; k++) *p++ = (uint8_t)m->thr[k];
    for (int c = 0; c < m->nctx; c++) {
        int lo = 0, hi = 255;
        while (!m->freq[c][lo]) lo++;
        while (!m->freq[c][hi]) hi--;
        *p++ = (uint8_t)lo;
        *p++ = (uint8_t)hi;
        for (int s = lo; s <= hi; s++) {
            unsigned f = m->freq[c][s];
            if (f < 128) *p++ = (uint8_t)f;
            else { *p++ = (uint8_t)(0x80 | (f & 0x7f)); *p++ = (uint8_t)(f >> 7); }
        }
    }
    return (size_t)(p - dst);
}

size_t tp_rans_model_read(tp_reader *r, tp_rans_model *m)
{
    memset(m, 0, sizeof *m);
    int nctx = tp_read_u8(r);
    if (!r->ok) return tp_fail(TP_ERR_TRUNCATED, "rans model truncated");
    if (nctx < 1 || nctx > TP_RANS_MAX_CTX) return tp_fail(TP_ERR_CORRUPT, "rans model has %d contexts", nctx);
    m->nctx = nctx;
    for (int k = 0; k < TP_RANS_MAX_CTX - 1; k++) m->thr[k] = 256;
    for (int k = 0; k < nctx - 1; k++) {
        m->thr[k] = tp_read_u8(r);
        if (r->ok && (m->thr[k] == 0 || (k && m->thr[k] <= m->thr[k - 1])))
            return tp_fail(TP_ERR_CORRUPT, "rans context thresholds not increasing");
    }
    for (int c = 0; c < nctx; c++) {
        int lo = tp_read_u8(r), hi = tp_read_u8(r);
        if (!r->ok) return tp_fail(TP_ERR_TRUNCATED, "rans model truncated");
        if (lo > hi) return tp_fail(TP_ERR_CORRUPT, "rans model symbol range %d..%d", lo, hi);
        uint32_t sum = 0;
        for (int s = lo; s <= hi; s++) {
            unsigned f = tp_read_u8(r);
            if (f & 0x80) {
                unsigned g = tp_read_u8(r);
                if (g == 0 || g >= 32) return tp_fail(TP_ERR_CORRUPT, "rans frequency out of range");
                f = (f & 0x7f) | (g << 7);
            }
            if (!r->ok) return tp_fail(TP_ERR_TRUNCATED, "rans model truncated");
            if (f >= TP_RANS_M) return tp_fail(TP_ERR_CORRUPT, "rans frequency %u too large", f);
            m->freq[c][s] = (uint16_t)f;
            sum += f;
        }
        if (sum != TP_RANS_M) return tp_fail(TP_ERR_CORRUPT, "rans frequencies sum to %u, not %u", sum, TP_RANS_M);
    }
    return 0;
}

/* ---- encoder ---------------------------------------------------------- */

/* Reciprocal division (Alverson; exact for x < 2^31 as in ryg_rans):
 * q = x / f = (x * rcp) >> (32 + sh). Packed word: f (bits 0-11), bias
 * (bits 12-24: start, or start + M - 1 when f = 1), sh (bits 25-28). */
void tp_rans_etable_build(const tp_rans_model *m, tp_rans_etable *t)
{
    for (int c = 0; c < m->nctx; c++) {
        uint32_t start = 0;
        for (int s = 0; s < 256; s++) {
            uint32_t f = m->freq[c][s], i = (uint32_t)c * 256 + (uint32_t)s, rcp, pk;
            if (f < 2) { /* absent symbols get a valid f = 1 entry too */
                rcp = ~0u;
                pk = 1u | ((start + TP_RANS_M - 1) << 12);
            } else {
                uint32_t sh = 0;
                while (f > (1u << sh)) sh++;
                rcp = (uint32_t)(((1ull << (sh + 31)) + f - 1) / f);
                pk = f | (start << 12) | ((sh - 1) << 25);
            }
            t->e[i] = rcp | (uint64_t)pk << 32;
            start += f;
        }
    }
}

static inline int ctx_of(const uint16_t *thr, unsigned prev)
{
    return (prev >= thr[0]) + (prev >= thr[1]) + (prev >= thr[2]);
}

/* Scalar reference: symbols [lo, hi) backwards (hi - lo a multiple of 32
 * unless hi = n), states x, stream write cursors p (moving down). */
static void encode_range(const tp_rans_etable *t, const uint16_t *thr, int nctx, uint32_t *x, uint8_t **p,
                         const uint8_t *sym, size_t lo, size_t hi)
{
    for (size_t i = hi; i-- > lo;) {
        unsigned j = (unsigned)(i & (TP_RANS_LANES - 1));
        unsigned c = nctx > 1 ? (unsigned)ctx_of(thr, i >= TP_RANS_LANES ? sym[i - TP_RANS_LANES] : 0) : 0;
        uint64_t e = t->e[c * 256 + sym[i]];
        uint32_t k = (uint32_t)(e >> 32), r = (uint32_t)e;
        uint32_t f = k & 0xfff, v = x[j];
        uint32_t renorm = v >= f << (31 - TP_RANS_SCALE_BITS);
        uint8_t **pp = &p[j >> 3];
        tp_put_u16(*pp - 2, (uint16_t)v); /* branch-free: the cursor moves only on renorm */
        *pp -= 2 * renorm;
        v >>= 16 * renorm;
        uint32_t q = (uint32_t)(((uint64_t)v * r) >> (32 + (k >> 25)));
        x[j] = v + ((k >> 12) & 0x1fff) + q * (TP_RANS_M - f);
    }
}

static size_t encode_impl(const tp_rans_model *m, const uint8_t *sym, size_t n, uint8_t *dst, size_t cap,
                          tp_rans_etable *t, int simd)
{
    size_t need = tp_rans_stream_bound(n);
    if (cap < need) return tp_fail(TP_ERR_DST_TOO_SMALL, "rans stream needs %zu bytes", need);
    tp_rans_etable_build(m, t);
    /* Streams are written backwards, each ending at the end of its region
     * of dst (room for its words, its states and 16 bytes of slack below
     * them for the vector stores). */
    size_t region = (n / TP_RANS_STREAMS + 8) * 2 + 64;
    uint8_t *endp[TP_RANS_STREAMS], *p[TP_RANS_STREAMS];
    for (int k = 0; k < TP_RANS_STREAMS; k++) p[k] = endp[k] = dst + 12 + (size_t)(k + 1) * region;
    uint32_t x[TP_RANS_LANES];
    for (int j = 0; j < TP_RANS_LANES; j++) x[j] = TP_RANS_L;
    size_t full = n & ~(size_t)(TP_RANS_LANES - 1);
    encode_range(t, m->thr, m->nctx, x, p, sym, full, n);
#if defined(__x86_64__)
    if (simd && (tp_cpu_features() & TP_CPU_AVX2)) {
        tp_rans_encode_avx2(t, m->thr, m->nctx, x, p, sym, full);
        full = 0;
    }
#else
    (void)simd;
#endif
    encode_range(t, m->thr, m->nctx, x, p, sym, 0, full);
    /* states go in front of each stream, lane order; then pack the streams */
    size_t off = 12;
    for (int k = 0; k < TP_RANS_STREAMS; k++) {
        p[k] -= 32;
        for (int j = 0; j < 8; j++) tp_put_u32(p[k] + 4 * j, x[8 * k + j]);
        size_t len = (size_t)(endp[k] - p[k]);
        if (k < TP_RANS_STREAMS - 1) tp_put_u32(dst + 4 * k, (uint32_t)len);
        memmove(dst + off, p[k], len);
        off += len;
    }
    return off;
}

size_t tp_rans_encode_t(const tp_rans_model *m, const uint8_t *sym, size_t n, uint8_t *dst, size_t cap,
                        tp_rans_etable *t)
{
    return encode_impl(m, sym, n, dst, cap, t, 1);
}

size_t tp_rans_encode(const tp_rans_model *m, const uint8_t *sym, size_t n, uint8_t *dst, size_t cap)
{
    tp_rans_etable *t = malloc(sizeof *t);
    if (!t) return tp_fail(TP_ERR_NOMEM, "rans encoder tables");
    size_t r = encode_impl(m, sym, n, dst, cap, t, 1);
    free(t);
    return r;
}

size_t tp_rans_encode_scalar(const tp_rans_model *m, const uint8_t *sym, size_t n, uint8_t *dst, size_t cap)
{
    tp_rans_etable *t = malloc(sizeof *t);
    if (!t) return tp_fail(TP_ERR_NOMEM, "rans encoder tables");
    size_t r = encode_impl(m, sym, n, dst, cap, t, 0);
    free(t);
    return r;
}

/* ---- decoder ---------------------------------------------------------- */

void tp_rans_dtable_build(const tp_rans_model *m, tp_rans_dtable *t)
{
    for (int c = 0; c < m->nctx; c++) {
        uint32_t *e = t->e + (size_t)c * TP_RANS_M;
        uint32_t start = 0;
        for (int s = 0; s < 256; s++) {
            uint32_t f = m->freq[c][s];
            for (uint32_t k = 0; k < f; k++) e[start + k] = (uint32_t)s | (f << 8) | (k << 20);
            start += f;
        }
    }
}

/* Scalar decode of symbols [i0, n): states x and stream cursors. */
static size_t decode_tail(const tp_rans_dtable *t, const uint16_t *thr, int nctx, uint32_t *x, const uint8_t **pp,
                          const uint8_t *const *ends, uint8_t *sym, size_t i0, size_t n)
{
    for (size_t i = i0; i < n; i++) {
        unsigned j = (unsigned)(i & (TP_RANS_LANES - 1));
        int c = nctx > 1 ? ctx_of(thr, i >= TP_RANS_LANES ? sym[i - TP_RANS_LANES] : 0) : 0;
        uint32_t v = x[j];
        uint32_t e = t->e[(size_t)c * TP_RANS_M + (v & (TP_RANS_M - 1))];
        sym[i] = (uint8_t)e;
        v = ((e >> 8) & 0xfff) * (v >> TP_RANS_SCALE_BITS) + (e >> 20);
        if (v < TP_RANS_L) {
            int s = j >> 3;
            if (ends[s] - pp[s] < 2) return tp_fail(TP_ERR_CORRUPT, "rans stream ends early");
            v = (v << 16) | tp_get_u16(pp[s]);
            pp[s] += 2;
        }
        x[j] = v;
    }
    return 0;
}

static size_t decode_impl(const tp_rans_model *m, const tp_rans_dtable *t, const uint8_t *src, size_t len,
                          uint8_t *sym, size_t n, int level, const uint8_t *next)
{
    if (len < 12 + 32 * TP_RANS_STREAMS) return tp_fail(TP_ERR_CORRUPT, "rans stream of %zu bytes", len);
    const uint8_t *p[TP_RANS_STREAMS], *end[TP_RANS_STREAMS];
    size_t pos = 12;
    for (int k = 0; k < TP_RANS_STREAMS; k++) {
        size_t sl = k < TP_RANS_STREAMS - 1 ? tp_get_u32(src + 4 * k) : len - pos;
        if (sl < 32 || sl > len - pos) return tp_fail(TP_ERR_CORRUPT, "rans stream %d of %zu bytes", k, sl);
        p[k] = src + pos;
        end[k] = src + pos + sl;
        pos += sl;
    }
    uint32_t x[TP_RANS_LANES];
    for (int j = 0; j < TP_RANS_LANES; j++) {
        x[j] = tp_get_u32(p[j >> 3] + 4 * (j & 7));
        if (x[j] < TP_RANS_L || x[j] >= (1u << 31)) return tp_fail(TP_ERR_CORRUPT, "rans state out of range");
    }
    for (int k = 0; k < TP_RANS_STREAMS; k++) p[k] += 32;
    size_t i = 0;
#if defined(__x86_64__)
    unsigned cpu = tp_cpu_features();
    if (level >= 2 && (cpu & TP_CPU_AVX512VBMI)) i = tp_rans_decode_avx512vl(t, m->thr, m->nctx, x, p, end, sym, n, next);
    else if (level >= 1 && (cpu & TP_CPU_AVX2)) i = tp_rans_decode_avx2(t, m->thr, m->nctx, x, p, end, sym, n, next);
#else
    (void)level, (void)next;
#endif
    TP_TRY(decode_tail(t, m->thr, m->nctx, x, p, end, sym, i, n));
    for (int j = 0; j < TP_RANS_LANES; j++)
        if (x[j] != TP_RANS_L) return tp_fail(TP_ERR_CORRUPT, "rans final state mismatch");
    for (int k = 0; k < TP_RANS_STREAMS; k++)
        if (p[k] != end[k]) return tp_fail(TP_ERR_CORRUPT, "rans stream has trailing bytes");
    return 0;
}

size_t tp_rans_decode(const tp_rans_model *m, const tp_rans_dtable *t, const uint8_t *src, size_t len,
                      uint8_t *sym, size_t n)
{
    return decode_impl(m, t, src, len, sym, n, 2, NULL);
}

size_t tp_rans_decode_next(const tp_rans_model *m, const tp_rans_dtable *t, const uint8_t *src, size_t len,
                           uint8_t *sym, size_t n, const void *next)
{
    return decode_impl(m, t, src, len, sym, n, 2, next);
}

size_t tp_rans_decode_level(const tp_rans_model *m, const tp_rans_dtable *t, const uint8_t *src, size_t len,
                            uint8_t *sym, size_t n, int level)
{
    return decode_impl(m, t, src, len, sym, n, level, NULL);
}

size_t tp_rans_decode_scalar(const tp_rans_model *m, const tp_rans_dtable *t, const uint8_t *src, size_t len,
                             uint8_t *sym, size_t n)
{
    return decode_impl(m, t, src, len, sym, n, 0, NULL);
}

/* ---- self-contained byte coder --------------------------------------- */

size_t tp_rans_compress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap)
{
    if (cap < tp_rans_bytes_bound(n)) return tp_fail(TP_ERR_DST_TOO_SMALL, "rans needs %zu bytes", tp_rans_bytes_bound(n));
    if (n == 0) return 0;
    tp_rans_model *m = malloc(sizeof *m);
    if (!m) return tp_fail(TP_ERR_NOMEM, "rans model");
    tp_rans_model_build(src, n, 1, m);
    size_t k = tp_rans_model_write(m, dst);
    size_t r = tp_rans_encode(m, src, n, dst + k, cap - k);
    free(m);
    return tp_is_error(r) ? r : k + r;
}

size_t tp_rans_decompress(const uint8_t *src, size_t len, uint8_t *dst, size_t n)
{
    if (n == 0) return len == 0 ? 0 : tp_fail(TP_ERR_CORRUPT, "rans: bytes for an empty output");
    tp_rans_model *m = malloc(sizeof *m);
    tp_rans_dtable *t = malloc(sizeof *t);
    size_t r;
    if (!m || !t) r = tp_fail(TP_ERR_NOMEM, "rans decoder tables");
    else {
        tp_reader rd = tp_reader_init(src, len);
        r = tp_rans_model_read(&rd, m);
        if (!tp_is_error(r)) {
            tp_rans_dtable_build(m, t);
            r = tp_rans_decode(m, t, rd.p, rd.left, dst, n);
        }
    }
    free(m);
    free(t);
    return r;
}
