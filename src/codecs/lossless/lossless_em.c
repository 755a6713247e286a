/* Chunk kind 2 of the lossless codec (docs/LOSSLESS.md): the exponent byte
 * and the top two bits of the next byte (bf16, f32: the two leading
 * mantissa bits) become one 8-bit symbol, so that the coder sees their
 * joint distribution (within a binade, smaller mantissas are more
 * frequent for bell-shaped weights: H(E, M2) is ~0.07 bit below
 * H(E) + 2 on MiniLM and on Gaussians). The exponent is mapped to a
 * 6-bit window index: 0 for E = 0 (zeros, denormals), 1..62 for
 * E = base..base+61, 63 for an escape whose exponent byte is stored
 * aside. The remaining six bits of the second byte are packed four to
 * three bytes, planar within blocks of 64 values.
 *
 * Scalar references define the result; the SSE2 versions (and for the
 * bf16 merge an AVX-512 VBMI one, lossless_em_avx512.c) are what runs on
 * x86-64 and are compared with them in tests/test_lossless.c. */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "codecs/lossless/lossless.h"
#include "core/cpu.h"
#include "core/error.h"

unsigned tp_ll_em_base(const uint8_t *e, size_t m)
{
    unsigned mx = 0;
    size_t i = 0;
#ifdef __SSE2__
    __m128i acc = _mm_setzero_si128(), ff = _mm_set1_epi8((char)0xff);
    for (; i + 16 <= m; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(e + i));
        acc = _mm_max_epu8(acc, _mm_andnot_si128(_mm_cmpeq_epi8(v, ff), v)); /* 255 (Inf, NaN) escapes */
    }
    uint8_t lanes[16];
    _mm_storeu_si128((__m128i *)lanes, acc);
    for (int k = 0; k < 16; k++) mx = lanes[k] > mx ? lanes[k] : mx;
#endif
    for (; i < m; i++) if (e[i] != 255 && e[i] > mx) mx = e[i];
    return mx > TP_LL_EM_SPAN ? mx - TP_LL_EM_SPAN + 1 : 1;
}

static inline uint8_t window(uint8_t e, unsigned base)
{
    unsigned t = (uint8_t)(e - base + 1);
    return t >= 1 && t <= TP_LL_EM_SPAN ? (uint8_t)t : e == 0 ? 0 : TP_LL_EM_ESC;
}

/* Packs the 64 six-bit values b into 48 bytes (or unpacks): byte j of
 * part k (k < 3, j < 16) holds b[16k + j] in its low six bits and bits
 * 2k, 2k+1 of b[48 + j] in its top two. */
static void pack_block_ref(const uint8_t *b, uint8_t *out)
{
    for (int j = 0; j < 16; j++)
        for (int k = 0; k < 3; k++) out[16 * k + j] = (uint8_t)(b[16 * k + j] | ((b[48 + j] >> (2 * k)) & 3) << 6);
}

static void unpack_block_ref(const uint8_t *in, uint8_t *b)
{
    for (int j = 0; j < 16; j++) {
        for (int k = 0; k < 3; k++) b[16 * k + j] = in[16 * k + j] & 63;
        b[48 + j] = (uint8_t)((in[j] >> 6) | (in[16 + j] >> 6) << 2 | (in[32 + j] >> 6) << 4);
    }
}

size_t tp_ll_em_split_ref(const uint8_t *e, const uint8_t *q, size_t m, unsigned base, uint8_t *j, uint8_t *r,
                          uint8_t *esc)
{
    size_t n_esc = 0;
    for (size_t b0 = 0; b0 < m; b0 += 64) {
        uint8_t six[64] = {0};
        for (size_t i = b0; i < m && i < b0 + 64; i++) {
            uint8_t w = window(e[i], base);
            if (w == TP_LL_EM_ESC) esc[n_esc++] = e[i];
            j[i] = (uint8_t)(w << 2 | q[i] >> 6);
            six[i - b0] = q[i] & 63;
        }
        pack_block_ref(six, r + b0 / 64 * 48);
    }
    return n_esc;
}

