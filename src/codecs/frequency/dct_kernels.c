/* Block DCT kernels (see dct_kernels.h). The 14-point DCT has no
 * power-of-two fast factorisation; a direct matrix product with one block
 * per AVX2 lane does 2*B multiply-adds per pixel per direction at 8 lanes,
 * with no shuffles inside the transform. */
#include "codecs/frequency/dct_kernels.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "core/cpu.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#endif

static float matrices[TP_DCT_MAX_B + 1][TP_DCT_MAX_B * TP_DCT_MAX_B];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init_matrices(void)
{
    for (int B = 2; B <= TP_DCT_MAX_B; B++)
        for (int u = 0; u < B; u++) {
            double a = u ? sqrt(2.0 / B) : sqrt(1.0 / B);
            for (int i = 0; i < B; i++) matrices[B][u * B + i] = (float)(a * cos(M_PI * (2 * i + 1) * u / (2.0 * B)));
        }
}

const float *tp_dct_matrix(int B)
{
    pthread_once(&once, init_matrices);
    return matrices[B];
}

void tp_dct_fwd_scalar(const float *strip, size_t stride, float *coef, int B, size_t nblocks)
{
    const float *C = tp_dct_matrix(B);
    float t[TP_DCT_MAX_B * TP_DCT_MAX_B];
    for (size_t k = 0; k < nblocks; k++) {
        const float *x = strip + k * (size_t)B;
        float *y = coef + k * (size_t)B * B;
        for (int i = 0; i < B; i++) /* rows: t[i][v] = sum_j C[v][j] x[i][j] */
            for (int v = 0; v < B; v++) {
                float s = 0;
                for (int j = 0; j < B; j++) s += C[v * B + j] * x[i * stride + j];
                t[i * B + v] = s;
            }
        for (int u = 0; u < B; u++) /* columns: y[u][v] = sum_i C[u][i] t[i][v] */
            for (int v = 0; v < B; v++) {
                float s = 0;
                for (int i = 0; i < B; i++) s += C[u * B + i] * t[i * B + v];
                y[u * B + v] = s;
            }
    }
}

void tp_dct_inv_scalar(float *strip, size_t stride, const float *coef, int B, size_t nblocks)
{
    const float *C = tp_dct_matrix(B);
    float t[TP_DCT_MAX_B * TP_DCT_MAX_B];
    for (size_t k = 0; k < nblocks; k++) {
        float *x = strip + k * (size_t)B;
        const float *y = coef + k * (size_t)B * B;
        for (int i = 0; i < B; i++) /* t[i][v] = sum_u C[u][i] y[u][v] */
            for (int v = 0; v < B; v++) {
                float s = 0;
                for (int u = 0; u < B; u++) s += C[u * B + i] * y[u * B + v];
                t[i * B + v] = s;
            }
        for (int i = 0; i < B; i++) /* x[i][j] = sum_v C[v][j] t[i][v] */
            for (int j = 0; j < B; j++) {
                float s = 0;
                for (int v = 0; v < B; v++) s += C[v * B + j] * t[i * B + v];
                x[i * stride + j] = s;
            }
    }
}

static inline int32_t quant1(float c, float inv, float r)
{
    float a = fabsf(c) * inv + r;
    if (a > 32767.0f) a = 32767.0f;
    int32_t q = (int32_t)a;
    return c < 0 ? -q : q;
}

void tp_dct_quant_scan_scalar(const float *y, const int32_t *scan, const float *inv, float round_dc, float round_ac,
                              int n, int32_t *lq, uint64_t *mask)
{
    memset(mask, 0, (size_t)(n + 63) / 64 * sizeof *mask);
    lq[0] = quant1(y[scan[0]], inv[0], round_dc);
    for (int i = 1; i < n; i++) {
        lq[i] = quant1(y[scan[i]], inv[i], round_ac);
        mask[i >> 6] |= (uint64_t)(lq[i] != 0) << (i & 63);
    }
}

void tp_dct_store_u8_scalar(const float *x, size_t n, float scale, float mid, uint8_t *o)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i] * scale + mid + 0.5f;
        v = v < 0.0f ? 0.0f : v;
        v = v > 255.0f ? 255.0f : v;
        o[i] = (uint8_t)(int)v;
    }
}

