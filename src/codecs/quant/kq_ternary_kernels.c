/* Scalar references and AVX2 versions of the kq and ternary decode kernels
 * (contracts in kq_ternary_kernels.h). */
#include "codecs/quant/kq_ternary_kernels.h"

#include <pthread.h>
#include <string.h>

#include "core/bitpack.h"
#include "codecs/quant/lut_kernels.h"
#include "core/cpu.h"

/* ---- kq ---------------------------------------------------------------- */

void tp_kq_dequant_ref(const uint8_t *codes, size_t n_sub, size_t sub, unsigned bits, const float *s,
                       const float *off, float *out, size_t avail)
{
    (void)avail;
    uint8_t q[256];
    for (size_t j = 0; j < n_sub; j++) {
        for (size_t i = 0; i < sub; i += 256) {
            size_t m = sub - i < 256 ? sub - i : 256;
            tp_unpack8(q, codes, m, bits);
            codes += m * bits / 8;
            for (size_t k = 0; k < m; k++) {
                float prod = (float)q[k] * s[j];
                out[k] = prod + off[j];
            }
            out += m;
        }
    }
}

/* ---- ternary ----------------------------------------------------------- */

int tp_trit_unpack_ref(const uint8_t *src, size_t n, int8_t *dst)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v = src[i];
        if (v > 242) return -1;
        for (int k = 0; k < 5; k++) {
            dst[5 * i + (size_t)k] = (int8_t)((int)(v % 3) - 1);
            v /= 3;
        }
    }
    return 0;
}

/* 243 packings -> their 5 values (3 bytes of padding per entry). */
static int8_t trit_table[243][8];
static pthread_once_t trit_once = PTHREAD_ONCE_INIT;

static void trit_table_init(void)
{
    for (unsigned v = 0; v < 243; v++) {
        uint8_t b = (uint8_t)v;
        tp_trit_unpack_ref(&b, 1, trit_table[v]);
    }
}

static int trit_unpack_table(const uint8_t *src, size_t n, int8_t *dst)
{
    unsigned bad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned v = src[i];
        bad |= v > 242;
        memcpy(dst + 5 * i, trit_table[v < 243 ? v : 0], 8);
    }
    return bad ? -1 : 0;
}

void tp_scale_i8_ref(const int8_t *q, size_t n, float s, float *out)
{
    for (size_t i = 0; i < n; i++) out[i] = (float)q[i] * s;
}

int tp_trit_decode_ref(const uint8_t *src, size_t n_super, const float *s, float *out)
{
    int8_t q[160];
    for (size_t k = 0; k < n_super; k++, src += 32, s += 5, out += 160) {
        if (tp_trit_unpack_ref(src, 32, q)) return -1;
        for (int j = 0; j < 160; j++) out[j] = (float)q[j] * s[j / 32];
    }
    return 0;
}

/* ---- AVX2 ---------------------------------------------------------------- */

#if defined(__x86_64__)
#include <immintrin.h>

/* Shuffle control and shifts for 8 codes of b bits (index b): lane k of
 * the result gathers the two bytes holding code k (pshufb within each
 * 128-bit half, both halves holding the same 8 bytes) and shifts it down by
 * (k*b) mod 8. Built once. */
static int8_t kq_ctl[9][32];
static int32_t kq_sh[9][8];
/* The same for 16 codes in the four 128-bit lanes of a zmm register (byte
 * 16 of code 15 at 8 bits reads byte 0, masked off after the shift). */
static int8_t kq_ctl16[9][64];
static int32_t kq_sh16[9][16];
static pthread_once_t kq_once = PTHREAD_ONCE_INIT;

static void kq_tables_init(void)
{
    for (unsigned b = 1; b <= 8; b++)
        for (int k = 0; k < 16; k++) {
            int byte = (int)((unsigned)k * b / 8);
            int8_t *c = kq_ctl16[b] + 16 * (k >> 2) + 4 * (k & 3);
            c[0] = (int8_t)byte; c[1] = (int8_t)((byte + 1) & 15); c[2] = c[3] = (int8_t)0x80;
            kq_sh16[b][k] = (int32_t)((unsigned)k * b % 8);
            if (k < 8) {
                memcpy(kq_ctl[b] + 16 * (k >> 2) + 4 * (k & 3), c, 4);
                kq_sh[b][k] = kq_sh16[b][k];
            }
        }
}

/* One sub-block at a time (sub/8 steps of 8 codes, b bytes each, unrolled
 * for the constant sub of each caller), its scale and offset broadcast
 * once. When 16 bytes past the codes are readable (avail), each step
 * broadcasts 16 code bytes to both 128-bit lanes with a single load and no
 * bounds check; otherwise it reads 8 bytes through a general register, or
 * exactly b bytes at the very end. */
