/* The inner loops of KV attention, with AVX2+FMA versions chosen at run
 * time (tp_cpu_features; TP_CPU_MASK=0 keeps the scalar ones). */
#ifndef TP_RUNTIME_KV_KERNELS_H
#define TP_RUNTIME_KV_KERNELS_H

#include <stddef.h>

typedef struct {
    /* s[t] = scale * (q . k[t]) for n rows of d values */
    void (*scores)(const float *q, const float *k, size_t n, size_t d, float scale, float *s);
    /* acc += sum_t p[t] v[t] for n rows of d values */
    void (*accumulate)(const float *p, const float *v, size_t n, size_t d, float *acc);
} kv_kernels;

const kv_kernels *kv_kernels_get(void);

#endif
