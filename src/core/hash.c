#include "core/hash.h"

#include <xxhash.h>

#include "core/cpu.h"

#if defined(__x86_64__) && defined(__ELF__)
/* Weak: resolves to NULL where libxxhash was built without dispatch. */
extern XXH64_hash_t XXH3_64bits_dispatch(const void *input, size_t len) __attribute__((weak));
#define TP_HAVE_XXH_DISPATCH 1
#endif

uint64_t tp_hash64_ref(const void *p, size_t n) { return XXH3_64bits(p, n); }

uint64_t tp_hash64(const void *p, size_t n)
{
#ifdef TP_HAVE_XXH_DISPATCH
    if (XXH3_64bits_dispatch && (tp_cpu_features() & TP_CPU_AVX2)) return XXH3_64bits_dispatch(p, n);
#endif
    return XXH3_64bits(p, n);
}