size_t tp_ll_em_merge_ref(const uint8_t *j, const uint8_t *r, const uint8_t *esc, size_t n_esc, size_t m,
                          unsigned base, uint8_t *e, uint8_t *q)
{
    size_t k = 0;
    for (size_t b0 = 0; b0 < m; b0 += 64) {
        uint8_t six[64];
        unpack_block_ref(r + b0 / 64 * 48, six);
        for (size_t i = b0; i < m && i < b0 + 64; i++) {
            uint8_t s = j[i], w = s >> 2;
            if (w == TP_LL_EM_ESC && k == n_esc) return tp_fail(TP_ERR_CORRUPT, "more escapes than stored");
            q[i] = (uint8_t)((s & 3) << 6 | six[i - b0]);
            e[i] = w == 0 ? 0 : w == TP_LL_EM_ESC ? esc[k++] : (uint8_t)(w + base - 1);
        }
    }
    return k == n_esc ? 0 : tp_fail(TP_ERR_CORRUPT, "%zu escapes stored, %zu used", n_esc, k);
}

#ifdef __SSE2__
/* 64 values at i: symbols into j, packed remainder into r48. */
static size_t split_block_sse2(const uint8_t *e, const uint8_t *q, unsigned base, uint8_t *j, uint8_t *r48,
                               uint8_t *esc, size_t n_esc)
{
    const __m128i off = _mm_set1_epi8((char)(base - 1)), one = _mm_set1_epi8(1), span1 = _mm_set1_epi8(TP_LL_EM_SPAN - 1);
    const __m128i c63 = _mm_set1_epi8(63), c3 = _mm_set1_epi8(3), zero = _mm_setzero_si128();
    __m128i six[4];
    for (int k = 0; k < 4; k++) {
        __m128i ev = _mm_loadu_si128((const __m128i *)(e + 16 * k)), qv = _mm_loadu_si128((const __m128i *)(q + 16 * k));
        __m128i t = _mm_sub_epi8(ev, off), t1 = _mm_sub_epi8(t, one);
        __m128i in = _mm_cmpeq_epi8(_mm_min_epu8(t1, span1), t1); /* 1 <= t <= SPAN */
        __m128i out = _mm_andnot_si128(_mm_or_si128(in, _mm_cmpeq_epi8(ev, zero)), c63);
        __m128i w = _mm_or_si128(_mm_and_si128(in, t), out);
        __m128i s = _mm_or_si128(_mm_slli_epi16(w, 2), _mm_and_si128(_mm_srli_epi16(qv, 6), c3));
        _mm_storeu_si128((__m128i *)(j + 16 * k), s);
        six[k] = _mm_and_si128(qv, c63);
        int em = _mm_movemask_epi8(_mm_cmpeq_epi8(w, c63));
        while (em) {
            esc[n_esc++] = e[16 * k + __builtin_ctz((unsigned)em)];
            em &= em - 1;
        }
    }
    for (int k = 0; k < 3; k++) {
        __m128i top = _mm_and_si128(_mm_srli_epi16(six[3], 2 * k), c3);
        _mm_storeu_si128((__m128i *)(r48 + 16 * k), _mm_or_si128(six[k], _mm_slli_epi16(top, 6)));
    }
    return n_esc;
}

/* 64 values: symbols j and packed remainder r48 -> exponent bytes ev and
 * second bytes qv, 16 per vector (escaped exponents still to patch).
 * Returns the lanes (bit per value) that hold an escape. */
