/* Run-time CPU feature detection for kernel dispatch. */
#ifndef TP_CORE_CPU_H
#define TP_CORE_CPU_H

enum { TP_CPU_AVX2 = 1, TP_CPU_F16C = 2, TP_CPU_FMA = 4, TP_CPU_AVX512 = 8 /* AVX-512F with OS support */ };

/* Feature bits of this CPU, masked by the TP_CPU_MASK environment variable
 * when set (e.g. TP_CPU_MASK=0 forces the scalar reference kernels). */
unsigned tp_cpu_features(void);

#endif