__attribute__((target("avx2"), always_inline)) static inline void kq_all_avx2(const uint8_t *codes, size_t n_sub,
                                                                          size_t sub, const unsigned b,
                                                                          const float *s, const float *off,
                                                                          float *out, size_t avail)
{
    const __m256i vctl = _mm256_loadu_si256((const __m256i *)kq_ctl[b]);
    const __m256i vsh = _mm256_loadu_si256((const __m256i *)kq_sh[b]);
    const __m256i mask = _mm256_set1_epi32((1 << b) - 1);
    const size_t total = n_sub * sub * b / 8;
    if (avail >= total + 16) { /* every step's 16-byte load fits: no checks */
        for (size_t j = 0; j < n_sub; j++) {
            const __m256 vs = _mm256_set1_ps(s[j]), vo = _mm256_set1_ps(off[j]);
#pragma GCC unroll 4
            for (size_t i = 0; i < sub; i += 8) {
                __m256i raw = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(codes + i / 8 * b)));
                __m256i v = _mm256_and_si256(_mm256_srlv_epi32(_mm256_shuffle_epi8(raw, vctl), vsh), mask);
                _mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(v), vs), vo));
            }
            codes += sub / 8 * b;
            out += sub;
        }
        return;
    }
    const uint8_t *end8 = avail >= 8 ? codes + avail - 8 : NULL; /* last start of an 8-byte load */
    for (size_t j = 0; j < n_sub; j++) {
        const __m256 vs = _mm256_set1_ps(s[j]), vo = _mm256_set1_ps(off[j]);
        for (size_t i = 0; i < sub; i += 8, codes += b, out += 8) {
            uint64_t w = 0;
            if (end8 && codes <= end8) memcpy(&w, codes, 8);
            else memcpy(&w, codes, b);
            __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi64x((long long)w), vctl);
            v = _mm256_and_si256(_mm256_srlv_epi32(v, vsh), mask);
            __m256 f = _mm256_cvtepi32_ps(v);
            _mm256_storeu_ps(out, _mm256_add_ps(_mm256_mul_ps(f, vs), vo));
        }
    }
}

/* kernel(codes, n_sub, SUB, bits, s, off, out, LAST) with bits a constant:
 * one specialised copy of the kernel per code width. */
#define KQ_BITS(KERNEL, SUB, LAST)                                              \
    switch (bits) {                                                             \
    case 2: KERNEL(codes, n_sub, SUB, 2, s, off, out, LAST); break;             \
    case 3: KERNEL(codes, n_sub, SUB, 3, s, off, out, LAST); break;             \
    case 4: KERNEL(codes, n_sub, SUB, 4, s, off, out, LAST); break;             \
    case 5: KERNEL(codes, n_sub, SUB, 5, s, off, out, LAST); break;             \
    case 6: KERNEL(codes, n_sub, SUB, 6, s, off, out, LAST); break;             \
    case 7: KERNEL(codes, n_sub, SUB, 7, s, off, out, LAST); break;             \
    default: KERNEL(codes, n_sub, SUB, 8, s, off, out, LAST); break;            \
    }

__attribute__((target("avx2"))) static void kq_dequant_avx2(const uint8_t *codes, size_t n_sub, size_t sub,
                                                             unsigned bits, const float *s, const float *off,
                                                             float *out, size_t avail)
{
    /* the sub-block sizes kq uses get their own unrolled copies */
    if (sub == 16) { KQ_BITS(kq_all_avx2, 16, avail) }
    else if (sub == 32) { KQ_BITS(kq_all_avx2, 32, avail) }
    else { KQ_BITS(kq_all_avx2, sub, avail) }
}

/* AVX-512: 16 codes (2b bytes) per step, one 16-byte load broadcast to the
 * four lanes; needs 16 readable bytes past every step's start (avail >=
 * total + 16), else the AVX2 version runs. nt: streaming stores (out
 * 64-byte aligned; sub-blocks are 64 bytes of output or more). */
