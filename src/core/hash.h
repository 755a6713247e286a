/* The 64-bit checksum of frames, archive indexes and lossless chunks
 * (XXH3-64, seed 0; docs/FORMAT.md): the same value as libxxhash's
 * XXH3_64bits(), computed by an AVX2 build of xxhash's inline code where the
 * CPU has AVX2 (honouring TP_CPU_MASK). Distributions build libxxhash for
 * baseline x86-64 (SSE2), which checks at ~20 GB/s: an eighth of the time of
 * an 8-bit decode. */
#ifndef TP_CORE_HASH_H
#define TP_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t tp_hash64(const void *p, size_t n);
/* Always the portable libxxhash entry point (for tests of tp_hash64). */
uint64_t tp_hash64_ref(const void *p, size_t n);

#endif
