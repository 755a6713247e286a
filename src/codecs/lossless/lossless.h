/* Internals of the lossless codec (lossless*.c), shared with its tests,
 * fuzz target and benchmark. Payload layout: docs/LOSSLESS.md. */
#ifndef TP_CODECS_LOSSLESS_H
#define TP_CODECS_LOSSLESS_H

#include <stddef.h>
#include <stdint.h>

#include "core/huff.h"
#include "core/rans.h"
#include "tpress.h"

#define TP_LL_VERSION 1
#define TP_LL_HEADER 16          /* version, elem, flags, reserved, chunk, total */
#define TP_LL_FLAG_ROTATE 1u     /* elements are floats: sign rotated to bit 0 */
#define TP_LL_CHUNK_MIN 1024u
#define TP_LL_CHUNK_MAX (64u << 20)
#define TP_LL_CHUNK_HDR 9        /* u64 checksum + u8 kind */
#define TP_LL_MAX_ELEM 8

enum { TP_LL_CHUNK_RAW = 0, TP_LL_CHUNK_PLANES = 1, TP_LL_CHUNK_EM = 2 };
enum { TP_LL_PLANE_RAW = 0, TP_LL_PLANE_CONST = 1, TP_LL_PLANE_RANS = 2, TP_LL_PLANE_ZSTD = 3, TP_LL_PLANE_HUFF = 4 };
/* Entropy coders the encoder may pick (codec parameter `coder`). */
enum { TP_LL_CODER_AUTO = 0, TP_LL_CODER_RANS = 1 };
#define TP_LL_ZSTD_LEVEL 3 /* planes of non-float input also try zstd at this level */

/* Per-worker buffers, sized for one chunk. */
typedef struct {
    size_t n_max;      /* elements per chunk                               */
    uint8_t *planes;   /* elem planes of n_max bytes each                  */
    uint8_t *em;       /* kind 2 (floats of 2 or 4 bytes): symbols, packed
                        * remainder and escapes (tp_ll_em_bytes)           */
    uint8_t *coded;    /* encoder only: one coded plane                    */
    size_t coded_cap;
    tp_rans_model model;
    tp_rans_dtable dtable;
    tp_rans_etable etable;
    tp_huff_code hcode;
    tp_huff_dtable hdtable;
    uint8_t *shifted;  /* encoder only: a plane's bytes >> 1 (Huffman, k = 1) */
    int coder;         /* encoder: TP_LL_CODER_*                           */
    void *zc, *zd;     /* zstd contexts, created on first use              */
} tp_ll_scratch;

/* for_encode also allocates the coded-plane buffer. */
size_t tp_ll_scratch_init(tp_ll_scratch *s, size_t chunk_bytes, unsigned elem, int for_encode);
void tp_ll_scratch_free(tp_ll_scratch *s);

/* Huffman planes with one raw low bit (lossless_planes.c): sym[i] =
 * sym[i] << 1 | bit i of bits (LSB first); sym[i] < 128 on entry. */
void tp_ll_insert_low_bits(uint8_t *sym, const uint8_t *bits, size_t n);
void tp_ll_insert_low_bits_ref(uint8_t *sym, const uint8_t *bits, size_t n); /* portable loop, for tests */
void tp_ll_extract_low_bits(const uint8_t *sym, size_t n, uint8_t *shifted, uint8_t *bits);

/* Planes (lossless_planes.c): plane 0 holds the most significant byte of
 * each element after the optional sign rotation, plane elem-1 the least. */
void tp_ll_split(const uint8_t *src, size_t n_elem, unsigned elem, int rotate, uint8_t *const *planes);
void tp_ll_merge(const uint8_t *const *planes, size_t n_elem, unsigned elem, int rotate, uint8_t *dst);

/* Chunk kind 2 (lossless_em.c): exponent byte e and the top two bits of
 * the next byte q as one symbol j = w << 2 | q >> 6, w the exponent's
 * window index (0: e = 0; 1..SPAN: e = base + w - 1; ESC: e escaped); the
 * low six bits of q packed into tp_ll_em_packed(m) bytes. */
#define TP_LL_EM_SPAN 62
#define TP_LL_EM_ESC 63
#define TP_LL_EM_BASE_MAX (256 - TP_LL_EM_SPAN)
static inline size_t tp_ll_em_packed(size_t m) { return (m + 63) / 64 * 48; }
static inline size_t tp_ll_em_bytes(size_t m) { return 2 * m + tp_ll_em_packed(m); }
/* The window base for exponents e[0..m): the largest finite one is the
 * window's top. */
