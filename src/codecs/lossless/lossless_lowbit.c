/* The raw low bit of Huffman planes (plane kind 4 with k = 1): the symbol
 * plane of kind 2 chunks carries, in its lowest bit, the second mantissa
 * bit, which is nearly uniform; leaving it out of the Huffman symbols
 * makes their codes ~1 bit shorter, so one table lookup decodes more of
 * them, at a cost of ~0.01 bit per value. Eight symbols per 64-bit word. */
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "codecs/lossless/lossless.h"
#include "core/cpu.h"

#define BYTES_01 0x0101010101010101ull

/* Byte j of the result = bit j of b. */
static inline uint64_t spread_bits(uint64_t b)
{
    return ((((b * BYTES_01) & 0x8040201008040201ull) + 0x7f7f7f7f7f7f7f7full) >> 7) & BYTES_01;
}

/* Bit j of the result = bit 0 of byte j of x. */
static inline uint8_t gather_bits(uint64_t x) { return (uint8_t)(((x & BYTES_01) * 0x0102040810204080ull) >> 56); }

/* The scalar loop over [i, n). */
static void insert_from(uint8_t *sym, const uint8_t *bits, size_t i, size_t n)
{
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, sym + i, 8);
        x = x << 1 | spread_bits(bits[i / 8]); /* symbols < 128: no carry between bytes */
        memcpy(sym + i, &x, 8);
    }
    for (; i < n; i++) sym[i] = (uint8_t)(sym[i] << 1 | (bits[i / 8] >> (i % 8) & 1));
}

#if defined(__x86_64__) && defined(__GNUC__)
/* 32 symbols per step: their four bit bytes broadcast, each spread over
 * eight byte lanes, tested against that lane's bit. */
__attribute__((target("avx2"))) static size_t insert_avx2(uint8_t *sym, const uint8_t *bits, size_t n)
{
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                            2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i lane_bit = _mm256_set1_epi64x((long long)0x8040201008040201ull), one = _mm256_set1_epi8(1);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        uint32_t b;
        memcpy(&b, bits + i / 8, 4);
        __m256i m = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32((int)b), spread), lane_bit);
        __m256i low = _mm256_and_si256(_mm256_cmpeq_epi8(m, lane_bit), one);
        __m256i x = _mm256_loadu_si256((const __m256i *)(sym + i));
        _mm256_storeu_si256((__m256i *)(sym + i), _mm256_or_si256(_mm256_add_epi8(x, x), low));
    }
    return i;
}
#endif

void tp_ll_insert_low_bits(uint8_t *sym, const uint8_t *bits, size_t n)
{
    size_t i = 0;
#if defined(__x86_64__) && defined(__GNUC__)
    if (tp_cpu_features() & TP_CPU_AVX2) i = insert_avx2(sym, bits, n);
#endif
    insert_from(sym, bits, i, n);
}

void tp_ll_insert_low_bits_ref(uint8_t *sym, const uint8_t *bits, size_t n) { insert_from(sym, bits, 0, n); }

void tp_ll_extract_low_bits(const uint8_t *sym, size_t n, uint8_t *shifted, uint8_t *bits)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, sym + i, 8);
        bits[i / 8] = gather_bits(x);
        x = (x >> 1) & (BYTES_01 * 0x7f);
        memcpy(shifted + i, &x, 8);
    }
    if (i < n) bits[i / 8] = 0;
    for (; i < n; i++) {
        bits[i / 8] |= (uint8_t)((sym[i] & 1) << (i % 8));
        shifted[i] = sym[i] >> 1;
    }
}
