/* Static canonical Huffman over bytes with a multi-symbol decode table,
 * shared by codecs (the lossless codec's plane kind 4).
 *
 * Why beside rANS: a table indexed by the next 12 bits of a stream can
 * emit every whole code that lies in those bits. On skewed alphabets
 * (the lossless codec's exponent symbols, ~3.5 bits each) one lookup
 * yields ~2.8 symbols, against one symbol per rANS step: 0.25 against
 * 0.47 ns per symbol on Zen 4, for a plane ~1-2 % larger.
 *
 * Code: lengths 1..TP_HUFF_MAX_LEN, canonical (shorter codes first, then
 * by symbol). Streams: the n symbols are cut into TP_HUFF_STREAMS = 6 runs
 * of q = ceil(n / 6) (the last ones take the rest, possibly nothing); each
 * run is written MSB-first into its own byte stream, zero-padded to a
 * byte, so that the decoder follows six independent dependency chains
 * (table lookups are latency-bound: 4 streams decode 12 % slower on Zen 4,
 * 8 run out of registers and decode 7 % slower). Byte layouts are given in
 * docs/LOSSLESS.md. */
#ifndef TP_CORE_HUFF_H
#define TP_CORE_HUFF_H

#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"

#define TP_HUFF_MAX_LEN 12
#ifndef TP_HUFF_STREAMS
#define TP_HUFF_STREAMS 6
#endif

typedef struct {
    uint8_t len[256];   /* 0 = symbol absent */
    uint16_t code[256]; /* canonical codes, len[s] bits */
} tp_huff_code;

/* Decode tables: per 12-bit window, the whole codes at its start (up to
 * three symbols: bits 0-23, first symbol lowest; bits 24-29 their total
 * length, bits 30-31 their count: the decoder stores the entry as it is
 * and the byte after the symbols is overwritten later), and the same for
 * the first code alone (the stream ends). */
typedef struct {
    uint32_t multi[1u << TP_HUFF_MAX_LEN];
    uint32_t single[1u << TP_HUFF_MAX_LEN];
    /* multi's length and count again as bytes: the fast loop loads them
     * instead of shifting them out (this Zen 4 runs two shifts per cycle
     * and the lookups were bound by them) */
    uint8_t multi_len[1u << TP_HUFF_MAX_LEN];
    uint8_t multi_count[1u << TP_HUFF_MAX_LEN];
} tp_huff_dtable;

/* Length-limited code for the byte counts cnt (not all zero). Returns the
 * coded size in bits of those counts. */
uint64_t tp_huff_build(const uint32_t cnt[256], tp_huff_code *c);

/* Serialised code: u8 lo, u8 hi (the used symbol range), then the lengths
 * of lo..hi as 4-bit nibbles, low nibble first. */
size_t tp_huff_code_size(const tp_huff_code *c);
size_t tp_huff_code_write(const tp_huff_code *c, uint8_t *dst);
/* Validates every field (lengths must form a prefix code). */
size_t tp_huff_code_read(tp_reader *r, tp_huff_code *c);

/* Bytes of the streams for n symbols coded in total_bits (as returned by
 * tp_huff_build), with the u32 sizes of all streams but the last. */
static inline size_t tp_huff_stream_bound(uint64_t total_bits)
{
    return 4 * (TP_HUFF_STREAMS - 1) + (size_t)(total_bits / 8) + TP_HUFF_STREAMS;
}
/* Encodes sym[0..n) with c (every symbol of sym must have a code) into dst
 * (cap bytes): u32 sizes of streams 0..4, then streams 0..5. Returns bytes written or TP_ERR_DST_TOO_SMALL. */
size_t tp_huff_encode(const tp_huff_code *c, const uint8_t *sym, size_t n, uint8_t *dst, size_t cap);

void tp_huff_dtable_build(const tp_huff_code *c, tp_huff_dtable *t);
/* Decodes exactly n symbols from src[0..len) into sym. Returns 0, or
 * TP_ERR_CORRUPT/TP_ERR_TRUNCATED: reads stay inside src and every
 * stream must be consumed exactly. next: NULL, or 2n bytes the caller
 * writes afterwards, prefetched for writing as decoding goes (as
 * tp_rans_decode_next). */
size_t tp_huff_decode(const tp_huff_dtable *t, const uint8_t *src, size_t len, uint8_t *sym, size_t n,
                      const uint8_t *next);
/* Same, one symbol per step only (reference; tests compare the two). */
size_t tp_huff_decode_ref(const tp_huff_dtable *t, const uint8_t *src, size_t len, uint8_t *sym, size_t n);

#endif