static inline uint64_t unpack_block_sse2(const uint8_t *j, const uint8_t *r48, unsigned base, __m128i ev[4],
                                         __m128i qv[4])
{
    const __m128i c63 = _mm_set1_epi8(63), c3 = _mm_set1_epi8(3), c192 = _mm_set1_epi8((char)192);
    const __m128i off = _mm_set1_epi8((char)(base - 1)), zero = _mm_setzero_si128();
    __m128i p[3], six[4];
    for (int k = 0; k < 3; k++) {
        p[k] = _mm_loadu_si128((const __m128i *)(r48 + 16 * k));
        six[k] = _mm_and_si128(p[k], c63);
    }
    six[3] = _mm_or_si128(_mm_or_si128(_mm_and_si128(_mm_srli_epi16(p[0], 6), c3),
                                       _mm_and_si128(_mm_srli_epi16(p[1], 4), _mm_set1_epi8(12))),
                          _mm_and_si128(_mm_srli_epi16(p[2], 2), _mm_set1_epi8(48)));
    uint64_t escapes = 0;
    for (int k = 0; k < 4; k++) {
        __m128i s = _mm_loadu_si128((const __m128i *)(j + 16 * k));
        __m128i w = _mm_and_si128(_mm_srli_epi16(s, 2), c63);
        qv[k] = _mm_or_si128(_mm_and_si128(_mm_slli_epi16(s, 6), c192), six[k]);
        ev[k] = _mm_andnot_si128(_mm_cmpeq_epi8(w, zero), _mm_add_epi8(w, off));
        escapes |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(w, c63)) << (16 * k);
    }
    return escapes;
}

/* The same, stored as the planes e and q. */
static uint64_t merge_block_sse2(const uint8_t *j, const uint8_t *r48, unsigned base, uint8_t *e, uint8_t *q)
{
    __m128i ev[4], qv[4];
    uint64_t escapes = unpack_block_sse2(j, r48, base, ev, qv);
    for (int k = 0; k < 4; k++) {
        _mm_storeu_si128((__m128i *)(q + 16 * k), qv[k]);
        _mm_storeu_si128((__m128i *)(e + 16 * k), ev[k]);
    }
    return escapes;
}
#endif

size_t tp_ll_em_split(const uint8_t *e, const uint8_t *q, size_t m, unsigned base, uint8_t *j, uint8_t *r,
                      uint8_t *esc)
{
    size_t i = 0, n_esc = 0;
#ifdef __SSE2__
    for (; i + 64 <= m; i += 64) n_esc = split_block_sse2(e + i, q + i, base, j + i, r + i / 64 * 48, esc, n_esc);
#endif
    if (i < m) n_esc += tp_ll_em_split_ref(e + i, q + i, m - i, base, j + i, r + i / 64 * 48, esc + n_esc);
    return n_esc;
}

size_t tp_ll_em_merge(const uint8_t *j, const uint8_t *r, const uint8_t *esc, size_t n_esc, size_t m,
                      unsigned base, uint8_t *e, uint8_t *q)
{
    size_t i = 0, k = 0;
#ifdef __SSE2__
    for (; i + 64 <= m; i += 64) {
        _mm_prefetch((const char *)(r + i / 64 * 48 + 1024), _MM_HINT_T0);
        uint64_t x = merge_block_sse2(j + i, r + i / 64 * 48, base, e + i, q + i);
        for (; x; x &= x - 1) {
            if (k == n_esc) return tp_fail(TP_ERR_CORRUPT, "more escapes than stored");
            e[i + (size_t)__builtin_ctzll(x)] = esc[k++];
        }
    }
#endif
    if (i < m) return tp_ll_em_merge_ref(j + i, r + i / 64 * 48, esc + k, n_esc - k, m - i, base, e + i, q + i);
    return k == n_esc ? 0 : tp_fail(TP_ERR_CORRUPT, "%zu escapes stored, %zu used", n_esc, k);
}

/* Element i of a bf16 chunk from its exponent and second byte. */
static inline void put_bf16(uint8_t *dst, size_t i, uint8_t e, uint8_t q)
{
    uint16_t v = (uint16_t)(e << 8 | q);
    v = (uint16_t)(v >> 1 | v << 15); /* the sign back from bit 0 */
    memcpy(dst + 2 * i, &v, 2);
}

