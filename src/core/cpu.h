/* Run-time CPU feature detection for kernel dispatch. */
#ifndef TP_CORE_CPU_H
#define TP_CORE_CPU_H

#include <stddef.h>

enum {
    TP_CPU_AVX2 = 1,
    TP_CPU_F16C = 2,
    TP_CPU_FMA = 4,
    TP_CPU_AVX512 = 8,     /* AVX-512F with OS support   */
    TP_CPU_AVX512VBMI = 16, /* AVX-512BW, VL and VBMI     */
    TP_CPU_BMI2 = 32        /* BMI1, BMI2 and MOVBE       */
};

/* Feature bits of this CPU, masked by the TP_CPU_MASK environment variable
 * when set (e.g. TP_CPU_MASK=0 forces the scalar reference kernels). */
unsigned tp_cpu_features(void);

/* Decoded outputs of at least this many bytes are written with streaming
 * (non-temporal) stores by the kernels that have them: 32 MiB, or the
 * TP_STREAM_BYTES environment variable. A fixed size rather than the
 * last-level cache's: on a 16-core Intel Xeon whose cache is larger than a
 * 64 MiB output, one core's plain stores still ran at 52 % of streaming
 * ones, and on the AMD EPYC VM skipping the read-for-ownership took the
 * fp8 decode from 69 % to 78 % of the write loop (docs/BENCHMARKS.md). */
size_t tp_cpu_stream_bytes(void);

#endif
