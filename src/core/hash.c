#include "core/hash.h"

#include <xxhash.h>

#include "core/cpu.h"

uint64_t tp_xxh3_avx2(const void *p, size_t n); /* hash_avx2.c */

uint64_t tp_hash64(const void *p, size_t n)
{
#if defined(__x86_64__)
    if (tp_cpu_features() & TP_CPU_AVX2) return tp_xxh3_avx2(p, n);
#endif
    return XXH3_64bits(p, n);
}

uint64_t tp_hash64_ref(const void *p, size_t n) { return XXH3_64bits(p, n); }