#define KQ512 __attribute__((target("avx512f,avx512bw,avx2")))
KQ512 __attribute__((always_inline)) static inline void kq_all_avx512(const uint8_t *codes, size_t n_sub, size_t sub,
                                                                      const unsigned b, const float *s,
                                                                      const float *off, float *out, int nt)
{
    const __m512i vctl = _mm512_loadu_si512(kq_ctl16[b]), vsh = _mm512_loadu_si512(kq_sh16[b]);
    const __m512i mask = _mm512_set1_epi32((1 << b) - 1);
    for (size_t j = 0; j < n_sub; j++) {
        const __m512 vs = _mm512_set1_ps(s[j]), vo = _mm512_set1_ps(off[j]);
#pragma GCC unroll 2
        for (size_t i = 0; i < sub; i += 16) {
            __m512i raw = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(codes + i / 8 * b)));
            __m512i v = _mm512_and_si512(_mm512_srlv_epi32(_mm512_shuffle_epi8(raw, vctl), vsh), mask);
            __m512 f = _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(v), vs), vo);
            if (nt) _mm512_stream_ps(out + i, f);
            else _mm512_storeu_ps(out + i, f);
        }
        codes += sub / 8 * b;
        out += sub;
    }
}

KQ512 static void kq_dequant_avx512_any(const uint8_t *codes, size_t n_sub, size_t sub, unsigned bits,
                                        const float *s, const float *off, float *out, size_t avail, int nt)
{
    if (sub % 16 || avail < n_sub * sub * bits / 8 + 16) {
        kq_dequant_avx2(codes, n_sub, sub, bits, s, off, out, avail);
        return;
    }
    if (nt && (uintptr_t)out % 64 == 0) {
        if (sub == 16) { KQ_BITS(kq_all_avx512, 16, 1) }
        else { KQ_BITS(kq_all_avx512, 32, 1) }
    } else {
        if (sub == 16) { KQ_BITS(kq_all_avx512, 16, 0) }
        else { KQ_BITS(kq_all_avx512, 32, 0) }
    }
}

KQ512 static void kq_dequant_avx512(const uint8_t *codes, size_t n_sub, size_t sub, unsigned bits, const float *s,
                                    const float *off, float *out, size_t avail)
{
    kq_dequant_avx512_any(codes, n_sub, sub, bits, s, off, out, avail, 0);
}

KQ512 static void kq_dequant_avx512_nt(const uint8_t *codes, size_t n_sub, size_t sub, unsigned bits,
                                       const float *s, const float *off, float *out, size_t avail)
{
    kq_dequant_avx512_any(codes, n_sub, sub, bits, s, off, out, avail, 1);
}

__attribute__((target("avx2"))) static void scale_i8_avx2(const int8_t *q, size_t n, float s, float *out)
{
    const __m256 vs = _mm256_set1_ps(s);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i b = _mm_loadu_si128((const __m128i *)(q + i));
        __m256 lo = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b));
        __m256 hi = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(b, 8)));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(lo, vs));
        _mm256_storeu_ps(out + i + 8, _mm256_mul_ps(hi, vs));
    }
    for (; i < n; i++) out[i] = (float)q[i] * s;
}

/* Fused ternary decode. Digit extraction after the TQ1_0 layout of
 * llama.cpp (ggml-quants.c): with q = ceil(256 v / 243) (v the byte), digit
 * i of v is (((q * 3^(4-i)) mod 256) * 3) >> 8 for every v <= 242 (checked
 * exhaustively by the tests through the reference). In 16-bit lanes holding
 * q << 8 that is one mullo by 3^(4-i) and one mulhi by 3. q = v +
 * mulhi(13 v + 242, 270) (exact for v <= 242). A byte shuffle puts, for each
 * output vector pair, value m in the low word and value m + half in the high
 * word of dword m, so a dword permute of the scaled table {-s, 0*s, s} on
 * the low bits gives the first vector and, after a shift by 16, the second.
 * Tables (per block of a superblock: shuffle control and multipliers) are
 * built once. */
static int8_t trit_ctl2[5][32];    /* AVX2: 16-value blocks of 16 source bytes */
static uint16_t trit_mul2[5][16];
static uint8_t trit_ctl5[5][64];   /* VBMI: 32-value blocks of 32 source bytes */
static uint16_t trit_mul5[5][32];
static uint8_t trit_q[256];        /* VBMI: q for each byte (0 above 242) */
static pthread_once_t fused_once = PTHREAD_ONCE_INIT;

static void fused_tables_init(void)
{
    static const uint16_t pow3[5] = {81, 27, 9, 3, 1}; /* 3^(4-i) */
    for (int b = 0; b < 5; b++) {
        for (int w = 0; w < 16; w++) { /* dword k: words 2k (value k), 2k+1 (value 8+k) */
            int m = (w & 1) * 8 + w / 2, j = 16 * b + m;
            trit_ctl2[b][2 * w] = (int8_t)0x80;
            trit_ctl2[b][2 * w + 1] = (int8_t)(j / 5);
            trit_mul2[b][w] = pow3[j % 5];
        }
        for (int w = 0; w < 32; w++) { /* dword k: values k and 16+k */
            int m = (w & 1) * 16 + w / 2, j = 32 * b + m;
            trit_ctl5[b][2 * w] = 0;
            trit_ctl5[b][2 * w + 1] = (uint8_t)(j / 5);
            trit_mul5[b][w] = pow3[j % 5];
        }
    }
    for (unsigned v = 0; v < 243; v++) trit_q[v] = (uint8_t)((v * 256 + 242) / 243);
}