void tp_dct_fwd_quant_scalar(const float *strip, size_t stride, int B, size_t nblocks, const int32_t *scan, const float *inv,
                             float round_dc, float round_ac, int32_t *lq, uint64_t *mask)
{
    float y[TP_DCT_MAX_B * TP_DCT_MAX_B];
    const int BB = B * B, W = TP_DCT_MASK_WORDS(B);
    for (size_t k = 0; k < nblocks; k++) {
        tp_dct_fwd_scalar(strip + k * (size_t)B, stride, y, B, 1);
        tp_dct_quant_scan_scalar(y, scan, inv, round_dc, round_ac, BB, lq + k * (size_t)BB, mask + k * (size_t)W);
    }
}

#ifdef HAVE_X86
/* Eight blocks at once: lane k of every vector belongs to block k. Rows of
 * eight blocks are moved in and out of that layout by 8x8 transposes of
 * eight-column chunks (columns 0, 8, ..., and B-8 for the last, overlapping
 * one); B < 8 goes through a lane buffer. The body is inlined with B a
 * constant for the common sizes so that the FMA loops unroll. */
#define AVX2 __attribute__((target("avx2,fma")))
#define INLINE_AVX2 __attribute__((target("avx2,fma"), always_inline)) static inline

INLINE_AVX2 void transpose8(__m256 r[8])
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xee);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xee);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xee);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xee);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/* v[j] = lane-k vector of src[k*kstep + j], j = 0..B-1. */
INLINE_AVX2 void gather_lanes(__m256 *v, const float *src, size_t kstep, const int B)
{
    if (B < 8) {
        float lane[8 * 8];
        for (int k = 0; k < 8; k++)
            for (int j = 0; j < B; j++) lane[j * 8 + k] = src[k * kstep + (size_t)j];
        for (int j = 0; j < B; j++) v[j] = _mm256_loadu_ps(lane + j * 8);
        return;
    }
    for (int j0 = 0; j0 < B; j0 += 8) {
        if (j0 + 8 > B) j0 = B - 8;
        __m256 r[8];
        for (int k = 0; k < 8; k++) r[k] = _mm256_loadu_ps(src + k * kstep + (size_t)j0);
        transpose8(r);
        for (int c = 0; c < 8; c++) v[j0 + c] = r[c];
    }
}

/* dst[k*kstep + j] = lane k of v[j], j = 0..B-1. */
INLINE_AVX2 void scatter_lanes(float *dst, size_t kstep, const __m256 *v, const int B)
{
    if (B < 8) {
        float lane[8 * 8];
        for (int j = 0; j < B; j++) _mm256_storeu_ps(lane + j * 8, v[j]);
        for (int k = 0; k < 8; k++)
            for (int j = 0; j < B; j++) dst[k * kstep + (size_t)j] = lane[j * 8 + k];
        return;
    }
    for (int j0 = 0; j0 < B; j0 += 8) {
        if (j0 + 8 > B) j0 = B - 8;
        __m256 r[8];
        for (int c = 0; c < 8; c++) r[c] = v[j0 + c];
        transpose8(r);
        for (int k = 0; k < 8; k++) _mm256_storeu_ps(dst + k * kstep + (size_t)j0, r[k]);
    }
}

/* For r < nr and a < nv:
 *   out[r*ors + a*ostep] = sum_j M[a*mr + j*mc] in[r*irs + j*istep], j < n.
 * nr input sets share each broadcast matrix entry and nv outputs per set
 * are built with independent accumulators (nr, nv constants after
 * inlining, so all live in registers): one chain of dependent FMAs per
 * output would wait on FMA latency, one broadcast per FMA on loads. */
INLINE_AVX2 void matvec_group(__m256 *out, size_t ostep, size_t ors, const __m256 *in, size_t istep, size_t irs, const float *M,
                              size_t mr, size_t mc, const int n, const int nr, const int nv)
{
    __m256 acc[2][8];
#pragma GCC unroll 2
    for (int r = 0; r < 2; r++)
#pragma GCC unroll 8
        for (int a = 0; a < 8; a++) acc[r][a] = _mm256_setzero_ps();
    for (int j = 0; j < n; j++) {
        __m256 xj[2];
#pragma GCC unroll 2
        for (int r = 0; r < nr; r++) xj[r] = in[(size_t)r * irs + (size_t)j * istep];
#pragma GCC unroll 8
        for (int a = 0; a < nv; a++) {
            __m256 m = _mm256_set1_ps(M[(size_t)a * mr + (size_t)j * mc]);
#pragma GCC unroll 2
            for (int r = 0; r < nr; r++) acc[r][a] = _mm256_fmadd_ps(m, xj[r], acc[r][a]);
        }
    }
#pragma GCC unroll 2
    for (int r = 0; r < nr; r++)
#pragma GCC unroll 8
        for (int a = 0; a < nv; a++) out[(size_t)r * ors + (size_t)a * ostep] = acc[r][a];
}