unsigned tp_ll_em_base(const uint8_t *e, size_t m);
/* Writes symbols j, packed remainder r and the escaped exponents esc (in
 * element order); returns their count. */
size_t tp_ll_em_split(const uint8_t *e, const uint8_t *q, size_t m, unsigned base, uint8_t *j, uint8_t *r,
                      uint8_t *esc);
/* Inverse (e may be j); fails with TP_ERR_CORRUPT unless exactly n_esc
 * escapes are used. */
size_t tp_ll_em_merge(const uint8_t *j, const uint8_t *r, const uint8_t *esc, size_t n_esc, size_t m,
                      unsigned base, uint8_t *e, uint8_t *q);
/* bf16 only: the inverse and tp_ll_merge in one pass, into the chunk's
 * 2m output bytes. */
size_t tp_ll_em_merge_bf16(const uint8_t *j, const uint8_t *r, const uint8_t *esc, size_t n_esc, size_t m,
                           unsigned base, uint8_t *dst);
/* The same from symbols stored without their low bit (Huffman plane with
 * k = 1): half = j >> 1, low = the bits (tp_ll_insert_low_bits, which may
 * be applied to half in place). */
size_t tp_ll_em_merge_bf16_low(uint8_t *half, const uint8_t *low, const uint8_t *r, const uint8_t *esc, size_t n_esc,
                               size_t m, unsigned base, uint8_t *dst);
/* Their kernels: SSE2 (or, off x86-64, the reference) for any m, and
 * AVX-512 VBMI for the whole 64-value blocks only, inserting the low bits
 * when low is not NULL (escapes used to *used; the caller checks the
 * count). Tests compare them. */
size_t tp_ll_em_merge_bf16_sse2(const uint8_t *j, const uint8_t *r, const uint8_t *esc, size_t n_esc, size_t m,
                                unsigned base, uint8_t *dst);
size_t tp_ll_em_merge_bf16_avx512(const uint8_t *j, const uint8_t *low, const uint8_t *r, const uint8_t *esc,
                                  size_t n_esc, size_t m, unsigned base, uint8_t *dst, size_t *used);
/* Scalar references of split and merge (tests compare them). */
size_t tp_ll_em_split_ref(const uint8_t *e, const uint8_t *q, size_t m, unsigned base, uint8_t *j, uint8_t *r,
                          uint8_t *esc);
size_t tp_ll_em_merge_ref(const uint8_t *j, const uint8_t *r, const uint8_t *esc, size_t n_esc, size_t m,
                          unsigned base, uint8_t *e, uint8_t *q);

/* How the chunk functions treat elements: integers as they are, floats
 * sign-rotated; bf16 and f32 (the exponent byte fills plane 0) may also
 * use chunk kind 2. */
enum { TP_LL_FORM_INT = 0, TP_LL_FORM_FLOAT = 1, TP_LL_FORM_FLOAT_E8 = 2 };

/* Bytes one chunk of n input bytes may take at most. */
static inline size_t tp_ll_chunk_bound(size_t n) { return TP_LL_CHUNK_HDR + n + TP_LL_MAX_ELEM; }
/* Encodes one chunk (lossless_chunk.c) into dst (cap >= chunk bound);
 * returns its size. */
size_t tp_ll_chunk_encode(tp_ll_scratch *s, const uint8_t *src, size_t n, unsigned elem, int form, uint8_t *dst);
/* Decodes one chunk of len bytes into dst (exactly n bytes). */
size_t tp_ll_chunk_decode(tp_ll_scratch *s, const uint8_t *src, size_t len, size_t n, unsigned elem, int form,
                          uint8_t *dst);

/* Statistics of a payload for benchmarks: coded bytes per plane (model,
 * streams and plane kind bytes; raw chunks count in full; in kind 2
 * chunks plane 0 holds the symbols with the two mantissa bits, the base
 * and the escapes, plane 1 the packed remainder), summed over chunks;
 * *em_values = elements in kind 2 chunks. Returns the number of planes or
 * an error. */
size_t tp_ll_plane_bytes(const void *payload, size_t n, uint64_t bytes[TP_LL_MAX_ELEM], uint64_t *em_values);

/* The codec's decode function with explicit parameters, for the fuzzer. */
size_t tp_ll_decode(const void *src, size_t n, tp_dtype dtype, size_t out_bytes, void *dst, int threads);

#endif
