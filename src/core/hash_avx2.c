/* xxhash's header-only XXH3 compiled for AVX2 (tp_hash64 calls it only on
 * AVX2 CPUs). The namespace keeps its symbols apart from libxxhash's. */
#include <stddef.h>
#include <stdint.h>

uint64_t tp_xxh3_avx2(const void *p, size_t n);

#if defined(__x86_64__)
#include <immintrin.h> /* xxhash includes it only when the build targets AVX2 */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC target("avx2")
#endif
#define XXH_INLINE_ALL
#define XXH_VECTOR XXH_AVX2
#include <xxhash.h>

uint64_t tp_xxh3_avx2(const void *p, size_t n) { return XXH3_64bits(p, n); }
#if defined(__clang__)
#pragma clang attribute pop
#endif
#else
uint64_t tp_xxh3_avx2(const void *p, size_t n) { (void)p; (void)n; return 0; }
#endif
