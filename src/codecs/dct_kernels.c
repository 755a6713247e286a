/* Block DCT kernels (see dct_kernels.h). The 14-point DCT has no
 * power-of-two fast factorisation; a direct matrix product with one block
 * per AVX2 lane does 2*B multiply-adds per pixel per direction at 8 lanes,
 * with no shuffles inside the transform. */
#include "codecs/dct_kernels.h"

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

#ifdef HAVE_X86
/* Eight blocks at once: lane k of every vector belongs to block k. */
__attribute__((target("avx2,fma"))) static void fwd8_avx2(const float *strip, size_t stride, float *coef, int B)
{
    const float *C = tp_dct_matrix(B);
    __m256 x[TP_DCT_MAX_B * TP_DCT_MAX_B], t[TP_DCT_MAX_B * TP_DCT_MAX_B];
    const int BB = B * B;
    float lane[8];
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            const float *p = strip + i * stride + j;
            for (int k = 0; k < 8; k++) lane[k] = p[k * B];
            x[i * B + j] = _mm256_loadu_ps(lane);
        }
    for (int i = 0; i < B; i++)
        for (int v = 0; v < B; v++) {
            __m256 s = _mm256_setzero_ps();
            for (int j = 0; j < B; j++) s = _mm256_fmadd_ps(_mm256_set1_ps(C[v * B + j]), x[i * B + j], s);
            t[i * B + v] = s;
        }
    for (int u = 0; u < B; u++)
        for (int v = 0; v < B; v++) {
            __m256 s = _mm256_setzero_ps();
            for (int i = 0; i < B; i++) s = _mm256_fmadd_ps(_mm256_set1_ps(C[u * B + i]), t[i * B + v], s);
            _mm256_storeu_ps(lane, s);
            for (int k = 0; k < 8; k++) coef[k * BB + u * B + v] = lane[k];
        }
}

__attribute__((target("avx2,fma"))) static void inv8_avx2(float *strip, size_t stride, const float *coef, int B)
{
    const float *C = tp_dct_matrix(B);
    __m256 y[TP_DCT_MAX_B * TP_DCT_MAX_B], t[TP_DCT_MAX_B * TP_DCT_MAX_B];
    const int BB = B * B;
    float lane[8];
    for (int u = 0; u < B; u++)
        for (int v = 0; v < B; v++) {
            for (int k = 0; k < 8; k++) lane[k] = coef[k * BB + u * B + v];
            y[u * B + v] = _mm256_loadu_ps(lane);
        }
    for (int i = 0; i < B; i++)
        for (int v = 0; v < B; v++) {
            __m256 s = _mm256_setzero_ps();
            for (int u = 0; u < B; u++) s = _mm256_fmadd_ps(_mm256_set1_ps(C[u * B + i]), y[u * B + v], s);
            t[i * B + v] = s;
        }
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            __m256 s = _mm256_setzero_ps();
            for (int v = 0; v < B; v++) s = _mm256_fmadd_ps(_mm256_set1_ps(C[v * B + j]), t[i * B + v], s);
            _mm256_storeu_ps(lane, s);
            float *p = strip + i * stride + j;
            for (int k = 0; k < 8; k++) p[k * B] = lane[k];
        }
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
