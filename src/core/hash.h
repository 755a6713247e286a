/* The 64-bit checksum of frames (XXH3-64, seed 0; docs/FORMAT.md).
 *
 * libxxhash's plain XXH3_64bits is compiled for baseline x86-64 (SSE2) by
 * distributions and hashes at ~5-20 GB/s: on a decode of int8 frames that
 * alone cost about a fifth of the time. When libxxhash also exports its
 * run-time dispatched entry point (Debian and upstream "DISPATCH=1" builds
 * do) and the CPU has AVX2 (honouring TP_CPU_MASK), that one is used; it
 * returns the same value, so frames do not change. */
#ifndef TP_CORE_HASH_H
#define TP_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t tp_hash64(const void *p, size_t n);
/* Always the portable libxxhash entry point (for tests of tp_hash64). */
uint64_t tp_hash64_ref(const void *p, size_t n);

#endif
