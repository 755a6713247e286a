/* Fields of 0..32 bits in a little-endian bit stream (LSB first), for codecs
 * whose codes are wider than the 8 bits of bitpack.h. Field k of a stream of
 * b-bit fields occupies bits [k*b, (k+1)*b), the same convention as
 * bitpack.h, so for b <= 8 both describe identical bytes. */
#ifndef TP_CORE_BITIO_H
#define TP_CORE_BITIO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Writer: appends fields; the buffer must be zeroed and large enough. */
typedef struct {
    uint8_t *p;
    uint64_t bit;
} tp_bitw;

static inline void tp_bitw_put(tp_bitw *w, uint32_t v, unsigned b)
{
    for (unsigned done = 0; done < b;) {
        uint64_t bit = w->bit + done;
        unsigned sh = (unsigned)(bit & 7), take = 8 - sh;
        if (take > b - done) take = b - done;
        w->p[bit >> 3] |= (uint8_t)(((v >> done) & ((1u << take) - 1)) << sh);
        done += take;
    }
    w->bit += b;
}

/* Field starting at bit `bit` of a buffer of n bytes (bits past the end read
 * as zero, so a caller that sized the buffer exactly never reads out of it). */
static inline uint32_t tp_bits_read(const uint8_t *buf, size_t n, uint64_t bit, unsigned b)
{
    if (b == 0) return 0;
    uint64_t byte = bit >> 3;
    unsigned sh = (unsigned)(bit & 7);
    uint64_t v = 0;
    if (byte + 8 <= n) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(&v, buf + byte, 8);
#else
        for (int i = 7; i >= 0; i--) v = v << 8 | buf[byte + (unsigned)i];
#endif
    } else {
        for (uint64_t i = 0; i < 8 && byte + i < n; i++) v |= (uint64_t)buf[byte + i] << (8 * i);
    }
    return (uint32_t)((v >> sh) & ((b == 32) ? 0xffffffffull : ((1ull << b) - 1)));
}

#endif