/* The h = B/2 outputs of a half transform for two sets in groups of at
 * most 4 (h = 7: 4 + 3; h = 4: 4): 8 accumulators + 2 inputs + 1
 * broadcast fit the 16 registers. */
INLINE_AVX2 void half_groups(__m256 *out, size_t ostep, size_t ors, const __m256 *in, size_t istep, size_t irs, const float *M,
                             size_t mr, size_t mc, const int h)
{
    matvec_group(out, ostep, ors, in, istep, irs, M, mr, mc, h, 2, 4);
    if (h == 7) matvec_group(out + 4 * ostep, ostep, ors, in, istep, irs, M + 4 * mr, mr, mc, h, 2, 3);
}

/* B forward 1-D DCTs of B-vectors (set k: in + k*rs -> out + k*rs, steps
 * istep / ostep), B = 8 or 14. Even-odd split (the DCT-II's symmetry
 * C[u][B-1-i] = (-1)^u C[u][i]): even outputs are an h x h product of
 * x[i] + x[B-1-i], odd outputs of x[i] - x[B-1-i], half the FMAs of the
 * full matrix. */
INLINE_AVX2 void fwd_sets(__m256 *out, size_t ostep, const __m256 *in, size_t istep, size_t rs, const float *C, const int B)
{
    const int h = B / 2;
    for (int k = 0; k < B; k += 2) {
        __m256 sd[2][2][TP_DCT_MAX_B / 2]; /* [set][sum, difference][i] */
        for (int r = 0; r < 2; r++)
            for (int i = 0; i < h; i++) {
                __m256 a = in[(size_t)(k + r) * rs + (size_t)i * istep], b = in[(size_t)(k + r) * rs + (size_t)(B - 1 - i) * istep];
                sd[r][0][i] = _mm256_add_ps(a, b);
                sd[r][1][i] = _mm256_sub_ps(a, b);
            }
        const size_t srs = (size_t)(&sd[1][0][0] - &sd[0][0][0]);
        for (int p = 0; p < 2; p++) /* out[(2a+p)*ostep] = sum_i C[2a+p][i] sd[p][i] */
            half_groups(out + (size_t)k * rs + (size_t)p * ostep, 2 * ostep, rs, &sd[0][p][0], 1, srs, C + (size_t)p * B,
                        2 * (size_t)B, 1, h);
    }
}

/* The inverse: E[i] = sum_a C[2a][i] y[2a], O[i] = sum_a C[2a+1][i] y[2a+1]
 * (i < h), then x[i] = E[i] + O[i], x[B-1-i] = E[i] - O[i]. */
INLINE_AVX2 void inv_sets(__m256 *out, size_t ostep, const __m256 *in, size_t istep, size_t rs, const float *C, const int B)
{
    const int h = B / 2;
    for (int k = 0; k < B; k += 2) {
        __m256 eo[2][2][TP_DCT_MAX_B / 2]; /* [set][even, odd][i] */
        const size_t srs = (size_t)(&eo[1][0][0] - &eo[0][0][0]);
        for (int p = 0; p < 2; p++)
            half_groups(&eo[0][p][0], 1, srs, in + (size_t)k * rs + (size_t)p * istep, 2 * istep, rs, C + (size_t)p * B, 1,
                        2 * (size_t)B, h);
        for (int r = 0; r < 2; r++)
            for (int i = 0; i < h; i++) {
                out[(size_t)(k + r) * rs + (size_t)i * ostep] = _mm256_add_ps(eo[r][0][i], eo[r][1][i]);
                out[(size_t)(k + r) * rs + (size_t)(B - 1 - i) * ostep] = _mm256_sub_ps(eo[r][0][i], eo[r][1][i]);
            }
    }
}

