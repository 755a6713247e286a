#include "core/bitpack.h"

#include <string.h>

void tp_pack8(uint8_t *dst, const uint8_t *codes, size_t n, unsigned b)
{
    if (b == 8) { memcpy(dst, codes, n); return; }
    for (size_t i = 0; i < n; i += 8, dst += b) {
        uint64_t acc = 0;
        for (unsigned j = 0; j < 8; j++) acc |= (uint64_t)codes[i + j] << (j * b);
        for (unsigned j = 0; j < b; j++) dst[j] = (uint8_t)(acc >> (8 * j));
    }
}

void tp_unpack8(uint8_t *codes, const uint8_t *src, size_t n, unsigned b)
{
    if (b == 8) { memcpy(codes, src, n); return; }
    const uint64_t mask = (1u << b) - 1;
    for (size_t i = 0; i < n; i += 8, src += b) {
        uint64_t acc = 0;
        for (unsigned j = 0; j < b; j++) acc |= (uint64_t)src[j] << (8 * j);
        for (unsigned j = 0; j < 8; j++) codes[i + j] = (uint8_t)((acc >> (j * b)) & mask);
    }
}
