#include "core/cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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
#endif
    const char *mask = getenv("TP_CPU_MASK");
    if (mask) f &= (unsigned)strtoul(mask, NULL, 0);
    cached = (int)f;
    return f;
}

/* Linux: the largest cache level of CPU 0 in sysfs ("32768K"). sysconf's
 * figure is not used first: in virtual machines glibc can report the
 * whole host's L3 (320 MiB on the EPYC where this was written, 32 MiB per
 * CCD in fact). */
static size_t sysfs_cache_bytes(void)
{
    size_t best = 0;
    int best_level = 0;
    for (int i = 0; i < 8; i++) {
        char path[96], buf[32];
        int level = 0;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        if (fgets(buf, sizeof buf, f)) level = atoi(buf);
        fclose(f);
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
        f = fopen(path, "r");
        if (!f) continue;
        if (fgets(buf, sizeof buf, f) && level >= best_level) {
            char *end;
            unsigned long long v = strtoull(buf, &end, 10);
            if (*end == 'K') v <<= 10;
            else if (*end == 'M') v <<= 20;
            if (v) { best = (size_t)v; best_level = level; }
        }
        fclose(f);
    }
    return best;
}

size_t tp_cpu_cache_bytes(void)
{
    static size_t cached;
    if (cached) return cached;
    size_t n = 0;
    const char *env = getenv("TP_CACHE_BYTES");
    if (env) n = (size_t)strtoull(env, NULL, 0);
    if (!n) n = sysfs_cache_bytes();
#ifdef _SC_LEVEL3_CACHE_SIZE
    if (!n) {
        long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
        n = l3 > 0 ? (size_t)l3 : 0;
    }
#endif
    if (!n) n = (size_t)32 << 20;
    cached = n;
    return n;
}