/* Other sizes: full matrix, one set at a time, runtime group width. */
INLINE_AVX2 void matvec_sets(__m256 *out, size_t ostep, const __m256 *in, size_t istep, size_t rs, const float *M, size_t mr,
                             size_t mc, const int B)
{
    for (int k = 0; k < B; k++)
        for (int v0 = 0; v0 < B; v0 += 8)
            matvec_group(out + (size_t)k * rs + (size_t)v0 * ostep, ostep, 0, in + (size_t)k * rs, istep, 0, M + (size_t)v0 * mr,
                         mr, mc, B, 1, B - v0 < 8 ? B - v0 : 8);
}

/* x (B*B vectors, natural order) = coefficients of the eight blocks. */
INLINE_AVX2 void fwd8_transform(const float *strip, size_t stride, __m256 *x, const int B)
{
    const float *C = tp_dct_matrix(B);
    __m256 t[TP_DCT_MAX_B * TP_DCT_MAX_B];
    for (int i = 0; i < B; i++) gather_lanes(x + i * B, strip + i * stride, (size_t)B, B);
    if (B == 8 || B == 14) {
        fwd_sets(t, 1, x, 1, (size_t)B, C, B);          /* rows: t[i][v]    */
        fwd_sets(x, (size_t)B, t, (size_t)B, 1, C, B);  /* columns: y[u][v] */
    } else {
        /* rows: t[i][v] = sum_j C[v][j] x[i][j] */
        matvec_sets(t, 1, x, 1, (size_t)B, C, (size_t)B, 1, B);
        /* columns: y[u][v] = sum_i C[u][i] t[i][v] (into x) */
        matvec_sets(x, (size_t)B, t, (size_t)B, 1, C, (size_t)B, 1, B);
    }
}

INLINE_AVX2 void fwd8_body(const float *strip, size_t stride, float *coef, const int B)
{
    __m256 x[TP_DCT_MAX_B * TP_DCT_MAX_B];
    fwd8_transform(strip, stride, x, B);
    for (int u = 0; u < B; u++) scatter_lanes(coef + u * B, (size_t)B * B, x + u * B, B);
}

/* Levels of eight blocks from their coefficient vectors x (natural
 * order, lane k = block k): quantized in scan order eight positions at a
 * time, transposed so that row k holds block k's eight levels. */
INLINE_AVX2 void quant8_lanes(const __m256 *x, const int B, const int32_t *scan, const float *inv, float round_dc,
                              float round_ac, int32_t *lq, uint64_t *mask)
{
    const int BB = B * B, W = TP_DCT_MASK_WORDS(B);
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)), cap = _mm256_set1_ps(32767.0f);
    for (int k = 0; k < 8; k++) memset(mask + k * W, 0, (size_t)W * sizeof *mask);
    for (int i0 = 0; i0 < BB; i0 += 8) {
        __m256 r[8];
        for (int c = 0; c < 8; c++) {
            if (i0 + c >= BB) { r[c] = _mm256_setzero_ps(); continue; }
            __m256 v = x[scan[i0 + c]];
            __m256 a = _mm256_add_ps(_mm256_mul_ps(_mm256_and_ps(v, absm), _mm256_set1_ps(inv[i0 + c])),
                                     _mm256_set1_ps(i0 + c ? round_ac : round_dc));
            __m256i q = _mm256_sign_epi32(_mm256_cvttps_epi32(_mm256_min_ps(a, cap)), _mm256_castps_si256(v));
            r[c] = _mm256_castsi256_ps(q);
        }
        transpose8(r);
        for (int k = 0; k < 8; k++) {
            __m256i q = _mm256_castps_si256(r[k]);
            uint32_t nz = (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(q, _mm256_setzero_si256()))) ^ 0xffu;
            if (i0 == 0) nz &= ~1u; /* the DC is not in the mask */
            mask[k * W + (i0 >> 6)] |= (uint64_t)nz << (i0 & 63);
            if (i0 + 8 <= BB) _mm256_storeu_si256((__m256i *)(lq + k * BB + i0), q);
            else {
                int32_t tail[8];
                _mm256_storeu_si256((__m256i *)tail, q);
                memcpy(lq + k * BB + i0, tail, (size_t)(BB - i0) * sizeof *tail);
            }
        }
    }
}

INLINE_AVX2 void fwd8q_body(const float *strip, size_t stride, const int B, const int32_t *scan, const float *inv,
                            float round_dc, float round_ac, int32_t *lq, uint64_t *mask)
{
    __m256 x[TP_DCT_MAX_B * TP_DCT_MAX_B];
    fwd8_transform(strip, stride, x, B);
    quant8_lanes(x, B, scan, inv, round_dc, round_ac, lq, mask);
}