__attribute__((target("avx2"), always_inline)) static inline int trit_fused_avx2(const uint8_t *src, size_t n_super,
                                                                            const float *s, float *out, int nt)
{
    __m256i ctl[5], mul[5];
    for (int b = 0; b < 5; b++) {
        ctl[b] = _mm256_loadu_si256((const __m256i *)trit_ctl2[b]);
        mul[b] = _mm256_loadu_si256((const __m256i *)trit_mul2[b]);
    }
    const __m256 sign = _mm256_setr_ps(-1.0f, 0.0f, 1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f);
    const __m256i three = _mm256_set1_epi16(3), c13 = _mm256_set1_epi16(13), c242 = _mm256_set1_epi16(242);
    const __m256i c270 = _mm256_set1_epi16(270);
    const __m128i c243 = _mm_set1_epi8((char)243);
    __m128i bad = _mm_setzero_si128();
    for (size_t h = 0; h < 2 * n_super; h++, src += 16, out += 80) { /* half superblocks: 80 values */
        __m128i v = _mm_loadu_si128((const __m128i *)src);
        bad = _mm_or_si128(bad, _mm_cmpeq_epi8(_mm_max_epu8(v, c243), v));
        __m256i w = _mm256_cvtepu8_epi16(v);
        __m256i q = _mm256_add_epi16(w, _mm256_mulhi_epu16(_mm256_add_epi16(_mm256_mullo_epi16(w, c13), c242), c270));
        __m256i qb = _mm256_broadcastsi128_si256(
            _mm_packus_epi16(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1)));
        for (int b = 0; b < 5; b++) {
            const float *sc = s + (80 * (h & 1) + 16 * b) / 32 + 5 * (h / 2);
            __m256 t = _mm256_mul_ps(_mm256_set1_ps(*sc), sign);
            __m256i d = _mm256_mulhi_epu16(_mm256_mullo_epi16(_mm256_shuffle_epi8(qb, ctl[b]), mul[b]), three);
            __m256 lo = _mm256_permutevar8x32_ps(t, d), hi = _mm256_permutevar8x32_ps(t, _mm256_srli_epi32(d, 16));
            if (nt) { _mm256_stream_ps(out + 16 * b, lo); _mm256_stream_ps(out + 16 * b + 8, hi); }
            else { _mm256_storeu_ps(out + 16 * b, lo); _mm256_storeu_ps(out + 16 * b + 8, hi); }
        }
    }
    return _mm_movemask_epi8(bad) ? -1 : 0;
}

__attribute__((target("avx2"))) static int trit_decode_avx2(const uint8_t *src, size_t n_super, const float *s,
                                                            float *out)
{
    return trit_fused_avx2(src, n_super, s, out, 0);
}

__attribute__((target("avx2"))) static int trit_decode_avx2_nt(const uint8_t *src, size_t n_super, const float *s,
                                                               float *out)
{
    if ((uintptr_t)out % 64) return trit_fused_avx2(src, n_super, s, out, 0);
    return trit_fused_avx2(src, n_super, s, out, 1);
}

