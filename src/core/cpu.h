/* Run-time CPU feature detection for kernel dispatch. */
#ifndef TP_CORE_CPU_H
#define TP_CORE_CPU_H

#include <stddef.h>

enum {
    TP_CPU_AVX2 = 1,
    TP_CPU_F16C = 2,
    TP_CPU_FMA = 4,
    TP_CPU_AVX512 = 8,     /* AVX-512F with OS support   */
    TP_CPU_AVX512VBMI = 16 /* AVX-512BW, VL and VBMI     */
};

/* Feature bits of this CPU, masked by the TP_CPU_MASK environment variable
 * when set (e.g. TP_CPU_MASK=0 forces the scalar reference kernels). */
unsigned tp_cpu_features(void);

/* Size of the last-level cache of CPU 0 in bytes (Linux sysfs, else
 * sysconf, else 32 MiB); the TP_CACHE_BYTES environment variable overrides
 * it. Outputs at least
 * this large are written with streaming stores: they cannot stay cached. */
size_t tp_cpu_cache_bytes(void);

#endif