INLINE_AVX2 void inv8_body(float *strip, size_t stride, const float *coef, const int B)
{
    const float *C = tp_dct_matrix(B);
    __m256 y[TP_DCT_MAX_B * TP_DCT_MAX_B], t[TP_DCT_MAX_B * TP_DCT_MAX_B];
    for (int u = 0; u < B; u++) gather_lanes(y + u * B, coef + u * B, (size_t)B * B, B);
    if (B == 8 || B == 14) {
        inv_sets(t, (size_t)B, y, (size_t)B, 1, C, B); /* columns: t[i][v] */
        inv_sets(y, 1, t, 1, (size_t)B, C, B);         /* rows: x[i][j]    */
    } else {
        /* t[i][v] = sum_u C[u][i] y[u][v] */
        matvec_sets(t, (size_t)B, y, (size_t)B, 1, C, 1, (size_t)B, B);
        /* x[i][j] = sum_v C[v][j] t[i][v] (into y) */
        matvec_sets(y, 1, t, 1, (size_t)B, C, 1, (size_t)B, B);
    }
    for (int i = 0; i < B; i++) scatter_lanes(strip + i * stride, (size_t)B, y + i * B, B);
}

AVX2 static void fwd8_avx2(const float *strip, size_t stride, float *coef, int B)
{
    if (B == 8) fwd8_body(strip, stride, coef, 8);
    else if (B == 14) fwd8_body(strip, stride, coef, 14);
    else fwd8_body(strip, stride, coef, B);
}

AVX2 static void fwd8q_avx2(const float *strip, size_t stride, int B, const int32_t *scan, const float *inv, float round_dc,
                            float round_ac, int32_t *lq, uint64_t *mask)
{
    if (B == 8) fwd8q_body(strip, stride, 8, scan, inv, round_dc, round_ac, lq, mask);
    else if (B == 14) fwd8q_body(strip, stride, 14, scan, inv, round_dc, round_ac, lq, mask);
    else fwd8q_body(strip, stride, B, scan, inv, round_dc, round_ac, lq, mask);
}

AVX2 static void inv8_avx2(float *strip, size_t stride, const float *coef, int B)
{
    if (B == 8) inv8_body(strip, stride, coef, 8);
    else if (B == 14) inv8_body(strip, stride, coef, 14);
    else inv8_body(strip, stride, coef, B);
}

/* Eight levels per step: gather, |c| * inv + r (multiply then add, two
 * roundings as in the scalar code, so the levels are identical), clamp,
 * truncate, copy the sign of c back (vpsign: c = -0 gives level 0). */
AVX2 static void quant_scan_avx2(const float *y, const int32_t *scan, const float *inv, float round_dc, float round_ac,
                                 int n, int32_t *lq, uint64_t *mask)
{
    memset(mask, 0, (size_t)(n + 63) / 64 * sizeof *mask);
    const __m256 absm = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)), cap = _mm256_set1_ps(32767.0f);
    __m256 r = _mm256_setr_ps(round_dc, round_ac, round_ac, round_ac, round_ac, round_ac, round_ac, round_ac);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 c = _mm256_i32gather_ps(y, _mm256_loadu_si256((const __m256i *)(scan + i)), 4);
        __m256 a = _mm256_min_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_and_ps(c, absm), _mm256_loadu_ps(inv + i)), r), cap);
        __m256i q = _mm256_sign_epi32(_mm256_cvttps_epi32(a), _mm256_castps_si256(c));
        _mm256_storeu_si256((__m256i *)(lq + i), q);
        uint32_t nz = (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(q, _mm256_setzero_si256()))) ^ 0xffu;
        mask[i >> 6] |= (uint64_t)nz << (i & 63); /* i is a multiple of 8: never straddles a word */
        r = _mm256_set1_ps(round_ac);
    }
    if (i == 0) lq[0] = quant1(y[scan[0]], inv[0], round_dc), i = 1;
    for (; i < n; i++) {
        lq[i] = quant1(y[scan[i]], inv[i], round_ac);
        mask[i >> 6] |= (uint64_t)(lq[i] != 0) << (i & 63);
    }
    mask[0] &= ~UINT64_C(1); /* bit 0 (the DC) is never set */
}