#define VBMI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,avx2")))
VBMI __attribute__((always_inline)) static inline int trit_fused_vbmi(const uint8_t *src, size_t n_super,
                                                                     const float *s, float *out, int nt)
{
    __m512i ctl[5], mul[5];
    for (int b = 0; b < 5; b++) {
        ctl[b] = _mm512_loadu_si512(trit_ctl5[b]);
        mul[b] = _mm512_loadu_si512(trit_mul5[b]);
    }
    const __m512i Q0 = _mm512_loadu_si512(trit_q), Q1 = _mm512_loadu_si512(trit_q + 64);
    const __m512i Q2 = _mm512_loadu_si512(trit_q + 128), Q3 = _mm512_loadu_si512(trit_q + 192);
    const __m512 sign = _mm512_setr_ps(-1.0f, 0.0f, 1.0f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i three = _mm512_set1_epi16(3);
    const __mmask64 odd = 0xaaaaaaaaaaaaaaaaull;
    __mmask32 bad = 0;
    for (size_t k = 0; k < n_super; k++, src += 32, s += 5, out += 160) {
        __m256i v = _mm256_loadu_si256((const __m256i *)src);
        bad |= _mm256_cmpgt_epu8_mask(v, _mm256_set1_epi8((char)242));
        __m512i v5 = _mm512_zextsi256_si512(v);
        __m512i q = _mm512_mask_blend_epi8(_mm512_movepi8_mask(v5), _mm512_permutex2var_epi8(Q0, v5, Q1),
                                           _mm512_permutex2var_epi8(Q2, v5, Q3));
        for (int b = 0; b < 5; b++) {
            __m512 t = _mm512_mul_ps(_mm512_set1_ps(s[b]), sign);
            __m512i d = _mm512_mulhi_epu16(_mm512_mullo_epi16(_mm512_maskz_permutexvar_epi8(odd, ctl[b], q), mul[b]),
                                           three);
            __m512 lo = _mm512_permutexvar_ps(d, t), hi = _mm512_permutexvar_ps(_mm512_srli_epi32(d, 16), t);
            if (nt) { _mm512_stream_ps(out + 32 * b, lo); _mm512_stream_ps(out + 32 * b + 16, hi); }
            else { _mm512_storeu_ps(out + 32 * b, lo); _mm512_storeu_ps(out + 32 * b + 16, hi); }
        }
    }
    return bad ? -1 : 0;
}

VBMI static int trit_decode_vbmi(const uint8_t *src, size_t n_super, const float *s, float *out)
{
    return trit_fused_vbmi(src, n_super, s, out, 0);
}

VBMI static int trit_decode_vbmi_nt(const uint8_t *src, size_t n_super, const float *s, float *out)
{
    if ((uintptr_t)out % 64) return trit_fused_vbmi(src, n_super, s, out, 0);
    return trit_fused_vbmi(src, n_super, s, out, 1);
}
#endif

static int have_avx2(void) { return (tp_cpu_features() & TP_CPU_AVX2) != 0; }

tp_kq_dequant_fn tp_kq_dequant_variant(int i)
{
    if (i == 0) return tp_kq_dequant_ref;
#if defined(__x86_64__)
    unsigned f = tp_cpu_features();
    if (!(f & TP_CPU_AVX2)) return NULL;
    pthread_once(&kq_once, kq_tables_init);
    if (i == 1) return kq_dequant_avx2;
    if (i == 2) return (f & TP_CPU_AVX512VBMI) ? kq_dequant_avx512 : NULL; /* the flag includes AVX-512BW */
    if (i == 3) return (f & TP_CPU_AVX512VBMI) ? kq_dequant_avx512_nt : NULL;
#endif
    return NULL;
}

tp_kq_dequant_fn tp_kq_dequant_for(uint64_t out_bytes)
{
    int nt = out_bytes >= tp_cpu_stream_bytes();
    for (int i = 2 + nt; i > 0; i -= 1 + nt)
        if (tp_kq_dequant_variant(i)) return tp_kq_dequant_variant(i);
    return tp_kq_dequant_ref;
}

tp_trit_unpack_fn tp_trit_unpack_best(void)
{
    /* The table version is portable; TP_CPU_MASK=0 still selects the
     * arithmetic reference so that one switch forces every reference. */
    if (!have_avx2()) return tp_trit_unpack_ref;
    pthread_once(&trit_once, trit_table_init);
    return trit_unpack_table;
}

tp_trit_decode_fn tp_trit_decode_variant(int i)
{
    if (i == 0) return tp_trit_decode_ref;
#if defined(__x86_64__)
    unsigned f = tp_cpu_features();
    if (!(f & TP_CPU_AVX2)) return NULL;
    pthread_once(&fused_once, fused_tables_init);
    if (i == 1) return trit_decode_avx2;
    if (i == 2) return trit_decode_avx2_nt;
    if (i == 3) return (f & TP_CPU_AVX512VBMI) ? trit_decode_vbmi : NULL;
    if (i == 4) return (f & TP_CPU_AVX512VBMI) ? trit_decode_vbmi_nt : NULL;
#endif
    return NULL;
}

tp_trit_decode_fn tp_trit_decode_for(uint64_t out_bytes)
{
    int nt = out_bytes >= tp_cpu_stream_bytes();
    for (int i = 3 + nt; i > 0; i -= 2)
        if (tp_trit_decode_variant(i)) return tp_trit_decode_variant(i);
    return tp_trit_decode_ref;
}

void tp_lowbit_fence(void)
{
#if defined(__x86_64__)
    _mm_sfence();
#endif
}

tp_scale_i8_fn tp_scale_i8_best(void)
{
#if defined(__x86_64__)
    if (have_avx2()) return scale_i8_avx2;
#endif
    return tp_scale_i8_ref;
}