size_t tp_ll_em_merge_bf16_sse2(const uint8_t *j, const uint8_t *r, const uint8_t *esc, size_t n_esc, size_t m,
                                unsigned base, uint8_t *dst)
{
    size_t i = 0, k = 0;
#ifdef __SSE2__
    for (; i + 64 <= m; i += 64) {
        const uint8_t *r48 = r + i / 64 * 48;
        _mm_prefetch((const char *)(r48 + 1024), _MM_HINT_T0); /* the remainder comes from a cold payload */
        __builtin_prefetch(dst + 2 * i + 2048, 1);              /* and the output lines are cold too */
        __builtin_prefetch(dst + 2 * i + 2048 + 64, 1);
        __m128i ev[4], qv[4];
        uint64_t escapes = unpack_block_sse2(j + i, r48, base, ev, qv);
        for (int h = 0; h < 4; h++) { /* elements: q then e, sign back from bit 0 */
            __m128i a = _mm_unpacklo_epi8(qv[h], ev[h]), b = _mm_unpackhi_epi8(qv[h], ev[h]);
            a = _mm_or_si128(_mm_srli_epi16(a, 1), _mm_slli_epi16(a, 15));
            b = _mm_or_si128(_mm_srli_epi16(b, 1), _mm_slli_epi16(b, 15));
            _mm_storeu_si128((__m128i *)(dst + 2 * (i + 16 * h)), a);
            _mm_storeu_si128((__m128i *)(dst + 2 * (i + 16 * h) + 16), b);
        }
        for (; escapes; escapes &= escapes - 1) { /* rare: patch the exponent byte */
            if (k == n_esc) return tp_fail(TP_ERR_CORRUPT, "more escapes than stored");
            size_t x = i + (size_t)__builtin_ctzll(escapes);
            uint16_t v;
            memcpy(&v, dst + 2 * x, 2);
            put_bf16(dst, x, esc[k++], (uint8_t)(v << 1 | v >> 15)); /* q: the low byte of v rotated left */
        }
    }
#endif
    if (i < m) { /* tail through the reference, 64 values at most */
        uint8_t e[64], q[64];
        TP_TRY(tp_ll_em_merge_ref(j + i, r + i / 64 * 48, esc + k, n_esc - k, m - i, base, e, q));
        for (size_t t = 0; t < m - i; t++) put_bf16(dst, i + t, e[t], q[t]);
        return 0;
    }
    return k == n_esc ? 0 : tp_fail(TP_ERR_CORRUPT, "%zu escapes stored, %zu used", n_esc, k);
}

size_t tp_ll_em_merge_bf16(const uint8_t *j, const uint8_t *r, const uint8_t *esc, size_t n_esc, size_t m,
                           unsigned base, uint8_t *dst)
{
#if defined(__x86_64__)
    if (tp_cpu_features() & TP_CPU_AVX512VBMI) { /* whole blocks, then the tail and the escape count check */
        size_t k = 0, done = m / 64 * 64;
        TP_TRY(tp_ll_em_merge_bf16_avx512(j, NULL, r, esc, n_esc, m, base, dst, &k));
        return tp_ll_em_merge_bf16_sse2(j + done, r + done / 64 * 48, esc + k, n_esc - k, m - done, base,
                                        dst + 2 * done);
    }
#endif
    return tp_ll_em_merge_bf16_sse2(j, r, esc, n_esc, m, base, dst);
}

size_t tp_ll_em_merge_bf16_low(uint8_t *half, const uint8_t *low, const uint8_t *r, const uint8_t *esc, size_t n_esc,
                               size_t m, unsigned base, uint8_t *dst)
{
#if defined(__x86_64__)
    if (tp_cpu_features() & TP_CPU_AVX512VBMI) { /* low bits inserted on the fly */
        size_t k = 0, done = m / 64 * 64;
        TP_TRY(tp_ll_em_merge_bf16_avx512(half, low, r, esc, n_esc, m, base, dst, &k));
        tp_ll_insert_low_bits(half + done, low + done / 8, m - done);
        return tp_ll_em_merge_bf16_sse2(half + done, r + done / 64 * 48, esc + k, n_esc - k, m - done, base,
                                        dst + 2 * done);
    }
#endif
    tp_ll_insert_low_bits(half, low, m);
    return tp_ll_em_merge_bf16(half, r, esc, n_esc, m, base, dst);
}
