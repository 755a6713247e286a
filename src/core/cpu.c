#include "core/cpu.h"

#include <stdlib.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

unsigned tp_cpu_features(void)
{
    static int cached = -1;
    if (cached >= 0) return (unsigned)cached;
    unsigned f = 0;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) f |= TP_CPU_AVX2;
    if (__builtin_cpu_supports("fma")) f |= TP_CPU_FMA;
    /* GCC 12 has no "f16c" probe; every AVX2 CPU shipped has F16C. */
    if (f & TP_CPU_AVX2) f |= TP_CPU_F16C;
    /* libgcc's probe also checks that the OS saves the zmm state (XGETBV). */
    if (__builtin_cpu_supports("avx512f")) f |= TP_CPU_AVX512;
    if ((f & TP_CPU_AVX512) && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi") &&
        __builtin_cpu_supports("avx512vl"))
        f |= TP_CPU_AVX512VBMI;
    unsigned a, b, c, d; /* MOVBE: CPUID leaf 1, ECX bit 22 (not every compiler's probe knows it) */
    if (__builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") && __get_cpuid(1, &a, &b, &c, &d) &&
        (c >> 22 & 1))
        f |= TP_CPU_BMI2;
#endif
    const char *mask = getenv("TP_CPU_MASK");
    if (mask) f &= (unsigned)strtoul(mask, NULL, 0);
    cached = (int)f;
    return f;
}

size_t tp_cpu_stream_bytes(void)
{
    static size_t cached;
    if (cached) return cached;
    const char *env = getenv("TP_STREAM_BYTES");
    size_t n = env ? (size_t)strtoull(env, NULL, 0) : 0;
    cached = n ? n : (size_t)32 << 20;
    return cached;
}
