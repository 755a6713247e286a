#include "core/half.h"

#include "core/cpu.h"

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2,f16c"))) static void to_float_f16c(float *dst, const uint16_t *src, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++) dst[i] = tp_half_to_float(src[i]);
}

__attribute__((target("avx2,f16c"))) static void from_float_f16c(uint16_t *dst, const float *src, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) dst[i] = tp_half_from_float(src[i]);
}
#endif

void tp_half_to_float_n(float *dst, const uint16_t *src, size_t n)
{
#if defined(__x86_64__)
    if (tp_cpu_features() & TP_CPU_F16C) { to_float_f16c(dst, src, n); return; }
#endif
    for (size_t i = 0; i < n; i++) dst[i] = tp_half_to_float(src[i]);
}

void tp_half_from_float_n(uint16_t *dst, const float *src, size_t n)
{
#if defined(__x86_64__)
    if (tp_cpu_features() & TP_CPU_F16C) { from_float_f16c(dst, src, n); return; }
#endif
    for (size_t i = 0; i < n; i++) dst[i] = tp_half_from_float(src[i]);
}
