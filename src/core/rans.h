/* Static-model interleaved rANS over bytes, shared by codecs.
 *
 * Coder: 32-bit states kept in [2^15, 2^31), 16-bit renormalisation words,
 * probabilities quantised to 12 bits (sum 4096). 32 states in four
 * streams of eight: symbol i uses state i % 32, which writes its words to
 * stream (i % 32) / 8. The four streams are independent dependency chains,
 * so the AVX2 decoder keeps four 8-lane vectors in flight (one stream of
 * 8 states was latency-bound at about half the speed).
 *
 * Model: up to TP_RANS_MAX_CTX contexts per stream. The context of symbol i
 * is the number of thresholds <= symbol i-32 (the previous symbol of the
 * same state; 0 for the first 32 symbols). One context = order-0.
 * Byte layouts are given in docs/LOSSLESS.md. */
#ifndef TP_CORE_RANS_H
#define TP_CORE_RANS_H

#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"

#define TP_RANS_SCALE_BITS 12
#define TP_RANS_M (1u << TP_RANS_SCALE_BITS)
#define TP_RANS_L (1u << 15)
#define TP_RANS_LANES 32
#define TP_RANS_STREAMS 4
#define TP_RANS_MAX_CTX 4

typedef struct {
    int nctx;                               /* 1..TP_RANS_MAX_CTX            */
    uint16_t thr[TP_RANS_MAX_CTX - 1];      /* strictly increasing; unused = 256 */
    uint16_t freq[TP_RANS_MAX_CTX][256];    /* each context sums to TP_RANS_M */
    uint32_t count0[256];                   /* encoder: order-0 counts of the
                                             * last build (zero when it gave up
                                             * early on a random-looking plane) */
} tp_rans_model;

/* Decode table: one packed entry per (context, slot). */
typedef struct {
    uint32_t e[TP_RANS_MAX_CTX * TP_RANS_M];
} tp_rans_dtable;

/* Chooses a model for sym[0..n) (n > 0): order-0 or a few contexts, picked by
 * estimated size when allow_ctx. Returns the estimated coded size in bytes
 * (model + streams). */
size_t tp_rans_model_build(const uint8_t *sym, size_t n, int allow_ctx, tp_rans_model *m);
/* Serialised model size / write / read (read validates every field). */
size_t tp_rans_model_size(const tp_rans_model *m);
size_t tp_rans_model_write(const tp_rans_model *m, uint8_t *dst);
size_t tp_rans_model_read(tp_reader *r, tp_rans_model *m);

/* Worst-case bytes of tp_rans_encode's output for n symbols. */
static inline size_t tp_rans_stream_bound(size_t n) { return 2 * n + 512; }
/* Encodes sym[0..n) with m into dst (cap >= tp_rans_stream_bound(n)):
 * u32 sizes of streams 0-2, then streams 0-3. Returns bytes written. */
size_t tp_rans_encode(const tp_rans_model *m, const uint8_t *sym, size_t n, uint8_t *dst, size_t cap);
/* Same, scalar reference only (tests compare its bytes with the dispatched
 * encoder's). */
size_t tp_rans_encode_scalar(const tp_rans_model *m, const uint8_t *sym, size_t n, uint8_t *dst, size_t cap);

/* Encoder table (8 KiB): per (context, symbol) one u64, the reciprocal in
 * the low half and a packed word (frequency, bias, shift) in the high half
 * (rans.c), so that the AVX2 kernel fetches both with one 64-bit gather. */
typedef struct {
    uint64_t e[TP_RANS_MAX_CTX * 256];
} tp_rans_etable;
void tp_rans_etable_build(const tp_rans_model *m, tp_rans_etable *t);
/* tp_rans_encode with a caller-owned table (no allocation). */
size_t tp_rans_encode_t(const tp_rans_model *m, const uint8_t *sym, size_t n, uint8_t *dst, size_t cap,
                        tp_rans_etable *t);

void tp_rans_dtable_build(const tp_rans_model *m, tp_rans_dtable *t);
/* Decodes exactly n symbols from src[0..len) (as written by tp_rans_encode)
 * into sym. Returns 0, or TP_ERR_CORRUPT/TP_ERR_TRUNCATED: every word read
 * is bounds-checked and the final states and lengths must match. */
size_t tp_rans_decode(const tp_rans_model *m, const tp_rans_dtable *t, const uint8_t *src, size_t len,
                      uint8_t *sym, size_t n);
/* Same; next is NULL or 2n bytes that the caller writes after decoding:
 * the x86 kernels prefetch them for writing, one line per 32 symbols, so
 * that the misses on fresh output lines overlap the (compute-bound)
 * decoding instead of the caller's pass. */
size_t tp_rans_decode_next(const tp_rans_model *m, const tp_rans_dtable *t, const uint8_t *src, size_t len,
                           uint8_t *sym, size_t n, const void *next);
/* Same, with at most kernel level: 0 scalar reference, 1 AVX2, 2 AVX-512VL
 * (fewer where the CPU lacks them; tests compare them all). */
size_t tp_rans_decode_level(const tp_rans_model *m, const tp_rans_dtable *t, const uint8_t *src, size_t len,
                            uint8_t *sym, size_t n, int level);
/* Same, scalar reference only (tests compare it with the dispatched one). */
size_t tp_rans_decode_scalar(const tp_rans_model *m, const tp_rans_dtable *t, const uint8_t *src, size_t len,
                             uint8_t *sym, size_t n);

/* Self-contained byte coder for other codecs: model + stream. dst needs
 * tp_rans_bytes_bound(n). Returns bytes written. */
static inline size_t tp_rans_bytes_bound(size_t n) { return tp_rans_stream_bound(n) + 8 + 4 * 260 * 2 + 16; }
size_t tp_rans_compress(const uint8_t *src, size_t n, uint8_t *dst, size_t cap);
/* Decodes exactly n bytes; len is the size written by tp_rans_compress. */
size_t tp_rans_decompress(const uint8_t *src, size_t len, uint8_t *dst, size_t n);

/* Internal: AVX2 kernel (rans_avx2.c). Decodes whole 32-symbol groups
 * from the start while every stream has 16 readable bytes; returns the
 * symbols done and advances states and stream cursors p[]. */
size_t tp_rans_decode_avx2(const tp_rans_dtable *t, const uint16_t *thr, int nctx, uint32_t x[TP_RANS_LANES],
                           const uint8_t **p, const uint8_t *const *end, uint8_t *sym, size_t n,
                           const uint8_t *next);

/* Internal: the same loop with AVX-512VL renormalisation. */
size_t tp_rans_decode_avx512vl(const tp_rans_dtable *t, const uint16_t *thr, int nctx, uint32_t x[TP_RANS_LANES],
                               const uint8_t **p, const uint8_t *const *end, uint8_t *sym, size_t n,
                           const uint8_t *next);

/* Internal: AVX2 encoder kernel. Encodes the whole 32-symbol groups of
 * sym[0..full) backwards (full % 32 == 0), updating states x and the
 * stream cursors p[] (which move down; 16 bytes below each are scratch). */
void tp_rans_encode_avx2(const tp_rans_etable *t, const uint16_t *thr, int nctx, uint32_t x[TP_RANS_LANES],
                         uint8_t **p, const uint8_t *sym, size_t full);

#endif
