/* XXH3-64 of a buffer (the frame, archive and chunk checksum): the same
 * value as libxxhash's XXH3_64bits(), computed by an AVX2 build of xxhash's
 * inline code where the CPU has AVX2 (the distribution library is built for
 * SSE2 and checks about 20 GB/s, which was an eighth of an 8-bit decode). */
#ifndef TP_CORE_HASH_H
#define TP_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t tp_xxh3_64(const void *p, size_t n);

#endif
