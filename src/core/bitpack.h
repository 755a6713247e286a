/* b-bit codes (1 <= b <= 8) in a little-endian bit stream: code k occupies
 * bits [k*b, (k+1)*b), least significant bit first. Eight codes fill exactly
 * b bytes, so blocks of 8 codes starting at a multiple of 8 are
 * byte-aligned (the fast kernels work on those). */
#ifndef TP_CORE_BITPACK_H
#define TP_CORE_BITPACK_H

#include <stddef.h>
#include <stdint.h>

/* Bytes needed for n codes of b bits. */
static inline uint64_t tp_packed_bytes(uint64_t n, unsigned b) { return (n * b + 7) / 8; }

static inline unsigned tp_bits_get(const uint8_t *buf, uint64_t k, unsigned b)
{
    uint64_t bit = k * b;
    const uint8_t *p = buf + (bit >> 3);
    unsigned sh = (unsigned)(bit & 7);
    unsigned v = p[0];
    if (sh + b > 8) v |= (unsigned)p[1] << 8;
    return (v >> sh) & ((1u << b) - 1);
}

/* ORs code v into the stream: the destination bits must be zero. */
static inline void tp_bits_or(uint8_t *buf, uint64_t k, unsigned b, unsigned v)
{
    uint64_t bit = k * b;
    uint8_t *p = buf + (bit >> 3);
    unsigned sh = (unsigned)(bit & 7);
    p[0] |= (uint8_t)(v << sh);
    if (sh + b > 8) p[1] |= (uint8_t)(v >> (8 - sh));
}

/* Packs n codes (n multiple of 8) into n*b/8 bytes starting byte-aligned. */
void tp_pack8(uint8_t *dst, const uint8_t *codes, size_t n, unsigned b);
/* Unpacks n codes (n multiple of 8) from byte-aligned src. */
void tp_unpack8(uint8_t *codes, const uint8_t *src, size_t n, unsigned b);

#endif
