/* Scalar references and AVX2 versions of the kq and ternary decode kernels
 * (contracts in lowbit_kernels.h). */
#include "codecs/lowbit_kernels.h"

#include <pthread.h>
#include <string.h>

#include "core/bitpack.h"
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

/* ---- AVX2 ---------------------------------------------------------------- */

#if defined(__x86_64__)
#include <immintrin.h>

/* Shuffle control and shifts for 8 codes of b bits (index b): lane k of
 * the result gathers the two bytes holding code k (pshufb within each
 * 128-bit half, both halves holding the same 8 bytes) and shifts it down by
 * (k*b) mod 8. Built once. */
static int8_t kq_ctl[9][32];
static int32_t kq_sh[9][8];
static pthread_once_t kq_once = PTHREAD_ONCE_INIT;

static void kq_tables_init(void)
{
    for (unsigned b = 1; b <= 8; b++)
        for (int k = 0; k < 8; k++) {
            int byte = (int)((unsigned)k * b / 8);
            int8_t *c = kq_ctl[b] + 16 * (k >> 2) + 4 * (k & 3);
            c[0] = (int8_t)byte; c[1] = (int8_t)(byte + 1); c[2] = c[3] = (int8_t)0x80;
            kq_sh[b][k] = (int32_t)((unsigned)k * b % 8);
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

#define KQ_CASES(SUB)                                                           \
    switch (bits) {                                                             \
    case 2: kq_all_avx2(codes, n_sub, SUB, 2, s, off, out, avail); break;              \
    case 3: kq_all_avx2(codes, n_sub, SUB, 3, s, off, out, avail); break;              \
    case 4: kq_all_avx2(codes, n_sub, SUB, 4, s, off, out, avail); break;              \
    case 5: kq_all_avx2(codes, n_sub, SUB, 5, s, off, out, avail); break;              \
    case 6: kq_all_avx2(codes, n_sub, SUB, 6, s, off, out, avail); break;              \
    case 7: kq_all_avx2(codes, n_sub, SUB, 7, s, off, out, avail); break;              \
    default: kq_all_avx2(codes, n_sub, SUB, 8, s, off, out, avail); break;             \
    }

__attribute__((target("avx2"))) static void kq_dequant_avx2(const uint8_t *codes, size_t n_sub, size_t sub,
                                                             unsigned bits, const float *s, const float *off,
                                                             float *out, size_t avail)
{
    /* the sub-block sizes kq uses get their own unrolled copies */
    if (sub == 16) { KQ_CASES(16) }
    else if (sub == 32) { KQ_CASES(32) }
    else { KQ_CASES(sub) }
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
#endif

static int have_avx2(void) { return (tp_cpu_features() & TP_CPU_AVX2) != 0; }

tp_kq_dequant_fn tp_kq_dequant_best(void)
{
#if defined(__x86_64__)
    if (have_avx2()) {
        pthread_once(&kq_once, kq_tables_init);
        return kq_dequant_avx2;
    }
#endif
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

tp_scale_i8_fn tp_scale_i8_best(void)
{
#if defined(__x86_64__)
    if (have_avx2()) return scale_i8_avx2;
#endif
    return tp_scale_i8_ref;
}