/* Clamp in float (so that any value, however large, saturates as in the
 * scalar code), truncate, pack 32 -> 8 bits, undo the per-lane packing
 * order. */
AVX2 static void store_u8_avx2(const float *x, size_t n, float scale, float mid, uint8_t *o)
{
    const __m256 vs = _mm256_set1_ps(scale), vm = _mm256_set1_ps(mid), half = _mm256_set1_ps(0.5f);
    const __m256 lo = _mm256_setzero_ps(), hi = _mm256_set1_ps(255.0f);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i q[4];
        for (int k = 0; k < 4; k++) {
            __m256 v = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * k), vs), vm), half);
            q[k] = _mm256_cvttps_epi32(_mm256_min_ps(_mm256_max_ps(v, lo), hi));
        }
        __m256i b = _mm256_packus_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
        _mm256_storeu_si256((__m256i *)(o + i), _mm256_permutevar8x32_epi32(b, order));
    }
    tp_dct_store_u8_scalar(x + i, n - i, scale, mid, o + i);
}
#endif

void tp_dct_fwd(const float *strip, size_t stride, float *coef, int B, size_t nblocks)
{
    size_t k = 0;
#ifdef HAVE_X86
    if ((tp_cpu_features() & (TP_CPU_AVX2 | TP_CPU_FMA)) == (TP_CPU_AVX2 | TP_CPU_FMA))
        for (; k + 8 <= nblocks; k += 8) fwd8_avx2(strip + k * (size_t)B, stride, coef + k * (size_t)B * B, B);
#endif
    tp_dct_fwd_scalar(strip + k * (size_t)B, stride, coef + k * (size_t)B * B, B, nblocks - k);
}

void tp_dct_inv(float *strip, size_t stride, const float *coef, int B, size_t nblocks)
{
    size_t k = 0;
#ifdef HAVE_X86
    if ((tp_cpu_features() & (TP_CPU_AVX2 | TP_CPU_FMA)) == (TP_CPU_AVX2 | TP_CPU_FMA))
        for (; k + 8 <= nblocks; k += 8) inv8_avx2(strip + k * (size_t)B, stride, coef + k * (size_t)B * B, B);
#endif
    tp_dct_inv_scalar(strip + k * (size_t)B, stride, coef + k * (size_t)B * B, B, nblocks - k);
}

void tp_dct_quant_scan(const float *y, const int32_t *scan, const float *inv, float round_dc, float round_ac, int n,
                       int32_t *lq, uint64_t *mask)
{
#ifdef HAVE_X86
    if ((tp_cpu_features() & (TP_CPU_AVX2 | TP_CPU_FMA)) == (TP_CPU_AVX2 | TP_CPU_FMA)) {
        quant_scan_avx2(y, scan, inv, round_dc, round_ac, n, lq, mask);
        return;
    }
#endif
    tp_dct_quant_scan_scalar(y, scan, inv, round_dc, round_ac, n, lq, mask);
}

void tp_dct_store_u8(const float *x, size_t n, float scale, float mid, uint8_t *o)
{
#ifdef HAVE_X86
    if ((tp_cpu_features() & (TP_CPU_AVX2 | TP_CPU_FMA)) == (TP_CPU_AVX2 | TP_CPU_FMA)) {
        store_u8_avx2(x, n, scale, mid, o);
        return;
    }
#endif
    tp_dct_store_u8_scalar(x, n, scale, mid, o);
}

void tp_dct_fwd_quant(const float *strip, size_t stride, int B, size_t nblocks, const int32_t *scan, const float *inv,
                      float round_dc, float round_ac, int32_t *lq, uint64_t *mask)
{
    size_t k = 0;
    const size_t BB = (size_t)B * B, W = (size_t)TP_DCT_MASK_WORDS(B);
#ifdef HAVE_X86
    if ((tp_cpu_features() & (TP_CPU_AVX2 | TP_CPU_FMA)) == (TP_CPU_AVX2 | TP_CPU_FMA))
        for (; k + 8 <= nblocks; k += 8)
            fwd8q_avx2(strip + k * (size_t)B, stride, B, scan, inv, round_dc, round_ac, lq + k * BB, mask + k * W);
#endif
    tp_dct_fwd_quant_scalar(strip + k * (size_t)B, stride, B, nblocks - k, scan, inv, round_dc, round_ac, lq + k * BB,
                            mask + k * W);
}
